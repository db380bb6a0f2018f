"""A home whose car, door lock and garage verify signatures, a hub relaying over Mosquitto,
phones reaching it through the hub's key routes, and a raw client to play a compromised hub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import gmqtt
import httpx
import msgspec
import pytest
from gmqtt.mqtt.constants import MQTTv311

from carhome.access.delegates import DelegateKeys, Delegates, FileDelegateKeys
from carhome.access.keyroutes import key_routes
from carhome.access.postgres_delegates import PostgresDelegateKeys
from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Ack, Availability, Hub
from carhome.mqtt import Backoff, EmbeddedBroker, MqttDeviceClient
from carhome.pgdatabase import PgDatabase
from carhome.signing import Role
from carhome.signing.relay import KeyAnswer, KeyOp, KeyRelay
from carhome.sim import Outdoor, SimHome, SimRunner
from carhome.sim.device import SimBase
from carhome.sim.runner import CommandHandler, DeviceLink
from carhome.testing import FakeClock
from carhome.wire.keyclient import Phone
from key_app import key_app
from key_app import phone as key_phone
from mqtt.conftest import Mosquitto, free_port, require_mosquitto
from pgcluster import schema_name

FAST = Backoff(first=0.02, most=0.2)
TIMEOUT = 10  # a safety net for a broken build; the tests wait on events, never on time
SIGNED = ("car", "front_door", "garage_door")
H = "h1"


def message(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The command message a hub would publish for a signed body (optionally altered)."""
    out = {k: body[k] for k in ("id", "kind", "target", "args", "expires", "signature", "member")}
    out.update(changes)
    return out


class Wire:
    """A bare MQTT client: what a compromised hub (or anyone on the broker) can publish."""

    def __init__(self, url: str) -> None:
        self.port = int(url.rsplit(":", 1)[1])
        self.client = gmqtt.Client(f"wire-{free_port()}")
        self.acks: dict[str, list[Ack]] = {}
        self._arrived = asyncio.Event()
        self._subscribed = asyncio.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._subscribed.set()

    def _on_message(self, _c: object, topic: str, payload: bytes, qos: int, props: dict[str, Any]) -> None:
        if topic.endswith("/ack"):
            ack = msgspec.json.decode(payload, type=Ack)
            self.acks.setdefault(ack.id, []).append(ack)
            self._arrived.set()

    async def __aenter__(self) -> Wire:
        await asyncio.wait_for(self.client.connect("127.0.0.1", self.port, version=MQTTv311), TIMEOUT)
        self.client.subscribe("carhome/+/+/ack", qos=1)
        await asyncio.wait_for(self._subscribed.wait(), TIMEOUT)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.disconnect()

    def publish(self, device: str, message: dict[str, Any], home: str = "h1") -> None:
        self.client.publish(f"carhome/{home}/{device}/cmd", msgspec.json.encode(message), qos=1)

    async def ack(self, command_id: str, count: int = 1) -> Ack:
        """The ``count``-th ack for ``command_id`` (waits for it)."""

        async def arrived() -> Ack:
            while len(self.acks.get(command_id, ())) < count:
                self._arrived.clear()
                await self._arrived.wait()
            return self.acks[command_id][count - 1]

        return await asyncio.wait_for(arrived(), TIMEOUT)

    async def refusal(self, command_id: str, count: int = 1) -> str:
        """The error of the ``count``-th ack for ``command_id``, which must say the device
        refused it (``failed``): its reason code first, then what to do."""
        ack = await self.ack(command_id, count)
        assert ack.status == "failed", ack
        assert ack.error is not None
        return ack.error


class CountingRelay:
    """The hub's relay for its own key asks (its delegate keys'), counting those that reach
    a device."""

    def __init__(self, inner: KeyRelay) -> None:
        self.inner = inner
        self.asks = 0

    async def ask(self, home: str, device: str, op: KeyOp, *, timeout: float = 10.0) -> KeyAnswer:
        self.asks += 1
        return await self.inner.ask(home, device, op, timeout=timeout)


