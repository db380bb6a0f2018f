"""The event bus: indexed subscribers, wildcards, synchronous bursts, failures, listen()."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from carhome.hub import Change, EventBus, Hub
from carhome.spec import vss
from carhome.testing import settle


def change(home: str = "h1", device: str = "car", prop: str = vss.SOC, value: object = 50.0) -> Change:
    return Change(home, device, prop, value, None, 0.0, "test")


class Seen:
    """A subscriber that keeps what it was handed."""

    def __init__(self) -> None:
        self.changes: list[Change] = []

    def __call__(self, change: Change) -> None:
        self.changes.append(change)


def test_only_subscribers_indexed_on_the_change_are_called() -> None:
    bus = EventBus()
    hit = {
        key: Seen()
        for key in [("h1", "car", vss.SOC), ("h1", "car", None), ("h1", None, None), (None, None, None)]
    }
    miss = {
        key: Seen()
        for key in [
            ("h1", "car", vss.SPEED),
            ("h1", "purifier", None),
            ("h2", None, None),
            ("h2", "car", vss.SOC),
        ]
    }
    for (home, device, prop), seen in (hit | miss).items():
        bus.subscribe(seen, home=home, device=device, name=prop)
    c = change()
    bus.publish(c)
    assert {key: s.changes for key, s in hit.items()} == {key: [c] for key in hit}
    assert all(s.changes == [] for s in miss.values())


@pytest.mark.parametrize(
    ("home", "device", "prop"), [(None, "car", None), ("h1", None, vss.SOC), (None, None, vss.SOC)]
)
def test_a_narrower_level_needs_the_wider_ones(
    home: str | None, device: str | None, prop: str | None
) -> None:
    with pytest.raises(ValueError, match="needs its"):
        EventBus().subscribe(Seen(), home=home, device=device, name=prop)


def test_watched_follows_every_wildcard_level() -> None:
    bus = EventBus()
    assert not bus.watched("h1", "car", vss.SOC)
    for key in [("h1", "car", vss.SOC), ("h1", "car", None), ("h1", None, None), (None, None, None)]:
        sub = bus.subscribe(Seen(), home=key[0], device=key[1], name=key[2])
        assert bus.watched("h1", "car", vss.SOC), key
        assert not bus.watched("h2", "car", vss.SOC) or key == (None, None, None)
        sub.cancel()
        assert not bus.watched("h1", "car", vss.SOC)


def test_cancel_stops_delivery_and_leaves_the_others() -> None:
    bus = EventBus()
    kept, gone = Seen(), Seen()
    bus.subscribe(kept, home="h1")
    bus.subscribe(gone, home="h1").cancel()
    bus.publish(change())
    assert len(kept.changes) == 1
    assert gone.changes == []


def test_subscribing_during_publish_takes_effect_from_the_next_change() -> None:
    bus = EventBus()
    late = Seen()

    def first(_: Change) -> None:
        bus.subscribe(late, home="h1")

    bus.subscribe(first, home="h1")
    bus.publish(change(value=1.0))
    assert late.changes == []
    bus.publish(change(value=2.0))
    assert [c.value for c in late.changes] == [2.0]


def test_a_failing_subscriber_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    before, after = Seen(), Seen()

    def broken(_: Change) -> None:
        raise RuntimeError("boom")

    bus.subscribe(before, home="h1", device="car", name=vss.SOC)
    bus.subscribe(broken, home="h1", device="car", name=vss.SOC)
    bus.subscribe(after, home="h1", device="car", name=vss.SOC)
    bus.subscribe(after, home="h1")
    with caplog.at_level(logging.ERROR, logger="carhome.hub.bus"):
        bus.publish(change())
    assert len(before.changes) == 1
    assert len(after.changes) == 2
    assert bus.errors == 1
    assert "failed on h1/car" in caplog.text
    assert "boom" in caplog.text


async def test_a_crossing_that_returns_within_one_burst_is_seen_twice(hub: Hub) -> None:
    """Synchronous delivery: no crossing is lost, however fast the values come back."""
    crossings: list[float] = []

    def below_20(c: Change) -> None:
        if c.value < 20 and (c.old is None or c.old >= 20):
            crossings.append(c.value)

    hub.bus.subscribe(below_20, home="h1", device="car", name=vss.SOC)
    for soc in (30.0, 15.0, 30.0, 12.0, 40.0):  # one burst: no await in between
        hub.report("h1", "car", {vss.SOC: soc})
    assert crossings == [15.0, 12.0]


def listen(bus: EventBus, **key: Any) -> AsyncGenerator[Change, None]:
    # listen() is an async generator (closable); its annotation says only AsyncIterator.
    return bus.listen(**key)


async def test_listen_yields_changes_in_order_and_unsubscribes_when_closed() -> None:
    bus = EventBus()
    stream = listen(bus, home="h1", device="car")
    first = asyncio.ensure_future(anext(stream))
    await settle()  # the iterator subscribed
    assert bus.watched("h1", "car", vss.SOC)
    bus.publish(change(value=1.0))
    bus.publish(change(home="h2", value=99.0))  # not matching: never yielded
    bus.publish(change(value=2.0))
    got = await asyncio.wait_for(first, 1)
    assert got.value == 1.0
    second = await asyncio.wait_for(anext(stream), 1)
    assert second.value == 2.0
    await stream.aclose()
    assert not bus.watched("h1", "car", vss.SOC)


async def test_listen_drops_the_oldest_beyond_maxlen() -> None:
    bus = EventBus()
    stream = listen(bus, maxlen=3)
    first = asyncio.ensure_future(anext(stream))
    await settle()
    for i in range(5):
        bus.publish(change(value=float(i)))
    values = [(await asyncio.wait_for(first, 1)).value]
    values += [(await asyncio.wait_for(anext(stream), 1)).value for _ in range(2)]
    assert values == [2.0, 3.0, 4.0]
    # nothing else is waiting: the next read blocks until a new change comes
    pending = asyncio.ensure_future(anext(stream))
    await settle()
    assert not pending.done()
    bus.publish(change(value=5.0))
    assert (await asyncio.wait_for(pending, 1)).value == 5.0
    await stream.aclose()


def test_cancelling_one_of_two_identical_subscriptions_keeps_the_other() -> None:
    bus = EventBus()
    seen = Seen()
    bus.subscribe(seen, home="h1")
    bus.subscribe(seen, home="h1").cancel()
    bus.publish(change())
    assert len(seen.changes) == 1
