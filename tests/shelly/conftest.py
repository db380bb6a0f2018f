"""A hub with Shelly-fed devices, and Mosquitto for the Shellys and carhome to meet on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from shelly_rig import DEVICES, HOME, Watch

from carhome.hub import Device, Home, Hub
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from mqtt.conftest import mosquitto  # noqa: F401 - the real broker the Shellys and carhome meet on


@pytest.fixture
async def shelly_hub(clock: FakeClock) -> AsyncIterator[Hub]:
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        await hub.add_home(Home(id=HOME, name="Yizhuang", lat=39.7953, lon=116.5060))
        for device, kind in DEVICES.items():
            await hub.add_device(Device(home=HOME, id=device, type=kind, connector="shelly"))
        yield hub


@pytest.fixture
def watch(shelly_hub: Hub) -> Watch:
    return Watch(shelly_hub)
