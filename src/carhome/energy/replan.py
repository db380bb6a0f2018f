"""When a plan is stale, and the hook that makes the next one.

A plan holds only while what it was made from holds. Call ``Planner.update`` (the hub will
do it) whenever one of these changes, and at least at every slot boundary:

- ``PRICES``   new prices arrive (day-ahead prices, usually early afternoon) or a tariff changes;
               the horizon grows with them;
- ``TARGET``   a car's target, limit or departure changes;
- ``PLUG``     a car is plugged in or unplugged (or a charger or connection changes);
- ``MODE``     the user picks another mode;
- ``SOLAR``    the solar or house-load forecast changes;
- ``SOC``      a car's reported state of charge strays from the plan's path by more than
               ``soc_tolerance`` (the car charged slower, or was used);
- ``FIRST``    there is no plan yet.

``update`` compares the new request with the last one, replans only when a reason holds,
and returns the plan in force with the reasons (empty when nothing changed).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from carhome.energy.cars import Car
from carhome.energy.planner import make_plan
from carhome.energy.plans import Plan
from carhome.energy.problem import PlanRequest


class ReplanReason(enum.StrEnum):
    FIRST = "first"
    PRICES = "prices"
    TARGET = "target"
    PLUG = "plug"
    MODE = "mode"
    SOLAR = "solar"
    SOC = "soc"


def replan_reasons(
    previous: PlanRequest | None, plan: Plan | None, current: PlanRequest, *, soc_tolerance: float = 0.02
) -> frozenset[ReplanReason]:
    """Why ``plan`` (made from ``previous``) no longer fits ``current``; empty if it does."""
    if previous is None or plan is None:
        return frozenset({ReplanReason.FIRST})
    reasons: set[ReplanReason] = set()
    if previous.tariff != current.tariff or previous.feed_in != current.feed_in:
        reasons.add(ReplanReason.PRICES)
    if previous.forecast != current.forecast:
        reasons.add(ReplanReason.SOLAR)
    before = {c.id: c for c in previous.cars}
    if set(before) != {c.id for c in current.cars}:
        reasons.add(ReplanReason.PLUG)
    for car in current.cars:
        old = before.get(car.id)
        if old is None:
            continue
        reasons |= _car_reasons(old, car)
        if _strays(plan, car, current, soc_tolerance):
            reasons.add(ReplanReason.SOC)
    return frozenset(reasons)


def _car_reasons(old: Car, new: Car) -> set[ReplanReason]:
    reasons: set[ReplanReason] = set()
    if (old.target, old.limit, old.departure) != (new.target, new.limit, new.departure):
        reasons.add(ReplanReason.TARGET)
    if old.plugged_in != new.plugged_in or old.charger != new.charger:
        reasons.add(ReplanReason.PLUG)
    if old.mode is not new.mode:
        reasons.add(ReplanReason.MODE)
    return reasons


def _strays(plan: Plan, car: Car, current: PlanRequest, tolerance: float) -> bool:
    """Whether the car's SoC now is off the plan's path (interpolated in the slot at hand)."""
    try:
        path = plan.car(car.id)
    except KeyError:
        return True
    now = current.now
    expected = path.soc[-1]
    for t, start in enumerate(plan.starts):
        end = plan.starts[t + 1] if t + 1 < len(plan.starts) else plan.end
        begin = max(start, plan.made_at)
        if begin <= now < end:
            share = (now - begin) / (end - begin)
            expected = path.soc[t] + share * (path.soc[t + 1] - path.soc[t])
            break
    else:
        if now < plan.made_at:
            expected = path.soc[0]
    return abs(car.soc.fraction - expected) > tolerance


@dataclass
class Planner:
    """The last request and plan; ``update`` replans when the request says it must."""

    soc_tolerance: float = 0.02
    request: PlanRequest | None = field(default=None, init=False)
    plan: Plan | None = field(default=None, init=False)

    def update(self, request: PlanRequest) -> tuple[Plan, frozenset[ReplanReason]]:
        reasons = replan_reasons(self.request, self.plan, request, soc_tolerance=self.soc_tolerance)
        if reasons or self.plan is None:
            self.plan = make_plan(request)
            self.request = request
        return self.plan, reasons
