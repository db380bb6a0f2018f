"""Cars on one connection planned together: one plan for all of them, carried out by each.

Each car has its own ``ChargingController``, but cars that share a supply line must share
its limit, which only a plan of them together can do (``make_plan`` with every car of the
line: the shared-connection plan). A ``SharedLine`` holds that plan. Whichever of its
controllers steps first replans for all when anything a plan is made from changed — one
car plugged in, another's target, new prices, a slot boundary — under a lock, so the plan
is made once; then it wakes the others, which find the plan current and carry out their
part of it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from carhome.energy.cars import Car
from carhome.energy.plans import Plan
from carhome.energy.problem import PlanRequest


class Member(Protocol):
    """What a line asks of each controller on it."""

    def car_now(self) -> Car:
        """The car as it is now: state of charge, plugged in or not, the user's settings."""
        ...

    def wake(self) -> None: ...


@dataclass
class PlanState:
    """The plan in force and the request it was made from (one car's, or a line's)."""

    request: PlanRequest | None = None
    plan: Plan | None = None
    slot_start: datetime | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SharedLine:
    """The controllers of cars on one connection, and their one plan."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.members: list[Member] = []
        self.state = PlanState()

    def join(self, member: Member) -> None:
        self.members.append(member)

    def leave(self, member: Member) -> None:
        if member in self.members:
            self.members.remove(member)

    def cars(self) -> tuple[Car, ...]:
        return tuple(m.car_now() for m in self.members)

    def replanned(self, by: Member) -> None:
        """A new plan is in force: the others carry out their part of it now."""
        for member in self.members:
            if member is not by:
                member.wake()
