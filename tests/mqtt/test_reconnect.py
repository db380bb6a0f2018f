"""Reconnection: the broker restarts while a command waits; it still arrives, once."""

from __future__ import annotations

import asyncio

import pytest

from carhome.connectors.mqtt import MqttConnector, MqttDeviceClient
from carhome.hub import Availability, CommandStatus, Hub

from .conftest import FAST, TIMEOUT, Mosquitto, Recorder

pytestmark = pytest.mark.mosquitto


async def test_pending_command_is_delivered_after_the_broker_restarts(
    hub: Hub, mosquitto: Mosquitto, recorder: Recorder
) -> None:
    availability: asyncio.Queue[bool] = asyncio.Queue()
    hub.bus.subscribe(lambda seen: availability.put_nowait(seen.online), kind=Availability)
    async with (
        MqttConnector(hub, mosquitto.url, backoff=FAST) as connector,
        MqttDeviceClient("h1", "purifier", mosquitto.url, recorder, clock=hub.clock, backoff=FAST) as device,
    ):
        assert await asyncio.wait_for(availability.get(), TIMEOUT) is True
        await mosquitto.stop()
        command = await hub.submit(
            "h1", "purifier", "set", "fan_level", {"value": 1}, member="alice", face="test"
        )
        assert command.status is not CommandStatus.ACKED
        await mosquitto.start()  # same port, no persistence: a broker that forgot everything
        done = await hub.commands.wait(command.id, timeout=TIMEOUT)
        assert done.status is CommandStatus.ACKED
        assert recorder.calls == [("set", "fan_level", {"value": 1})]
        assert connector.connects == 2
        assert connector.connected
        assert device.connected


async def test_connector_detaches_while_the_broker_is_down(hub: Hub, mosquitto: Mosquitto) -> None:
    async with MqttConnector(hub, mosquitto.url, backoff=FAST) as connector:
        assert connector.connected
        await mosquitto.stop()
        command = await hub.submit("h1", "purifier", "action", "turn_on", member="a", face="test")
        # Nothing can carry it: it waits, queued or sent into the void, for redelivery.
        assert command.status in (CommandStatus.QUEUED, CommandStatus.SENT)
        assert hub.commands.pending() == [command]
