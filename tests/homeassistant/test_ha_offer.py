"""What Home Assistant is offered, from the access policy table, and what it is told back.

The policy gives the ``homeassistant`` face no safety-critical command, so Home Assistant
must not be shown a control it can never use; what it is shown must all be usable. The
tracker names the car's place on a topic Home Assistant reads raw; a command from Home
Assistant that does not succeed comes back to it as a ``command_result`` event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from ha_fakes import MEMBER, HomeAssistant

from carhome.access.policy import COMMAND_SCOPES, POLICY, Face, scope_of
from carhome.connectors.homeassistant import RESULTS, HomeAssistantBridge, check_config, describe, offered
from carhome.connectors.homeassistant.discovery import device_config
from carhome.connectors.homeassistant.entities import Choices, EntityDescription, Platform
from carhome.hub import Device, Home, Hub, Place
from carhome.mqtt.credentials import Credentials, HomeAssistantAccess
from carhome.spec import SPECS, DeviceSpec, vss
from carhome.store import MemoryStore
from carhome.testing import AckingDevice, FakeClock
from mqtt.conftest import FAST, TIMEOUT

KEY_LIMIT = vss.CHARGE_LIMIT.lower().replace(".", "_")
Asked = tuple[str, tuple[tuple[str, str], ...]]
"""A device type and the commands one payload asks for (kind, target)."""

# Where the policy table lets the homeassistant face act, read rule by rule.
HA_MAY = {scope for rule in POLICY if Face.HOMEASSISTANT in rule.faces for scope in rule.scopes}


def _asked(type_: str, entities: tuple[EntityDescription, ...]) -> set[Asked]:
    out: set[Asked] = set()
    for entity in entities:
        for fn in entity.commands.values():
            if isinstance(fn, Choices):
                out |= {(type_, tuple((r.kind, r.target) for r in rs)) for rs in fn.table.values()}
            else:
                out.add((type_, tuple((r.kind, r.target) for r in fn.asks())))
    return out


def _allowed(spec: DeviceSpec, asked: Asked) -> bool:
    for kind, target in asked[1]:
        action = spec.actions.get(target) if kind == "action" else None
        if scope_of(kind, None if action is None else action.domain) not in HA_MAY:
            return False
    return True


def test_home_assistant_is_offered_exactly_what_the_policy_lets_it_command() -> None:
    offered_refused: set[Asked] = set()
    allowed_hidden: set[Asked] = set()
    total = 0
    for type_, spec in sorted(SPECS.items()):
        could = _asked(type_, describe(spec))
        shown = _asked(type_, offered(spec))
        total += len(could | shown)
        offered_refused |= {a for a in shown if not _allowed(spec, a)}
        allowed_hidden |= {a for a in could if _allowed(spec, a)} - shown
    print(
        f"commands offered to Home Assistant that its face may not send: {len(offered_refused)} of {total};"
        f" allowed ones not offered: {len(allowed_hidden)}"
    )
    assert offered_refused == set()
    assert allowed_hidden == set()
    # and the policy does keep the safety-critical ones out, so the test is not empty
    refused = {a for t, s in SPECS.items() for a in _asked(t, describe(s)) if not _allowed(s, a)}
    assert {("car", (("action", "unlock"),)), ("garage_door", (("action", "open"),))} <= refused


def _offered(type_: str) -> dict[str, dict[str, Any]]:
    spec = SPECS[type_]
    payload = device_config(
        Device(home="h1", id="x", type=type_),
        spec,
        {e.key: e for e in offered(spec)},
        node="carhome_h1_x",
        bridge_status="carhome-ha/carhome/status",
    )
    check_config(payload)
    components: dict[str, dict[str, Any]] = msgspec.json.decode(payload)["cmps"]
    return components


@pytest.mark.parametrize("type_", sorted(SPECS))
def test_every_offered_payload_is_valid(type_: str) -> None:
    components = _offered(type_)
    assert "lock" not in {c["p"] for c in components.values()}
    has_commands = any(k.endswith("command_topic") for c in components.values() for k in c)
    assert ("command_result" in components) == has_commands


def test_the_car_shows_its_locks_and_charging_and_can_stop_charging() -> None:
    car = _offered("car")
    assert {k: car["doors"].get(k) for k in ("p", "device_class", "payload_on", "payload_off")} == {
        "p": "binary_sensor",
        "device_class": "lock",
        "payload_on": "UNLOCKED",  # on means open for a lock binary sensor
        "payload_off": "LOCKED",
    }
    assert "command_topic" not in car["doors"]
    assert {"charging", "open_trunk"}.isdisjoint(car)
    assert (car["stop_charging"]["p"], car["stop_charging"]["name"]) == ("button", "Stop charging")
    [stop] = [e for e in offered(SPECS["car"]) if e.key == "stop_charging"]
    assert stop.commands["command_topic"]("PRESS")[0].target == "stop_charging"
    assert car["command_result"] == {
        "p": "event",
        "unique_id": "carhome_h1_x_command_result",
        "name": "Command result",
        "qos": 1,
        "event_types": list(RESULTS),
        "state_topic": "carhome/h1/x/ha/result",
    }
    # what stays ordinary stays: climate with its set point, the charge limit
    assert car["climate"]["modes"] == ["off", "auto"]
    assert "temperature_command_topic" in car["climate"]
    assert car[KEY_LIMIT]["p"] == "number"


def test_the_garage_door_offers_stop_only_and_the_door_lock_nothing() -> None:
    door = _offered("garage_door")["door"]
    assert (door["payload_open"], door["payload_close"]) == (None, None)
    assert "payload_stop" not in door  # Home Assistant's default, STOP
    lock = _offered("door_lock")
    assert lock["lock"]["p"] == "binary_sensor"
    assert not any(k.endswith("command_topic") for c in lock.values() for k in c)
    assert {e.platform for e in offered(SPECS["wallbox"]) if e.key == "start_charging"} == set()
    assert Platform.BUTTON in {e.platform for e in offered(SPECS["wallbox"]) if e.key == "stop_charging"}


# -- the tracker's place, on the wire ---------------------------------------------------------

WORK = Place("work", 39.9087, 116.3975, 300.0)
HOME = Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060, places=(WORK,))
LOCATION = "carhome/h1/car/ha/location"
RESULT_PURIFIER = "carhome/h1/purifier/ha/result"


@pytest.fixture
async def places_hub(clock: FakeClock) -> AsyncIterator[Hub]:
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        await hub.add_home(HOME)
        await hub.add_device(Device(home="h1", id="car", type="car", name="Car"))
        yield hub


async def test_the_tracker_names_the_place_on_its_own_topic(
    places_hub: Hub, broker_url: str, ha: HomeAssistant
) -> None:
    # subscribed before the bridge starts, so its first location comes live: the NATS server
    # files a retained message a moment after it takes it, and a subscription made in that
    # moment would get neither the live message nor the retained one
    await ha.subscribe(LOCATION)
    async with HomeAssistantBridge(places_hub, broker_url, member=MEMBER, backoff=FAST):
        first, _ = await ha.until(LOCATION, lambda _p, _r: True)
        assert first == b"None"  # no location yet: Home Assistant's "unknown"
        seen = []
        for lat, lon in ((WORK.lat, WORK.lon), (39.85, 116.45), (HOME.lat, HOME.lon)):
            places_hub.report("h1", "car", {vss.LATITUDE: lat, vss.LONGITUDE: lon})
            payload, _ = await ha.until(LOCATION, lambda p, _r: p != (seen[-1] if seen else first))
            seen.append(payload)
    assert seen == [b"work", b"not_home", b"home"]


# -- what became of Home Assistant's commands ------------------------------------------------


async def _result(ha: HomeAssistant) -> dict[str, object]:
    return await ha.json(RESULT_PURIFIER, lambda _e: True)


async def test_a_failure_at_the_device_is_reported_to_home_assistant(
    hub: Hub, broker_url: str, ha: HomeAssistant
) -> None:
    device = AckingDevice(hub, status="failed", error="the filter is used up; replace it")
    hub.commands.attach("mqtt", device)
    async with HomeAssistantBridge(hub, broker_url, member=MEMBER, backoff=FAST) as bridge:
        await ha.subscribe(RESULT_PURIFIER)
        ha.publish("carhome/h1/purifier/ha/cmd/on/set", b"ON", qos=1)
        sent = await device.next(wait=TIMEOUT)
        event = await asyncio.wait_for(_result(ha), TIMEOUT)
        assert event == {
            "event_type": "failed",
            "command": "on",
            "reason": "the filter is used up; replace it",
            "id": sent.id,
        }
        ha.publish("carhome/h1/purifier/ha/cmd/on/set", b"maybe", qos=1)
        rejected = await asyncio.wait_for(_result(ha), TIMEOUT)
        assert (rejected["event_type"], rejected["command"]) == ("rejected", "on")
        assert "ON or OFF" in str(rejected["reason"])
        assert (bridge.stats.failed, bridge.stats.rejected, bridge.stats.reported) == (1, 1, 2)


async def test_a_command_the_device_never_answers_is_reported_expired(
    hub: Hub, clock: FakeClock, broker_url: str, ha: HomeAssistant
) -> None:
    device = AckingDevice(hub, status=None)
    hub.commands.attach("mqtt", device)
    async with HomeAssistantBridge(hub, broker_url, member=MEMBER, backoff=FAST, command_ttl=30):
        await ha.subscribe(RESULT_PURIFIER)
        ha.publish("carhome/h1/purifier/ha/cmd/mode/set", b"fan", qos=1)
        sent = await device.next(wait=TIMEOUT)
        assert sent.args == {"value": "fan"}
        await clock.advance(31)  # past the command's 30 s
        assert sent.status.final
        event = await asyncio.wait_for(_result(ha), TIMEOUT)
    assert (event["event_type"], event["command"], event["id"]) == ("expired", "mode", sent.id)
    assert event["reason"] == sent.error == "no result before expiry"


def test_the_mqtt_access_table_lets_every_topic_of_the_offer_through() -> None:
    # The built-in broker and a Mosquitto from `carhome mqtt credentials` enforce this table:
    # a topic it does not list for the bridge and Home Assistant is silently not delivered.
    made = Credentials.make([("h1", "x")], home_assistant=HomeAssistantAccess())
    acl = made.acl()
    bridge, ha = made.bridge().username, made.home_assistant().username
    blocked: list[str] = []
    checked = 0
    for type_ in sorted(SPECS):
        config: dict[str, Any] = msgspec.json.decode(
            device_config(
                Device(home="h1", id="x", type=type_),
                SPECS[type_],
                {e.key: e for e in offered(SPECS[type_])},
                node="carhome_h1_x",
                bridge_status="carhome-ha/carhome/status",
            )
        )
        for component in config["cmps"].values():
            for option, topic in component.items():
                if not option.endswith("_topic"):
                    continue
                checked += 1
                if option.endswith("command_topic"):
                    ok = acl.may_publish(ha, topic) and acl.may_receive(bridge, topic)
                else:
                    ok = acl.may_publish(bridge, topic) and acl.may_subscribe(ha, topic)
                    ok = ok and acl.may_receive(ha, topic)
                if not ok:
                    blocked.append(f"{type_} {option} {topic}")
    print(f"Home Assistant topics the MQTT access table blocks: {len(blocked)} of {checked}")
    assert blocked == []


@pytest.mark.parametrize("type_", sorted(SPECS))
def test_a_face_that_may_do_everything_is_offered_every_entity(type_: str) -> None:
    spec = SPECS[type_]
    everything = offered(spec, frozenset(COMMAND_SCOPES))
    assert [e for e in everything if e.key != "command_result"] == list(describe(spec))
    nothing = offered(spec, frozenset())
    assert not any(e.commands for e in nothing)
    assert "command_result" not in {e.key for e in nothing}
