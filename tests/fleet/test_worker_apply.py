"""The worker role applying a partition's log, in process: by device time, across a handover.

A ``Worker`` with its ``Membership`` serves a fleet of 2 partitions in PostgreSQL, its log a
``tablelog.TableLog`` the test appends to. Each test waits on the worker's commits (an
``also`` hook that notes the position each batch's transaction covers), never on time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import asyncpg
import pytest

from carhome.automations import Engine
from carhome.compose.worker import Also, WithHub, Worker
from carhome.fleet import Fenced, Lease, Membership, Partitions, writer_settings
from carhome.fleet.log import Entry, partition_of
from carhome.hub import Hub
from carhome.hub.model import Device, Home
from carhome.mqtt.payloads import encode_state
from carhome.pgdatabase import PgDatabase
from carhome.store import PostgresStore

from .tablelog import TableLog, Writer, connected

pytestmark = pytest.mark.postgres

PARTITIONS = 2
HOME = "h1"
DEVICE = "purifier"
BOUND = 20.0


class Commits:
    """The log position each partition's commits reached, awaitable."""

    def __init__(self) -> None:
        self.at: dict[int, int] = {}
        self.changed = asyncio.Condition()

    async def __call__(self, conn: asyncpg.Connection, lease: Lease, batch: Sequence[Entry]) -> None:
        self.at[lease.partition] = batch[-1].seq
        async with self.changed:
            self.changed.notify_all()

    async def reach(self, partition: int, seq: int) -> None:
        async with asyncio.timeout(BOUND), self.changed:
            await self.changed.wait_for(lambda: self.at.get(partition, 0) >= seq)


@contextlib.asynccontextmanager
async def serving(
    url: str, worker_id: str, commits: Also, with_hub: WithHub | None = None
) -> AsyncIterator[Worker]:
    """A worker serving every partition of the fleet at ``url`` (loaded, reading its log)."""
    async with (
        PgDatabase(url, settings=writer_settings(2.0)) as database,
        PostgresStore(database) as store,
        TableLog(url) as log,
    ):
        partitions = Partitions(database, PARTITIONS)
        worker = Worker(partitions, store, log, also=commits, with_hub=with_hub)
        async with Membership(partitions, worker_id, worker, heartbeat=0.2, idle_timeout=2.0):
            async with asyncio.timeout(BOUND):
                for p in range(PARTITIONS):
                    await worker.serving(p).wait()
            yield worker


@pytest.fixture
async def fleet(postgres_url: str) -> Writer:
    async with PostgresStore(postgres_url) as store:
        await store.save_home(Home(id=HOME, name="Home", lat=52.0, lon=13.0))
        await store.save_device(Device(home=HOME, id=DEVICE, type="air_purifier", name="purifier"))
    writer = Writer(postgres_url, PARTITIONS)
    await writer.create()
    return writer


def state(pm25: int, ts: float) -> tuple[str, str, str, bytes]:
    return (HOME, DEVICE, "state", encode_state({"pm25": pm25}, ts))


async def stored(url: str) -> tuple[str, float]:
    async with connected(url) as conn:
        row = await conn.fetchrow("SELECT value, ts FROM states WHERE home = $1 AND prop = 'pm25'", HOME)
    return row["value"], row["ts"]


async def test_a_message_redelivered_behind_a_newer_one_in_its_batch_changes_nothing(
    fleet: Writer, postgres_url: str
) -> None:
    commits = Commits()
    p = partition_of(HOME, PARTITIONS)
    async with serving(postgres_url, "w1", commits) as worker:
        await fleet.append([state(10, 100.0), state(20, 200.0), state(10, 100.0)])
        await commits.reach(p, 3)
        hub = worker.hub_of(HOME)
        assert hub is not None
        assert hub.value(HOME, DEVICE, "pm25") == 20
    assert await stored(postgres_url) == ("20", 200.0)


async def test_the_next_owner_keeps_a_value_reported_again_against_an_older_redelivery(
    fleet: Writer, postgres_url: str
) -> None:
    """The same value reported again moves the property's time: the worker taking the
    partition over compares a redelivered older message with that time, not the first one."""
    commits = Commits()
    p = partition_of(HOME, PARTITIONS)
    async with serving(postgres_url, "w1", commits):
        await fleet.append([state(20, 100.0)])
        await commits.reach(p, 1)
        await fleet.append([state(20, 200.0)])
        await commits.reach(p, 2)
    assert await stored(postgres_url) == ("20", 200.0)
    async with serving(postgres_url, "w2", commits) as worker:
        hub = worker.hub_of(HOME)
        assert hub is not None
        assert hub.available(HOME, DEVICE) is None  # unknown until the device speaks
        await fleet.append([state(30, 150.0), (HOME, DEVICE, "status", b"online")])
        await commits.reach(p, 4)
        assert hub.value(HOME, DEVICE, "pm25") == 20
        assert hub.available(HOME, DEVICE) is True
    assert await stored(postgres_url) == ("20", 200.0)


