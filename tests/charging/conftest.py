"""A hub with a car and an OCPP wallbox, its central system on loopback, and a charger.

The clock starts on Thursday 2026-01-01 at 18:00 UTC; the tariff is cheapest from midnight
to 01:00, cheap to 02:00 and dear otherwise, so a smart plan charges from midnight. The
API tests' ``controller`` plans a plugged-in car with no charger device (a module may plug
it in at another time), and ``api`` serves the charging routes over it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from charging_parts import EVENING, PASSWORD, charging_api, plugged_car

import ocpp_versions
from carhome.connectors.ocpp import Charger as OcppCharger
from carhome.connectors.ocpp import OcppServer
from carhome.energy.controller import ChargingController
from carhome.hub import Device, Hub
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox, Version
from mqtt.conftest import mosquitto  # noqa: F401 - the real broker a Shelly meter and carhome meet on

version = ocpp_versions.version  # the fixture (each OCPP version), used by name


@pytest.fixture
def evening(clock: FakeClock) -> FakeClock:
    clock.set(EVENING)
    return clock


@pytest.fixture
async def server(hub: Hub, evening: FakeClock) -> AsyncIterator[OcppServer]:
    await hub.add_device(Device(home="h1", id="wallbox", type="wallbox", connector="ocpp"))
    chargers = {"CP-1": OcppCharger(home="h1", device="wallbox", password=PASSWORD)}
    async with OcppServer(hub, "127.0.0.1", 0, chargers=chargers) as server:
        yield server


@pytest.fixture
async def wallbox(server: OcppServer, clock: FakeClock, version: Version) -> AsyncIterator[SimulatedWallbox]:
    box = SimulatedWallbox(
        f"ws://127.0.0.1:{server.port}/ocpp", "CP-1", version=version, password=PASSWORD, clock=clock
    )
    async with box:
        await box.boot()
        await server.wait_connected("CP-1")
        yield box


@pytest.fixture
async def controller(hub: Hub, evening: FakeClock) -> AsyncIterator[ChargingController]:
    async with plugged_car(hub) as controller:
        yield controller


@pytest.fixture
async def api(hub: Hub, controller: ChargingController) -> AsyncIterator[httpx.AsyncClient]:
    async with charging_api(hub, controller) as client:
        yield client
