"""The fleet's partitions on PostgreSQL: their table, a lease's epoch, and the fence every write passes.

A fleet has P partitions, fixed when it is made (changing P is a planned migration, so a
worker configured with another P is refused). Homes map to partitions in NATS, by the
subject mapping ``{{partition(P, home)}}`` (FNV-1a 32 of the home token, modulo P): the
engine hashes, carhome keeps no copy of the hash.

``fleet_partitions`` holds one row per partition: its ``epoch`` (raised by one each time a
worker takes it), the ``owner`` that took it last, and its ``checkpoint`` (the position in the
partition's log that the committed state covers).

- **Taking** partition p (``take``), on the worker's membership session:
  ``pg_try_advisory_lock`` on p's key, then ``UPDATE … SET epoch = epoch + 1, owner = me
  RETURNING epoch, checkpoint``. The lock is the lease (PostgreSQL frees it when the session
  ends); the epoch names this tenure.
- **Fencing**: every write for p runs in a transaction that first passes ``fenced(conn, p,
  epoch)``, a ``SELECT … FOR SHARE`` of p's row at that epoch: the row lock orders the write
  against a takeover (the taker's ``UPDATE`` waits for it, or the write sees the new epoch),
  and a write of an epoch that is over raises ``Fenced``. A worker that was stopped and
  resumed (a zombie) may still believe it owns p; its writes are refused.
- **Checkpoints**: ``commit_checkpoint`` commits the state a batch made and the checkpoint
  covering it in one fenced transaction, so they can never disagree.

The advisory lock keys live in the fleet's own key space: the two-key form with the OID of
``fleet_partitions`` (partitions) or ``fleet_members`` (members) as the first key, so two
fleets in one database (two schemas) and carhome's other advisory locks (one bigint key)
never meet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Final

import asyncpg
import msgspec

from carhome.errors import ConfigError, StoreError
from carhome.pgdatabase import PgDatabase

MIGRATIONS: Final = (
    (
        "CREATE TABLE fleet_partitions ("
        " partition INTEGER PRIMARY KEY, epoch BIGINT NOT NULL DEFAULT 0, owner TEXT,"
        " checkpoint BIGINT NOT NULL DEFAULT 0)",
        "CREATE TABLE fleet_members (member SERIAL PRIMARY KEY, worker TEXT NOT NULL UNIQUE)",
    ),
)

# One maker at a time (the mode conflicts with itself), but no wait for the transactions
# that hold partition rows (ROW EXCLUSIVE): a stopped worker's may hold one for a while.
_LOCK_TABLE: Final = "LOCK TABLE fleet_partitions IN SHARE UPDATE EXCLUSIVE MODE"
_COUNT: Final = "SELECT count(*) FROM fleet_partitions"
_FILL: Final = "INSERT INTO fleet_partitions (partition) SELECT generate_series(0, $1 - 1)"
_SPACE: Final = "SELECT 'fleet_members'::regclass::oid::bigint, 'fleet_partitions'::regclass::oid::bigint"
_ROWS: Final = "SELECT partition, epoch, owner, checkpoint FROM fleet_partitions ORDER BY partition"
_TRY_LOCK: Final = "SELECT pg_try_advisory_lock($1, $2)"
_UNLOCK: Final = "SELECT pg_advisory_unlock($1, $2)"
_TAKE: Final = (
    "UPDATE fleet_partitions SET epoch = epoch + 1, owner = $2"
    " WHERE partition = $1 RETURNING epoch, checkpoint"
)
_TRY_LOCKS: Final = "SELECT p FROM unnest($2::int[]) AS p WHERE pg_try_advisory_lock($1, p) ORDER BY p"
_TAKE_ALL: Final = (
    "UPDATE fleet_partitions SET epoch = epoch + 1, owner = $2"
    " WHERE partition = ANY($1::int[]) RETURNING partition, epoch, checkpoint"
)
_UNLOCK_ALL: Final = "SELECT pg_advisory_unlock($1, p) FROM unnest($2::int[]) AS p"
_LET_GO: Final = "UPDATE fleet_partitions SET owner = NULL WHERE partition = $1 AND epoch = $2"
_FENCE: Final = "SELECT 1 FROM fleet_partitions WHERE partition = $1 AND epoch = $2 FOR SHARE"
_CHECKPOINT: Final = "UPDATE fleet_partitions SET checkpoint = $3 WHERE partition = $1 AND epoch = $2"


class Fenced(StoreError):
    """A write for a partition under an epoch that is over: another worker has taken it since."""

    def __init__(self, partition: int, epoch: int) -> None:
        super().__init__(
            f"partition {partition}: epoch {epoch} is over (another worker took the partition);"
            " nothing was written: stop writing for it, this worker no longer owns it"
        )
        self.partition = partition
        self.epoch = epoch


class Partition(msgspec.Struct, frozen=True):
    """One row of ``fleet_partitions``."""

    partition: int
    epoch: int
    owner: str | None
    checkpoint: int


class Lease(msgspec.Struct, frozen=True):
    """A worker's tenure of one partition: the epoch its writes carry, and where it starts."""

    partition: int
    epoch: int
    checkpoint: int


