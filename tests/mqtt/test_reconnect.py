"""Reconnection: the broker restarts while a command waits; it still arrives, once."""

from __future__ import annotations

import asyncio

import pytest

from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Availability, CommandStatus, Hub
from carhome.mqtt import Backoff, MqttDeviceClient
from carhome.testing import FakeClock, settle

from .conftest import FAST, TIMEOUT, Mosquitto, RawClient, Recorder

pytestmark = pytest.mark.mosquitto


async def test_pending_command_is_delivered_after_the_broker_restarts(
    hub: Hub, clock: FakeClock, mosquitto: Mosquitto, recorder: Recorder
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
        # hub and device wait their backoff on the hub's clock, passed as soon as they wait it
        done = await clock.jump_through(hub.commands.wait(command.id, timeout=TIMEOUT), horizon=1)
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


async def test_a_link_waits_its_backoff_on_the_hubs_clock(
    hub: Hub, clock: FakeClock, mosquitto: Mosquitto, recorder: Recorder
) -> None:
    backoff = Backoff(first=30, most=30, jitter=0)
    status = "carhome/h1/purifier/status"
    async with MqttDeviceClient(
        "h1", "purifier", mosquitto.url, recorder, clock=hub.clock, backoff=backoff
    ) as device:
        sleeping = len(clock.deadlines)
        await mosquitto.stop()
        await asyncio.wait_for(clock.until_sleeping(sleeping + 1), TIMEOUT)
        assert max(clock.deadlines) == clock.time() + 30  # its backoff, on the hub's clock
        await mosquitto.start()
        async with RawClient(mosquitto.url) as watcher:
            await watcher.subscribe(status)
            await settle()
            assert not device.connected  # the broker is back, but 30 s have not passed
            await clock.advance(30)
            _, payload, _ = await watcher.next(status)  # it comes back and says so
            assert payload == b"online"
            assert device.connected
