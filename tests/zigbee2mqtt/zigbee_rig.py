"""Shared pieces of the Zigbee2MQTT tests: Zigbee2MQTT's side of a real Mosquitto, played
from recorded payloads, and waiting without sleeping.

``Bridge`` publishes what Zigbee2MQTT publishes — the device lists, states and availability
recorded in ``fixtures/`` (see ``fixtures/README.md`` for where each comes from) — retained
where Zigbee2MQTT retains them, and reads what carhome sends to ``<friendly_name>/set``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carhome.connectors.zigbee2mqtt import Zigbee2MqttConfig, Zigbee2MqttConnector
from carhome.hub import Change, Device, Hub
from mqtt.conftest import TIMEOUT, RawClient

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "zigbee2mqtt"
CONFIRM = 10.0


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def devices_list() -> list[dict[str, Any]]:
    """bridge/devices as Zigbee2MQTT's own test records it, and devices whose definitions
    come from zigbee-herdsman-converters (a lock, a blind, a thermostat, a fan, a switch)."""
    return [*fixture("bridge_devices.json"), *fixture("bridge_devices_zhc.json")]


def message(name: str) -> tuple[str, bytes]:
    """A recorded message (``fixtures/messages.json``): its topic below the base, its bytes."""
    entry = fixture("messages.json")[name]
    payload = entry["payload"]
    return entry["topic"], payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()


class Bridge:
    """Publishes as Zigbee2MQTT does; ``next_set`` reads what carhome asks of a device."""

    def __init__(self, url: str, base: str = BASE) -> None:
        self.base = base
        self.raw = RawClient(url)

    async def __aenter__(self) -> Bridge:
        await self.raw.__aenter__()
        await self.raw.subscribe(f"{self.base}/#")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.raw.__aexit__()

    def publish(self, topic: str, payload: Any, *, retain: bool = False) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.raw.client.publish(f"{self.base}/{topic}", data, qos=1, retain=retain)

    def recorded(self, name: str, *, retain: bool = False) -> None:
        topic, payload = message(name)
        self.publish(topic, payload, retain=retain)

    def devices(self, devices: list[dict[str, Any]] | None = None) -> None:
        self.publish("bridge/devices", devices_list() if devices is None else devices, retain=True)

    async def next_set(self, friendly_name: str) -> dict[str, Any]:
        _, payload, _ = await self.raw.next(f"{self.base}/{friendly_name}/set")
        decoded: dict[str, Any] = json.loads(payload)
        return decoded


def config(url: str, **extra: Any) -> Zigbee2MqttConfig:
    return Zigbee2MqttConfig(home="h1", url=url, confirm_timeout=CONFIRM, **extra)


class Listed:
    """Futures for the connector's next device lists."""

    def __init__(self, connector: Zigbee2MqttConnector) -> None:
        self._waiting: list[asyncio.Future[list[Device]]] = []
        connector.on_devices(self._told)

    def _told(self, devices: list[Device]) -> None:
        for future in self._waiting:
            if not future.done():
                future.set_result(devices)
        self._waiting.clear()

    def next(self) -> asyncio.Future[list[Device]]:
        future: asyncio.Future[list[Device]] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        return future


async def listed(
    bridge: Bridge, connector: Zigbee2MqttConnector, devices: list[dict[str, Any]] | None = None
) -> list[Device]:
    """Publish a device list and wait until the connector has brought it into the hub."""
    told = Listed(connector).next()
    bridge.devices(devices)
    return await asyncio.wait_for(told, TIMEOUT)


def next_change(
    hub: Hub, device: str, prop: str, where: Callable[[Change], bool] = lambda c: True
) -> asyncio.Future[Change]:
    """The next change of ``prop`` of ``device`` in home h1 that ``where`` accepts."""
    future: asyncio.Future[Change] = asyncio.get_running_loop().create_future()

    def seen(change: Change) -> None:
        if where(change) and not future.done():
            future.set_result(change)
            sub.cancel()

    sub = hub.bus.subscribe(seen, home="h1", device=device, name=prop)
    return future


async def settled(bridge: Bridge, hub: Hub, value: float) -> None:
    """Wait until the connector has handled everything the bridge published so far: the
    weather sensor reports ``value``, and messages are handled in order."""
    changed = next_change(hub, WEATHER, "temperature", lambda c: c.value == value)
    bridge.publish("weather_sensor", {"temperature": value})
    await asyncio.wait_for(changed, TIMEOUT)


WEATHER = "zigbee-0017880104e45522"
BULB = "zigbee-000b57fffec6a5b2"
PLUG = "zigbee-0017880104e45524"
BUTTON = "zigbee-0017880104e45520"
LOCK = "zigbee-ec1bbdfffe4b1a01"
BLIND = "zigbee-14b457fffe7d3c02"
SWITCH = "zigbee-00158d00045a1205"
LOCK_IEEE = "0xec1bbdfffe4b1a01"
