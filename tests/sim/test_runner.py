"""The runner: links per device, publishing on the clock's ticks and after commands."""

from __future__ import annotations

import asyncio

import pytest

from carhome.errors import DeviceRefused
from carhome.hub import Home
from carhome.sim import Outdoor, SimHome, SimRunner
from carhome.spec import vss
from carhome.testing import FakeClock

from .conftest import FakeLinks

HOME = Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060, timezone="Asia/Shanghai")


def sim_home() -> SimHome:
    return SimHome(HOME, outdoor=Outdoor(fixed_temperature=5.0), routine=False)


async def test_runner_publishes_everything_first_then_only_changes(clock: FakeClock) -> None:
    links = FakeLinks()
    home = sim_home()
    async with SimRunner(home, clock=clock, tick=1.0, links=links):
        assert set(links.links) == set(home.devices)
        assert all(link.open for link in links.links.values())
        [first] = links.states("car")
        assert set(first) == {s.path for s in vss.CATALOG}
        assert len(links.states("living_room_light")) == 1

        home.garage.open()
        await clock.advance(1.0)
        assert links.states("garage_door")[-1] == {"state": "opening", "position": 8}
        await clock.advance(1.0)
        assert links.states("garage_door")[-1] == {"position": 17}
        assert len(links.states("living_room_light")) == 1  # nothing changed, nothing sent
    assert not any(link.open for link in links.links.values())


async def test_a_command_is_published_at_once_without_waiting_for_the_tick(clock: FakeClock) -> None:
    links = FakeLinks()
    async with SimRunner(sim_home(), clock=clock, tick=60.0, links=links) as runner:
        handler = links.links["car"].handler
        waiting = asyncio.ensure_future(links.next_publish())
        await handler.execute("action", "unlock", {})
        await waiting
        published = links.states("car")[-1]
        assert all(published[p] is False for p in vss.DOOR_LOCKED)
        assert runner.steps == 2  # the one at start, and the one the command woke
        with pytest.raises(DeviceRefused, match="not plugged in"):
            await handler.execute("action", "start_charging", {})


async def test_events_are_published(clock: FakeClock) -> None:
    links = FakeLinks()
    home = sim_home()
    async with SimRunner(home, clock=clock, tick=10.0, links=links):
        await links.links["rice_cooker"].handler.execute("action", "start", {"program": "quick"})
        for _ in range(25 * 6):
            await clock.advance(10.0)
        assert links.events("rice_cooker") == [("finished", {})]
        assert links.states("rice_cooker")[-1]["status"] == "keeping_warm"


async def test_nothing_is_lost_while_the_broker_is_away(clock: FakeClock) -> None:
    links = FakeLinks()
    home = sim_home()
    async with SimRunner(home, clock=clock, tick=1.0, links=links):
        links.links["front_door"].down = True
        home.front_door.unlock_by("fingerprint")
        await clock.advance(1.0)
        assert links.events("front_door") == []
        home.front_door.open_door()
        await clock.advance(1.0)
        links.links["front_door"].down = False
        await clock.advance(1.0)
        assert links.states("front_door")[-1] == {"locked": False, "door_open": True}
        assert links.events("front_door") == [("unlocked_by", {"method": "fingerprint"})]


async def test_simulated_time_follows_the_clock_and_never_runs_backwards(clock: FakeClock) -> None:
    links = FakeLinks()
    home = sim_home()
    async with SimRunner(home, clock=clock, tick=1.0, links=links):
        home.garage.open()
        clock.set(clock.time() - 3600)  # the wall clock is stepped back an hour
        await clock.advance(1.0)
        assert home.garage.position == 0.0
        clock.set(clock.time() + 3600 + 6)
        await clock.advance(0.0)  # the next tick lands at the stepped-forward time
        await clock.advance(1.0)
        assert home.garage.state()["state"] in ("opening", "open")
        assert home.garage.position > 0


def test_tick_must_be_positive(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="positive"):
        SimRunner(sim_home(), clock=clock, tick=0.0, links=FakeLinks())


def test_runner_needs_a_url_or_links(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="url"):
        SimRunner(sim_home(), clock=clock)