PURIFY = """
home: h1
automations:
  - id: purify
    triggers: [{trigger: threshold, device: purifier, property: pm25, above: 500}]
    actions:
      - {action: set, device: purifier, property: mode, value: auto}
"""


class Purifying(Commits):
    """The commits of a worker whose hubs run automations, ``PURIFY`` in the hub of ``HOME``
    (its engines kept, newest last); each hub signs with ``signer`` when one is given."""

    signer: object | None = None

    def __init__(self) -> None:
        super().__init__()
        self.engines: list[Engine] = []

    @contextlib.asynccontextmanager
    async def automations(self, hub: Hub, lease: Lease) -> AsyncIterator[None]:
        if self.signer is not None:
            hub.commands.signer = self.signer
        async with Engine(hub) as engine:
            if any(home.id == HOME for home in hub.homes()):
                assert engine.load_text(PURIFY) == []
                self.engines.append(engine)
            yield

    async def fire(self, fleet: Writer, url: str) -> None:
        """Serve every partition as ``w1`` while ``PURIFY`` fires (pm25 rising past 500),
        until the automation's partition has committed both states and its run is done."""
        async with serving(url, "w1", self, self.automations):
            await fleet.append([state(100, 100.0), state(600, 200.0)])
            await self.reach(partition_of(HOME, PARTITIONS), 2)
            await self.engines[-1].idle()


class CrashOnce(Purifying):
    """The first commit of the automation's partition fails after its run made its command,
    as a worker dying between a firing and the commit of the batch that fired it."""

    def __init__(self) -> None:
        super().__init__()
        self.crashed = False

    async def __call__(self, conn: asyncpg.Connection, lease: Lease, batch: Sequence[Entry]) -> None:
        if not self.crashed and lease.partition == partition_of(HOME, PARTITIONS):
            self.crashed = True
            await self.engines[-1].idle()  # its command is in the outbox
            raise RuntimeError("the worker dies before the batch commits")
        await super().__call__(conn, lease, batch)


async def test_an_automation_firing_replayed_after_a_failed_commit_makes_no_second_command(
    fleet: Writer, postgres_url: str
) -> None:
    crash = CrashOnce()
    await crash.fire(fleet, postgres_url)
    assert crash.crashed
    assert len(crash.engines) == 2  # the partition was served again, its log replayed
    async with connected(postgres_url) as conn:
        commands = await conn.fetchval("SELECT count(*) FROM commands WHERE home = $1", HOME)
    print(f"commands made by a firing replayed after a failed commit: {commands} (1 firing)")
    assert commands == 1


class SlowSigner:
    """A signer as slow as a busy database: the run's command is durable a while after the
    firing (latency injected at the router's signing seam; the test waits on commits)."""

    async def sign(self, command: object, spec: object) -> None:
        await asyncio.sleep(0.3)


class SeenAtCommit(Purifying):
    """Notes, inside each commit of the automation's partition, how many commands its home
    has in the outbox: a checkpoint must not pass a firing whose command is not durable."""

    signer = SlowSigner()

    def __init__(self) -> None:
        super().__init__()
        self.outbox_at: dict[int, int] = {}

    async def __call__(self, conn: asyncpg.Connection, lease: Lease, batch: Sequence[Entry]) -> None:
        if lease.partition == partition_of(HOME, PARTITIONS):
            self.outbox_at[batch[-1].seq] = await conn.fetchval(
                "SELECT count(*) FROM commands WHERE home = $1", HOME
            )
        await super().__call__(conn, lease, batch)


async def test_a_checkpoint_waits_for_the_command_its_batch_fired_to_be_durable(
    fleet: Writer, postgres_url: str
) -> None:
    seen = SeenAtCommit()
    await seen.fire(fleet, postgres_url)
    print(f"commands in the outbox when the firing's batch committed: {seen.outbox_at[2]} of 1")
    assert seen.outbox_at[2] == 1


async def test_a_zombie_s_commands_are_refused_by_the_fence(fleet: Writer, postgres_url: str) -> None:
    p = partition_of(HOME, PARTITIONS)
    async with serving(postgres_url, "w1", Commits()) as worker:
        hub = worker.hub_of(HOME)
        assert hub is not None
        made = await hub.submit(HOME, DEVICE, "set", "mode", {"value": "auto"}, member="owner", face="test")
        async with connected(postgres_url) as conn:
            # what a takeover does to the partition's row, as the fence sees it
            await conn.execute("UPDATE fleet_partitions SET epoch = epoch + 1 WHERE partition = $1", p)
            with pytest.raises(Fenced):
                await hub.submit(HOME, DEVICE, "set", "mode", {"value": "sleep"}, member="owner", face="test")
            kept = [row["id"] for row in await conn.fetch("SELECT id FROM commands WHERE home = $1", HOME)]
    print(f"zombie commands kept: {len(kept) - 1} of 1")
    assert kept == [made.id]
