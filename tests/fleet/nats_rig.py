"""The NATS tests' rig: a 3-server fleet cluster with its partition streams, devices that publish
MQTT QoS 1 (gmqtt) and know which messages were PUBACKed, and a log reader that collects what
the partitions hold, woken by each batch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import UNLIMITED_RECONNECTS, MQTTv311
from gmqtt.storage import PersistentStorage
from nats.aio.client import Client as Nats

from carhome.fleet.cluster import NatsCluster
from carhome.fleet.jetstream import JetStreamLog, connect, ensure_streams
from carhome.fleet.log import Entry
from carhome.mqtt.credentials import Credentials

PARTITIONS = 8
BOUND = 30.0
"""Seconds any wait of these tests may take (a stream leader's election takes about 5)."""


class _Gmqtt(gmqtt.Client):  # type: ignore[misc]
    def __init__(self, client_id: str, **kwargs: Any) -> None:
        self.outbox = PersistentStorage()
        super().__init__(client_id, persistent_storage=self.outbox, **kwargs)


class Device:
    """One device's MQTT connection to one server of the cluster, logged in as itself."""

    def __init__(self, port: int, credentials: Credentials, home: str, device: str = "car") -> None:
        self.home = home
        self.device = device
        self.port = port
        self.client = _Gmqtt(f"{home}-{device}", clean_session=True)
        identity = credentials.device(home, device)
        self.client.set_auth_credentials(identity.username, identity.password)
        self.subacks: asyncio.Queue[tuple[int, ...]] = asyncio.Queue()
        self.client.on_subscribe = lambda _c, _mid, granted, *_: self.subacks.put_nowait(tuple(granted))
        # As a device does, it connects again when its server closes the connection, and sends
        # again what was not PUBACKed (a server closes it when JetStream does not store its
        # QoS 1 messages within 5 s: the leader of MQTT's own stream died)
        self.client.set_config({"reconnect_retries": UNLIMITED_RECONNECTS, "reconnect_delay": 0.2})
        self.disconnects = 0
        self.client.on_disconnect = self._disconnected

    def _disconnected(self, *_: object) -> None:
        self.disconnects += 1

    def topic(self, kind: str = "state") -> str:
        return f"carhome/{self.home}/{self.device}/{kind}"

    async def __aenter__(self) -> Device:
        await asyncio.wait_for(self.client.connect("127.0.0.1", self.port, version=MQTTv311), BOUND)
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.disconnect(), BOUND)

    async def publish(self, payloads: list[bytes], topic: str | None = None) -> None:
        """Publish at QoS 1 and return once the server PUBACKed every one of them."""
        for payload in payloads:
            self.client.publish(topic or self.topic(), payload, qos=1)
        await asyncio.wait_for(self.client.outbox.wait_empty(), BOUND)

    async def subscribe(self, topic_filter: str) -> int:
        """Subscribe at QoS 1; the SUBACK's code (0x80: refused)."""
        self.client.subscribe([gmqtt.Subscription(topic_filter, qos=1)])
        (code,) = await asyncio.wait_for(self.subacks.get(), BOUND)
        return code


@dataclass
class Collector:
    """Reads partitions with ``JetStreamLog`` and keeps what it read, per partition."""

    log: JetStreamLog
    read: dict[int, list[Entry]] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self, partition: int, after: int = 0) -> None:
        self.read.setdefault(partition, [])
        self._tasks.append(asyncio.create_task(self._read(partition, after), name=f"read-{partition}"))

    async def _read(self, partition: int, after: int) -> None:
        batches = self.log.read(partition, after)
        try:
            async for batch in batches:
                async with self.changed:
                    self.read[partition] += batch
                    self.changed.notify_all()
        finally:
            await batches.aclose()  # type: ignore[attr-defined]

    async def until(self, done: Callable[[], bool]) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(done), BOUND)

    def count(self) -> int:
        return sum(len(entries) for entries in self.read.values())

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass
class Fleet:
    cluster: NatsCluster
    credentials: Credentials
    admin: Nats
    worker: Nats

    def collector(self) -> Collector:
        return Collector(JetStreamLog(self.worker.jetstream(), idle=0.5))


async def make_streams(cluster: NatsCluster, partitions: int) -> None:
    """The partition streams at R3 on ``cluster``, made as the fleet's admin."""
    admin = await connect(cluster.nats_urls, cluster.admin)
    try:
        await ensure_streams(admin.jetstream(), partitions, replicas=3)
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def fleet(directory: Path, homes: list[str], partitions: int = PARTITIONS) -> AsyncIterator[Fleet]:
    """Three servers, a device identity per home (device ``car``), the partition streams at R3,
    and NATS connections as the fleet's admin and as a worker."""
    credentials = Credentials.make((home, "car") for home in homes)
    async with NatsCluster(directory, partitions=partitions, credentials=credentials) as cluster:
        admin = await connect(cluster.nats_urls, cluster.admin)
        worker = await connect(cluster.nats_urls, cluster.worker)
        try:
            await ensure_streams(admin.jetstream(), partitions, replicas=3)
            yield Fleet(cluster, credentials, admin, worker)
        finally:
            await worker.close()
            await admin.close()
