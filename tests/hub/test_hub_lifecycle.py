"""The hub's records and lifecycle: homes, devices, availability, write-behind and restart."""

from __future__ import annotations

import asyncio
import logging

import pytest

from carhome.backoff import Backoff
from carhome.errors import InvalidName, SpecError, UnknownDevice
from carhome.hub import Availability, Change, Device, Home, Hub, StateRow
from carhome.hub.persistence import StateWriter
from carhome.spec import vss
from carhome.store import MemoryStore
from carhome.testing import FakeClock, WatchedStore

WAIT = 1.0
RETRY = Backoff(0.001, 0.004)
"""The writer's delays after a failed write: short, for the tests."""
H1 = Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060)


# -- records ----------------------------------------------------------------------------------


async def test_lookups_of_homes_and_devices(hub: Hub) -> None:
    assert hub.home("h1").name == "Yizhuang"
    assert [h.id for h in hub.homes()] == ["h1"]
    assert [d.id for d in hub.devices("h1")] == ["car", "purifier"]
    assert hub.devices("h2") == []
    assert hub.device("h1", "purifier").label == "Living room purifier"
    assert hub.spec("h1", "car").type == "car"
    assert hub.value("h1", "car", vss.SOC, default=-1) == -1
    with pytest.raises(UnknownDevice, match="home 'h2' has no device"):
        hub.home("h2")
    with pytest.raises(UnknownDevice, match="known devices: car, purifier"):
        hub.state("h1", "toaster")


def test_a_device_label_falls_back_to_its_id() -> None:
    assert Device(home="h1", id="lamp", type="light").label == "lamp"


@pytest.mark.parametrize("bad", ["", "Car", "car one", "-car", "a" * 64, "car/1"])
def test_ids_are_checked_when_made(bad: str) -> None:
    with pytest.raises(InvalidName, match="is not valid"):
        Device(home="h1", id=bad, type="light")
    with pytest.raises(InvalidName, match="home id"):
        Home(id=bad, name="x", lat=0, lon=0)


async def test_a_device_needs_a_known_home_and_a_known_type(hub: Hub) -> None:
    with pytest.raises(UnknownDevice):
        await hub.add_device(Device(home="h9", id="lamp", type="light"))
    with pytest.raises(SpecError, match="unknown type 'teleporter'; known types: air_conditioner"):
        await hub.add_device(Device(home="h1", id="tp", type="teleporter"))


async def test_re_adding_a_device_keeps_its_state_and_removing_forgets_it(hub: Hub) -> None:
    hub.report("h1", "purifier", {"pm25": 12})
    await hub.add_device(Device(home="h1", id="purifier", type="air_purifier", name="Renamed"))
    assert hub.device("h1", "purifier").name == "Renamed"
    assert hub.value("h1", "purifier", "pm25") == 12
    await hub.remove_device("h1", "purifier")
    assert [d.id for d in hub.devices()] == ["car"]
    assert [d.id for d in await hub.store.devices()] == ["car"]
    assert hub.report("h1", "purifier", {"pm25": 1}).rejected[0].code == "unknown_device"


async def test_unsaved_homes_and_devices_live_in_memory_only(hub: Hub) -> None:
    hub.add_home_unsaved(Home(id="h2", name="x", lat=0, lon=0))
    hub.add_device_unsaved(Device(home="h2", id="lamp", type="light"))
    assert hub.report("h2", "lamp", {"on": True}).applied == 1
    assert "h2" not in {h.id for h in await hub.store.homes()}
    assert ("h2", "lamp") not in {(d.home, d.id) for d in await hub.store.devices()}


def test_iter_states_lists_every_current_value(hub: Hub) -> None:
    hub.report("h1", "purifier", {"pm25": 3, "on": False}, source="miio", ts=5.0)
    assert sorted(hub.iter_states(), key=lambda r: r.prop) == [
        StateRow("h1", "purifier", "on", False, 5.0, "miio"),
        StateRow("h1", "purifier", "pm25", 3, 5.0, "miio"),
    ]


# -- availability -----------------------------------------------------------------------------


async def test_availability_is_told_only_when_it_changes(hub: Hub, clock: FakeClock) -> None:
    told: list[tuple[str, str, bool]] = []
    hub.bus.subscribe(lambda seen: told.append((seen.home, seen.device, seen.online)), kind=Availability)
    assert hub.available("h1", "car") is None
    hub.set_available("h1", "car", True)
    await clock.advance(1)
    hub.set_available("h1", "car", True)
    hub.set_available("h1", "car", False)
    hub.set_available("h1", "ghost", True)  # unknown devices are ignored
    assert told == [("h1", "car", True), ("h1", "car", False)]
    assert hub.available("h1", "car") is False
    assert hub.available("h1", "ghost") is None


# -- write-behind and restart -----------------------------------------------------------------


