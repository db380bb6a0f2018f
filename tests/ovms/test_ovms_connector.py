"""The OVMS connector against a real Mosquitto and a module playing the firmware's messages.

Ingest: the recorded session lands as the car's VSS state, unmapped metrics left alone;
availability follows the module's connected metric, its will included. Commands: each goes
once, at the module's client topic, its answer acks or fails it; one that waits for an
absent module is never sent past its expiry, and an answer after the expiry changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ovms_rig import FakeModule, leaf_config, online, until

from carhome.connectors.ovms import OvmsConnector
from carhome.hub import Device, Home, Hub
from carhome.spec import vss
from carhome.store import SqliteStore
from carhome.testing import FakeClock
from mqtt.conftest import FAST, Mosquitto, TcpProxy

pytestmark = pytest.mark.mosquitto

CABLE = vss.CABLE_CONNECTED


async def test_a_module_session_lands_as_the_cars_vss_state(
    hub: Hub, connector: OvmsConnector, module: FakeModule
) -> None:
    await online(hub)
    sent = module.play_session()
    await until(lambda: connector.stats.received >= sent + 1, "the whole session taken")
    state = {name: s.value for name, s in hub.state("h1", "leaf").items()}

    assert state[vss.SOC] == 85.0
    assert state[vss.RANGE] == 187_000  # km → m
    assert state[vss.BATTERY_POWER] == 6600.0  # OVMS counts out of the battery; VSS into it
    assert state[vss.IS_CHARGING] is True
    assert state[CABLE] is True
    assert state[vss.TIME_TO_COMPLETE] == 95 * 60
    assert state[vss.ODOMETER] == 1_234_570.0  # as C++ streams print it: 1.23457e+06
    assert (state[vss.LATITUDE], state[vss.LONGITUDE]) == (39.7953, 116.506)
    assert all(state[p] is True for p in vss.DOOR_LOCKED)
    assert state[vss.DOOR_OPEN[3]] is True  # rear right: a left-hand-drive car's rear passenger door
    assert vss.CHARGE_LIMIT not in state  # 0: no limit set on the module
    assert state["place"] == "home"  # the hub derives it from the module's position
    stats = connector.stats
    print(f"OVMS session: {sent} messages, {stats.applied} mapped, {stats.unmapped} left alone")
    assert connector.stats.unmapped == 5
    assert connector.stats.rejected == 0
    assert hub.rejections.total == 0


async def test_availability_follows_the_connected_metric_and_the_modules_will(
    hub: Hub, connector: OvmsConnector, mosquitto: Mosquitto
) -> None:
    async with TcpProxy(mosquitto.port) as proxy:
        module = FakeModule(proxy.port, name="leaf-module")
        await module.__aenter__()
        await online(hub)
        await proxy.cut()  # the module loses its link without a goodbye: the broker sends its will
        await online(hub, up=False)
    async with FakeModule(mosquitto.port, name="leaf-module"):
        await online(hub)


async def test_charge_start_goes_once_to_the_module_and_its_answer_acks_it(
    hub: Hub, connector: OvmsConnector, module: FakeModule
) -> None:
    await online(hub)
    command = await hub.submit("h1", "leaf", "action", "start_charging", member="ana", face="cli")
    done = await hub.commands.wait(command.id, timeout=10)

    assert module.commands == [("carhome", command.id, "charge start")]
    assert done.status.value == "acked"
    assert done.result == "Charge has been started"
    stop = await hub.submit("h1", "leaf", "set", vss.AC_ACTIVE, {"value": False}, member="ana", face="cli")
    assert (await hub.commands.wait(stop.id, timeout=10)).result == "Climate Control \noff"
    assert [c[2] for c in module.commands] == ["charge start", "climatecontrol off"]


async def test_a_failure_the_module_reports_fails_the_command_with_its_words(
    hub: Hub, connector: OvmsConnector, module: FakeModule
) -> None:
    await online(hub)
    module.failing = {"charge start"}
    command = await hub.submit("h1", "leaf", "action", "start_charging", member="ana", face="cli")
    done = await hub.commands.wait(command.id, timeout=10)
    assert done.status.value == "failed"
    assert done.error == "the OVMS module answered: Error: Could not start charge"


async def test_a_command_for_an_absent_module_waits_and_is_never_sent_after_its_expiry(
    hub: Hub, clock: FakeClock, connector: OvmsConnector, module: FakeModule
) -> None:
    await online(hub)
    module.say_connected(False)
    await online(hub, up=False)
    late = await hub.submit("h1", "leaf", "action", "climate_on", member="ana", face="cli", ttl=30)
    assert hub.commands.get(late.id).status.value == "queued"  # type: ignore[union-attr]
    await clock.advance(31)
    assert (await hub.commands.wait(late.id, timeout=10)).status.value == "expired"

    module.say_connected(True)  # back: what waited within its expiry would go now
    await online(hub)
    fresh = await hub.submit("h1", "leaf", "action", "climate_off", member="ana", face="cli")
    await hub.commands.wait(fresh.id, timeout=10)
    late_runs = [c for c in module.commands if c[1] == late.id]
    print(f"late executions: {len(late_runs)} of 1")
    assert late_runs == []
    assert [c[1] for c in module.commands] == [fresh.id]


async def test_a_command_waiting_for_the_module_goes_when_it_is_back_within_its_expiry(
    hub: Hub, clock: FakeClock, connector: OvmsConnector, module: FakeModule
) -> None:
    module.say_connected(False)
    await online(hub, up=False)
    command = await hub.submit("h1", "leaf", "action", "stop_charging", member="ana", face="cli", ttl=60)
    await clock.advance(20)
    module.say_connected(True)
    done = await hub.commands.wait(command.id, timeout=10)
    assert (done.status.value, module.commands) == ("acked", [("carhome", command.id, "charge stop")])


async def test_an_answer_after_the_expiry_is_ignored(
    hub: Hub, clock: FakeClock, connector: OvmsConnector, module: FakeModule
) -> None:
    await online(hub)
    module.hold = True
    command = await hub.submit("h1", "leaf", "action", "start_charging", member="ana", face="cli", ttl=30)
    await module.until(lambda: len(module.commands) == 1, "the command at the module")
    await clock.advance(31)
    assert (await hub.commands.wait(command.id, timeout=10)).status.value == "expired"
    module.answer_held()
    await until(lambda: connector.stats.stray_answers == 1, "the late answer taken")
    assert hub.commands.get(command.id).status.value == "expired"  # type: ignore[union-attr]
    assert connector.stats.answers == 0


async def test_a_sent_command_is_not_sent_again_when_the_link_comes_back(
    hub: Hub, clock: FakeClock, mosquitto: Mosquitto, leaf: str, module: FakeModule
) -> None:
    async with (
        TcpProxy(mosquitto.port) as proxy,
        OvmsConnector(hub, leaf_config(proxy.url), backoff=FAST) as c,
    ):
        await online(hub)
        module.hold = True  # no answer yet: the command stays pending while the link drops
        command = await hub.submit("h1", "leaf", "action", "start_charging", member="ana", face="cli")
        await module.until(lambda: len(module.commands) == 1, "the command at the module")
        await proxy.cut()
        await online(hub, up=False)  # carhome cannot see the module now
        await proxy.__aenter__()  # listening again on the same port
        # the link waits its backoff on the hub's clock: let short sleeps pass meanwhile
        await clock.jump_through(until(lambda: c.connects == 2, "the link back"), horizon=1.0)
        await online(hub)  # the module's retained "yes": the router delivers what is pending
        module.hold = False
        module.answer_held()
        done = await hub.commands.wait(command.id, timeout=10)
    runs = [cmd for cmd in module.commands if cmd[1] == command.id]
    print(f"duplicates executed: {len(runs) - 1} of 1")
    assert (done.status.value, len(runs)) == ("acked", 1)


async def test_after_a_restart_a_sent_command_is_not_sent_again_and_its_answer_still_counts(
    tmp_path: Path, clock: FakeClock, mosquitto: Mosquitto, module: FakeModule
) -> None:
    database = tmp_path / "carhome.db"
    module.hold = True
    async with Hub(store=SqliteStore(database), clock=clock) as hub:
        await hub.add_home(Home(id="h1", name="Home", lat=39.7953, lon=116.506))
        await hub.add_device(Device(home="h1", id="leaf", type="car", connector="ovms"))
        async with OvmsConnector(hub, leaf_config(mosquitto.url), backoff=FAST):
            await online(hub)
            command = await hub.submit(
                "h1", "leaf", "action", "start_charging", member="ana", face="cli", ttl=300
            )
            await module.until(lambda: len(module.commands) == 1, "the command at the module")
            await until(lambda: command.status.value == "sent", "the command sent")
    async with (
        Hub(store=SqliteStore(database), clock=clock) as hub,
        OvmsConnector(hub, leaf_config(mosquitto.url), backoff=FAST) as connector,
    ):
        await online(hub)  # the router hands the connector what is pending: it was sent once
        module.answer_held()
        done = await hub.commands.wait(command.id, timeout=10)
        assert (done.status.value, done.result) == ("acked", "Charge has been started")
        assert connector.stats.commands == 0
    assert [c[1] for c in module.commands] == [command.id]
