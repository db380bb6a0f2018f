"""role × command × time × face, from the one policy table, against a plain oracle.

Run ``pytest -s tests/access_policy`` to see the figure lines.
"""

from __future__ import annotations

import pytest
from backends import Backend
from policy_rig import (
    COMMANDS,
    DEVICES,
    FACES,
    GRANT_END,
    GRANT_START,
    TIMES,
    command,
    gatekeeper,
    people,
    window,
)

from carhome.access.audit import AuditLog
from carhome.access.gatekeeper import PolicyGatekeeper
from carhome.access.members import Members
from carhome.access.policy import POLICY, Effect, Face, Policy, Rule
from carhome.testing import FakeClock
from carhome.wire.members import Role

PEOPLE_FACES = {"cli", "api", "websocket", "cabin"}
KNOWN_FACES = {"cli", "api", "websocket", "automation", "cabin", "homeassistant", "kuksa"}

# The oracle's own copy of the grants in policy_rig.people(), written out by hand.
GRANTS = {
    "gina": [({"car", "light"}, {"*"}), ({"lock"}, {"unlock"})],
    "gus": [({"lock", "garage"}, {"*"}), ({"car"}, {"climate_on"})],
}
ROLES = {"olga": "owner", "fred": "family", "gina": "guest", "gus": "guest", "rex": "family", "otto": "owner"}


def critical(device: str, kind: str, target: str) -> bool:
    """Which commands are safety-critical, listed by hand."""
    return (device, kind, target) in {
        ("car", "action", "lock"),
        ("car", "action", "unlock"),
        ("car", "action", "open_trunk"),
        ("car", "action", "close_trunk"),
        ("car", "action", "start_charging"),
        ("lock", "action", "lock"),
        ("lock", "action", "unlock"),
        ("garage", "action", "open"),
        ("garage", "action", "close"),
        ("wallbox", "action", "start_charging"),
    }


def oracle(member: str, device: str, kind: str, target: str, face: str, now: float, *, signed: bool) -> bool:
    if face not in KNOWN_FACES or member in ("rex", "otto"):
        return False
    is_critical = critical(device, kind, target)
    if is_critical and (face == "homeassistant" or not signed):
        return False
    if ROLES[member] in ("owner", "family"):
        return True
    if face not in PEOPLE_FACES or not GRANT_START <= now < GRANT_END:
        return False
    for devices, targets in GRANTS[member]:
        if device in devices and (target in targets or ("*" in targets and not is_critical)):
            return True
    return False


def admin_oracle(member: str, face: str) -> bool:
    return member == "olga" and face in ("cli", "api")


async def test_matrix_matches_the_oracle() -> None:
    clock = FakeClock()
    keeper, _, _ = gatekeeper(clock)
    members = [m.id for m in people()]
    cases = mismatches = 0
    seen = {"allowed": 0, "denied": 0}
    for now in TIMES:
        clock.set(now)
        for member in members:
            for face in FACES:
                for device, kind, target, args in COMMANDS:
                    for signed in (False, True):
                        cmd = command(member, device, kind, target, args, face, now, signed=signed)
                        got = (await keeper.decide(cmd, DEVICES[device])).allowed
                        want = oracle(member, device, kind, target, face, now, signed=signed)
                        cases += 1
                        mismatches += got != want
                        seen["allowed" if got else "denied"] += 1
                for op in ("manage_members", "enroll_keys"):
                    got = (await keeper.authorize(member=member, home="h1", face=face, operation=op)).allowed
                    cases += 1
                    mismatches += got != admin_oracle(member, face)
    print(
        f"\naccess matrix: mismatches: {mismatches} of {cases}"
        f" ({seen['allowed']} allowed, {seen['denied']} denied)"
    )
    assert mismatches == 0
    assert seen["allowed"] > 500
    assert seen["denied"] > 500


def test_table_is_data_and_total() -> None:
    policy = Policy()
    assert all(isinstance(rule, Rule) for rule in POLICY)
    # Nobody, whatever the role, sends a safety-critical command through Home Assistant.
    for role in Role:
        assert policy.effect(role, "home_lock", Face.HOMEASSISTANT) is Effect.DENY
    assert policy.effect(Role.GUEST, "garage", Face.CLI) is Effect.NAMED_GRANT


def test_contradicting_table_is_refused() -> None:
    dup = Rule(Role.OWNER, ("ordinary",), (Face.CLI,), Effect.DENY, "x")
    with pytest.raises(ValueError, match="twice"):
        Policy((*POLICY, dup))
    with pytest.raises(ValueError, match="unknown scope"):
        Policy((Rule(Role.OWNER, ("teleport",), (Face.CLI,), Effect.ALLOW, "x"),))


async def test_signatures_not_required_when_configured_off() -> None:
    clock = FakeClock()
    keeper, _, _ = gatekeeper(clock, require_signatures=False)
    cmd = command("olga", "lock", "action", "unlock", {}, "cli", clock.time(), signed=False)
    assert (await keeper.decide(cmd, DEVICES["lock"])).allowed


async def test_grant_uses_run_out(backend: Backend) -> None:
    clock = FakeClock(GRANT_START)
    async with backend.stores() as (member_store, audit_store):
        keeper, members, _ = gatekeeper(clock, audit_store, member_store)
        await members.grant("gus", window("g-twice", ("garage",), ("open",), uses=2))
        results = []
        for _ in range(3):
            cmd = command("gus", "garage", "action", "open", {}, "api", clock.time(), signed=True)
            results.append((await keeper.decide(cmd, DEVICES["garage"])).allowed)
    assert results == [True, True, False]
    # The refused third command spent nothing; the uses are kept, and count after a restart.
    assert next(g for g in members.require("gus").grants if g.id == "g-twice").used == 2
    async with backend.stores() as (member_store, audit_store):
        again = await Members.load(member_store)
        keeper = PolicyGatekeeper(again, AuditLog(audit_store, clock), clock)
        cmd = command("gus", "garage", "action", "open", {}, "api", clock.time(), signed=True)
        refused = await keeper.decide(cmd, DEVICES["garage"])
    assert next(g for g in again.require("gus").grants if g.id == "g-twice").used == 2
    assert not refused.allowed
