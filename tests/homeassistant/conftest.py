"""Fixtures for the Home Assistant bridge: the MQTT tests' real brokers, a bridge, a
transport that acknowledges every command, and a client playing Home Assistant."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from ha_fakes import MEMBER, HomeAssistant, acking

from carhome.connectors.homeassistant import HomeAssistantBridge
from carhome.hub import Hub
from carhome.testing import AckingDevice
from mqtt.conftest import FAST, broker_url, builtin_broker, mosquitto  # the real brokers

__all__ = ["broker_url", "builtin_broker", "mosquitto"]


@pytest.fixture
def transport(hub: Hub) -> AckingDevice:
    transport = acking(hub)
    hub.commands.attach("mqtt", transport)
    return transport


@pytest.fixture
async def bridge(hub: Hub, broker_url: str) -> AsyncIterator[HomeAssistantBridge]:
    async with HomeAssistantBridge(hub, broker_url, member=MEMBER, backoff=FAST) as bridge:
        yield bridge


@pytest.fixture
async def ha(broker_url: str) -> AsyncIterator[HomeAssistant]:
    async with HomeAssistant(broker_url) as client:
        yield client
