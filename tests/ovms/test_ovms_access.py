"""An OVMS car under carhome's access control, and in the API the web app renders from.

An OVMS module cannot verify carhome's end-to-end signatures. With signatures required, its
doors stay shut to carhome — an unsigned lock is refused by the gatekeeper, a signed one by
the connector, and no owner can trust the car for doors — while an owner may trust it for
charging alone, as for a standard charger: then its charge start goes, on record.
"""

from __future__ import annotations

import httpx
import pytest
from ovms_rig import FakeModule, online, until

from carhome.access.audit import AuditLog, MemoryAuditStore
from carhome.access.gatekeeper import PolicyGatekeeper
from carhome.access.members import Member, Members
from carhome.api import create_app
from carhome.connectors.ovms import OvmsConnector
from carhome.errors import CommandDenied
from carhome.hub import Hub
from carhome.spec import vss
from carhome.testing import FakeClock
from carhome.wire.members import Role

pytestmark = pytest.mark.mosquitto


async def test_signatures_keep_the_doors_shut_and_an_owner_may_trust_the_car_for_charging(
    hub: Hub, clock: FakeClock, connector: OvmsConnector, module: FakeModule
) -> None:
    members = Members(members=[Member("ana", "h1", "Ana", Role.OWNER)])
    audit = AuditLog(MemoryAuditStore(), clock)
    gate = PolicyGatekeeper(members, audit, clock, require_signatures=True)
    hub.commands.gatekeeper = gate
    await online(hub)

    with pytest.raises(CommandDenied, match="needs the member's signature"):
        await hub.submit("h1", "leaf", "action", "unlock", member="ana", face="api")
    signed = await hub.submit("h1", "leaf", "action", "unlock", member="ana", face="api", signature="c2ln")
    refused = await hub.commands.wait(signed.id, timeout=10)
    assert "cannot verify carhome's end-to-end signatures" in (refused.error or "")
    doors = await gate.trust_unsigned(home="h1", device="leaf", domain="car_doors", owner="ana")
    assert not doors.allowed

    with pytest.raises(CommandDenied, match="needs the member's signature"):
        await hub.submit("h1", "leaf", "action", "start_charging", member="ana", face="api")
    assert (await gate.trust_unsigned(home="h1", device="leaf", domain="charging", owner="ana")).allowed
    start = await hub.submit("h1", "leaf", "action", "start_charging", member="ana", face="api")
    assert (await hub.commands.wait(start.id, timeout=10)).status.value == "acked"

    assert [c[2] for c in module.commands] == ["charge start"]  # nothing of the doors' reached it
    entries = await audit.entries()
    assert [(e.target, e.decision) for e in entries if e.device == "leaf" and e.command != "-"] == [
        ("unlock", "denied"),
        ("unlock", "allowed"),  # signed: the hub relays it, the connector refuses it
        ("start_charging", "denied"),
        ("start_charging", "allowed"),
    ]


async def test_the_device_list_and_state_show_the_ovms_car_with_its_vss_values(
    hub: Hub, connector: OvmsConnector, module: FakeModule
) -> None:
    await online(hub)
    sent = module.play_session()
    await until(lambda: connector.stats.received >= sent + 1, "the whole session taken")
    transport = httpx.ASGITransport(app=create_app(hub, member="ana"))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        devices = (await client.get("/api/devices", params={"home": "h1"})).json()
        detail = (await client.get("/api/devices/h1/leaf")).json()
    [leaf] = [d for d in devices if d["id"] == "leaf"]
    assert (leaf["type"], leaf["connector"], leaf["online"]) == ("car", "ovms", True)
    assert detail["spec"]["type"] == "car"
    state = {name: s["value"] for name, s in detail["state"].items()}
    assert state[vss.SOC] == 85.0
    assert state[vss.RANGE] == 187_000
    assert state[vss.IS_CHARGING] is True
    assert {s["source"] for name, s in detail["state"].items() if name.startswith("Vehicle.")} == {"ovms"}
