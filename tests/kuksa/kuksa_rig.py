"""A car on a real hub for the KUKSA tests: a device that acks, members and their tokens."""

from __future__ import annotations

from typing import Final

from carhome.access.audit import AuditLog, MemoryAuditStore
from carhome.access.gatekeeper import PolicyGatekeeper
from carhome.access.members import Grant, Member, Members
from carhome.testing import FakeClock
from carhome.wire.members import Role

HOME: Final = "h1"
CAR: Final = "car"
# token → member; a test may delete a token to revoke it
TOKENS: Final = {"t-olga": "olga", "t-gina": "gina", "t-feeder": "feeder"}


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
