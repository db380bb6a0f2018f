"""QoS 1 ingest through the built-in broker keeps flowing when several of a link's
subscriptions are busy at once.

The hub subscribes to several topic filters at QoS 1 (states, events, acks, statuses, …).
A message must reach it within moments of being published on any broker carhome runs —
never only after a broker-side redelivery timer (the NATS server's ack wait, 30 s) ran out.

Known to fail through the NATS server (2.15): its MQTT session lets at most
``max_ack_pending`` (1,024) QoS 1 messages be in flight to one client in all, while each
QoS 1 subscription's JetStream consumer may itself have that many out. With two busy
subscriptions the consumers hand over more than the session takes; the session drops the
rest without sending them (``trackPublish`` finds no free slot) and the consumer sends
them again only when its ack wait (30 s) runs out. One busy subscription (one consumer)
gets all 3,000 within 0.2 s; two get 1,976 of 3,000 within 15 s. ``max_ack_pending`` sets
the session's and every consumer's limit alike, so no value of it keeps the sum under the
session's limit. A shorter ``ack_wait`` (2 s) lets this test pass in 2.4 s, but the server
then also resends messages the hub still handles (W2 at QoS 1: 974 automation firings for
969), so that is no fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from carhome.mqtt import EmbeddedBroker
from carhome.mqtt.link import Incoming, MqttLink
from carhome.testing import FakeClock

from .conftest import FAST, RawClient

PER_FILTER = 1500
"""Messages published on each filter: more than the NATS server's 1,024 in flight per session."""
FILTERS = ("flow/+/state", "flow/+/ack")
BOUND = 15.0
"""Real seconds for all of them to arrive: ample for a few thousand messages on loopback,
half of the NATS server's default ack wait (30 s), after which it redelivers what it dropped."""


@pytest.mark.xfail(
    strict=True,
    reason="the NATS server caps a session at max_ack_pending in flight but each consumer too:"
    " with two busy QoS 1 subscriptions it drops the excess until its 30 s ack wait",
)
async def test_qos1_messages_on_several_busy_subscriptions_all_arrive_without_a_redelivery_wait(
    builtin_broker: EmbeddedBroker,
) -> None:
    # (Mosquitto with its default config drops QoS 1 messages beyond 1,000 queued for a
    # client: the hub's own Mosquitto config lifts that; this is about the NATS server.)
    broker_url = builtin_broker.url
    expected = PER_FILTER * len(FILTERS)
    got: set[tuple[str, bytes]] = set()
    everything = asyncio.Event()

    def on_batch(batch: list[Incoming]) -> None:
        for topic, payload, _ in batch:
            got.add((str(topic), payload))
        if len(got) >= expected:
            everything.set()

    async with (
        MqttLink(
            broker_url,
            clock=FakeClock(),
            client_id="flow-hub",
            status_topic="flow/hub/status",
            on_batch=on_batch,
            subscriptions=FILTERS,
            backoff=FAST,
        ),
        RawClient(broker_url) as publisher,
    ):
        started = time.monotonic()
        for i in range(PER_FILTER):
            for kind in ("state", "ack"):
                publisher.publish(f"flow/d{i % 10}/{kind}", str(i).encode(), qos=1)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everything.wait(), BOUND)
        took = time.monotonic() - started
    print(f"QoS 1 on {len(FILTERS)} busy filters: {len(got)} of {expected} within {took:.1f} s")
    assert len(got) == expected, f"only {len(got)} of {expected} QoS 1 messages arrived within {BOUND} s"
