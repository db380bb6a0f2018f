"""The connector on a real Mosquitto, the bridge's side played from recorded payloads:
devices, names and rooms, states, events, availability, and bad input."""

from __future__ import annotations

import asyncio
import copy
import logging

import pytest
from zigbee_rig import (
    BULB,
    BUTTON,
    PLUG,
    SWITCH,
    WEATHER,
    Bridge,
    devices_list,
    listed,
    next_change,
    settled,
)

from carhome.connectors.zigbee2mqtt import Zigbee2MqttConnector
from carhome.hub import Event, Hub
from mqtt.conftest import TIMEOUT


async def test_each_listed_device_becomes_a_hub_device_with_its_own_spec(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    devices = await listed(bridge, zigbee)
    by_id = {d.id: d for d in devices}
    # the coordinator is no device; every other one is, its id from its IEEE address
    assert len(devices) == len(devices_list()) - 1
    assert "zigbee-00124b00120144ae" not in by_id
    assert (by_id[WEATHER].name, by_id[WEATHER].room, by_id[WEATHER].type) == (
        "weather_sensor",
        None,
        "zigbee:WSDCGQ11LM",
    )
    assert (by_id[SWITCH].name, by_id[SWITCH].room) == ("wall_switch", "kitchen")
    assert {d.connector for d in devices} == {"zigbee2mqtt"}
    assert {d.id for d in hub.devices("h1")} >= set(by_id)
    assert hub.spec("h1", BULB).properties["brightness"].maximum == 254
    assert "turn_on_left" in hub.spec("h1", SWITCH).actions


async def test_states_reach_the_hub_converted(hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector) -> None:
    await listed(bridge, zigbee)
    plugged = next_change(hub, PLUG, "state")
    bridge.recorded("plug_on")
    assert (await asyncio.wait_for(plugged, TIMEOUT)).value is True
    bridge.recorded("weather")
    bridge.recorded("bulb_color_xy")  # color_mode is not exposed: counted, not refused
    await settled(bridge, hub, 21.5)
    assert hub.state("h1", WEATHER)["temperature"].source == "zigbee2mqtt"
    color = hub.state("h1", "zigbee-000b57fffec6a5b4")
    assert (color["color.x"].value, color["color.y"].value) == (100.0, 50.0)
    assert zigbee.stats.ignored_values == 1
    assert hub.rejections.total == 0


async def test_messages_before_the_device_list_wait_for_it(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    # a broker hands retained messages over in any order: states may come before the list
    bridge.recorded("weather")
    bridge.recorded("bulb_unavailable")
    await listed(bridge, zigbee)
    assert hub.value("h1", WEATHER, "temperature") == -0.85
    assert hub.available("h1", BULB) is False
    assert hub.rejections.total == 0


async def test_a_button_press_is_an_event_each_time(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    events: list[Event] = []
    hub.bus.subscribe(events.append, kind=Event, home="h1", device=BUTTON, name="action")
    await listed(bridge, zigbee)
    bridge.recorded("button_single")
    bridge.publish("button", {"action": ""})  # Zigbee2MQTT clearing it: nothing
    bridge.recorded("button_single")
    await settled(bridge, hub, 20.0)
    assert [(e.device, e.name, e.fields, e.source) for e in events] == [
        (BUTTON, "action", {"action": "single"}, "zigbee2mqtt")
    ] * 2
    assert hub.value("h1", BUTTON, "action") == "single"
    assert hub.rejections.total == 0


async def test_availability_follows_the_device_and_the_bridge(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    bridge.recorded("bridge_online", retain=True)
    await listed(bridge, zigbee)
    assert hub.available("h1", PLUG) is True  # bridge up, no word of the device: reachable
    bridge.recorded("plug_unavailable_legacy")
    bridge.recorded("bulb_available")
    await settled(bridge, hub, 19.0)
    assert (hub.available("h1", PLUG), hub.available("h1", BULB)) == (False, True)
    bridge.recorded("bridge_offline")
    await settled(bridge, hub, 18.0)
    assert {hub.available("h1", d.id) for d in hub.devices("h1") if d.connector == "zigbee2mqtt"} == {False}
    bridge.recorded("bridge_online_legacy")
    await settled(bridge, hub, 17.0)
    assert (hub.available("h1", PLUG), hub.available("h1", BULB), hub.available("h1", WEATHER)) == (
        False,
        True,
        True,
    )
    bridge.recorded("plug_available_legacy")
    await settled(bridge, hub, 16.0)
    assert hub.available("h1", PLUG) is True


async def test_renamed_devices_keep_their_id_and_removed_ones_leave(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    await listed(bridge, zigbee)
    bridge.recorded("weather")
    await settled(bridge, hub, 22.0)
    devices = copy.deepcopy(devices_list())
    weather = next(d for d in devices if d["friendly_name"] == "weather_sensor")
    weather["friendly_name"] = "bedroom/climate"
    devices = [d for d in devices if d["friendly_name"] != "power_plug"]
    await listed(bridge, zigbee, devices)
    bridge.publish("weather_sensor/availability", b"", retain=True)  # Zigbee2MQTT clears the old name's
    assert (hub.device("h1", WEATHER).name, hub.device("h1", WEATHER).room) == ("climate", "bedroom")
    assert hub.value("h1", WEATHER, "temperature") == 22.0  # the same device, its state kept
    assert PLUG not in {d.id for d in hub.devices("h1")}
    changed = next_change(hub, WEATHER, "humidity")
    bridge.publish("bedroom/climate", {"humidity": 55.5})
    assert (await asyncio.wait_for(changed, TIMEOUT)).value == 55.5
    assert hub.rejections.total == 0


async def test_bad_input_is_refused_with_a_reason_counted_and_logged_once(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "carhome.rejected")
    await listed(bridge, zigbee)
    neighbour = next_change(hub, WEATHER, "temperature", lambda c: c.value == 23.5)
    bridge.publish("bridge/devices", b"[{]")  # not JSON: the devices stay as they were
    for _ in range(3):
        bridge.publish("weather_sensor", {"battery": 140, "temperature": 23.5})  # battery out of range
        bridge.publish("cellar/ghost", {"temperature": 3})  # no device of the list
        bridge.publish("power_plug", b"ON")  # not a JSON object
        bridge.publish("power_plug", {"state": "MAYBE"})
    # a value none of the above sent: once it is in, every message before it was handled
    await settled(bridge, hub, 24.5)
    assert neighbour.done()  # the good neighbour of a bad value was taken
    assert {d.id for d in hub.devices("h1")} >= {WEATHER, PLUG}
    counts = hub.rejections.counts
    assert (counts["out_of_range"], counts["unknown_device"], counts["not_allowed"]) == (3, 3, 3)
    assert counts["malformed_payload"] == 4
    lines = [r.getMessage() for r in caplog.records if r.name == "carhome.rejected"]
    assert len(lines) == 5  # one per cause: the list, the battery, the ghost, the plug's JSON, its value
    assert any("'cellar/ghost' is not a device of the bridge's list" in line for line in lines)
    assert any("'MAYBE' is neither 'ON' nor 'OFF'" in line for line in lines)


async def test_one_malformed_device_entry_loses_no_other(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    devices = copy.deepcopy(devices_list())
    devices[1]["ieee_address"] = "bulb-without-address"
    devices[2] = {"friendly_name": 7}
    got = await listed(bridge, zigbee, devices)
    assert len(got) == len(devices) - 3  # the coordinator and the two broken ones
    assert WEATHER in {d.id for d in got}
    assert hub.rejections.counts["bad_device"] == 2


async def test_groups_and_devices_not_brought_are_no_unknown_devices(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    devices = copy.deepcopy(devices_list())
    devices[1]["interview_completed"] = False  # still being interviewed: not brought yet
    bridge.publish("bridge/groups", [{"id": 1, "friendly_name": "upstairs", "members": []}], retain=True)
    await listed(bridge, zigbee, devices)
    bridge.publish("upstairs", {"state": "ON"})
    bridge.publish("bulb", {"state": "ON"})
    await settled(bridge, hub, 15.0)
    assert hub.rejections.total == 0
    assert BULB not in {d.id for d in hub.devices("h1")}
