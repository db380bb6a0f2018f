"""A hub with a solar inverter, a grid meter and a battery fed by SunSpec."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sunspec_rig import add_energy_devices

from availability_rig import Availability
from carhome.hub import Hub
from carhome.store import MemoryStore
from carhome.testing import FakeClock


@pytest.fixture
async def energy_hub(clock: FakeClock) -> AsyncIterator[Hub]:
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        await add_energy_devices(hub)
        yield hub


@pytest.fixture
def availability(energy_hub: Hub) -> Availability:
    return Availability(energy_hub)
