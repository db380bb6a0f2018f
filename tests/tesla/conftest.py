"""A hub with a Tesla ``h1/model3``, a real Mosquitto, the connector, and fleet-telemetry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tesla_rig import FleetTelemetry, model3_config

from carhome.connectors.tesla import TeslaTelemetryConnector
from carhome.hub import Device, Hub
from mqtt.conftest import FAST, Mosquitto, mosquitto  # the real broker

__all__ = ["mosquitto"]  # the fixture, used by name


@pytest.fixture
async def model3(hub: Hub) -> str:
    await hub.add_device(Device(home="h1", id="model3", type="car", name="Model 3", connector="tesla"))
    return "model3"


@pytest.fixture
async def connector(hub: Hub, model3: str, mosquitto: Mosquitto) -> AsyncIterator[TeslaTelemetryConnector]:
    async with TeslaTelemetryConnector(hub, model3_config(mosquitto.url), backoff=FAST) as connector:
        yield connector


@pytest.fixture
async def server(mosquitto: Mosquitto) -> AsyncIterator[FleetTelemetry]:
    async with FleetTelemetry(mosquitto.port) as server:
        yield server