async def test_flush_is_the_durability_point_and_a_restart_restores_state(clock: FakeClock) -> None:
    store = MemoryStore()
    async with Hub(store=store, clock=clock) as hub:
        await hub.add_home(H1)
        await hub.add_device(Device(home="h1", id="car", type="car"))
        hub.report("h1", "car", {vss.SOC: 55.0, vss.SPEED: 0.0}, source="kuksa")
        hub.report("h1", "car", {vss.SOC: 54.0}, source="kuksa")
        await hub.flush()
        rows = {r.prop: r for r in await store.states()}
        assert rows[vss.SOC] == StateRow("h1", "car", vss.SOC, 54.0, clock.time(), "kuksa")
        hub.report("h1", "car", {vss.SPEED: 30.0})
    # leaving the hub flushes what was left
    assert {r.prop: r.value for r in await store.states()}[vss.SPEED] == 30.0
    async with Hub(store=store, clock=clock) as again:
        assert again.value("h1", "car", vss.SOC) == 54.0
        assert again.state("h1", "car")[vss.SOC].source == "kuksa"


async def test_stored_state_of_a_vanished_device_is_ignored_on_start(clock: FakeClock) -> None:
    store = MemoryStore()
    await store.save_states([StateRow("h1", "gone", "on", True, 1.0, "")])
    async with Hub(store=store, clock=clock) as hub:
        assert list(hub.iter_states()) == []


async def test_without_persisted_states_nothing_is_written(clock: FakeClock) -> None:
    store = MemoryStore()
    async with Hub(store=store, clock=clock, persist_states=False) as hub:
        await hub.add_home(H1)
        await hub.add_device(Device(home="h1", id="car", type="car"))
        hub.report("h1", "car", {vss.SOC: 55.0})
        await hub.flush()
        assert hub.writer is None
    assert await store.states() == []


def change(value: float, prop: str = vss.SOC) -> Change:
    return Change("h1", "car", prop, value, None, 1.0, "test")


async def test_the_writer_keeps_only_the_latest_value_per_property() -> None:
    store = WatchedStore()
    writer = StateWriter(store)
    for v in (1.0, 2.0, 3.0):
        writer(change(v))
    writer(change(9.0, vss.SPEED))
    assert writer.backlog == 2
    await writer.flush()
    assert store.batches == [2]
    assert writer.written == 2
    assert writer.backlog == 0
    assert {r.prop: r.value for r in await store.states()} == {vss.SOC: 3.0, vss.SPEED: 9.0}


async def test_a_full_batch_is_written_without_waiting_for_the_interval() -> None:
    store = WatchedStore()
    writer = StateWriter(store, interval=3600, batch=2)
    task = asyncio.create_task(writer.run())
    try:
        writer(change(1.0))
        writer(change(2.0, vss.SPEED))
        await asyncio.wait_for(store.saved.wait(), WAIT)
        assert store.batches == [2]
    finally:
        task.cancel()


async def _fail_once_then_write(store: WatchedStore, writer: StateWriter) -> None:
    task = asyncio.create_task(writer.run())
    try:
        writer(change(1.0))  # this batch meets a full disk
        await asyncio.wait_for(store.failed.wait(), WAIT)
        writer(change(2.0, vss.SPEED))  # the next batch finds the disk fine again
        await asyncio.wait_for(store.saved.wait(), WAIT)
    finally:
        task.cancel()


async def test_a_failed_write_is_logged_and_the_writer_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = WatchedStore(failures=1)
    writer = StateWriter(store, interval=3600, batch=1, retry=RETRY)
    await _fail_once_then_write(store, writer)
    assert "writing states to the store failed; will retry" in caplog.text
    assert {r.prop: r.value for r in await store.states()}[vss.SPEED] == 2.0


async def test_a_failed_write_is_retried_not_lost() -> None:
    store = WatchedStore(failures=1)
    writer = StateWriter(store, interval=3600, batch=1, retry=RETRY)
    await _fail_once_then_write(store, writer)
    assert {r.prop: r.value for r in await store.states()} == {vss.SOC: 1.0, vss.SPEED: 2.0}


async def test_a_store_failing_for_a_while_is_logged_once_and_retried_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = WatchedStore(failures=4)  # a database gone away for four attempts
    writer = StateWriter(store, interval=3600, batch=1, retry=RETRY)
    task = asyncio.create_task(writer.run())
    try:
        writer(change(1.0))
        await asyncio.wait_for(store.saved.wait(), WAIT)
    finally:
        task.cancel()
    failed = [r for r in caplog.records if "writing states to the store failed" in r.getMessage()]
    back = [r for r in caplog.records if "again after 4 failed attempts" in r.getMessage()]
    print(f"state writes failed 4 times: logged {len(failed)} failure(s), {len(back)} recovery")
    assert (len(failed), len(back), writer.failures) == (1, 1, 0)
    assert {r.prop: r.value for r in await store.states()} == {vss.SOC: 1.0}


async def test_rejections_log_at_warning(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        hub.report("h1", "car", {vss.SOC: "full"})
    assert caplog.records[0].levelno == logging.WARNING
