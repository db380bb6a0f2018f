"""Leases, epochs and the fence, in one process on a real PostgreSQL: the contract the workers rely on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from carhome.errors import ConfigError, StoreError
from carhome.fleet import (
    Fenced,
    Lease,
    LockSpace,
    Membership,
    Partitions,
    fenced,
    holders,
    take,
    take_all,
    writer_settings,
)
from carhome.pgdatabase import PgDatabase
from carhome.testing import FakeClock

pytestmark = pytest.mark.postgres

PARTITIONS = 8
BOUND = 10.0


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[PgDatabase]:
    async with PgDatabase(postgres_url) as database:
        await database.execute(
            "making the test's table", [("CREATE TABLE applied (partition INTEGER, seq INTEGER)", ())]
        )
        yield database


@pytest.fixture
async def partitions(database: PgDatabase) -> Partitions:
    return Partitions(database, PARTITIONS)


def insert(partition: int, seq: int) -> Callable[[asyncpg.Connection], object]:
    async def writes(conn: asyncpg.Connection) -> None:
        await conn.execute("INSERT INTO applied VALUES ($1, $2)", partition, seq)

    return writes


async def applied(database: PgDatabase) -> list[tuple[int, int]]:
    return await database.fetch("reading", tuple, "SELECT partition, seq FROM applied ORDER BY 1, 2")


async def test_an_old_epoch_s_writes_are_refused_after_the_partition_is_taken_again(
    database: PgDatabase, partitions: Partitions
) -> None:
    space = await partitions.create()
    first = await database.session("the first owner")
    second = await database.session("the second owner", {"lock_timeout": "100ms"})
    try:
        old = await take(first, space, 3, "first")
        assert old == Lease(partition=3, epoch=1, checkpoint=0)
        await partitions.commit_checkpoint(3, old.epoch, 1, insert(3, 1))
        assert await take(second, space, 3, "second") is None  # the lock is the first's
        await first.close()  # its session ends: PostgreSQL frees the lock
        new = await take(second, space, 3, "second")
        assert new == Lease(partition=3, epoch=2, checkpoint=1)
        refused: list[Fenced] = []
        for seq in range(2, 12):
            try:
                await partitions.commit_checkpoint(3, old.epoch, seq, insert(3, seq))
            except Fenced as exc:
                refused.append(exc)
        await partitions.commit_checkpoint(3, new.epoch, 2, insert(3, 2))
    finally:
        await first.close()
        await second.close()
    print(f"old epoch's writes refused: {len(refused)} of 10")
    assert [(exc.partition, exc.epoch) for exc in refused] == [(3, old.epoch)] * 10
    assert await applied(database) == [(3, 1), (3, 2)]
    rows = {row.partition: row for row in await partitions.rows()}
    assert (rows[3].epoch, rows[3].owner, rows[3].checkpoint) == (2, "second", 2)


async def test_a_takeover_waits_for_the_write_the_old_owner_has_in_flight(
    database: PgDatabase, partitions: Partitions
) -> None:
    """The fence holds the partition's row: a takeover cannot slip between its check and the
    commit, so the new owner's checkpoint covers the write (it is not applied twice)."""
    space = await partitions.create()
    first = await database.session("the first owner")
    second = await database.session("the second owner", {"lock_timeout": "100ms"})
    writer = await database.session("the first owner's writes")
    try:
        old = await take(first, space, 5, "first")
        assert old is not None
        transaction = writer.transaction()
        await transaction.start()
        await fenced(writer, 5, old.epoch)  # passed: the write is in flight
        await first.close()  # the first owner's lease ends meanwhile
        assert await take(second, space, 5, "second") is None  # the row is the write's
        await insert(5, 1)(writer)
        await writer.execute("UPDATE fleet_partitions SET checkpoint = 1 WHERE partition = 5")
        await transaction.commit()
        new = await take(second, space, 5, "second")
    finally:
        for conn in (first, second, writer):
            await conn.close()
    assert new is not None
    assert (new.epoch, new.checkpoint) == (old.epoch + 1, 1)


