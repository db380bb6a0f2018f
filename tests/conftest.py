"""Fixtures shared by every test area: a fake clock and a hub on a memory store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from carhome.hub import Device, Home, Hub
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from pgcluster import postgres_cluster, postgres_url

__all__ = ["postgres_cluster", "postgres_url"]  # the PostgreSQL test service, for every test area

# Beijing, Yizhuang (Beijing Economic-Technological Development Area)
YIZHUANG = (39.7953, 116.5060)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def hub(clock: FakeClock) -> AsyncIterator[Hub]:
    """A hub with one home ``h1`` holding a car ``car`` and an air purifier ``purifier``."""
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        await hub.add_home(Home(id="h1", name="Yizhuang", lat=YIZHUANG[0], lon=YIZHUANG[1]))
        await hub.add_device(Device(home="h1", id="car", type="car", name="Car"))
        await hub.add_device(
            Device(
                home="h1", id="purifier", type="air_purifier", name="Living room purifier", room="living_room"
            )
        )
        yield hub
