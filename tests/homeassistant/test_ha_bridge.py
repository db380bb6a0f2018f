"""The bridge end to end through each real broker: discovery, state, availability,
commands through the hub's access checks, Home Assistant restarts and removed devices."""

from __future__ import annotations

import asyncio

import msgspec
from ha_fakes import MEMBER, HomeAssistant, acking

from carhome.connectors.homeassistant import FACE, HomeAssistantBridge, check_config
from carhome.hub import Command, CommandStatus, Device, Hub, Result
from carhome.spec import vss
from carhome.store import MemoryStore
from carhome.testing import AckingDevice, FakeClock, Refuse
from mqtt.conftest import FAST, TIMEOUT

CAR_CONFIG = "homeassistant/device/carhome_h1_car/config"
PURIFIER_CONFIG = "homeassistant/device/carhome_h1_purifier/config"
CAR_STATE = "carhome/h1/car/ha/state"
RESULT = "carhome/h1/car/ha/result"


async def _config(ha: HomeAssistant, topic: str) -> dict[str, dict[str, dict[str, object]]]:
    """The components of the device config on ``topic``, checked against the schema."""
    payload, _ = await ha.until(topic, lambda p, _r: bool(p))
    check_config(payload)
    decoded: dict[str, dict[str, dict[str, object]]] = msgspec.json.decode(payload)
    return decoded


async def test_configs_appear_retained(bridge: HomeAssistantBridge, ha: HomeAssistant) -> None:
    # Home Assistant subscribes after the bridge published: only retained messages reach it.
    await ha.subscribe("homeassistant/device/+/config")
    car, retained = await ha.until(CAR_CONFIG, lambda p, _r: bool(p))
    assert retained
    cmps = check_config(car).components
    assert {type(c).__name__ for c in cmps.values()} >= {
        "Sensor",
        "BinarySensor",
        "Climate",
        "DeviceTracker",
        "Number",
        "Button",
        "Event",
    }
    # Home Assistant may not lock, unlock, open the trunk or start charging: no such control.
    assert "Lock" not in {type(c).__name__ for c in cmps.values()}
    assert type(cmps["doors"]).__name__ == "BinarySensor"
    assert {"open_trunk", "charging"}.isdisjoint(cmps)
    purifier, retained = await ha.until(PURIFIER_CONFIG, lambda p, _r: bool(p))
    assert retained
    assert check_config(purifier).device.suggested_area == "Living room"
    assert bridge.stats.configs == 2


async def test_state_change_reaches_the_state_topic(
    hub: Hub, bridge: HomeAssistantBridge, ha: HomeAssistant
) -> None:
    await ha.subscribe(CAR_STATE)
    first = await ha.json(CAR_STATE, lambda _s: True)
    assert first[vss.SOC] is None  # every property is there, null until reported
    hub.report("h1", "car", {vss.SOC: 80.5, vss.IS_CHARGING: True})
    state = await ha.json(CAR_STATE, lambda s: s[vss.SOC] == 80.5)
    assert state[vss.IS_CHARGING] is True


async def test_availability_follows_the_hub(hub: Hub, bridge: HomeAssistantBridge, ha: HomeAssistant) -> None:
    topic = "carhome/h1/purifier/ha/availability"
    await ha.subscribe(topic)
    await ha.until(topic, lambda p, _r: p == b"online")
    hub.set_available("h1", "purifier", False)
    await ha.until(topic, lambda p, _r: p == b"offline")
    hub.set_available("h1", "purifier", True)
    await ha.until(topic, lambda p, _r: p == b"online")


async def test_bridge_status_says_offline_when_it_stops(hub: Hub, broker_url: str, ha: HomeAssistant) -> None:
    await ha.subscribe("carhome-ha/carhome/status")
    async with HomeAssistantBridge(hub, broker_url, member=MEMBER, backoff=FAST):
        await ha.until("carhome-ha/carhome/status", lambda p, _r: p == b"online")
    await ha.until("carhome-ha/carhome/status", lambda p, _r: p == b"offline")


async def test_command_becomes_an_acked_carhome_command(
    hub: Hub, bridge: HomeAssistantBridge, ha: HomeAssistant, transport: AckingDevice
) -> None:
    await ha.subscribe(PURIFIER_CONFIG)
    switch = (await _config(ha, PURIFIER_CONFIG))["cmps"]["on"]
    results: asyncio.Future[Command] = asyncio.get_running_loop().create_future()

    def finished(result: Result) -> None:
        if result.final and not results.done():
            results.set_result(result.command)

    hub.bus.subscribe(finished, kind=Result, home="h1", device="purifier")
    ha.publish(str(switch["command_topic"]), b"ON", qos=1)
    delivered = await transport.next()
    assert (delivered.kind, delivered.target, delivered.args) == ("set", "on", {"value": True})
    assert (delivered.member, delivered.face) == (MEMBER, FACE)
    done = await asyncio.wait_for(results, TIMEOUT)
    assert done.id == delivered.id
    assert done.status is CommandStatus.ACKED
    await bridge.drain()
    assert bridge.stats.commands == 1


