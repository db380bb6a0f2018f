"""A hub with an OVMS car ``h1/leaf``, a real Mosquitto, the connector, and a fake module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from ovms_rig import FakeModule, leaf_config

from carhome.connectors.ovms import OvmsConnector
from carhome.hub import Device, Hub
from mqtt.conftest import FAST, Mosquitto, mosquitto  # the real broker

__all__ = ["mosquitto"]  # the fixture, used by name


@pytest.fixture
async def leaf(hub: Hub) -> str:
    await hub.add_device(Device(home="h1", id="leaf", type="car", name="Leaf", connector="ovms"))
    return "leaf"


@pytest.fixture
async def connector(hub: Hub, leaf: str, mosquitto: Mosquitto) -> AsyncIterator[OvmsConnector]:
    async with OvmsConnector(hub, leaf_config(mosquitto.url), backoff=FAST) as connector:
        yield connector


@pytest.fixture
async def module(mosquitto: Mosquitto) -> AsyncIterator[FakeModule]:
    async with FakeModule(mosquitto.port) as module:
        yield module
