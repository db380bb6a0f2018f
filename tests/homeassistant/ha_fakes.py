"""Fakes for the Home Assistant bridge tests: a transport that acks every command, and a
raw MQTT client playing Home Assistant."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import msgspec

from carhome.hub import Ack, Command, Hub
from mqtt.conftest import TIMEOUT, RawClient

MEMBER = "ha-user"


class AckingTransport:
    """The ``mqtt`` connector's stand-in: records each command and acks it through the hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.delivered: asyncio.Queue[Command] = asyncio.Queue()

    async def deliver(self, command: Command) -> None:
        self.delivered.put_nowait(command)
        # As a device would: the answer comes after delivery, not inside it.
        asyncio.get_running_loop().call_soon(
            self.hub.ack, command.home, command.device, Ack(command.id, "acked", {"ran": command.target})
        )

    async def next(self) -> Command:
        return await asyncio.wait_for(self.delivered.get(), TIMEOUT)


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
