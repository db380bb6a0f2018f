"""The rig of the ACL tests: a real Mosquitto started from the files ``write_mosquitto``
generates, and a bare client that logs in as anyone and sends whatever it likes."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import MQTTv311
from gmqtt.storage import PersistentStorage

from carhome.hub.rejections import RejectionLog
from carhome.mqtt import EmbeddedBroker
from carhome.mqtt.credentials import Credentials, write_mosquitto
from mqtt.conftest import TIMEOUT, Mosquitto, free_port

DEVICES = (("h1", "car"), ("h1", "purifier"))
"""The hub fixture's devices: the car plays the attacker, the purifier its victim."""


@dataclass
class AclBroker:
    kind: str
    url: str
    builtin: EmbeddedBroker | None = None
    log: list[str] = field(default_factory=list)
    mosquitto: Mosquitto | None = None
    rejections: RejectionLog = field(default_factory=RejectionLog)
    """What the broker refused, as the hub's rejections (the built-in broker reports them)."""

    @property
    def pid(self) -> int | None:
        """The broker's process id (to stop and resume it)."""
        return (
            self.builtin.pid if self.builtin is not None else self.mosquitto.pid if self.mosquitto else None
        )


@contextlib.asynccontextmanager
async def run_mosquitto(directory: Path, credentials: Credentials) -> AsyncIterator[AclBroker]:
    port = free_port()
    files = write_mosquitto(
        directory,
        credentials,
        port=port,
        host="127.0.0.1",
        # Started as root, Mosquitto would drop to its own user, who cannot read 0600 files.
        extra=(f"user {getpass.getuser()}", "persistence false", "log_dest stderr", "log_type all"),
    )
    mosquitto = Mosquitto(port, directory, conf=files.conf)
    await mosquitto.start()
    try:
        yield AclBroker("mosquitto", mosquitto.url, log=mosquitto.log, mosquitto=mosquitto)
    finally:
        await mosquitto.stop()


class _Gmqtt(gmqtt.Client):  # type: ignore[misc]
    def __init__(self, client_id: str, **kwargs: Any) -> None:
        self.outbox = PersistentStorage()
        super().__init__(client_id, persistent_storage=self.outbox, **kwargs)

    async def reconnect(self, delay: bool = False) -> None:
        pass  # a test client that lost its connection stays down


class Client:
    """A bare MQTT 3.1.1 client logged in as ``username`` (or anonymous): what an attacker
    with a device's credentials can send, byte for byte."""

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        client_id: str | None = None,
        will: gmqtt.Message | None = None,
    ) -> None:
        self.port = int(url.rsplit(":", 1)[1])
        self.client = _Gmqtt(client_id or f"test-{free_port()}", will_message=will)
        if username is not None:
            self.client.set_auth_credentials(username, password)
        self.received: list[tuple[str, bytes, bool]] = []
        self._arrived = asyncio.Event()
        self._subacks: asyncio.Queue[tuple[int, ...]] = asyncio.Queue()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda _c, _mid, granted, *_: self._subacks.put_nowait(tuple(granted))

    def _on_message(self, _c: object, topic: str, payload: bytes, qos: int, props: dict[str, Any]) -> None:
        self.received.append((topic, payload, bool(props.get("retain"))))
        self._arrived.set()

    async def __aenter__(self) -> Client:
        return await self.connect()

    async def connect(self) -> Client:
        try:
            await asyncio.wait_for(self.client.connect("127.0.0.1", self.port, version=MQTTv311), TIMEOUT)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.disconnect(), TIMEOUT)

    async def subscribe(self, *filters: str) -> tuple[int, ...]:
        """Subscribe at QoS 1; the SUBACK's codes (0x80 = refused)."""
        self.client.subscribe([gmqtt.Subscription(f, qos=1) for f in filters])
        return await asyncio.wait_for(self._subacks.get(), TIMEOUT)

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK: the broker has routed it."""
        self.client.publish(topic, payload, qos=1, retain=retain)
        await asyncio.wait_for(self.client.outbox.wait_empty(), TIMEOUT)

    async def until(self, topic: str, payload: bytes | None = None, *, count: int = 1) -> None:
        """Wait for ``count`` messages on ``topic`` (any payload if ``None``): e.g. a marker
        sent after the traffic under test."""

        def arrived() -> bool:
            return sum(t == topic and payload in (None, p) for t, p, _ in self.received) >= count

        async def seen() -> None:
            while not arrived():
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(seen(), TIMEOUT)


def login(url: str, credentials: Credentials, username: str, **kwargs: Any) -> Client:
    """A client with ``username``'s credentials, not yet connected."""
    identity = credentials.get(username)
    assert identity is not None, username
    return Client(url, identity.username, identity.password, **kwargs)