async def test_climate_mode_sends_mode_then_power(
    hub: Hub, bridge: HomeAssistantBridge, ha: HomeAssistant, transport: AckingDevice
) -> None:
    await hub.add_device(Device(home="h1", id="ac", type="air_conditioner", name="Bedroom AC"))
    bridge.sync()
    topic = "homeassistant/device/carhome_h1_ac/config"
    await ha.subscribe(topic)
    climate = (await _config(ha, topic))["cmps"]["climate"]
    ha.publish("carhome/h1/ac/ha/cmd/climate/nonsense", b"heat", qos=1)  # no such option: rejected
    ha.publish(str(climate["mode_command_topic"]), b"heat", qos=1)
    first, second = await transport.next(), await transport.next()
    assert (first.target, first.args, second.target, second.args) == (
        "mode",
        {"value": "heat"},
        "on",
        {"value": True},
    )
    await bridge.drain()
    assert (bridge.stats.rejected, bridge.stats.commands) == (1, 2)


async def test_access_checks_apply(broker_url: str, ha: HomeAssistant) -> None:
    deny = Refuse("guests may not unlock the car")
    async with Hub(store=MemoryStore(), clock=FakeClock(), gatekeeper=deny) as hub:
        from carhome.hub import Home  # noqa: PLC0415 - local to this one test

        await hub.add_home(Home(id="h1", name="Home", lat=39.8, lon=116.5))
        await hub.add_device(Device(home="h1", id="car", type="car"))
        transport = acking(hub)
        hub.commands.attach("mqtt", transport)
        async with HomeAssistantBridge(hub, broker_url, member="guest", backoff=FAST) as bridge:
            await ha.subscribe(RESULT)
            # Not offered (doors are read-only in Home Assistant), but whatever arrives on a
            # command topic is the gatekeeper's to refuse, on record, and Home Assistant hears.
            ha.publish("carhome/h1/car/ha/cmd/doors/set", b"UNLOCK", qos=1)
            asked = await deny.until_asked(wait=TIMEOUT)
            assert (asked.target, asked.member, asked.face) == ("unlock", "guest", FACE)
            await bridge.drain()
            assert (bridge.stats.denied, bridge.stats.commands) == (1, 0)
            assert transport.received == []
            event = await ha.json(RESULT, lambda _e: True)
            assert (event["event_type"], event["command"]) == ("refused", "unlock")
            assert "guests may not unlock the car" in str(event["reason"])


async def test_home_assistant_restart_triggers_republish(
    bridge: HomeAssistantBridge, ha: HomeAssistant
) -> None:
    await ha.subscribe(CAR_CONFIG)
    await ha.until(CAR_CONFIG, lambda p, r: bool(p) and r)
    ha.publish("homeassistant/status", b"offline", qos=1)
    ha.publish("homeassistant/status", b"online", qos=1)
    payload, _ = await ha.until(CAR_CONFIG, lambda p, r: bool(p) and not r)
    check_config(payload)
    assert bridge.stats.republished == 1


async def test_removed_device_config_is_cleared(
    hub: Hub, bridge: HomeAssistantBridge, ha: HomeAssistant
) -> None:
    await ha.subscribe(PURIFIER_CONFIG)
    await ha.until(PURIFIER_CONFIG, lambda p, _r: bool(p))
    await hub.remove_device("h1", "purifier")
    bridge.sync()
    await ha.until(PURIFIER_CONFIG, lambda p, _r: p == b"")
    assert bridge.stats.removed == 1


async def test_device_removed_while_the_bridge_was_down_is_cleared(
    hub: Hub, broker_url: str, ha: HomeAssistant
) -> None:
    await ha.subscribe(PURIFIER_CONFIG)
    async with HomeAssistantBridge(hub, broker_url, member=MEMBER, backoff=FAST):
        await ha.until(PURIFIER_CONFIG, lambda p, _r: bool(p))
    await hub.remove_device("h1", "purifier")
    async with HomeAssistantBridge(hub, broker_url, member=MEMBER, backoff=FAST) as bridge:
        await ha.until(PURIFIER_CONFIG, lambda p, _r: p == b"")
        assert bridge.stats.removed == 1
