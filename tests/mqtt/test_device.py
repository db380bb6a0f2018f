"""The device library on its own terms: bad commands, broken handlers, events, memory."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Availability, CommandStatus, Event, Hub
from carhome.mqtt import EmbeddedBroker, MqttDeviceClient
from carhome.mqtt.payloads import encode_command
from carhome.testing import FakeClock

from .conftest import TIMEOUT, RawClient, Recorder

ACK = "carhome/h1/purifier/ack"
CMD = "carhome/h1/purifier/cmd"


class Broken:
    async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
        if target == "turn_on":
            raise RuntimeError("relay stuck")
        return object()  # not JSON


async def test_malformed_commands_are_counted_and_the_next_still_runs(
    hub: Hub, builtin_broker: EmbeddedBroker, recorder: Recorder
) -> None:
    url = builtin_broker.url
    async with (
        MqttConnector(hub, url),
        MqttDeviceClient("h1", "purifier", url, recorder, clock=hub.clock) as device,
        RawClient(url) as raw,
    ):
        for payload in [
            b"",
            b"{",
            b'{"id": "1"}',
            b'{"id": "2", "kind": "set", "target": "on", "args": {}, "expires": 1}',
        ]:
            raw.publish(CMD, payload, qos=1)
        command = await hub.submit("h1", "purifier", "action", "turn_off", member="a", face="t")
        assert (await hub.commands.wait(command.id, TIMEOUT)).status is CommandStatus.ACKED
    assert device.stats.malformed == 4
    assert recorder.calls == [("action", "turn_off", {})]


async def test_a_broken_handler_fails_the_command_not_the_device(
    hub: Hub, builtin_broker: EmbeddedBroker
) -> None:
    url = builtin_broker.url
    async with (
        MqttConnector(hub, url),
        MqttDeviceClient("h1", "purifier", url, Broken(), clock=hub.clock) as device,
    ):
        crash = await hub.submit("h1", "purifier", "action", "turn_on", member="a", face="t")
        odd = await hub.submit("h1", "purifier", "action", "toggle", member="a", face="t")
        crashed = await hub.commands.wait(crash.id, TIMEOUT)
        oddity = await hub.commands.wait(odd.id, TIMEOUT)
    assert crashed.status is CommandStatus.FAILED
    assert crashed.error == "the device failed: RuntimeError: relay stuck"
    assert oddity.status is CommandStatus.FAILED
    assert "not JSON" in (oddity.error or "")
    assert device.stats.failed == 1


async def test_device_events_reach_the_hubs_bus(
    hub: Hub, builtin_broker: EmbeddedBroker, recorder: Recorder
) -> None:
    url = builtin_broker.url
    got: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
    async with (
        MqttConnector(hub, url),
        MqttDeviceClient("h1", "car", url, recorder, clock=hub.clock) as car,
    ):
        with hub.bus.subscribe(got.set_result, kind=Event, home="h1", device="car", name="alarm"):
            await car.publish_event("alarm", {"reason": "tilt"}, ts=1767225000)
            event = await asyncio.wait_for(got, TIMEOUT)
    assert event == Event("h1", "car", "alarm", {"reason": "tilt"}, 1767225000.0, "mqtt")


async def test_executed_ids_are_remembered_only_while_unexpired_and_up_to_the_cap(
    clock: FakeClock, hub: Hub, builtin_broker: EmbeddedBroker, recorder: Recorder
) -> None:
    url = builtin_broker.url
    online = asyncio.Event()
    hub.bus.subscribe(
        lambda seen: seen.online and online.set(), kind=Availability, home="h1", device="purifier"
    )
    async with (
        MqttConnector(hub, url),
        MqttDeviceClient("h1", "purifier", url, recorder, clock=clock, remember=2) as device,
        RawClient(url) as raw,
    ):
        # Once the hub has heard it come online: a later "online" would have the hub send
        # its pending command again, and the device answer the copy with its stored ack.
        await asyncio.wait_for(online.wait(), TIMEOUT)
        await raw.subscribe(ACK)
        commands = []
        for ttl in (5, 100, 100):
            command = await hub.submit("h1", "purifier", "action", "toggle", member="a", face="t", ttl=ttl)
            assert (await hub.commands.wait(command.id, TIMEOUT)).status is CommandStatus.ACKED
            await raw.next(ACK)
            commands.append(command)
        # The cap of 2 pushed out the first; the others are still known and not run again.
        raw.publish(CMD, encode_command(commands[2]), qos=1)
        assert msgspec.json.decode((await raw.next(ACK))[1])["status"] == "acked"
        assert device.stats.duplicates == 1
        await clock.advance(200)
        # Forgotten, but expired: refused, not run. Remembered: its stored ack, not run.
        raw.publish(CMD, encode_command(commands[0]), qos=1)
        assert msgspec.json.decode((await raw.next(ACK))[1])["status"] == "expired"
        raw.publish(CMD, encode_command(commands[1]), qos=1)
        assert msgspec.json.decode((await raw.next(ACK))[1])["status"] == "acked"
    assert len(recorder.calls) == 3
