"""What the MQTT edge refuses before it costs the hub: payloads past the configured size,
JSON nested too deep, times far from the hub's clock, and floods of names; each counted,
logged once per cause, and the messages beside them still land."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import msgspec
import pytest

from carhome.connectors.mqtt import MqttConnector
from carhome.connectors.mqtt.connector import MAX_AHEAD, MAX_BEHIND, ONE_BY_ONE
from carhome.hub import Hub
from carhome.mqtt import MalformedMessage
from carhome.mqtt.payloads import decode_ack, decode_event, decode_state
from carhome.nesting import MAX_DEPTH

from .conftest import FAST, TIMEOUT, RawClient

STATE = "carhome/h1/purifier/state"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.fixture
async def small(hub: Hub, broker_url: str) -> AsyncIterator[MqttConnector]:
    """A connector that takes payloads of at most 1 KiB."""
    async with MqttConnector(hub, broker_url, backoff=FAST, max_payload=1024) as connector:
        yield connector


async def publish_then_wait(
    hub: Hub, connector: MqttConnector, broker_url: str, messages: list[tuple[str, bytes]]
) -> None:
    """Publish ``messages``, then a good one, and wait until that good one has landed and the
    connector has taken every message (a broker need not keep order across topics)."""
    landed: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    watch = hub.bus.subscribe(
        lambda c: landed.done() or landed.set_result(c), home="h1", device="purifier", name="filter_life"
    )
    want = connector.stats.received + len(messages) + 1
    async with RawClient(broker_url) as raw:
        for topic, payload in messages:
            raw.publish(topic, payload, qos=1)
        raw.publish(STATE, b'{"filter_life": 42}', qos=1)
        async with asyncio.timeout(TIMEOUT):
            await landed
            while connector.stats.received < want:  # the stragglers on other topics  # noqa: ASYNC110
                await asyncio.sleep(0.001)
    watch.cancel()


async def test_a_payload_past_the_configured_size_is_refused_before_it_is_decoded(
    hub: Hub, small: MqttConnector, broker_url: str
) -> None:
    big = b'{"pm25": 12, "pad": "' + b"x" * 2000 + b'"}'
    await publish_then_wait(hub, small, broker_url, [(STATE, big), (STATE, b'{"pm25": 13}')])
    assert dict(hub.rejections.counts) == {"too_large": 1}
    assert hub.value("h1", "purifier", "pm25") == 13  # the message after it landed, the big one not
    (refused,) = hub.rejections.last
    assert f"{len(big)} bytes, more than the 1024 this hub takes" in str(refused)
    assert small.stats.rejected == 1


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (STATE, b'{"pm25": ' + nested(5000) + b"}"),  # deeper than msgspec's own guard
        (STATE, b'{"pm25": ' + nested(MAX_DEPTH) + b"}"),  # one level past the limit, in the object
        ("carhome/h1/car/event", b'{"name": "alarm", "fields": {"reason": ' + nested(5000) + b"}}"),
        ("carhome/h1/purifier/ack", b'{"id": "c1", "status": "acked", "result": ' + nested(5000) + b"}"),
    ],
    ids=["state-5000", "state-33", "event", "ack"],
)
async def test_json_nested_too_deep_is_counted(
    hub: Hub, connector: MqttConnector, broker_url: str, topic: str, payload: bytes
) -> None:
    await publish_then_wait(hub, connector, broker_url, [(topic, payload)])
    assert dict(hub.rejections.counts) == {"too_deep": 1}
    assert connector.stats.rejected == 1


def test_the_depth_limit_is_exact() -> None:
    at_limit = b'{"pm25": ' + nested(MAX_DEPTH - 1) + b"}"
    assert decode_state(at_limit)[0] == {"pm25": msgspec.json.decode(nested(MAX_DEPTH - 1))}
    for decode, payload in [
        (decode_state, b'{"pm25": ' + nested(MAX_DEPTH) + b"}"),
        (decode_event, b'{"name": "x", "fields": {"a": ' + nested(MAX_DEPTH - 1) + b"}}"),
        (decode_ack, b'{"id": "x", "status": "acked", "result": ' + nested(MAX_DEPTH) + b"}"),
    ]:
        with pytest.raises(MalformedMessage) as info:
            decode(payload)
        assert info.value.code == "too_deep"


async def test_a_ts_far_from_the_hubs_clock_refuses_the_message(
    hub: Hub, connector: MqttConnector, broker_url: str
) -> None:
    now = hub.clock.time()
    await publish_then_wait(
        hub,
        connector,
        broker_url,
        [
            (STATE, msgspec.json.encode({"pm25": 1, "ts": now + MAX_AHEAD + 1})),
            (STATE, msgspec.json.encode({"pm25": 2, "ts": now - MAX_BEHIND - 1})),
            ("carhome/h1/car/event", msgspec.json.encode({"name": "alarm", "fields": {}, "ts": now + 3600})),
            (STATE, msgspec.json.encode({"humidity": 40, "ts": now + MAX_AHEAD})),  # inside both bounds
            (STATE, msgspec.json.encode({"mode": "auto", "ts": now - MAX_BEHIND})),
        ],
    )
    assert dict(hub.rejections.counts) == {"future_ts": 2, "stale_ts": 1}
    state = hub.state("h1", "purifier")
    assert "pm25" not in state
    assert (state["humidity"].value, state["humidity"].ts) == (40, now + MAX_AHEAD)
    assert (state["mode"].value, state["mode"].ts) == ("auto", now - MAX_BEHIND)
    # one of each, in whatever order the broker delivered the two topics
    reasons = sorted(str(e) for e in hub.rejections.last)
    assert len(reasons) == 3
    assert reasons[0].startswith("h1/car: 'ts' is 3600 s ahead of the hub's clock (at most 60 s)")
    assert reasons[1].startswith("h1/purifier: 'ts' is 604801 s behind the hub's clock")
    assert reasons[2].startswith("h1/purifier: 'ts' is 61 s ahead of the hub's clock (at most 60 s)")


async def test_random_names_are_one_cause_however_many(
    hub: Hub, connector: MqttConnector, broker_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    flood = [
        (STATE, msgspec.json.encode({"pm25": i, **{f"n{i}x{j}": j for j in range(500)}})) for i in range(20)
    ]
    few = [(STATE, msgspec.json.encode({"humidity": 30, **{f"f{j}": j for j in range(ONE_BY_ONE)}}))]
    strangers = [(f"carhome/h1/ghost{i}/state", b'{"on": true}') for i in range(50)]
    strangers += [(f"carhome/home{i}/dev{i}/state", b"{not json") for i in range(50)]
    with caplog.at_level(logging.WARNING, logger="carhome.rejected"):
        await publish_then_wait(hub, connector, broker_url, flood + few + strangers)
    assert dict(hub.rejections.counts) == {
        "unknown_property": 20 * 500 + ONE_BY_ONE,
        "unknown_device": 50,
        "malformed_payload": 50,
    }
    assert hub.value("h1", "purifier", "pm25") == 19  # the known value of each message applied
    assert hub.value("h1", "purifier", "humidity") == 30
    assert connector.stats.rejected_values == 20 * 500 + ONE_BY_ONE
    causes = [record.cause for record in caplog.records]  # type: ignore[attr-defined]
    assert sorted(causes) == ["?/? malformed_payload", "?/? unknown_device", "h1/purifier unknown_property"]
    assert (
        "500 properties air_purifier has not, such as 'n0x0', 'n0x1', 'n0x10'"
        in caplog.records[0].getMessage()
    )
    assert all(len(record.getMessage()) < 600 for record in caplog.records)
