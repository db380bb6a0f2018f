"""A car on a real hub for the KUKSA tests: a device that acks, members and their tokens."""

from __future__ import annotations

import asyncio
from typing import Final

from carhome.access.audit import AuditLog, MemoryAuditStore
from carhome.access.gatekeeper import PolicyGatekeeper
from carhome.access.members import Grant, Member, Members
from carhome.hub import Ack, Command, Hub
from carhome.testing import FakeClock
from carhome.wire.members import Role

HOME: Final = "h1"
CAR: Final = "car"
# token → member; a test may delete a token to revoke it
TOKENS: Final = {"t-olga": "olga", "t-gina": "gina", "t-feeder": "feeder"}


class AckingCar:
    """A ``Transport`` that acknowledges every command through ``hub.ack``, as the car would."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.received: list[Command] = []

    async def deliver(self, command: Command) -> None:
        self.received.append(command)
        ack = Ack(command.id, "acked")
        asyncio.get_running_loop().call_soon(self.hub.ack, command.home, command.device, ack)


def policy(clock: FakeClock) -> PolicyGatekeeper:
    """An owner, and a guest whose live grant covers everything on the car."""
    grant = Grant("g-car", (CAR,), ("*",), clock.time() - 60, clock.time() + 3600, None)
    members = Members(
        members=[
            Member(id="olga", home=HOME, name="Olga", role=Role.OWNER),
            Member(id="gina", home=HOME, name="Gina", role=Role.GUEST, grants=(grant,)),
        ]
    )
    return PolicyGatekeeper(members, AuditLog(MemoryAuditStore(), clock), clock)


OWNER: Final = (("authorization", "Bearer t-olga"),)
"""gRPC call metadata signing a raw stub call in as the owner."""
