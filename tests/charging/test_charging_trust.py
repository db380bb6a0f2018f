"""A standard charger trusted for charging alone, while signatures stay required elsewhere.

A charger that cannot verify signatures (a plain ``ocpp`` library charge point) could not be
started while signatures were required, and the only way out was to turn them off for doors
and locks too. Now an owner trusts that one charger for the ``charging`` domain: its unsigned
starts pass — from the owner and from the charging controller — each decision on record;
every other device, and every other domain, still needs a signature.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from charging_parts import TARIFF, plug_in, report_soc, settings, setup, start_action

from carhome.access.audit import AuditLog, MemoryAuditStore
from carhome.access.delegates import Delegates, DelegateSigner, DelegationGate, FileDelegateKeys
from carhome.access.gatekeeper import PolicyGatekeeper
from carhome.access.members import Member, Members
from carhome.connectors.ocpp import OcppServer
from carhome.energy import Mode
from carhome.energy.controller import ChargingController
from carhome.errors import CommandDenied
from carhome.hub import Device, Hub
from carhome.signing.relay import ByConnector
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox
from carhome.wire.members import Role


class Access:
    def __init__(self, hub: Hub, server: OcppServer, clock: FakeClock, tmp: Path) -> None:
        self.members = Members(
            members=[Member("owner", "h1", "Ana", Role.OWNER), Member("kid", "h1", "Kid", Role.FAMILY)]
        )
        self.audit = AuditLog(MemoryAuditStore(), clock)
        self.gate = PolicyGatekeeper(self.members, self.audit, clock, require_signatures=True)
        delegates = Delegates(FileDelegateKeys(tmp / "delegates"), ByConnector(hub, {"ocpp": server}), clock)
        hub.commands.signer = DelegateSigner(delegates, unsigned=self.gate.trusts_unsigned)
        hub.commands.gatekeeper = DelegationGate(self.gate, unsigned=self.gate.trusts_unsigned)


@pytest.fixture
async def access(hub: Hub, server: OcppServer, evening: FakeClock, tmp_path: Path) -> Access:
    await hub.add_device(Device(home="h1", id="lock", type="door_lock", connector="mqtt"))
    await hub.add_device(Device(home="h1", id="carport", type="wallbox", connector="ocpp"))
    return Access(hub, server, evening, tmp_path)


async def start(hub: Hub, device: str = "wallbox", member: str = "owner") -> str:
    command = await hub.submit("h1", device, "action", "start_charging", member=member, face="cli")
    return (await hub.commands.wait(command.id, timeout=5)).status.value


async def test_an_owner_trusts_one_charger_for_charging_and_nothing_else(
    hub: Hub, access: Access, wallbox: SimulatedWallbox
) -> None:
    with pytest.raises(CommandDenied, match="needs the member's signature"):
        await start(hub)  # signatures required: a standard charger cannot be started

    assert not (
        await access.gate.trust_unsigned(home="h1", device="wallbox", domain="charging", owner="kid")
    ).allowed
    refused_domain = await access.gate.trust_unsigned(
        home="h1", device="lock", domain="home_lock", owner="owner"
    )
    assert not refused_domain.allowed
    trusted = await access.gate.trust_unsigned(home="h1", device="wallbox", domain="charging", owner="owner")
    assert trusted.allowed, trusted.reason

    assert await start(hub) == "acked"
    assert [action for action, _ in wallbox.received] == [start_action(wallbox)]
    for device, kind, target in (
        ("carport", "action", "start_charging"),  # another charger
        ("car", "action", "start_charging"),  # the car's own charging
        ("lock", "action", "unlock"),  # another domain
    ):
        with pytest.raises(CommandDenied, match="needs the member's signature"):
            await hub.submit("h1", device, kind, target, member="owner", face="cli")  # type: ignore[arg-type]

    entries = await access.audit.entries()
    trust = [
        (e.member, e.device, e.target, e.decision) for e in entries if e.target.startswith("trust_unsigned")
    ]
    assert trust == [
        ("kid", "wallbox", "trust_unsigned:charging", "denied"),
        ("owner", "lock", "trust_unsigned:home_lock", "denied"),
        ("owner", "wallbox", "trust_unsigned:charging", "allowed"),
    ]
    unsigned = [e for e in entries if "trusted for charging without signatures by owner" in e.reason]
    assert [(e.device, e.target, e.decision) for e in unsigned] == [("wallbox", "start_charging", "allowed")]
    assert (await access.audit.verify()).ok


async def test_the_controller_starts_a_trusted_charger_and_the_trust_ends_with_the_owner(
    hub: Hub, access: Access, wallbox: SimulatedWallbox
) -> None:
    await access.gate.trust_unsigned(home="h1", device="wallbox", domain="charging", owner="owner")
    report_soc(hub, 60.0)
    async with ChargingController(hub, setup(), settings(Mode.NOW), TARIFF):
        await plug_in(wallbox)
        await wallbox.wait_request(start_action(wallbox))
    entries = await access.audit.entries()
    assert any(
        e.face == "automation" and e.target == "start_charging" and e.decision == "allowed" for e in entries
    )

    assert await start(hub, member="kid") == "acked"  # family may charge there too
    await access.members.revoke("owner")  # the owner who chose it is gone, and the trust with them
    with pytest.raises(CommandDenied, match="needs the member's signature"):
        await start(hub, member="kid")