POOL_NAME: Final = "carhome pool "
"""The start of the ``application_name`` of a worker's pooled sessions; its id follows."""


def writer_settings(idle_timeout: float, worker: str | None = None) -> dict[str, str]:
    """The session settings of a worker's pool (``PgDatabase(url, settings=…)``).

    A worker stopped in the middle of a fenced transaction holds its partition's row, and
    the worker taking the partition over waits for it: the server ends such a transaction
    when it has been left open ``idle_timeout`` seconds (the membership's), so a hung worker
    blocks nobody for longer than it keeps its session. A worker stopped in the middle of a
    statement (the server waiting for the rest of it: ``active``, not idle) is not ended so:
    its sessions are named after it (``POOL_NAME`` + ``worker``), and the worker taking its
    partitions ends them once it is no longer a member (``Membership``)."""
    settings = {"idle_in_transaction_session_timeout": f"{round(idle_timeout * 1000)}ms"}
    if worker is not None:
        settings["application_name"] = POOL_NAME + worker
    return settings


def _int4(oid: int) -> int:
    """An OID (unsigned 32 bits) as the signed int4 key the advisory lock functions take."""
    return oid - 2**32 if oid >= 2**31 else oid


class LockSpace(msgspec.Struct, frozen=True):
    """The first keys of the fleet's advisory locks: OIDs of its tables (see the module doc)."""

    members: int
    partitions: int

    @property
    def member_key(self) -> int:
        return _int4(self.members)

    @property
    def partition_key(self) -> int:
        return _int4(self.partitions)


class Partitions:
    """The fleet's ``count`` partitions in ``database``.

    ``await partitions.create()`` makes the tables and rows once (idempotent; a fleet made
    with another partition count is refused) and returns the fleet's lock space.
    """

    def __init__(self, database: PgDatabase, count: int) -> None:
        if count < 1:
            raise ConfigError(f"a fleet needs at least one partition, not {count}")
        self.database = database
        self.count = count

    async def create(self) -> LockSpace:
        """Make the partitions if the fleet is new; the fleet's lock space."""
        await self.database.migrate("fleet", "fleet's partitions", MIGRATIONS)

        async def fill(conn: asyncpg.Connection) -> LockSpace:
            await conn.execute(_LOCK_TABLE)
            have: int = await conn.fetchval(_COUNT)
            if have not in (0, self.count):
                raise ConfigError(
                    f"{self.database.url}: the fleet was made with {have} partitions, not {self.count};"
                    f" configure {have} (changing the count is a planned migration of every home's log)"
                )
            if have == 0:
                await conn.execute(_FILL, self.count)
            members, partitions = await conn.fetchrow(_SPACE)
            return LockSpace(members=members, partitions=partitions)

        return await self.database.write("making the fleet's partitions", fill)

    async def rows(self) -> list[Partition]:
        """Every partition's epoch, last owner and checkpoint."""
        return await self.database.fetch("reading the fleet's partitions", lambda r: Partition(*r), _ROWS)

    async def commit_checkpoint(
        self,
        partition: int,
        epoch: int,
        checkpoint: int,
        writes: Callable[[asyncpg.Connection], Awaitable[object]],
    ) -> None:
        """Commit ``writes`` (run on the transaction's connection) and ``partition``'s new
        ``checkpoint`` in one transaction fenced by ``epoch``: both, or ``Fenced`` and neither."""

        async def commit(conn: asyncpg.Connection) -> None:
            await fenced(conn, partition, epoch)
            await writes(conn)
            await conn.execute(_CHECKPOINT, partition, epoch, checkpoint)

        await self.database.write(f"committing partition {partition} up to {checkpoint}", commit)


