"""The discovery payloads the bridge derives from every spec, against Home Assistant's schema."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from carhome.connectors.homeassistant import (
    DiscoveryInvalid,
    Platform,
    Request,
    check_config,
    check_unique,
    describe,
)
from carhome.connectors.homeassistant.discovery import device_config
from carhome.hub import Device
from carhome.spec import SPECS, Access, DeviceSpec, Format, PropertySpec, vss
from carhome.spec import devices as d


def config_of(type_: str, device: str = "x") -> bytes:
    spec = SPECS[type_]
    return device_config(
        Device(home="h1", id=device, type=type_, name=spec.title, room="living_room"),
        spec,
        {e.key: e for e in describe(spec)},
        node=f"carhome_h1_{device}",
        bridge_status="carhome-ha/carhome/status",
    )


@pytest.mark.parametrize("type_", sorted(SPECS))
def test_every_device_type_gives_a_valid_payload(type_: str) -> None:
    config = check_config(config_of(type_))
    assert config.device.identifiers == ["carhome_h1_x"]
    assert config.origin.name == "carhome"
    assert config.availability_mode == "all"
    assert len(config.components) == len(describe(SPECS[type_]))


def test_unique_ids_are_unique_across_a_home_of_every_type() -> None:
    configs = [check_config(config_of(t, t.replace("_", "-"))) for t in SPECS]
    check_unique(configs)
    ids = [c.unique_id for config in configs for c in config.components.values()]
    assert len(ids) == len(set(ids))
    # …and a second bridge's copy of a device is caught.
    with pytest.raises(DiscoveryInvalid, match="two devices"):
        check_unique([check_config(config_of("car", "a")), _renamed(config_of("car", "a"), "other")])


def _renamed(payload: bytes, node: str) -> Any:
    raw = msgspec.json.decode(payload)
    raw["dev"]["identifiers"] = [node]
    return check_config(msgspec.json.encode(raw))


def _entity(type_: str, key: str) -> dict[str, Any]:
    component: dict[str, Any] = msgspec.json.decode(config_of(type_))["cmps"][key]
    return component


KEY = {p: p.lower().replace(".", "_") for p in (vss.SOC, vss.ODOMETER, vss.ENERGY, vss.IS_CHARGING)}


@pytest.mark.parametrize(
    ("type_", "key", "expected"),
    [
        ("car", KEY[vss.SOC], {"p": "sensor", "device_class": "battery", "unit_of_measurement": "%"}),
        ("car", KEY[vss.ODOMETER], {"device_class": "distance", "state_class": "total_increasing"}),
        ("car", KEY[vss.ENERGY], {"device_class": "energy_storage", "unit_of_measurement": "kWh"}),
        ("car", KEY[vss.IS_CHARGING], {"p": "binary_sensor", "device_class": "battery_charging"}),
        ("car", "doors", {"p": "lock", "state_locked": "LOCKED"}),
        (
            "car",
            "vehicle_cabin_door_row2_passengerside_isopen",
            {"p": "binary_sensor", "device_class": "door"},
        ),
        ("car", "climate", {"p": "climate", "modes": ["off", "auto"], "temperature_unit": "C"}),
        ("car", "location", {"p": "device_tracker", "source_type": "gps"}),
        ("car", "charging", {"p": "switch", "state_on": "True"}),
        ("car", "open_trunk", {"p": "button"}),
        ("air_purifier", "pm25", {"device_class": "pm25", "unit_of_measurement": "µg/m³"}),
        ("air_purifier", "mode", {"p": "select", "options": ["auto", "sleep", "favorite", "fan"]}),
        ("air_purifier", "on", {"p": "switch"}),
        ("air_conditioner", "climate", {"p": "climate", "name": None}),
        ("door_lock", "lock", {"p": "lock"}),
        ("garage_door", "door", {"p": "cover", "device_class": "garage", "name": None}),
        ("wallbox", "energy", {"device_class": "energy", "state_class": "total_increasing"}),
        ("wallbox", "current_limit", {"p": "number", "min": 6, "max": 32, "unit_of_measurement": "A"}),
        ("rice_cooker", "status", {"device_class": "enum", "options": ["idle", "cooking", "keeping_warm"]}),
        ("phone", "location", {"p": "device_tracker"}),
        ("phone", "battery", {"device_class": "battery", "entity_category": "diagnostic"}),
    ],
)
def test_entity_table(type_: str, key: str, expected: dict[str, Any]) -> None:
    entity = _entity(type_, key)
    assert {k: entity.get(k) for k in expected} == expected
    assert entity["unique_id"] == f"carhome_h1_x_{key}"


@pytest.mark.parametrize("type_", sorted(SPECS))
def test_every_component_asks_for_qos_1_itself(type_: str) -> None:
    # Home Assistant hands a device-level qos to no component (seen in 2025.4, see
    # tests/ha_real): each one must carry it, or states and commands go at QoS 0.
    config = check_config(config_of(type_))
    assert {c.qos for c in config.components.values()} == {1}


def test_topics_point_at_the_device() -> None:
    lock = _entity("car", "doors")
    assert lock["state_topic"] == "carhome/h1/x/ha/state"
    assert lock["command_topic"] == "carhome/h1/x/ha/cmd/doors/set"
    climate = _entity("air_conditioner", "climate")
    assert climate["mode_command_topic"] == "carhome/h1/x/ha/cmd/climate/mode"
    assert climate["mode_state_topic"] == "carhome/h1/x/ha/state"


def test_each_vss_door_gets_its_own_name() -> None:
    names = [e.name for e in describe(SPECS["car"]) if e.reads and e.reads[0] in vss.DOOR_OPEN]
    assert len(names) == 4
    assert len(set(names)) == 4
    assert "Door (row 1 driver side)" in names
    window = {e.name for e in describe(SPECS["car"]) if e.reads and e.reads[0] in vss.WINDOW_POSITION}
    assert "Window position, 0 = closed (row 1 driver side)" in window


def test_lat_lon_and_consumed_actions_are_not_entities_of_their_own() -> None:
    keys = {e.key for e in describe(SPECS["car"])}
    assert not {"lock", "unlock", "climate_on", "start_charging", "set_charge_limit"} & keys
    assert not {vss.LATITUDE.lower().replace(".", "_")} & keys
    # turn_on/turn_off only write "on", which is already a switch.
    assert {e.key for e in describe(SPECS["air_purifier"])}.isdisjoint({"turn_on", "turn_off", "toggle"})


def _prop(name: str, fmt: Format, *, writable: bool = False, **kw: Any) -> PropertySpec:
    return PropertySpec(name, fmt, access=Access.RWN if writable else Access.RN, **kw)


def test_a_new_device_type_needs_no_description() -> None:
    spec = DeviceSpec(
        type="kettle",
        title="Kettle",
        category="home",
        properties={
            p.name: p
            for p in (
                _prop("boiling", Format.BOOL),
                _prop("on", Format.BOOL, writable=True),
                _prop("water", Format.FLOAT, unit="celsius", minimum=0, maximum=100),
                _prop("target", Format.INT, writable=True, unit="celsius", minimum=40, maximum=100),
                _prop("phase", Format.STRING, allowed=("idle", "heating")),
                _prop("program", Format.STRING, writable=True, allowed=("tea", "coffee")),
                _prop("label", Format.STRING),
                _prop("note", Format.STRING, writable=True),
            )
        },
    )
    platforms = {e.key: (e.platform, e.device_class) for e in describe(spec)}
    assert platforms == {
        "boiling": (Platform.BINARY_SENSOR, None),
        "on": (Platform.SWITCH, None),
        "water": (Platform.SENSOR, "temperature"),
        "target": (Platform.NUMBER, None),
        "phase": (Platform.SENSOR, "enum"),
        "program": (Platform.SELECT, None),
        "label": (Platform.SENSOR, None),
    }
    check_config(
        device_config(
            Device(home="h1", id="k", type="kettle"),
            spec,
            {e.key: e for e in describe(spec)},
            node="carhome_h1_k",
            bridge_status="s",
        )
    )


def _commands(type_: str, key: str, option: str = "command_topic") -> Any:
    return {e.key: e for e in describe(SPECS[type_])}[key].commands[option]


def test_command_payloads_become_carhome_commands() -> None:
    assert _commands("car", "doors")("LOCK") == (Request("action", "lock", {}),)
    assert _commands("air_conditioner", "climate", "mode_command_topic")("fan_only") == (
        Request("set", "mode", {"value": "fan"}),
        Request("set", "on", {"value": True}),
    )
    assert _commands("air_conditioner", "climate", "mode_command_topic")("off") == (
        Request("set", "on", {"value": False}),
    )
    assert _commands("air_purifier", "fan_level")("2") == (Request("set", "fan_level", {"value": 2.0}),)
    assert _commands("garage_door", "door")("STOP") == (Request("action", "stop", {}),)
    for type_, key, bad in (
        ("car", "doors", "OPEN"),
        ("air_purifier", "on", "on"),
        ("light", "brightness", "x"),
    ):
        with pytest.raises(ValueError, match=r"payload|could not convert"):
            _commands(type_, key)(bad)


def _broken(change: Any) -> bytes:
    raw = msgspec.json.decode(config_of("car"))
    change(raw)
    return msgspec.json.encode(raw)


SOC_KEY = KEY[vss.SOC]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda r: r["cmps"][SOC_KEY].pop("state_topic"), "state_topic"),
        (lambda r: r["cmps"][SOC_KEY].pop("unique_id"), "unique_id"),
        (lambda r: r["cmps"][SOC_KEY].update(unit_of_measurement="kWh"), "not valid for device_class"),
        (lambda r: r["cmps"][SOC_KEY].update(device_class="charge"), "device_class 'charge'"),
        (lambda r: r["cmps"][SOC_KEY].update(stat_topic="x"), "unknown field"),
        (lambda r: r["cmps"][SOC_KEY].update(p="light"), "Invalid value 'light'"),
        (
            lambda r: r["cmps"][KEY[vss.ODOMETER]].update(
                device_class="energy", unit_of_measurement="kWh", state_class="measurement"
            ),
            "state_class",
        ),
        (lambda r: r["cmps"]["doors"].pop("command_topic"), "command_topic"),
        (lambda r: r["cmps"]["climate"].update(modes=["off", "boost"]), "HVAC modes"),
        (lambda r: r["cmps"]["location"].update(source_type="satellite"), "source_type"),
        (lambda r: r["cmps"][KEY[vss.IS_CHARGING]].update(device_class="charging"), "binary_sensor"),
        (lambda r: r["cmps"][KEY[vss.IS_CHARGING]].update(payload_on="False"), "must differ"),
        (lambda r: r["cmps"][SOC_KEY].update(options=["a"]), "enum"),
        (lambda r: r["cmps"]["doors"].update(unique_id=r["cmps"]["climate"]["unique_id"]), "repeats"),
        (lambda r: r["dev"].update(identifiers=[]), "identifier"),
        (lambda r: r.pop("o"), "`o`"),
        (lambda r: r.update(cmps={}), "at least one component"),
    ],
)
def test_schema_refuses_what_home_assistant_would(change: Any, match: str) -> None:
    with pytest.raises(DiscoveryInvalid, match=match):
        check_config(_broken(change))


def test_derived_place_is_a_text_sensor_and_drives_the_tracker() -> None:
    place = _entity("car", d.PLACE)
    assert place["p"] == "sensor"
    assert "state_class" not in place
    tracker = _entity("car", "location")
    # Home Assistant's tracker takes a location name from the raw payload, never from a
    # template: the name goes on a topic of its own, rendered by carhome.
    assert "value_template" not in tracker
    assert tracker["state_topic"] == "carhome/h1/x/ha/location"
    assert vss.LATITUDE in tracker["json_attributes_template"]
    assert tracker["json_attributes_topic"] == "carhome/h1/x/ha/state"
