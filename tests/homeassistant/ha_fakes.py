"""Fakes for the Home Assistant bridge tests: a raw MQTT client playing Home Assistant, and
the device that answers the bridge's commands (``carhome.testing.AckingDevice``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import msgspec

from carhome.hub import Hub
from carhome.testing import AckingDevice
from mqtt.conftest import TIMEOUT, RawClient

MEMBER = "ha-user"


def acking(hub: Hub) -> AckingDevice:
    """The ``mqtt`` connector's stand-in: records each command and acks it through the hub."""
    return AckingDevice(hub, result=lambda command: {"ran": command.target})


class HomeAssistant(RawClient):
    """A raw client in Home Assistant's place: subscribes, reads, publishes commands."""

    async def until(self, topic: str, accept: Callable[[bytes, bool], bool]) -> tuple[bytes, bool]:
        """The first message on ``topic`` that ``accept(payload, retained)`` takes."""

        async def wait() -> tuple[bytes, bool]:
            while True:
                _, payload, retained = await self.next(topic)
                if accept(payload, retained):
                    return payload, retained

        return await asyncio.wait_for(wait(), TIMEOUT)

    async def json(self, topic: str, accept: Callable[[dict[str, object]], bool]) -> dict[str, object]:
        payload, _ = await self.until(topic, lambda p, _r: bool(p) and accept(msgspec.json.decode(p)))
        decoded: dict[str, object] = msgspec.json.decode(payload)
        return decoded
