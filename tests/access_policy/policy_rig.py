"""A home's members, grants and commands for the access-policy tests."""

from __future__ import annotations

import itertools
from typing import Any, Final

from carhome.access.audit import AuditLog, AuditStore, MemoryAuditStore
from carhome.access.gatekeeper import PolicyGatekeeper
from carhome.access.members import Grant, Member, Members, MemberStore
from carhome.hub import Command
from carhome.spec import DeviceSpec
from carhome.spec.devices import CAR, DOOR_LOCK, GARAGE_DOOR, LIGHT, WALLBOX
from carhome.testing import FakeClock
from carhome.wire.members import Role

T0: Final = FakeClock().time()
GRANT_START: Final = T0 + 3600
GRANT_END: Final = T0 + 7200
# Before the window, its first instant, its last second, its end (already outside).
TIMES: Final = (T0, GRANT_START, GRANT_END - 1, GRANT_END)

DEVICES: Final[dict[str, DeviceSpec]] = {
    "car": CAR,
    "light": LIGHT,
    "lock": DOOR_LOCK,
    "garage": GARAGE_DOOR,
    "wallbox": WALLBOX,
}

# (device, kind, target, args)
COMMANDS: Final[tuple[tuple[str, str, str, dict[str, Any]], ...]] = (
    ("car", "action", "lock", {}),
    ("car", "action", "unlock", {}),
    ("car", "action", "open_trunk", {}),
    ("car", "action", "close_trunk", {}),
    ("car", "action", "start_charging", {}),
    ("car", "action", "stop_charging", {}),
    ("car", "action", "climate_on", {}),
    ("light", "action", "turn_on", {}),
    ("light", "set", "brightness", {"value": 40}),
    ("lock", "action", "lock", {}),
    ("lock", "action", "unlock", {}),
    ("garage", "action", "open", {}),
    ("garage", "action", "stop", {}),
    ("wallbox", "action", "start_charging", {}),
    ("wallbox", "set", "current_limit", {"value": 16}),
)

FACES: Final = ("cli", "api", "websocket", "automation", "cabin", "homeassistant", "kuksa", "smtp")


def window(
    grant_id: str, devices: tuple[str, ...], targets: tuple[str, ...], uses: int | None = None
) -> Grant:
    return Grant(grant_id, devices, targets, GRANT_START, GRANT_END, uses)


def people() -> list[Member]:
    """An owner, family, two guests, a revoked family member and an owner of another home."""
    return [
        Member(id="olga", home="h1", name="Olga", role=Role.OWNER),
        Member(id="fred", home="h1", name="Fred", role=Role.FAMILY),
        Member(
            id="gina",
            home="h1",
            name="Gina",
            role=Role.GUEST,
            grants=(
                window("g-any", ("car", "light"), ("*",)),
                window("g-door", ("lock",), ("unlock",)),
            ),
        ),
        Member(
            id="gus",
            home="h1",
            name="Gus",
            role=Role.GUEST,
            grants=(
                window("g-lock-any", ("lock", "garage"), ("*",)),
                window("g-ac", ("car",), ("climate_on",)),
            ),
        ),
        Member(id="rex", home="h1", name="Rex", role=Role.FAMILY, revoked=True),
        Member(id="otto", home="h2", name="Otto", role=Role.OWNER),
    ]


_ids = itertools.count()


def command(
    member: str,
    device: str,
    kind: str,
    target: str,
    args: dict[str, Any],
    face: str,
    now: float,
    *,
    signed: bool,
) -> Command:
    return Command(
        id=f"c{next(_ids)}",
        home="h1",
        device=device,
        kind=kind,  # type: ignore[arg-type]
        target=target,
        args=dict(args),
        member=member,
        face=face,
        created=now,
        expires=now + 30,
        signature="sig" if signed else None,
    )


def gatekeeper(
    clock: FakeClock, store: AuditStore | None = None, members_in: MemberStore | None = None, **options: Any
) -> tuple[PolicyGatekeeper, Members, AuditLog]:
    """The gatekeeper of ``people()``, its registry (changes kept in ``members_in``) and log."""
    members = Members(members_in, people())
    audit = AuditLog(store or MemoryAuditStore(), clock)
    return PolicyGatekeeper(members, audit, clock, **options), members, audit
