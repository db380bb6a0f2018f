"""Fixtures for the automation engine: a hub with a car, lights and a fake device transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from automation_rig import Lights, Place

from carhome.automations import Engine
from carhome.hub import Device, Hub
from pgcluster import own_database


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def place(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Place]:
    """A place for a restartable hub, its timers beside its SQLite file or in PostgreSQL
    (a schema of the test's own); the restart tests run on both."""
    if request.param == "sqlite":
        yield Place(tmp_path / "hub.db")
        return
    async with own_database(request) as database:
        yield Place(tmp_path / "hub.db", database)
