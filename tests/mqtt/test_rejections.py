"""Bad input at the MQTT edge: each rejected with a clear reason and counted, while the
good values beside it and the messages after it still land."""

from __future__ import annotations

import asyncio

from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Event, Hub

from .conftest import TIMEOUT, RawClient

STATE = "carhome/h1/purifier/state"


async def taken(connector: MqttConnector, want: int) -> None:
    """Wait until the connector has taken ``want`` messages in all: the NATS server keeps no
    order across topics, so a message on another topic may land after the sentinel."""
    async with asyncio.timeout(TIMEOUT):
        while connector.stats.received < want:  # noqa: ASYNC110 - the connector has no event for it
            await asyncio.sleep(0.001)


async def test_bad_input_is_rejected_and_the_rest_applies(
    hub: Hub, connector: MqttConnector, broker_url: str, changes
) -> None:
    sentinel = changes("h1", "purifier", "filter_life")
    want = connector.stats.received + 12
    async with RawClient(broker_url) as raw:
        for topic, payload in [
            (STATE, b"{not json"),
            (STATE, b"[1, 2, 3]"),
            ("carhome/H1/purifier/state", b'{"on": true}'),
            ("carhome/h1/ghost/state", b'{"on": true}'),
            (STATE, b'{"on": true, "nope": 1}'),
            (STATE, b'{"fan_level": "high", "pm25": 12}'),
            (STATE, b'{"humidity": 150, "mode": "auto"}'),
            (STATE, b'{"ts": "yesterday", "humidity": 40}'),
            (STATE, b'{"mode": "turbo"}'),
            ("carhome/h1/purifier/ack", b'{"id": 7}'),
            ("carhome/h1/purifier/status", b"maybe"),
            (STATE, b'{"filter_life": 42}'),  # after all the rest, on the same connection
        ]:
            raw.publish(topic, payload)
        await asyncio.wait_for(sentinel, TIMEOUT)
        await taken(connector, want)

    values = {p: s.value for p, s in hub.state("h1", "purifier").items()}
    assert values == {"on": True, "pm25": 12, "mode": "auto", "filter_life": 42}
    assert dict(hub.rejections.counts) == {
        "malformed_payload": 2,
        "bad_topic": 1,
        "unknown_device": 1,
        "unknown_property": 1,
        "wrong_type": 1,
        "out_of_range": 1,
        "bad_ts": 1,
        "not_allowed": 1,
        "bad_ack": 1,
        "bad_status": 1,
    }
    reasons = {e.code: str(e) for e in hub.rejections.last}
    assert "must be a JSON object" in reasons["malformed_payload"]  # the last one: [1, 2, 3]
    assert "'carhome/H1/purifier/state'" in reasons["bad_topic"]
    assert "ghost" in reasons["unknown_device"]
    assert "purifier" in reasons["unknown_device"]  # the known devices, as a hint
    assert "'nope'" in reasons["unknown_property"]
    assert "expected int" in reasons["wrong_type"]
    assert "150" in reasons["out_of_range"]
    assert "from 0 to 100" in reasons["out_of_range"]
    assert "'yesterday'" in reasons["bad_ts"]
    assert "'auto'" in reasons["not_allowed"]
    assert connector.stats.received == 12
    assert connector.stats.rejected == 7  # whole messages: 2 JSON, topic, device, ts, ack, status
    assert connector.stats.rejected_values == 4


async def test_events_are_checked_and_published_on_the_hubs_bus(
    hub: Hub, connector: MqttConnector, broker_url: str, changes
) -> None:
    seen: list[Event] = []
    subscription = hub.bus.subscribe(seen.append, kind=Event, home="h1")
    sentinel = changes("h1", "car", "Vehicle.Speed")
    want = connector.stats.received + 9
    async with RawClient(broker_url) as raw:
        for payload in [
            b'{"name": "alarm", "fields": {"reason": "glass broken"}, "ts": 1767225000}',
            b'{"name": "alarm", "fields": {"reason": 5}}',
            b'{"name": "alarm"}',
            b'{"name": "alarm", "fields": {"reason": "x", "extra": 1}}',
            b'{"name": "exploded"}',
            b'{"fields": {}}',
            b'{"name": "charging_complete"}',
        ]:
            raw.publish("carhome/h1/car/event", payload, qos=1)
        raw.publish("carhome/h1/ghost/event", b'{"name": "alarm"}', qos=1)
        raw.publish("carhome/h1/car/state", b'{"Vehicle.Speed": 0}', qos=1)
        await asyncio.wait_for(sentinel, TIMEOUT)
        await taken(connector, want)
    subscription.close()

    assert [(e.device, e.name, e.fields, e.source) for e in seen] == [
        ("car", "alarm", {"reason": "glass broken"}, "mqtt"),
        ("car", "charging_complete", {}, "mqtt"),
    ]
    assert seen[0].ts == 1767225000
    assert seen[1].ts == hub.clock.time()
    assert dict(hub.rejections.counts) == {
        "wrong_type": 1,
        "missing_field": 1,
        "unknown_field": 1,
        "unknown_event": 1,
        "bad_event": 1,
        "unknown_device": 1,
    }
    assert connector.stats.rejected == 6


async def test_a_failing_listener_does_not_stop_the_others(
    hub: Hub, connector: MqttConnector, broker_url: str
) -> None:
    got: asyncio.Future[Event] = asyncio.get_running_loop().create_future()

    def broken(event: Event) -> None:
        raise RuntimeError("listener bug")

    hub.bus.subscribe(broken, kind=Event, home="h1", device="car")
    hub.bus.subscribe(got.set_result, kind=Event, home="h1", device="car", name="charging_complete")
    async with RawClient(broker_url) as raw:
        raw.publish("carhome/h1/car/event", b'{"name": "charging_complete"}', qos=1)
        assert (await asyncio.wait_for(got, TIMEOUT)).name == "charging_complete"
