"""The bridge's topics and payloads, decoded at the edge: recorded ones, and anything else."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zigbee_rig import devices_list, message

from carhome.connectors.zigbee2mqtt.payloads import (
    Kind,
    Route,
    decode_devices,
    decode_exposes,
    decode_groups,
    decode_online,
    decode_state,
    route,
)
from carhome.mqtt.malformed import MalformedMessage


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("zigbee2mqtt/bridge/devices", Route(Kind.DEVICES)),
        ("zigbee2mqtt/bridge/state", Route(Kind.BRIDGE_STATE)),
        ("zigbee2mqtt/bridge/groups", Route(Kind.GROUPS)),
        ("zigbee2mqtt/bridge/definitions", None),  # large, and of no use to carhome
        ("zigbee2mqtt/bridge/logging", None),
        ("zigbee2mqtt/weather_sensor", Route(Kind.STATE, "weather_sensor")),
        ("zigbee2mqtt/living_room/lamp", Route(Kind.STATE, "living_room/lamp")),
        ("zigbee2mqtt/living_room/lamp/availability", Route(Kind.AVAILABILITY, "living_room/lamp")),
        ("zigbee2mqtt/living_room/lamp/set", None),  # carhome's own commands come back
        ("zigbee2mqtt/living_room/lamp/set/brightness", None),
        ("zigbee2mqtt/lamp/get", None),
        ("zigbee2mqtt/availability", Route(Kind.STATE, "availability")),
        ("other/lamp", None),
    ],
)
def test_topics_are_routed_by_friendly_names_with_slashes(topic: str, expected: Route | None) -> None:
    assert route("zigbee2mqtt", topic) == expected


@pytest.mark.parametrize(
    ("name", "online"),
    [
        ("bridge_online", True),
        ("bridge_offline", False),
        ("bridge_online_legacy", True),
        ("bulb_available", True),
        ("bulb_unavailable", False),
        ("plug_unavailable_legacy", False),
    ],
)
def test_availability_in_both_forms(name: str, online: bool) -> None:
    assert decode_online(message(name)[1]) is online


def test_availability_cleared_or_garbled() -> None:
    assert decode_online(b"") is None  # a retained message cleared when a device is removed
    for bad in (b'{"state": "sleepy"}', b"maybe", b"\xff\xfe", b"[1]", b'{"state": 1}'):
        with pytest.raises(MalformedMessage):
            decode_online(bad)


def test_the_recorded_device_list_decodes_device_by_device() -> None:
    entries = decode_devices(json.dumps(devices_list()).encode())
    assert not [e for e in entries if isinstance(e, MalformedMessage)]
    names = [e.friendly_name for e in entries if not isinstance(e, MalformedMessage)]
    assert names[:3] == ["Coordinator", "bulb", "bulb_color_2"]
    bulb = next(e for e in entries if not isinstance(e, MalformedMessage) and e.friendly_name == "bulb")
    assert bulb.definition is not None
    exposes, bad = decode_exposes(bulb.definition)
    assert bad == []
    assert [e.type for e in exposes][:2] == ["light", "enum"]


def test_one_bad_device_or_expose_is_refused_alone() -> None:
    good = devices_list()[1]
    broken = {**good, "ieee_address": 5}
    bad_expose = {
        **good,
        "definition": {**good["definition"], "exposes": [{"type": "numeric", "access": "x"}]},
    }
    entries = decode_devices(json.dumps([broken, good, bad_expose]).encode())
    assert isinstance(entries[0], MalformedMessage)
    assert entries[0].code == "bad_device"
    assert not isinstance(entries[1], MalformedMessage)
    third = entries[2]
    assert not isinstance(third, MalformedMessage)
    assert third.definition is not None
    exposes, refused = decode_exposes(third.definition)
    assert exposes == []
    assert [r.code for r in refused] == ["bad_expose"]


def test_whole_messages_that_are_not_what_zigbee2mqtt_sends() -> None:
    for payload in (b"{}", b"not json", b'"devices"'):
        with pytest.raises(MalformedMessage):
            decode_devices(payload)
    [deep] = decode_devices(b"[" * 40 + b"]" * 40)
    assert isinstance(deep, MalformedMessage)
    nested: dict[str, object] = {"type": "numeric", "property": "x"}
    for _ in range(40):
        nested = {"type": "composite", "property": "c", "features": [nested]}
    good = devices_list()[1]
    bomb = {
        **good,
        "definition": {**good["definition"], "exposes": [nested, {"type": "text", "property": "t"}]},
    }
    [entry] = decode_devices(json.dumps([bomb]).encode())
    assert not isinstance(entry, MalformedMessage)
    assert entry.definition is not None
    exposes, refused = decode_exposes(entry.definition)
    assert [e.prop for e in exposes] == ["t"]  # the bomb is refused alone
    assert [r.code for r in refused] == ["too_deep"]
    with pytest.raises(MalformedMessage):
        decode_state(b"[1, 2]")
    assert decode_groups(b'[{"id": 1, "friendly_name": "upstairs", "members": []}]') == ["upstairs"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_decode_or_are_refused_as_malformed(payload: bytes) -> None:
    for decode in (decode_devices, decode_online, decode_state, decode_groups):
        with contextlib.suppress(MalformedMessage):
            decode(payload)
