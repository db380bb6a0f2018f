"""Exposes to carhome specs, generically, over device definitions recorded from Zigbee2MQTT
and zigbee-herdsman-converters."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zigbee_rig import devices_list

from carhome.connectors.zigbee2mqtt import Coverage, DeviceMap, Expose, map_device
from carhome.connectors.zigbee2mqtt.mapping import ZigbeeValueError
from carhome.spec import Access, Format

_expose = msgspec.json.Decoder(Expose)


def mapped(friendly_name: str) -> DeviceMap:
    entry = next(d for d in devices_list() if d["friendly_name"] == friendly_name)
    definition = entry["definition"]
    exposes = [_expose.decode(json.dumps(e)) for e in definition["exposes"]]
    return map_device(
        exposes, model=definition["model"], vendor=definition["vendor"], description=definition["description"]
    )


def test_a_sensor_maps_fully_with_its_units_and_ranges() -> None:
    sensor = mapped("weather_sensor")
    props = sensor.spec.properties
    assert sensor.coverage is Coverage.FULL
    assert sensor.spec.type == "zigbee:WSDCGQ11LM"
    assert sensor.spec.title == "Temperature and humidity sensor"
    assert (props["temperature"].format, props["temperature"].unit) == (Format.FLOAT, "celsius")
    assert (props["humidity"].unit, props["pressure"].unit) == ("percent", "hPa")
    assert (props["battery"].minimum, props["battery"].maximum) == (0, 100)
    assert {p.access for p in props.values()} == {Access.RN | Access.READ}  # published, not settable
    assert sensor.spec.actions == {}


def test_a_light_decomposes_into_its_features_and_actions() -> None:
    bulb = mapped("bulb")
    props = bulb.spec.properties
    assert props["state"].format is Format.BOOL
    assert props["state"].access == Access.RWN
    assert (props["brightness"].minimum, props["brightness"].maximum) == (0, 254)
    assert (props["color_temp"].unit, props["color_temp"].minimum) == ("mired", 250)
    assert props["level_config.execute_if_off"].format is Format.BOOL  # a composite's feature
    assert props["effect"].access == Access.WRITE  # settable, never published
    assert props["effect"].allowed is not None
    assert "blink" in props["effect"].allowed
    assert sorted(bulb.spec.actions) == ["toggle", "turn_off", "turn_on"]
    assert bulb.encode_action("turn_on") == {"state": "ON"}
    assert bulb.encode_set("level_config.current_level_startup", 30.0) == {
        "level_config": {"current_level_startup": 30}
    }
    # named presets ("previous") are no number carhome holds: partly mapped, and said why
    assert bulb.coverage is Coverage.PARTLY
    partly = {n.what: n.reason for n in bulb.notes if n.coverage is Coverage.PARTLY}
    assert set(partly) == {"color_temp_startup", "level_config.current_level_startup"}
    assert "previous" in partly["color_temp_startup"]


def test_endpoints_keep_their_suffix_on_properties_and_actions() -> None:
    switch = mapped("kitchen/wall_switch")
    assert {"state_left", "state_right", "operation_mode_left"} <= set(switch.spec.properties)
    assert {"turn_on_left", "turn_off_right", "toggle_left"} <= set(switch.spec.actions)
    assert switch.encode_action("turn_off_right") == {"state_right": "OFF"}
    assert switch.coverage is Coverage.FULL


def test_a_cover_opens_closes_and_stops_through_its_state() -> None:
    blind = mapped("bedroom/blind")
    assert sorted(blind.spec.actions) == ["close", "open", "stop"]
    assert blind.spec.properties["state"].allowed == ("OPEN", "CLOSE", "STOP")
    assert blind.encode_action("close") == {"state": "CLOSE"}
    assert blind.actions["open"].progress == ("position", 1)
    assert blind.actions["stop"].expect is None  # any report confirms a stop
    assert all(a.domain is None for a in blind.spec.actions.values())


def test_a_lock_is_commanded_only_through_lock_and_unlock_in_the_home_lock_domain() -> None:
    lock = mapped("front_door/lock")
    props = lock.spec.properties
    assert {a.name: a.domain for a in lock.spec.actions.values()} == {
        "lock": "home_lock",
        "unlock": "home_lock",
    }
    assert lock.encode_action("unlock") == {"state": "UNLOCK"}
    assert lock.actions["unlock"].unlocks
    # no plain write goes around the domain: the lock's state, its PIN codes, its relock time
    assert [p.name for p in props.values() if p.writable] == []
    assert not any(name.startswith("pin_code") for name in props)
    assert props["lock_state"].allowed == ("not_fully_locked", "locked", "unlocked")
    notes = {n.what: n for n in lock.notes}
    assert notes["pin_code.pin_code"].coverage is Coverage.NONE
    assert notes["auto_relock_time"].coverage is Coverage.PARTLY
    assert lock.coverage is Coverage.PARTLY
    assert "action" in lock.spec.events


def test_a_thermostat_and_a_fan_decompose_into_their_features() -> None:
    radiator = mapped("living_room/radiator")
    setpoint = radiator.spec.properties["occupied_heating_setpoint"]
    assert (setpoint.format, setpoint.unit, setpoint.minimum, setpoint.maximum) == (
        Format.FLOAT,
        "celsius",
        5,
        30,
    )
    assert setpoint.writable
    assert radiator.spec.properties["system_mode"].allowed == ("off", "heat")
    fan = mapped("living_room/air_purifier")
    assert sorted(fan.spec.actions) == ["turn_off_fan", "turn_on_fan"]
    assert fan.encode_action("turn_on_fan") == {"fan_state": "ON"}
    assert fan.spec.properties["pm25"].unit == "ug/m3"
    assert fan.spec.properties["fan_mode"].allowed == ("off", "auto", *map(str, range(1, 10)))


def test_every_recorded_device_maps_and_none_breaks_the_mapper() -> None:
    coverage = {
        d["friendly_name"]: mapped(d["friendly_name"]).coverage for d in devices_list() if d.get("definition")
    }
    assert Coverage.NONE not in coverage.values()
    assert coverage["zigfred_plus"] is Coverage.FULL  # five lights and two covers on endpoints
    zigfred = mapped("zigfred_plus")
    assert {"turn_on_l1", "open_l6", "stop_l7"} <= set(zigfred.spec.actions)


def test_a_state_message_is_converted_value_by_value() -> None:
    bulb = mapped("bulb_color_2")
    decoded = bulb.decode(
        {
            "state": "ON",
            "brightness": 200,
            "color": {"x": 0.3, "y": 0.4, "hue": 10},
            "color_mode": "xy",  # not exposed: only counted
            "last_seen": 1700000000,
            "power_on_behavior": "sometimes",  # not one of its values
            "effect_color": "#ff0000",
        }
    )
    assert decoded.values == {
        "state": True,
        "brightness": 200,
        "color.x": 0.3,
        "color.y": 0.4,
        "color.hue": 10,
        "effect_color": "#ff0000",
    }
    assert decoded.ignored == 2
    [(prop, problem)] = decoded.problems
    assert (prop, problem.code) == ("power_on_behavior", "not_allowed")
    bad = bulb.decode({"color": 5, "state": "MAYBE"})
    assert sorted((p, e.code) for p, e in bad.problems) == [("color", "wrong_type"), ("state", "not_allowed")]


def test_an_empty_action_is_zigbee2mqtt_clearing_it_not_a_value() -> None:
    button = mapped("button")
    assert button.decode({"action": ""}).values == {}
    assert button.decode({"action": ""}).problems == []
    assert button.decode({"action": "single"}).values == {"action": "single"}


def test_lists_and_unknown_kinds_are_noted_and_the_rest_still_maps() -> None:
    exposes = [
        Expose(type="numeric", prop="power", unit="W", access=1),
        Expose(type="list", prop="schedule", access=3, item_type=Expose(type="numeric", prop="hour")),
        Expose(type="hologram", prop="aura", access=1),
        Expose(type="binary", prop="broken", value_on=True, value_off=True, access=1),
        Expose(type="enum", prop="mode", values=(1, 2, "auto"), access=7),
    ]
    device = map_device(exposes, model="X-1")
    assert sorted(device.spec.properties) == ["mode", "power"]
    assert device.coverage is Coverage.PARTLY
    reasons = {n.what: n.reason for n in device.notes if n.coverage is Coverage.NONE}
    assert set(reasons) == {"schedule", "aura", "broken"}
    assert "unknown expose type 'hologram'" in reasons["aura"]
    # an enum of numbers holds carhome words, and goes back as the numbers
    assert device.decode({"mode": 2}).values == {"mode": "2"}
    assert device.encode_set("mode", "2") == {"mode": 2}
    with pytest.raises(ZigbeeValueError):
        device.leaves["mode"].codec.from_wire("2")  # the device speaks numbers


def test_a_garage_door_opener_is_read_only() -> None:
    exposes = [
        Expose(type="binary", prop="trigger", value_on=True, value_off=False, access=3),
        Expose(type="binary", prop="garage_door_contact", value_on=False, value_off=True, access=1),
    ]
    device = map_device(exposes, model="TS0601_garage")
    assert [p for p in device.spec.properties.values() if p.writable] == []
    assert "trigger" in device.spec.properties
    assert device.coverage is Coverage.PARTLY


_scalars = (
    st.none() | st.booleans() | st.integers(-5, 300) | st.floats(-5, 300) | st.sampled_from(["ON", "OFF", ""])
)
_json: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["x", "y", "state"]), inner, max_size=3)
    ),
    max_leaves=8,
)
_kinds = st.sampled_from(
    ["binary", "numeric", "enum", "text", "composite", "list", "light", "lock", "cover", "x"]
)


@st.composite
def _exposes(draw: st.DrawFn, depth: int = 2) -> Expose:
    features = tuple(draw(st.lists(_exposes(depth - 1), max_size=3))) if depth else ()
    return Expose(
        type=draw(_kinds),
        name=draw(st.sampled_from([None, "state", "position", "x"])),
        prop=draw(st.sampled_from([None, "state", "state_l1", "position", "color", "x", ""])),
        access=draw(st.integers(0, 7)),
        values=tuple(draw(st.lists(st.text(max_size=4) | st.integers(), max_size=3))),
        value_on=draw(_scalars),
        value_off=draw(_scalars),
        value_min=draw(st.none() | st.floats(-10, 10)),
        features=features,
    )


@settings(max_examples=150, deadline=None)
@given(
    exposes=st.lists(_exposes(), max_size=5), message=st.dictionaries(st.text(max_size=8), _json, max_size=6)
)
def test_any_exposes_map_and_any_message_decodes_without_an_error(
    exposes: list[Expose], message: dict[str, Any]
) -> None:
    device = map_device(exposes, model="fuzz")
    decoded = device.decode(message)
    assert set(decoded.values) <= set(device.spec.properties)
    for name in device.spec.actions:
        assert isinstance(device.encode_action(name), dict)