async def fenced(conn: asyncpg.Connection, partition: int, epoch: int) -> None:
    """Pass only if ``epoch`` is ``partition``'s current one, holding its row until the
    transaction ends (a takeover waits for it); ``Fenced`` otherwise. Call it first in the
    transaction of every write for the partition."""
    if not conn.is_in_transaction():
        raise StoreError(f"partition {partition}: fenced() guards a transaction; call it inside one")
    if await conn.fetchval(_FENCE, partition, epoch) is None:
        raise Fenced(partition, epoch)


async def take(conn: asyncpg.Connection, space: LockSpace, partition: int, worker: str) -> Lease | None:
    """Take ``partition`` for ``worker`` on its membership session ``conn``: its lease, or
    None while another session holds it (or, past the session's ``lock_timeout``, a stale
    owner's transaction still holds its row)."""
    if not await conn.fetchval(_TRY_LOCK, space.partition_key, partition):
        return None
    try:
        row = await conn.fetchrow(_TAKE, partition, worker)
    except asyncpg.LockNotAvailableError:
        # the session's lock_timeout: a stale owner's write still holds the row; next turn
        await conn.fetchval(_UNLOCK, space.partition_key, partition)
        return None
    if row is None:
        await conn.fetchval(_UNLOCK, space.partition_key, partition)
        raise ConfigError(f"the fleet has no partition {partition}: was it made with fewer?")
    return Lease(partition=partition, epoch=row["epoch"], checkpoint=row["checkpoint"])


async def take_all(
    conn: asyncpg.Connection, space: LockSpace, partitions: Sequence[int], worker: str
) -> list[Lease]:
    """``take`` of each of ``partitions`` at once (two statements, one commit, whatever
    their number: a survivor takes over a dead worker's share in one turn, not one round trip
    and disk flush after another): the leases of those it took, in partition order; those
    another session holds are left out. When a stale owner's write still holds a row (past
    the session's ``lock_timeout``), each is taken alone instead (``take``)."""
    got: list[int] = [row["p"] for row in await conn.fetch(_TRY_LOCKS, space.partition_key, list(partitions))]
    if not got:
        return []
    try:
        rows = await conn.fetch(_TAKE_ALL, got, worker)
    except asyncpg.LockNotAvailableError:
        await conn.fetch(_UNLOCK_ALL, space.partition_key, got)
        return [lease for p in got if (lease := await take(conn, space, p, worker)) is not None]
    taken = {
        r["partition"]: Lease(partition=r["partition"], epoch=r["epoch"], checkpoint=r["checkpoint"])
        for r in rows
    }
    if missing := [p for p in got if p not in taken]:
        await conn.fetch(_UNLOCK_ALL, space.partition_key, missing)
        raise ConfigError(f"the fleet has no partition {missing[0]}: was it made with fewer?")
    return [taken[p] for p in got]


async def let_go(conn: asyncpg.Connection, space: LockSpace, lease: Lease) -> None:
    """Give ``lease`` back (after the worker flushed the partition): any worker may take it."""
    await conn.execute(_LET_GO, lease.partition, lease.epoch)
    await conn.fetchval(_UNLOCK, space.partition_key, lease.partition)