class Rig:
    """Home h1 simulated, its car, front door and garage door verifying, a hub relaying."""

    def __init__(self, hub: Hub, clock: FakeClock, tmp: Path, url: str, keys: DelegateKeys) -> None:
        self.hub = hub
        self.clock = clock
        self.tmp = tmp
        self.url = url
        self.sim = SimHome(hub.home("h1"), outdoor=Outdoor(fixed_temperature=5.0), routine=False)
        self.clients: dict[str, MqttDeviceClient] = {}
        self.connector = MqttConnector(hub, url, backoff=FAST)
        self.relay = CountingRelay(self.connector)
        self.delegates = Delegates(keys, self.relay, clock)
        self.runner: SimRunner | None = None
        self.app = key_app(
            key_routes(
                hub,
                self.connector,
                who=lambda request: request.headers.get("x-member", "ana"),
                screen=lambda home, device: self.device(device).screen,
                delegates=self.delegates,
            )
        )
        self.transport = httpx.ASGITransport(app=self.app)

    def device(self, name: str) -> SimBase:
        device = self.sim.devices[name]
        assert isinstance(device, SimBase)
        return device

    def secure(self, *, boot: bool) -> None:
        for name in SIGNED:
            self.device(name).secure(
                self.tmp / "devices" / name, home="h1", device=name, clock=self.clock, boot=boot
            )

    def link(self, home: str, device: str, handler: CommandHandler) -> DeviceLink:
        client = MqttDeviceClient(
            home, device, self.url, handler, clock=self.clock, backoff=FAST, keys=self.device(device).keys
        )
        self.clients[device] = client
        return client

    async def start_devices(self) -> None:
        online: set[str] = set()
        all_online = asyncio.Event()

        def seen(change: Availability) -> None:
            if change.online:
                online.add(change.device)
            if online >= set(self.sim.devices):
                all_online.set()

        with self.hub.bus.subscribe(seen, kind=Availability):
            self.runner = SimRunner(self.sim, clock=self.clock, links=self.link)
            await self.runner.__aenter__()
            await asyncio.wait_for(all_online.wait(), TIMEOUT)

    async def stop_devices(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.__aexit__(None, None, None)

    def phone(self, member: str) -> Phone:
        return key_phone(self.tmp / "phones" / member, self.transport, member)


@pytest.fixture(params=[pytest.param("mosquitto", marks=pytest.mark.mosquitto), "nats"])
async def broker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Mosquitto | EmbeddedBroker]:
    """Each broker carhome ships or documents in turn: Mosquitto, the built-in NATS server."""
    if request.param == "nats":
        async with EmbeddedBroker("127.0.0.1", free_port(), data_dir=tmp_path / "nats") as nats:
            yield nats
        return
    require_mosquitto()
    async with Mosquitto(free_port(), tmp_path) as broker:
        yield broker


@asynccontextmanager
async def kept_keys(kind: str, tmp: Path, request: pytest.FixtureRequest) -> AsyncIterator[DelegateKeys]:
    """Delegate keys of ``kind``: files under ``tmp``, or a fresh PostgreSQL schema."""
    if kind == "files":
        yield FileDelegateKeys(tmp / "hub" / "delegates")
        return
    cluster = request.getfixturevalue("postgres_cluster")  # only the postgres runs start one
    url = await cluster.create_schema(schema_name())
    database = PgDatabase(url)
    await database.open()
    try:
        keys = PostgresDelegateKeys(database)
        await keys.open()
        yield keys
    finally:
        await database.close()


@pytest.fixture
async def delegate_keys(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[DelegateKeys]:
    """The hub's delegate keys in files (the delegate tests run on PostgreSQL too)."""
    async with kept_keys("files", tmp_path, request) as keys:
        yield keys


@pytest.fixture
async def rig(
    hub: Hub,
    clock: FakeClock,
    tmp_path: Path,
    broker: Mosquitto | EmbeddedBroker,
    delegate_keys: DelegateKeys,
) -> AsyncIterator[Rig]:
    rig = Rig(hub, clock, tmp_path, broker.url, delegate_keys)
    for record in rig.sim.records():
        await hub.add_device(record)
    rig.secure(boot=True)
    async with rig.connector:
        await rig.start_devices()
        try:
            yield rig
        finally:
            await rig.stop_devices()


@pytest.fixture
async def wire(broker: Mosquitto | EmbeddedBroker) -> AsyncIterator[Wire]:
    async with Wire(broker.url) as wire:
        yield wire


async def enroll_owner(rig: Rig, member: str = "ana", device: str = "garage_door") -> Phone:
    """Enroll ``member``'s phone as the first owner of ``device`` (presence proof only)."""
    phone = rig.phone(member)
    challenge = await phone.begin("h1", device)
    await phone.enroll(challenge, code=rig.device(device).screen, role=Role.OWNER, member=member)
    return phone
