"""Fixtures of the Zigbee2MQTT tests: a real Mosquitto, the bridge's side of it, a connector."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from zigbee_rig import Bridge, config

from carhome.connectors.zigbee2mqtt import Zigbee2MqttConnector
from carhome.hub import Hub
from mqtt.conftest import FAST, Mosquitto, mosquitto  # the real broker

__all__ = ["mosquitto"]  # the fixture, used by name


@pytest.fixture
async def bridge(mosquitto: Mosquitto) -> AsyncIterator[Bridge]:
    async with Bridge(mosquitto.url) as played:
        yield played


@pytest.fixture
async def zigbee(hub: Hub, mosquitto: Mosquitto) -> AsyncIterator[Zigbee2MqttConnector]:
    async with Zigbee2MqttConnector(hub, config(mosquitto.url), backoff=FAST) as connector:
        yield connector
