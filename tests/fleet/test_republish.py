"""Devices re-publish on request: a partition stream's leader killed mid-stream loses no device state.

A 3-server NATS cluster with the partition streams (R3), PostgreSQL, and one worker in process
(``Worker`` with its ``Membership``, reading JetStream, asking through
``carhome.fleet.republish``). Cars built on ``carhome.mqtt.device`` report QoS 1 state changes
(and an event with each) to the surviving servers. The test kills -9 the server leading their
partition's stream (one that does not lead MQTT's own message stream, so the cars stay
connected and only the partition stream's trap is measured) and has each car report a few
more changes at once, into the election: the server PUBACKs them and the stream never gets
them. Once the stream has a new leader, the worker asks the partition's devices to resend;
then the worker's state and the states table must equal each car's last state.

A witness (a QoS 1 subscriber with a persistent session, as the hub's identity) receives
what the servers PUBACKed; what it received more often than the stream holds is counted as
PUBACKed but not in the stream, states and events apart.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gmqtt
import msgspec
import pytest
from gmqtt.mqtt.constants import MQTTv311

from carhome.backoff import Backoff
from carhome.clock import SystemClock
from carhome.compose.worker import Worker
from carhome.fleet import Membership, Partitions, writer_settings
from carhome.fleet.cluster import NatsCluster
from carhome.fleet.config import FleetConfig
from carhome.fleet.jetstream import ensure_streams, open_log
from carhome.fleet.log import Entry, partition_of, stream
from carhome.fleet.republish import Republisher, republishing
from carhome.hub import Hub
from carhome.hub.model import Device, Home
from carhome.mqtt import MqttDeviceClient
from carhome.pgdatabase import PgDatabase
from carhome.store import PostgresStore
from carhome.testing.devices import Recorder
from fleet.nats_rig import BOUND, PARTITIONS, Fleet, fleet

from .tablelog import connected

pytestmark = pytest.mark.postgres

PER_PARTITION = 12  # homes of one car each, in every partition
PROP = "Vehicle.TraveledDistance"
EVENT = "charging_complete"
BEFORE = 20  # changes each car reports before the kill
IN_GAP = 6  # changes each car reports right after it
WINDOW = 4  # a car reports at most this many changes ahead of what the witness got
T0 = 1_000_000.0
FAST = Backoff(first=0.05, most=0.5)


def homes() -> list[str]:
    per: dict[int, list[str]] = {p: [] for p in range(PARTITIONS)}
    n = 0
    while min(len(h) for h in per.values()) < PER_PARTITION:
        home = f"home-{n}"
        if len(per[partition_of(home, PARTITIONS)]) < PER_PARTITION:
            per[partition_of(home, PARTITIONS)].append(home)
        n += 1
    return [h for p in range(PARTITIONS) for h in per[p]]


class Witness:
    """A QoS 1 subscriber with a persistent session: how often each report was PUBACKed, and
    the highest change of each car it got."""

    def __init__(self, port: int, cluster: NatsCluster, name: str) -> None:
        self.port = port
        self.client = gmqtt.Client(name, clean_session=False)
        # the reports are mapped to their partition's subjects before anyone gets them: only
        # the fleet's operator may read those
        self.client.set_auth_credentials(cluster.admin.user, cluster.admin.password)
        self.got: Counter[tuple[str, str, bytes]] = Counter()
        """(home, kind, payload): how often PUBACKed."""
        self.highest: dict[str, int] = {}
        self.changed = asyncio.Condition()
        self.client.on_message = self._on_message
        self._subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.client.on_subscribe = lambda *_: self._subscribed.done() or self._subscribed.set_result(None)

    def _on_message(self, _c: object, topic: str, payload: bytes, qos: int, properties: Any) -> None:
        _, _, home, _, kind = topic.split("/")
        self.got[(home, kind, payload)] += 1
        if kind == "state":
            n = int(msgspec.json.decode(payload)[PROP])
            self.highest[home] = max(self.highest.get(home, 0), n)
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def __aenter__(self) -> Witness:
        await asyncio.wait_for(self.client.connect("127.0.0.1", self.port, version=MQTTv311), BOUND)
        self.client.subscribe(
            [gmqtt.Subscription("fleet/+/+/+/state", qos=1), gmqtt.Subscription("fleet/+/+/+/event", qos=1)]
        )
        await asyncio.wait_for(self._subscribed, BOUND)
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.disconnect(), BOUND)

    async def until(self, home: str, n: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.highest.get(home, 0) >= n), BOUND)


class Commits:
    """Notified after each batch the worker commits."""

    def __init__(self) -> None:
        self.changed = asyncio.Condition()

    async def __call__(self, *_: object) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def until(self, done: Any, bound: float = BOUND) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(bound), self.changed:
                await self.changed.wait_for(done)
        return bool(done())


async def report(car: MqttDeviceClient, witness: Witness, first: int, last: int, *, paced: bool) -> None:
    """Changes ``first`` to ``last`` of ``car`` (QoS 1), each with an event."""
    for n in range(first, last + 1):
        if paced:
            await witness.until(car.home, n - WINDOW)
        await car.publish_state({PROP: float(n)}, ts=T0 + n, qos=1)
        await car.publish_event(EVENT, ts=T0 + n)


@contextlib.asynccontextmanager
async def worker(
    url: str, cluster: NatsCluster, urls: list[str]
) -> AsyncIterator[tuple[Worker, Republisher, Commits]]:
    """One worker serving every partition, its log and its asks on the servers at ``urls``."""
    config = FleetConfig(
        database=url,
        worker="w1",
        partitions=PARTITIONS,
        nats=tuple(urls),
        nats_user=cluster.worker.user,
        nats_password=cluster.worker.password,
    )
    commits = Commits()
    async with (
        PgDatabase(url, settings=writer_settings(2.0)) as database,
        PostgresStore(database) as store,
        open_log(urls, cluster.worker, idle=0.5) as log,
        republishing(config) as republisher,
    ):
        partitions = Partitions(database, PARTITIONS)
        owner = Worker(partitions, store, log, also=commits, with_hub=republisher.with_hub)
        async with Membership(partitions, "w1", owner, heartbeat=0.2, idle_timeout=2.0):
            async with asyncio.timeout(BOUND):
                for p in range(PARTITIONS):
                    await owner.serving(p).wait()
            yield owner, republisher, commits


async def saved(url: str, every: list[str]) -> None:
    async with PostgresStore(url) as store:
        for home in every:
            await store.save_home(Home(id=home, name=home, lat=52.0, lon=13.0))
            await store.save_device(Device(home=home, id="car", type="car", name="car"))


async def car(stack: contextlib.AsyncExitStack, f: Fleet, home: str, server: int) -> MqttDeviceClient:
    """A car of ``home`` built on ``carhome.mqtt.device``, connected to ``server``, open in ``stack``."""
    identity = f.credentials.device(home, "car")
    return await stack.enter_async_context(
        MqttDeviceClient(
            home,
            "car",
            f"mqtt://127.0.0.1:{f.cluster.mqtt_port(server)}",
            Recorder(),
            clock=SystemClock(),
            username=identity.username,
            password=identity.password,
            backoff=FAST,
        )
    )


def not_held(hub: Hub, cars: list[MqttDeviceClient], n: int) -> list[str]:
    """The cars whose change ``n`` is not what ``hub`` holds of them."""
    wrong = []
    for c in cars:
        held = hub.state(c.home, "car").get(PROP)
        if held is None or held.value != float(n) or held.ts != T0 + n:
            wrong.append(c.home)
    return wrong


async def test_a_taken_partition_gets_the_state_its_log_missed(tmp_path: Path, postgres_url: str) -> None:
    """Cars report while their partition's stream is away (PUBACKed, kept nowhere); the worker
    that takes the partition asks them, and holds their state."""
    every = homes()
    await saved(postgres_url, every)
    async with fleet(tmp_path, every) as f:
        p = partition_of(every[0], PARTITIONS)
        mine = [h for h in every if partition_of(h, PARTITIONS) == p]
        js = f.admin.jetstream()
        await js.delete_stream(stream(p))
        async with (
            Witness(f.cluster.mqtt_port(1), f.cluster, "witness") as witness,
            contextlib.AsyncExitStack() as stack,
        ):
            cars = [await car(stack, f, home, k % 3) for k, home in enumerate(mine)]
            await asyncio.gather(*(report(c, witness, 1, 5, paced=True) for c in cars))
            for c in cars:
                await witness.until(c.home, 5)
            await ensure_streams(js, PARTITIONS, replicas=3)
            async with worker(postgres_url, f.cluster, f.cluster.nats_urls) as (owner, asks, commits):
                hub = owner.hubs()[p]
                await commits.until(lambda: not not_held(hub, cars, 5))
                lost = not_held(hub, cars, 5)
                # the round is recorded once its last burst's pause ended: maybe after the answers
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(BOUND), asks.changed:
                        await asks.changed.wait_for(lambda: any(q == p for q, _, _ in asks.rounds))
                rounds = [(q, why) for q, why, _ in asks.rounds if q == p]
    print(
        f"partition taken: states lost {len(lost)} of {len(cars)} devices"
        f" (reports PUBACKed while its stream was away: {len(cars) * 5})"
    )
    assert lost == []
    assert rounds == [(p, "takeover")]


@pytest.mark.parametrize("worker_on", ["a survivor", "the killed server"])
async def test_a_killed_stream_leader_loses_no_device_state(
    tmp_path: Path, postgres_url: str, worker_on: str
) -> None:
    """With the worker's NATS connections on a surviving server it hears the new leader's
    advisory; on the killed server it may miss it while it reconnects (to a server it learnt
    from the cluster), and asks again once back."""
    every = homes()
    await saved(postgres_url, every)
    async with fleet(tmp_path, every) as f:
        js = f.admin.jetstream()
        async with Witness(f.cluster.mqtt_port(0), f.cluster, "first"):
            # a partition whose stream's leader does not lead MQTT's own message stream
            mqtt_leader = (await js.stream_info("$MQTT_msgs")).cluster
            assert mqtt_leader is not None
            leaders = {}
            for p in range(PARTITIONS):
                cluster_info = (await js.stream_info(stream(p))).cluster
                assert cluster_info is not None
                leaders[p] = cluster_info.leader
            p = next(p for p, leader in leaders.items() if leader != mqtt_leader.leader)
            killed = f.cluster.index(str(leaders[p]))
            survivors = [i for i in range(3) if i != killed]
            mine = [h for h in every if partition_of(h, PARTITIONS) == p]
        at = survivors if worker_on == "a survivor" else [killed]
        # the witness again, on a server that stays
        async with (
            Witness(f.cluster.mqtt_port(survivors[0]), f.cluster, "witness") as witness,
            worker(postgres_url, f.cluster, [f.cluster.nats_urls[i] for i in at]) as (
                owner,
                asks,
                commits,
            ),
            contextlib.AsyncExitStack() as stack,
        ):
            cars = [await car(stack, f, home, survivors[k % 2]) for k, home in enumerate(mine)]
            hub = owner.hubs()[p]

            def holds(n: int = BEFORE + IN_GAP) -> list[str]:
                return not_held(hub, cars, n)

            await asyncio.gather(*(report(c, witness, 1, BEFORE, paced=True) for c in cars))
            assert await commits.until(lambda: not holds(BEFORE)), holds(BEFORE)
            await f.cluster.kill(killed)
            await asyncio.gather(
                *(report(c, witness, BEFORE + 1, BEFORE + IN_GAP, paced=False) for c in cars)
            )
            for c in cars:
                await witness.until(c.home, BEFORE + IN_GAP)  # PUBACKed, every one
            # the new leader, the asks, the answers applied (or the bound, if nothing asks)
            await commits.until(lambda: not holds())
            lost = holds()

            def asked() -> list[tuple[int, str]]:
                return [(q, why) for q, why, _ in asks.rounds if q == p]

            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(BOUND), asks.changed:
                    await asks.changed.wait_for(lambda: len(asked()) > 1)
        async with connected(postgres_url) as conn:
            rows = await conn.fetch("SELECT home, value, ts FROM states WHERE prop = $1", PROP)
        final = float(BEFORE + IN_GAP)
        stored = {r["home"]: (msgspec.json.decode(r["value"]), r["ts"]) for r in rows}
        lost_in_table = [h for h in mine if stored.get(h) != (final, T0 + final)]
        # what the stream holds, against what the witness got
        last = (await js.stream_info(stream(p))).state.last_seq
        collector = f.collector()
        collector.start(p)
        try:
            await collector.until(lambda: bool(collector.read[p]) and collector.read[p][-1].seq >= last)
        finally:
            await collector.stop()
        in_stream = Counter((e.home, e.kind, e.payload) for e in collector.read[p])
        missing = {k: n - in_stream[k] for k, n in witness.got.items() if n > in_stream[k]}
        states_missing = sum(n for (_, kind, _), n in missing.items() if kind == "state")
        events_missing = sum(n for (_, kind, _), n in missing.items() if kind == "event")
        events = sum(n for (home, kind, _), n in witness.got.items() if kind == "event" and home in mine)
    print(
        f"leader killed (worker on {worker_on}): states lost {len(lost)} of {len(cars)} devices"
        f" (reports PUBACKed but not in the stream: {states_missing})"
    )
    print(
        f"leader killed: events PUBACKed but not in the stream {events_missing} of {events}, not sent again"
    )
    assert lost == []
    assert lost_in_table == []
    assert asked()[0] == (p, "takeover")
    assert (p, "leader") in asked() or (p, "reconnect") in asked(), asked()
    # the trap was met: reports PUBACKed in the election are not in the stream (state ones:
    # which kinds a gap catches depends on where each car's publishing was when it opened,
    # so events are counted and said, not required)
    assert states_missing > 0
    assert all(isinstance(e, Entry) for e in collector.read[p])
