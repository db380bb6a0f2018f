"""One bus for everything the hub knows: changes, device events, command results and
availability, each reaching the subscribers indexed on its (home, device, name) key, and
every subscription closing for good."""

from __future__ import annotations

import gc
import logging
import weakref
from typing import Any

import pytest

from carhome.hub import (
    AVAILABILITY,
    Ack,
    Availability,
    Change,
    CommandStatus,
    Event,
    EventBus,
    Hub,
    Result,
)
from carhome.spec import vss
from carhome.testing import FakeClock, RecordingTransport

KINDS = (Change, Event, Result, Availability)


class Seen:
    """A subscriber that keeps what it was handed."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def __call__(self, record: Any) -> None:
        self.records.append(record)


def every_kind(hub: Hub, **key: str) -> dict[type, Seen]:
    """One subscriber per kind of record on ``key``."""
    seen = {kind: Seen() for kind in KINDS}
    for kind, subscriber in seen.items():
        hub.bus.subscribe(subscriber, kind=kind, **key)
    return seen


def kinds_seen(seen: dict[type, Seen]) -> dict[str, int]:
    return {kind.__name__: len(s.records) for kind, s in seen.items() if s.records}


# -- each kind through its public seam --------------------------------------------------------


async def test_a_report_reaches_the_change_subscribers_only(hub: Hub) -> None:
    seen = every_kind(hub, home="h1", device="car")
    hub.report("h1", "car", {vss.SOC: 80.0}, source="test")
    assert kinds_seen(seen) == {"Change": 1}
    [change] = seen[Change].records
    assert (change.home, change.device, change.prop, change.value) == ("h1", "car", vss.SOC, 80.0)


async def test_a_device_event_reaches_the_subscribers_on_its_key(hub: Hub, clock: FakeClock) -> None:
    on_alarm, on_car, on_home, on_other = Seen(), Seen(), Seen(), Seen()
    hub.bus.subscribe(on_alarm, kind=Event, home="h1", device="car", name="alarm")
    hub.bus.subscribe(on_car, kind=Event, home="h1", device="car")
    hub.bus.subscribe(on_home, kind=Event, home="h1")
    hub.bus.subscribe(on_other, kind=Event, home="h1", device="car", name="charging_complete")
    changes = Seen()
    hub.bus.subscribe(changes, home="h1")

    report = hub.event("h1", "car", "alarm", {"reason": "tilt"}, source="mqtt")

    assert (report.applied, report.rejected) == (1, [])
    event = Event("h1", "car", "alarm", {"reason": "tilt"}, clock.time(), "mqtt")
    assert on_alarm.records == on_car.records == on_home.records == [event]
    assert on_other.records == []
    assert changes.records == []  # an event is not state: nothing changed, nothing kept
    assert "alarm" not in hub.state("h1", "car")
    hub.event("h1", "car", "charging_complete", ts=clock.time() - 5)
    assert [e.name for e in on_car.records] == ["alarm", "charging_complete"]
    assert on_other.records[0].ts == clock.time() - 5


async def test_a_command_publishes_its_result_when_sent_and_when_final(hub: Hub, clock: FakeClock) -> None:
    transport = RecordingTransport()
    hub.commands.attach("mqtt", transport)
    seen = every_kind(hub, home="h1", device="purifier", name="on")
    elsewhere = Seen()
    hub.bus.subscribe(elsewhere, kind=Result, home="h1", device="purifier", name="fan_level")

    command = await hub.submit("h1", "purifier", "set", "on", {"value": True}, member="alice", face="test")
    assert [(r.status, r.final, r.command) for r in seen[Result].records] == [
        (CommandStatus.SENT, False, command)
    ]
    await clock.advance(1)
    hub.ack("h1", "purifier", Ack(command.id, "acked", result={"on": True}))

    results = seen[Result].records
    assert [(r.home, r.device, r.name, r.status, r.final) for r in results] == [
        ("h1", "purifier", "on", CommandStatus.SENT, False),
        ("h1", "purifier", "on", CommandStatus.ACKED, True),
    ]
    assert results[1].command.result == {"on": True}
    assert kinds_seen(seen) == {"Result": 2}
    assert elsewhere.records == []


async def test_a_command_that_expires_publishes_its_final_result(hub: Hub, clock: FakeClock) -> None:
    seen = Seen()
    hub.bus.subscribe(seen, kind=Result, home="h1")
    command = await hub.submit(
        "h1", "purifier", "set", "on", {"value": True}, member="alice", face="test", ttl=5
    )
    assert seen.records == []  # no transport: queued, nothing to tell yet
    await clock.advance(0)
    await clock.advance(6)
    await hub.flush()
    assert [(r.command.id, r.status) for r in seen.records] == [(command.id, CommandStatus.EXPIRED)]


async def test_availability_is_published_when_it_changes(hub: Hub, clock: FakeClock) -> None:
    seen = every_kind(hub, home="h1", device="car")
    on_name = Seen()
    hub.bus.subscribe(on_name, kind=Availability, home="h1", device="car", name=AVAILABILITY)
    hub.set_available("h1", "car", True)
    hub.set_available("h1", "car", True)  # no news
    await clock.advance(30)
    hub.set_available("h1", "car", False)
    hub.set_available("h1", "ghost", True)  # no such device: nothing to say
    assert kinds_seen(seen) == {"Availability": 2}
    assert seen[Availability].records == [
        Availability("h1", "car", True, clock.time() - 30),
        Availability("h1", "car", False, clock.time()),
    ]
    assert on_name.records == seen[Availability].records


# -- bad events -------------------------------------------------------------------------------


async def test_a_bad_event_is_rejected_and_counted_and_its_neighbours_still_go(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    seen = Seen()
    hub.bus.subscribe(seen, kind=Event, home="h1")
    sent: list[tuple[str, str, dict[str, Any]]] = [
        ("car", "alarm", {"reason": "glass broken"}),
        ("car", "exploded", {}),  # no such event
        ("car", "alarm", {"reason": 5}),  # wrong type
        ("car", "charging_complete", {}),
        ("car", "alarm", {}),  # missing field
        ("car", "alarm", {"reason": "x", "extra": 1}),  # unknown field
        ("ghost", "alarm", {"reason": "x"}),  # no such device
        ("purifier", "alarm", {"reason": "x"}),  # another device's event
        ("car", "alarm", {"reason": "tilt"}),
    ]
    with caplog.at_level(logging.WARNING, logger="carhome.rejected"):
        reports = [hub.event("h1", device, name, fields) for device, name, fields in sent]

    assert [(e.device, e.name, e.fields) for e in seen.records] == [
        ("car", "alarm", {"reason": "glass broken"}),
        ("car", "charging_complete", {}),
        ("car", "alarm", {"reason": "tilt"}),
    ]
    assert [r.applied for r in reports] == [1, 0, 0, 1, 0, 0, 0, 0, 1]
    codes = [r.rejected[0].code for r in reports if r.rejected]
    assert codes == [
        "unknown_event",
        "wrong_type",
        "missing_field",
        "unknown_field",
        "unknown_device",
        "unknown_event",
    ]
    assert dict(hub.rejections.counts) == {
        "unknown_event": 2,
        "wrong_type": 1,
        "missing_field": 1,
        "unknown_field": 1,
        "unknown_device": 1,
    }
    assert "event 'alarm': field 'reason'" in caplog.text
    assert "event 'exploded': car has no such event" in caplog.text
    print(f"bad events rejected: {len(codes)} of {len(sent)}, good ones published: {len(seen.records)}")


# -- subscriptions close ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_a_closed_subscription_is_never_called_again(hub: Hub, kind: type) -> None:
    hub.commands.attach("mqtt", RecordingTransport())
    before = hub.bus.count()
    seen = Seen()
    sub = hub.bus.subscribe(seen, kind=kind, home="h1")
    assert hub.bus.count() == before + 1
    assert hub.bus.count(kind) >= 1
    sub.close()
    assert sub.closed
    sub.close()  # closing twice is harmless
    assert hub.bus.count() == before
    hub.report("h1", "car", {vss.SOC: 50.0})
    hub.event("h1", "car", "alarm", {"reason": "tilt"})
    hub.set_available("h1", "car", True)
    command = await hub.submit("h1", "purifier", "set", "on", {"value": True}, member="alice", face="t")
    hub.ack("h1", "purifier", Ack(command.id, "acked"))
    assert seen.records == []


async def test_a_subscription_closes_when_its_block_ends_and_by_cancel(hub: Hub) -> None:
    seen = Seen()
    with hub.bus.subscribe(seen, kind=Event, home="h1", device="car") as sub:
        hub.event("h1", "car", "charging_complete")
        assert not sub.closed
    assert sub.closed
    other = hub.bus.subscribe(seen, kind=Event, home="h1", device="car")
    other.cancel()
    assert other.closed
    hub.event("h1", "car", "charging_complete")
    assert len(seen.records) == 1


async def test_a_subscriber_closed_during_a_publish_is_not_called_by_it(hub: Hub) -> None:
    """The first subscriber closes the second while the bus is handing out the same change:
    the second is never called, not even with that change."""
    later = Seen()
    subs: dict[str, Any] = {}

    def first(change: Change) -> None:
        subs["later"].close()

    hub.bus.subscribe(first, home="h1", device="car", name=vss.SOC)
    subs["later"] = hub.bus.subscribe(later, home="h1", device="car", name=vss.SOC)
    hub.report("h1", "car", {vss.SOC: 40.0})
    hub.report("h1", "car", {vss.SOC: 41.0})
    assert later.records == []


async def test_a_closed_subscription_lets_go_of_its_subscriber(hub: Hub) -> None:
    """Nothing the bus keeps holds a closed subscriber: it can be collected."""
    seen = Seen()
    sub = hub.bus.subscribe(seen, kind=Availability, home="h1")
    gone = weakref.ref(seen)
    sub.close()
    del seen
    gc.collect()
    assert gone() is None


def test_kinds_are_indexed_apart() -> None:
    """A subscriber of one kind costs records of other kinds nothing and sees none, even
    under the same name."""
    bus = EventBus()
    events = Seen()
    bus.subscribe(events, kind=Event, home="h1", device="door", name="doorbell")
    assert bus.watched("h1", "door", "doorbell", Event)
    assert not bus.watched("h1", "door", "doorbell")
    assert not bus.watched("h1", "door", "doorbell", Result)
    bus.publish(Change("h1", "door", "doorbell", True, None, 0.0, "test"))
    bus.publish(Event("h1", "door", "doorbell", {}, 0.0, "test"))
    bus.publish(Availability("h1", "door", True, 0.0))
    assert events.records == [Event("h1", "door", "doorbell", {}, 0.0, "test")]
    assert (bus.count(Event), bus.count(Change), bus.count()) == (1, 0, 1)


def test_the_bus_carries_only_its_kinds(hub: Hub) -> None:
    with pytest.raises(TypeError, match="Change, Event, Result, Availability"):
        hub.bus.subscribe(print, kind=dict)  # type: ignore[call-overload]
