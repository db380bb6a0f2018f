"""A hub with Xiaomi devices and simulated miIO devices on loopback UDP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from miio_rig import TOKEN, add_devices

from availability_rig import Availability
from carhome.hub import Hub
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.testing.miio_device import (
    SimulatedMiioDevice,
    air_purifier_3h,
    light_lamp22,
    vacuum_dreame_1c,
)


@pytest.fixture
async def miio_hub(clock: FakeClock) -> AsyncIterator[Hub]:
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        await add_devices(hub)
        yield hub


@pytest.fixture
def availability(miio_hub: Hub) -> Availability:
    return Availability(miio_hub)


@pytest.fixture
async def purifier(clock: FakeClock) -> AsyncIterator[SimulatedMiioDevice]:
    async with air_purifier_3h(token=TOKEN, device_id=0x0A1B2C3D, clock=clock) as sim:
        yield sim


@pytest.fixture
async def light(clock: FakeClock) -> AsyncIterator[SimulatedMiioDevice]:
    async with light_lamp22(token=TOKEN, device_id=0x00C0FFEE, clock=clock) as sim:
        yield sim


@pytest.fixture
async def vacuum(clock: FakeClock) -> AsyncIterator[SimulatedMiioDevice]:
    async with vacuum_dreame_1c(token=TOKEN, device_id=0x00BEEF01, clock=clock) as sim:
        yield sim
