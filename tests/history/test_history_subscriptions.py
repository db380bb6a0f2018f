"""History listens on the hub's bus to the signals it reads of each car and wallbox, not to
everything, and closes every subscription when it stops."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator

import pytest

from carhome.history import History
from carhome.history.tracker import CAR_SIGNALS
from carhome.hub import Availability, Change, Device, Event, Home, Hub, Result
from carhome.spec import SPECS, vss
from carhome.store import MemoryStore
from carhome.testing import FakeClock

KINDS = (Change, Event, Result, Availability)


@pytest.fixture
async def bare_hub(clock: FakeClock) -> AsyncIterator[Hub]:
    """A hub whose own state writer does not listen to every change (so what is watched is
    what the parts watch)."""
    async with Hub(store=MemoryStore(), clock=clock, persist_states=False) as hub:
        await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
        await hub.add_devices(
            [
                Device(home="h1", id="car", type="car"),
                Device(home="h1", id="wallbox", type="wallbox"),
                Device(home="h1", id="purifier", type="air_purifier"),
                Device(home="h1", id="hall", type="light"),
            ]
        )
        yield hub


async def test_history_watches_its_cars_and_wallboxes_signals_only(bare_hub: Hub) -> None:
    hub = bare_hub
    before = {kind: hub.bus.count(kind) for kind in KINDS}
    async with History(hub) as history:
        assert hub.bus.watched("h1", "car", vss.SOC)
        assert hub.bus.watched("h1", "car", vss.ODOMETER)
        assert hub.bus.watched("h1", "wallbox", "energy")
        assert not hub.bus.watched("h1", "car", vss.CABIN_TEMPERATURE)  # not read
        assert not hub.bus.watched("h1", "purifier", "pm25")
        assert not hub.bus.watched("h1", "hall", "on")
        opened = {kind: hub.bus.count(kind) - before[kind] for kind in KINDS}
        # one per signal the tracker reads of the car, three of the wallbox (power, meter, status)
        read = [p for p in CAR_SIGNALS if p in SPECS["car"].properties]
        assert all(hub.bus.watched("h1", "car", p) for p in read)
        assert opened == {Change: len(read) + 3, Event: 0, Result: 0, Availability: 0}
        hub.report("h1", "car", {vss.SOC: 50.0, vss.ODOMETER: 100.0})
        tracker = history.tracker("h1", "car")
        assert tracker is not None
        assert tracker.last["soc"][0] == 50.0
    assert {kind: hub.bus.count(kind) for kind in KINDS} == before
    print(f"history subscriptions: {sum(opened.values())} while open, 0 after it stops")

    alive = weakref.ref(history)
    del history
    await callbacks_run()
    gc.collect()
    assert alive() is None  # the hub keeps nothing of it: nothing can call it
    hub.report("h1", "car", {vss.SOC: 49.0})


async def callbacks_run() -> None:
    """Return once the loop has run the callbacks scheduled so far (in order): the stopped
    tasks' completions hold them until then."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.call_soon(done.set_result, None)
    await done
