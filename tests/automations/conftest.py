"""Fixtures for the automation engine: a hub with a car, lights and a fake device transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from automation_rig import Lights

from carhome.automations import Engine
from carhome.hub import Device, Hub


@pytest.fixture
async def lights(hub: Hub) -> Lights:
    for name in ("hall", "porch", "garden"):
        await hub.add_device(Device(home="h1", id=name, type="light"))
    transport = Lights(hub)
    hub.commands.attach("mqtt", transport)
    return transport


@pytest.fixture
async def engine(hub: Hub, lights: Lights) -> AsyncIterator[Engine]:
    # The car's place is known before automations load, as on any hub that has run a while:
    # a car's first known place is not an arrival.
    hub.report("h1", "car", {"place": "away"}, trusted=True)
    async with Engine(hub) as engine:
        yield engine
