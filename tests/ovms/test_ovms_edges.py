"""Bad input at the OVMS edge, commands refused before they go, the PIN, the active client.

Every value a module could not have written is rejected with its reason, counted in the
hub's rejections and logged once per cause, and the good metrics around it still apply.
A command OVMS cannot do, or one carrying a signature an OVMS module cannot verify, fails at
once and nothing reaches the module. The lock PIN comes from its file and is never logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from ovms_rig import FakeModule, leaf_config, online, until

from carhome.connectors.ovms import OvmsConnector
from carhome.hub import Hub
from carhome.spec import vss
from carhome.testing import FakeClock
from mqtt.conftest import FAST, Mosquitto

pytestmark = pytest.mark.mosquitto


async def test_bad_metric_values_are_rejected_counted_and_logged_once_and_the_rest_applies(
    hub: Hub, connector: OvmsConnector, module: FakeModule, caplog: pytest.LogCaptureFixture
) -> None:
    await online(hub)
    caplog.set_level(logging.WARNING, logger="carhome.rejected")
    bad = [
        ("v.b.soc", "abc"),  # not a number
        ("v.b.soc", "nan"),  # no metric holds one
        ("v.c.charging", "maybe"),  # a boolean is yes or no
        ("v.c.duration.soc", "1.5"),  # an integer metric
        ("v.e.cabintemp", b"\xff\xfe"),  # not text
        ("v.p.odometer", "9" * 5000),  # larger than carhome reads
        ("v.b.soc", "150"),  # a number, out of the signal's range: the hub refuses it
        ("s.v3.connected", "perhaps"),
    ]
    for name, value in bad:
        module.metric(name, value)
    module.metric("v.b.soc", "64.5")  # a good one after them
    module.metric("v.p.speed", "42")
    await until(lambda: connector.stats.received >= 1 + len(bad) + 2, "every message taken")
    await until(lambda: hub.value("h1", "leaf", vss.SPEED) == 42.0, "the good values applied")

    assert hub.value("h1", "leaf", vss.SOC) == 64.5
    assert hub.available("h1", "leaf") is True  # a bad status changes nothing
    assert dict(hub.rejections.counts) == {
        "bad_value": 5,
        "too_large": 1,
        "out_of_range": 1,
        "bad_status": 1,
    }
    assert (connector.stats.rejected, connector.stats.rejected_values) == (7, 1)
    logged = [r.getMessage() for r in caplog.records if r.name == "carhome.rejected"]
    assert len(logged) == 4  # once per cause: (leaf, code)
    assert any("metric v.b.soc: 'abc' is not a number" in line for line in logged)
    print(f"OVMS bad inputs: {len(bad)}, rejected and counted: {hub.rejections.total}, logged: {len(logged)}")


async def test_a_command_ovms_cannot_do_or_verify_fails_at_once_and_nothing_is_sent(
    hub: Hub, connector: OvmsConnector, module: FakeModule
) -> None:
    await online(hub)
    refused = [
        await hub.submit("h1", "leaf", "action", "set_charge_limit", {"limit": 80}, member="ana", face="cli"),
        await hub.submit(
            "h1", "leaf", "action", "climate_on", {"temperature": 21.0}, member="ana", face="cli"
        ),
        await hub.submit("h1", "leaf", "set", vss.WINDOW_POSITION[0], {"value": 0}, member="ana", face="cli"),
        await hub.submit("h1", "leaf", "action", "lock", member="ana", face="cli"),  # no PIN configured
        await hub.submit(
            "h1", "leaf", "action", "start_charging", member="ana", face="cli", signature="c2lnbmVk"
        ),
    ]
    errors = [(await hub.commands.wait(c.id, timeout=10)).error or "" for c in refused]
    assert "OVMS has no command for set_charge_limit" in errors[0]
    assert "climatecontrol takes no set point" in errors[1]
    assert f"OVMS has no command to set {vss.WINDOW_POSITION[0]}" in errors[2]
    assert "needs the vehicle's PIN" in errors[3]
    assert "cannot verify carhome's end-to-end signatures" in errors[4]
    good = await hub.submit("h1", "leaf", "action", "climate_on", member="ana", face="cli")
    await hub.commands.wait(good.id, timeout=10)
    assert module.commands == [("carhome", good.id, "climatecontrol on")]  # the first and only one
    assert connector.stats.refused == len(refused)


async def test_lock_sends_the_pin_from_its_file_which_is_never_logged(
    hub: Hub,
    leaf: str,
    mosquitto: Mosquitto,
    module: FakeModule,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    pin_file = tmp_path / "leaf.pin"
    pin_file.write_text("4711\n")
    config = leaf_config(mosquitto.url, pin_file=str(pin_file))
    async with OvmsConnector(hub, config, backoff=FAST):
        await online(hub)
        module.failing = {"unlock"}
        lock = await hub.submit("h1", "leaf", "action", "lock", member="ana", face="cli")
        unlock = await hub.submit("h1", "leaf", "action", "unlock", member="ana", face="cli")
        locked = await hub.commands.wait(lock.id, timeout=10)
        unlocked = await hub.commands.wait(unlock.id, timeout=10)
    assert [c[2] for c in module.commands] == ["lock 4711", "unlock 4711"]
    assert (locked.status.value, locked.result) == ("acked", "Vehicle locked")
    assert unlocked.error == "the OVMS module answered: Error: vehicle could not be unlocked"
    everywhere = [r.getMessage() for r in caplog.records] + [repr(config), repr(locked), repr(unlocked)]
    assert not [line for line in everywhere if "4711" in line]


async def test_carhome_is_an_active_client_while_it_is_connected(
    hub: Hub, clock: FakeClock, leaf: str, mosquitto: Mosquitto, module: FakeModule
) -> None:
    async with OvmsConnector(hub, leaf_config(mosquitto.url), backoff=FAST, active_every=60):
        await module.until(lambda: module.active == [("carhome", b"1")], "carhome active")
        await clock.advance(60)
        await module.until(lambda: len(module.active) == 2, "carhome active again a minute later")
    await module.until(lambda: len(module.active) == 3, "carhome gone")
    assert module.active == [("carhome", b"1"), ("carhome", b"1"), ("carhome", b"0")]
