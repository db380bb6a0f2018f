"""QoS 1 ingest through the built-in broker keeps flowing when several kinds of device
topic are busy at once.

A message must reach the hub within moments of being published — never only after a
broker-side redelivery timer (the NATS server's ack wait, 30 s) ran out. The NATS server
(2.15) lets one MQTT session have at most ``max_ack_pending`` (1,024) QoS 1 messages in
flight, but each QoS 1 subscription's JetStream consumer that many as well; with two busy
subscriptions it drops what goes past the session's limit and sends it again only after
the ack wait. Subscribed kind by kind (``carhome/+/+/state``, ``…/event``, …), the hub got
2,885 of 3,000 within 15 s; with one subscription on the built-in broker (one consumer;
``carhome/+/+/+`` then, ``#`` now), all of them at once. The broker's permissions keep
what the hub does not read (its own commands) away from that subscription: the ACL tests
show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gmqtt
import msgspec
from gmqtt.mqtt.constants import MQTTv311

from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Change, Hub
from carhome.hub.events import Event
from carhome.mqtt import EmbeddedBroker
from carhome.mqtt.credentials import Credentials, device_username

from .conftest import FAST, TIMEOUT, free_port

PER_KIND = 1500
"""Messages of each kind: more than the NATS server's 1,024 in flight per session."""
BOUND = 15.0
"""Real seconds for all of them to arrive: ample for a few thousand messages on loopback,
half of the NATS server's default ack wait (30 s), after which it redelivers what it dropped."""


@contextlib.asynccontextmanager
async def device(url: str, credentials: Credentials, home: str, dev: str) -> AsyncIterator[gmqtt.Client]:
    """A device logged in with its own identity."""
    client = gmqtt.Client(f"{dev}-{free_port()}")
    client.set_auth_credentials(device_username(home, dev), credentials.device(home, dev).password)
    port = int(url.rsplit(":", 1)[1])
    await asyncio.wait_for(client.connect("127.0.0.1", port, version=MQTTv311), TIMEOUT)
    try:
        yield client
    finally:
        await client.disconnect()


async def test_qos1_reports_of_several_busy_kinds_all_reach_the_hub_without_a_redelivery_wait(
    hub: Hub, tmp_path: Path
) -> None:
    credentials = Credentials.make([("h1", "car"), ("h1", "purifier")])
    login = credentials.hub()
    expected = 2 * PER_KIND
    got: list[Any] = []
    everything = asyncio.Event()

    def arrived(record: Any) -> None:
        got.append(record)
        if len(got) >= expected:
            everything.set()

    hub.bus.subscribe(arrived, home="h1", device="car", name="Vehicle.Speed")
    hub.bus.subscribe(arrived, kind=Event, home="h1", device="car")
    async with (
        EmbeddedBroker("127.0.0.1", free_port(), data_dir=tmp_path, credentials=credentials) as broker,
        # as the mqtt part runs it on the built-in broker
        MqttConnector(
            hub,
            broker.url,
            username=login.username,
            password=login.password,
            backoff=FAST,
            one_subscription=True,
        ) as connector,
        device(broker.url, credentials, "h1", "car") as car,
    ):
        started = time.monotonic()
        for i in range(PER_KIND):
            car.publish("carhome/h1/car/state", msgspec.json.encode({"Vehicle.Speed": i % 2}), qos=1)
            event = {"name": "alarm", "fields": {"reason": f"tilt {i}"}}
            car.publish("carhome/h1/car/event", msgspec.json.encode(event), qos=1)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everything.wait(), BOUND)
        took = time.monotonic() - started
        received = connector.stats.received
    changes = sum(isinstance(r, Change) for r in got)
    print(f"QoS 1 on 2 busy kinds: {len(got)} of {expected} within {took:.1f} s ({changes} states)")
    assert len(got) == expected, f"only {len(got)} of {expected} QoS 1 messages arrived within {BOUND} s"
    assert changes == PER_KIND
    assert received == expected
    assert dict(hub.rejections.counts) == {}