async def test_many_partitions_are_taken_at_once_but_those_held_or_in_a_write_are_left(
    database: PgDatabase, partitions: Partitions
) -> None:
    space = await partitions.create()
    first = await database.session("the first owner")
    second = await database.session("the second owner", {"lock_timeout": "100ms"})
    writer = await database.session("the first owner's writes")
    try:
        assert await take_all(first, space, [3, 5], "first") == [Lease(3, 1, 0), Lease(5, 1, 0)]
        everything = await take_all(second, space, range(PARTITIONS), "second")
        assert [lease.partition for lease in everything] == [0, 1, 2, 4, 6, 7]  # 3 and 5: the first's
        transaction = writer.transaction()
        await transaction.start()
        await fenced(writer, 5, 1)  # the first owner's write in flight holds 5's row
        await first.close()
        rest = await take_all(second, space, [3, 5], "second")
        await transaction.commit()
        after = await take_all(second, space, [5], "second")
    finally:
        for conn in (first, second, writer):
            await conn.close()
    print(f"partitions taken at once: {len(everything)}, then {len(rest)} while a write held one")
    assert all((lease.epoch, lease.checkpoint) == (1, 0) for lease in everything)
    assert rest == [Lease(3, 2, 0)]
    assert after == [Lease(5, 2, 0)]
    rows = {row.partition: row for row in await partitions.rows()}
    assert {p: (rows[p].epoch, rows[p].owner) for p in range(PARTITIONS)} == {
        p: (2 if p in (3, 5) else 1, "second") for p in range(PARTITIONS)
    }


async def test_the_fence_guards_a_transaction_only(database: PgDatabase, partitions: Partitions) -> None:
    await partitions.create()

    async def outside(conn: asyncpg.Connection) -> None:
        await fenced(conn, 0, 0)

    with pytest.raises(StoreError, match="inside one"):
        await database.read("fencing outside a transaction", outside)


async def test_the_partition_count_is_fixed_when_the_fleet_is_made(database: PgDatabase) -> None:
    first = await Partitions(database, PARTITIONS).create()
    assert await Partitions(database, PARTITIONS).create() == first
    assert len(await Partitions(database, PARTITIONS).rows()) == PARTITIONS
    with pytest.raises(ConfigError, match=f"made with {PARTITIONS} partitions, not 12"):
        await Partitions(database, 12).create()
    with pytest.raises(ConfigError, match="at least one partition"):
        Partitions(database, 0)


async def test_a_worker_starts_while_another_holds_a_partition_s_row(
    postgres_url: str, database: PgDatabase
) -> None:
    # Two workers making the fleet at once make it once; and a worker starting while a
    # transaction of another (a stopped one's, say) holds a partition's row does not wait for it.
    made = await asyncio.gather(*(Partitions(database, PARTITIONS).create() for _ in range(2)))
    assert made[0] == made[1]
    assert len(await Partitions(database, PARTITIONS).rows()) == PARTITIONS
    ghost = await asyncpg.connect(postgres_url)
    try:
        await ghost.execute("BEGIN")
        await ghost.execute("UPDATE fleet_partitions SET owner = 'ghost' WHERE partition = 0")
        async with asyncio.timeout(BOUND):
            again = await Partitions(database, PARTITIONS).create()
    finally:
        ghost.terminate()
    print("a worker made its partitions while another held a row: yes")
    assert again == made[0]


