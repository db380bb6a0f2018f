"""Brokers and helpers for the MQTT tests: real Mosquitto, the built-in broker (NATS), a TCP proxy
that can cut connections uncleanly, and a raw MQTT client for hand-made messages."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import gmqtt
import pytest
from gmqtt.mqtt.constants import MQTTv311

from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Availability, Change, Hub
from carhome.mqtt import Backoff, EmbeddedBroker, MqttDeviceClient
from carhome.testing import Recorder
from mqtt.brokers import HAVE_MOSQUITTO, Mosquitto

FAST = Backoff(first=0.02, most=0.2)
TIMEOUT = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_mosquitto() -> None:
    """Skip without Mosquitto — unless scripts/test ran, which installs it and sets
    ``CARHOME_REQUIRE_MOSQUITTO``: there a missing broker fails, not a quiet skip."""
    if not HAVE_MOSQUITTO:
        if os.environ.get("CARHOME_REQUIRE_MOSQUITTO"):
            pytest.fail("mosquitto is not installed, though scripts/test should have installed it")
        pytest.skip("mosquitto is not installed (scripts/test installs it)")


@pytest.fixture
async def mosquitto(tmp_path: Path) -> AsyncIterator[Mosquitto]:
    require_mosquitto()
    async with Mosquitto(free_port(), tmp_path) as broker:
        yield broker


@pytest.fixture
async def builtin_broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    """The built-in broker (the NATS server), letting anyone in."""
    async with EmbeddedBroker("127.0.0.1", free_port(), data_dir=tmp_path / "builtin") as broker:
        yield broker


@pytest.fixture(params=[pytest.param("mosquitto", marks=pytest.mark.mosquitto), "nats"])
def broker_url(request: pytest.FixtureRequest) -> str:
    """The URL of each broker carhome ships or documents in turn: the key tests run
    against both (the built-in NATS server and Mosquitto by URL)."""
    fixture = "mosquitto" if request.param == "mosquitto" else "builtin_broker"
    return str(request.getfixturevalue(fixture).url)


class TcpProxy:
    """Forwards TCP to a broker; ``cut()`` drops every connection without a goodbye."""

    def __init__(self, port: int) -> None:
        self.upstream = port
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cut()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        self._writers += [writer, up_writer]
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst), name="proxy-pipe")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        dst.close()

    async def cut(self) -> None:
        """Stop listening and abort every connection, as a pulled plug would."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class RawClient:
    """A bare MQTT client for messages carhome's own clients would never send."""

    def __init__(self, url: str) -> None:
        self.port = int(url.rsplit(":", 1)[1])
        self.client = gmqtt.Client(f"raw-{free_port()}")
        self.received: asyncio.Queue[tuple[str, bytes, bool]] = asyncio.Queue()
        self._held: list[tuple[str, bytes, bool]] = []
        self._subacks: asyncio.Queue[int] = asyncio.Queue()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda _c, mid, *_: self._subacks.put_nowait(mid)

    def _on_message(
        self, _c: object, topic: str, payload: bytes, qos: int, properties: dict[str, Any]
    ) -> None:
        self.received.put_nowait((topic, payload, bool(properties.get("retain"))))

    async def __aenter__(self) -> RawClient:
        await asyncio.wait_for(self.client.connect("127.0.0.1", self.port, version=MQTTv311), TIMEOUT)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.disconnect()

    async def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        await asyncio.wait_for(self._subacks.get(), TIMEOUT)

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> None:
        self.client.publish(topic, payload, qos=qos)

    def rest(self) -> list[tuple[str, bytes, bool]]:
        """Every message received and not asked for yet, in order (emptied)."""
        rest = [*self._held, *(self.received.get_nowait() for _ in range(self.received.qsize()))]
        self._held.clear()
        return rest

    async def next(self, topic: str) -> tuple[str, bytes, bool]:
        """The next message on ``topic``. Messages on other topics are kept, in order, for
        the calls that ask for them (a broker sends retained messages in any order)."""

        async def on_topic() -> tuple[str, bytes, bool]:
            for i, message in enumerate(self._held):
                if message[0] == topic:
                    del self._held[i]
                    return message
            while True:
                message = await self.received.get()
                if message[0] == topic:
                    return message
                self._held.append(message)

        return await asyncio.wait_for(on_topic(), TIMEOUT)


@pytest.fixture
def changes(hub: Hub) -> Iterator[Callable[[str, str, str], asyncio.Future[Change]]]:
    """``changes(home, device, prop)``: a future for the next change of that property."""
    subs = []

    def next_change(home: str, device: str, prop: str) -> asyncio.Future[Change]:
        future: asyncio.Future[Change] = asyncio.get_running_loop().create_future()

        def seen(change: Change) -> None:
            if not future.done():
                future.set_result(change)

        subs.append(hub.bus.subscribe(seen, home=home, device=device, name=prop))
        return future

    yield next_change
    for sub in subs:
        sub.cancel()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def connector(hub: Hub, broker_url: str) -> AsyncIterator[MqttConnector]:
    async with MqttConnector(hub, broker_url, backoff=FAST) as connector:
        yield connector


@pytest.fixture
async def purifier(
    hub: Hub, connector: MqttConnector, broker_url: str, recorder: Recorder
) -> AsyncIterator[MqttDeviceClient]:
    """The air purifier of home h1, connected, its ``online`` already seen by the hub."""
    online: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def seen(change: Availability) -> None:
        if change.online and not online.done():
            online.set_result(change.device)

    with hub.bus.subscribe(seen, kind=Availability, home="h1", device="purifier"):
        async with MqttDeviceClient(
            "h1", "purifier", broker_url, recorder, clock=hub.clock, backoff=FAST
        ) as device:
            assert await asyncio.wait_for(online, TIMEOUT) == "purifier"
            yield device