class Recorder:
    """An Owner that notes what happens to it and wakes waiters."""

    def __init__(self) -> None:
        self.held: dict[int, Lease] = {}
        self.released: list[int] = []
        self.stopped: str | None = None
        self.changed = asyncio.Condition()

    async def acquired(self, lease: Lease) -> None:
        self.held[lease.partition] = lease
        await self._changed()

    async def releasing(self, lease: Lease) -> None:
        del self.held[lease.partition]
        self.released.append(lease.partition)
        await self._changed()

    def stop(self, reason: str) -> None:
        self.stopped = reason
        self.held.clear()

    async def _changed(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(BOUND), self.changed:
            await self.changed.wait_for(predicate)


async def test_members_share_the_partitions_and_hand_them_over_when_one_leaves(
    database: PgDatabase, partitions: Partitions
) -> None:
    a, b = Recorder(), Recorder()
    async with Membership(partitions, "a", a, heartbeat=0.1, idle_timeout=2.0) as first:
        await a.until(lambda: len(a.held) == PARTITIONS)
        async with Membership(partitions, "b", b, heartbeat=0.1, idle_timeout=2.0) as second:
            await b.until(lambda: len(b.held) == PARTITIONS // 2)
            await a.until(lambda: len(a.held) == PARTITIONS // 2)
            assert sorted(await second.members()) == ["a", "b"]
            held = await database.read("reading holders", lambda conn: holders(conn, first.space))
            assert held == dict.fromkeys(first.held, "a") | dict.fromkeys(second.held, "b")
            moved = set(second.held)
            # leaving hands every partition back after the flush hook
        assert sorted(b.released) == sorted(moved)
        await a.until(lambda: len(a.held) == PARTITIONS)
        rows = {row.partition: row for row in await partitions.rows()}
        assert all(rows[p].epoch == 3 and rows[p].owner == "a" for p in moved)  # a, b, a again


class SlowToHandBack(Recorder):
    """An Owner whose first hand-back lasts until the server has ended the member's session
    (its heartbeat stopped as the membership ended, and a busy machine made it slow)."""

    def __init__(self, database: PgDatabase, space: LockSpace) -> None:
        super().__init__()
        self.database = database
        self.space = space
        self.waited = False

    async def releasing(self, lease: Lease) -> None:
        if not self.waited:
            self.waited = True
            key = self.space.partition_key

            async def until_let_go(conn: asyncpg.Connection) -> None:
                # the member still holds this partition's lock: it is ours once its session ended
                await conn.fetchval("SELECT pg_advisory_lock($1, $2)", key, lease.partition)
                await conn.fetchval("SELECT pg_advisory_unlock($1, $2)", key, lease.partition)

            async with asyncio.timeout(BOUND):
                await self.database.read("waiting for the session's end", until_let_go)
        await super().releasing(lease)


async def test_a_hand_back_outlasting_the_session_still_hands_every_partition_back(
    database: PgDatabase, partitions: Partitions
) -> None:
    owner = SlowToHandBack(database, await partitions.create())
    async with Membership(partitions, "a", owner, heartbeat=0.2, idle_timeout=0.5):
        await owner.until(lambda: len(owner.held) == PARTITIONS)
    assert owner.waited
    assert sorted(owner.released) == list(range(PARTITIONS))
    print(f"session ended during the hand-back: partitions handed back {len(owner.released)} of {PARTITIONS}")


async def test_a_partition_held_by_a_statement_of_a_worker_no_longer_in_the_fleet_is_taken(
    postgres_url: str, partitions: Partitions
) -> None:
    # Worker b stopped in the middle of a statement of a fenced transaction on one of its
    # pooled sessions: the session is "active" (the server waiting for the rest of the
    # statement, or here running it), which idle_in_transaction_session_timeout never ends,
    # and it holds the partition's row after b's membership is over.
    a, b = Recorder(), Recorder()
    taken = 0
    async with Membership(partitions, "a", a, heartbeat=0.1, idle_timeout=1.0):
        await a.until(lambda: len(a.held) == PARTITIONS)
        ghost = await asyncpg.connect(postgres_url, server_settings=writer_settings(1.0, "b"))
        try:
            async with Membership(partitions, "b", b, heartbeat=0.1, idle_timeout=1.0):
                await b.until(lambda: len(b.held) == PARTITIONS // 2)
                held = min(b.held)
                await ghost.execute("BEGIN")
                await ghost.execute("SELECT 1 FROM fleet_partitions WHERE partition = $1 FOR SHARE", held)
                stuck = asyncio.ensure_future(ghost.execute("SELECT pg_sleep(3600)"))
            with contextlib.suppress(TimeoutError):
                await a.until(lambda: len(a.held) == PARTITIONS)
            taken = len(a.held)
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                await asyncio.wait_for(stuck, BOUND)  # its session was ended under it
        finally:
            ghost.terminate()
    print(f"partitions a holds after b left, one held by b's stopped statement: {taken} of {PARTITIONS}")
    assert taken == PARTITIONS


async def test_a_worker_id_is_live_once(partitions: Partitions) -> None:
    async with Membership(partitions, "a", Recorder(), heartbeat=0.1, idle_timeout=2.0):
        with pytest.raises(ConfigError, match="'a' is live already"):
            async with Membership(partitions, "a", Recorder(), heartbeat=0.1, idle_timeout=2.0):
                pass


async def test_the_watchdog_stops_a_worker_whose_heartbeat_came_too_late(partitions: Partitions) -> None:
    """A worker whose own heartbeat is later than idle_session_timeout (stopped, or its loop
    wedged) cannot know whether the server ended its session: it stops writing."""
    clock = FakeClock()
    owner = Recorder()
    async with Membership(partitions, "a", owner, heartbeat=1.0, idle_timeout=5.0, clock=clock) as membership:
        await clock.advance(1.0)  # a heartbeat and a turn: it takes its partitions
        await owner.until(lambda: len(owner.held) == PARTITIONS)
        async with asyncio.timeout(BOUND):
            await clock.until_sleeping(2)  # its heartbeat and its turn both wait on the clock
        clock.set(clock.time() + 6.0)  # 6 s pass in which its loop ran nothing (wedged, stopped)
        await clock.advance(1.0)
        async with asyncio.timeout(BOUND):
            await membership.stopped.wait()
        assert owner.stopped is not None
        assert "past idle_session_timeout" in owner.stopped
        assert membership.held == {}


def test_a_heartbeat_must_fit_twice_in_the_idle_timeout(partitions: Partitions) -> None:
    with pytest.raises(ConfigError, match="at most half"):
        Membership(partitions, "a", Recorder(), heartbeat=3.0, idle_timeout=5.0)


def test_lock_space_keys_are_the_signed_form_of_the_oids() -> None:
    space = LockSpace(members=2**32 - 1, partitions=16_400)
    assert (space.member_key, space.partition_key) == (-1, 16_400)
