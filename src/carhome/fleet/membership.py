"""A worker's membership of the fleet: its session, its heartbeat and watchdog, and its partitions.

``async with Membership(partitions, worker, owner) as membership`` makes the worker a member
and keeps its share of the partitions until the block ends:

- **Announcing.** The worker opens a PostgreSQL session of its own (not a pooled connection:
  session advisory locks need a real session, so no transaction-mode pooler either) with
  ``idle_session_timeout`` set, and takes an advisory lock of its own in the fleet's member
  key space. The live set is whoever holds such a lock, read from ``pg_locks``: PostgreSQL
  frees a dead worker's locks when its session ends (a killed process at once; a hung one
  when ``idle_session_timeout`` ends its silent session).
- **Heartbeat.** Every ``heartbeat`` seconds a cheap query on that session keeps it from
  being idle, and proves it alive.
- **Watchdog.** When the heartbeat fails (the session was ended, the query timed out, or the
  worker itself was too late to send it — stopped, or its loop wedged — so the server may
  have ended the session already) the worker can no longer know it owns anything:
  ``owner.stop(reason)`` is called at once (stop writing), every lease is dropped, the
  membership ends. Anything it still writes is refused by the epoch fence (``fenced``).
- **Rebalancing.** On every turn each worker reads the live set and computes the same
  assignment (``rendezvous.assign``: ceil(P / members) each, about P / N moved per change).
  It hands back the partitions no longer its own after ``owner.releasing(lease)`` (flush),
  then takes those that are, as their previous holder lets them go or dies:
  ``owner.acquired(lease)`` with the new epoch and the checkpoint to go on from. A takeover
  waits at most ``heartbeat`` (the session's ``lock_timeout``) for a stale owner's fenced
  write still in flight, then tries again next turn; the worker's pool ends a transaction
  left open by a stopped worker (``writer_settings``), and a turn that could not take all
  it should ends the pooled sessions of workers no longer in the fleet that are still in
  a statement of a transaction older than ``idle_timeout`` (a worker stopped in the middle
  of a statement: the server waits for the rest, and no timeout of its own ends that), so
  no hung worker blocks a partition for much longer than ``idle_timeout``.

Timings by default: a heartbeat a second, ``idle_session_timeout`` 5 s: a killed worker's
partitions are taken within a turn (PostgreSQL frees its locks when its socket closes), a
hung worker's within about 5 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import types
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, Protocol, Self, TypeVar

import asyncpg
from asyncpg.exceptions._base import InternalClientError

from carhome.clock import Clock, SystemClock, real_time
from carhome.errors import ConfigError, StoreError
from carhome.fleet.partitions import POOL_NAME, Lease, LockSpace, Partitions, let_go, take_all
from carhome.fleet.rendezvous import assign
from carhome.pgdatabase import reason

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# What a failing membership session raises: the watchdog's business, not a bug to log.
_SESSION_FAILURES: Final = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError, StoreError)

_JOIN: Final = (
    "INSERT INTO fleet_members (worker) VALUES ($1)"
    " ON CONFLICT (worker) DO UPDATE SET worker = excluded.worker RETURNING member"
)
_TRY_LOCK: Final = "SELECT pg_try_advisory_lock($1, $2)"
_HEARTBEAT: Final = "SELECT 1"
# The fleet's advisory locks held in this database, the two-key form: (classid, objid).
_LIVE: Final = (
    "SELECT m.worker FROM pg_locks l JOIN fleet_members m ON m.member = l.objid::bigint"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = $1::bigint::oid"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " ORDER BY m.worker"
)
_HOLDERS: Final = (
    "SELECT p.objid::bigint AS partition, m.worker FROM pg_locks p"
    " JOIN pg_locks w ON w.pid = p.pid AND w.locktype = 'advisory' AND w.granted"
    " AND w.objsubid = 2 AND w.classid = $2::bigint::oid AND w.database = p.database"
    " JOIN fleet_members m ON m.member = w.objid::bigint"
    " WHERE p.locktype = 'advisory' AND p.granted AND p.objsubid = 2 AND p.classid = $1::bigint::oid"
    " AND p.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " ORDER BY 1"
)
# The pooled sessions of workers that are members no more, in the middle of a statement of a
# transaction older than the idle timeout: a worker stopped there keeps its partition's row,
# and no timeout of the server ends it (idle_in_transaction_session_timeout counts idle time).
_END_STALE_POOLS: Final = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE datname = current_database() AND starts_with(application_name, $1)"
    " AND substr(application_name, length($1) + 1) <> ALL($2::text[])"
    " AND state = 'active' AND xact_start < now() - make_interval(secs => $3)"
)
_WORKER_ID_MOST: Final = 48  # it is part of the session's application_name (63 bytes at most)


class Owner(Protocol):
    """What a worker does as its partitions come and go (the worker role implements it)."""

    async def acquired(self, lease: Lease) -> None:
        """``lease.partition`` is this worker's now: load it, go on from ``lease.checkpoint``,
        and write for it only under ``lease.epoch``."""
        ...

    async def releasing(self, lease: Lease) -> None:
        """``lease.partition`` goes to another worker: flush what is pending and stop
        writing for it before this returns."""
        ...

    def stop(self, reason: str) -> None:
        """The watchdog fired: this worker may own nothing any more; stop every write now."""
        ...


async def live(conn: asyncpg.Connection, space: LockSpace) -> list[str]:
    """The ids of the workers whose membership locks are held now."""
    return [row["worker"] for row in await conn.fetch(_LIVE, space.members)]


async def holders(conn: asyncpg.Connection, space: LockSpace) -> dict[int, str]:
    """Which live worker holds which partition's lock now."""
    return {
        row["partition"]: row["worker"] for row in await conn.fetch(_HOLDERS, space.partitions, space.members)
    }


class Membership:
    """``worker``'s membership of the fleet of ``partitions``, its leases reported to ``owner``.

    ``heartbeat`` is the seconds between two heartbeats (and rebalancing turns);
    ``idle_timeout`` is the session's ``idle_session_timeout``: a worker silent that long
    loses its session, its locks and so its partitions. ``stopped`` is set when the
    watchdog ended the membership (``reason`` says why).
    """

    def __init__(
        self,
        partitions: Partitions,
        worker: str,
        owner: Owner,
        *,
        heartbeat: float = 1.0,
        idle_timeout: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        if not worker or len(worker) > _WORKER_ID_MOST or not worker.isprintable():
            raise ConfigError(f"worker id {worker!r}: give 1 to {_WORKER_ID_MOST} printable characters")
        if not 0 < heartbeat <= idle_timeout / 2:
            raise ConfigError(
                f"fleet heartbeat {heartbeat} s: give a positive number at most half of"
                f" idle_timeout ({idle_timeout} s), so one late heartbeat does not end the session"
            )
        self.partitions = partitions
        self.worker = worker
        self._owner = owner
        self._heartbeat = heartbeat
        self._idle_timeout = idle_timeout
        self._clock = real_time(clock or SystemClock())
        self._held: dict[int, Lease] = {}
        self._space: LockSpace | None = None
        self._conn: asyncpg.Connection | None = None
        self._talk = asyncio.Lock()  # one query at a time on the session
        self._last_beat = 0.0
        self._task: asyncio.Task[None] | None = None
        self.stopped = asyncio.Event()
        self.reason = ""

    @property
    def held(self) -> Mapping[int, Lease]:
        """The partitions this worker holds now, with their leases."""
        return types.MappingProxyType(self._held)

    @property
    def space(self) -> LockSpace:
        if self._space is None:
            raise StoreError("the membership has not started; use `async with Membership(...)`")
        return self._space

    async def __aenter__(self) -> Self:
        database = self.partitions.database
        self._space = await self.partitions.create()
        settings = {
            "idle_session_timeout": f"{round(self._idle_timeout * 1000)}ms",
            # a takeover waits at most a turn for a stale owner's write (then tries again)
            "lock_timeout": f"{round(self._heartbeat * 1000)}ms",
            "statement_timeout": f"{round(self._idle_timeout * 500)}ms",
            "application_name": f"carhome fleet {self.worker}",
        }
        self._conn = await database.session(f"worker {self.worker}'s membership", settings)
        try:
            member = await database.guard(f"announcing worker {self.worker}", self._join(self._conn))
        except BaseException:
            await self._conn.close()
            raise
        self._last_beat = self._clock.time()
        self._task = asyncio.create_task(self._run(), name=f"fleet-membership-{self.worker}")
        log.info("worker %s joined the fleet as member %d", self.worker, member)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not self.stopped.is_set():
                for partition in sorted(self._held):
                    await self._hand_back(conn, self._held[partition])
        finally:
            self._held.clear()
            await self._close(conn)

    async def members(self) -> list[str]:
        """The live workers, as this worker sees them now."""
        return await self._talking(lambda conn: live(conn, self.space))

    async def _join(self, conn: asyncpg.Connection) -> int:
        member: int = await conn.fetchval(_JOIN, self.worker)
        if not await conn.fetchval(_TRY_LOCK, self.space.member_key, member):
            raise ConfigError(
                f"worker id {self.worker!r} is live already in this fleet (another process holds it);"
                " give each worker an id of its own"
            )
        return member

    async def _run(self) -> None:
        """The heartbeat and the rebalancing until the watchdog fires (or the block ends)."""
        tasks = {
            asyncio.create_task(self._beat(), name=f"fleet-heartbeat-{self.worker}"),
            asyncio.create_task(self._balance(), name=f"fleet-rebalance-{self.worker}"),
            asyncio.create_task(self.stopped.wait(), name=f"fleet-watchdog-{self.worker}"),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                failure = None if task.cancelled() else task.exception()
                if failure is not None:
                    if not isinstance(failure, _SESSION_FAILURES):
                        log.error("worker %s: fleet membership failed", self.worker, exc_info=failure)
                    self._fail(f"its membership session failed ({reason(failure)})")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _beat(self) -> None:
        while True:
            await self._clock.sleep(self._heartbeat)
            late = self._clock.time() - self._last_beat
            if late > self._idle_timeout:
                self._fail(
                    f"its last heartbeat was {late:.1f} s ago, past idle_session_timeout"
                    f" ({self._idle_timeout} s): the server may have ended its session"
                )
                return
            await self._talking(lambda conn: conn.fetchval(_HEARTBEAT, timeout=self._idle_timeout / 2))
            self._last_beat = self._clock.time()

    async def _balance(self) -> None:
        while True:
            workers = await self.members()
            if self.worker not in workers:
                self._fail("its membership lock is gone (its session was replaced)")
                return
            mine = {
                p for p, worker in assign(workers, self.partitions.count).items() if worker == self.worker
            }
            for partition in sorted(self._held.keys() - mine):
                await self._release(self._session(), partition)
            if wanted := sorted(mine - self._held.keys()):
                for lease in await self._take(wanted):  # all in one go: one commit, not one each
                    self._held[lease.partition] = lease
                    await self._owner.acquired(lease)
                if left := sorted(mine - self._held.keys()):
                    await self._end_stale_pools(workers, left)
            await self._clock.sleep(self._heartbeat)

    async def _end_stale_pools(self, workers: list[str], left: list[int]) -> None:
        """End the pooled sessions of workers no longer in ``workers``: one stopped in the
        middle of a statement holds a partition's row in a transaction no timeout ends."""

        async def end(conn: asyncpg.Connection) -> int:
            ended: int = await conn.fetchval(_END_STALE_POOLS, POOL_NAME, workers, self._idle_timeout)
            return ended

        if ended := await self._talking(end):
            log.warning(
                "worker %s: ended %d database sessions of workers no longer in the fleet"
                " (partitions %s were held by their transactions)",
                self.worker,
                ended,
                ", ".join(map(str, left)),
            )

    async def _hand_back(self, conn: asyncpg.Connection, lease: Lease) -> None:
        """One partition handed back as the membership ends. The heartbeat has stopped, so
        a hand-back slower than ``idle_timeout`` (a busy machine) ends the session, and the
        server lets go of every lock with it: the owner still hands each partition back, and
        the session is closed after (``_close``), which lets go of any lock left."""
        await self._owner.releasing(lease)
        if conn.is_closed():
            return
        try:
            async with self._talk:
                await let_go(conn, self.space, lease)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, InternalClientError, OSError) as exc:
            log.warning(
                "partition %d: handing it back failed (%s); its lock ends with the session",
                lease.partition,
                exc,
            )

    async def _release(self, conn: asyncpg.Connection, partition: int) -> None:
        lease = self._held[partition]
        await self._owner.releasing(lease)
        async with self._talk:
            await let_go(conn, self.space, lease)
        del self._held[partition]

    def _fail(self, why: str) -> None:
        if self.stopped.is_set():
            return
        self.reason = f"worker {self.worker} stops: {why}"
        log.error("%s", self.reason)
        self._held.clear()
        self.stopped.set()
        self._owner.stop(self.reason)
        if self._conn is not None:
            self._conn.terminate()

    async def _take(self, partitions: list[int]) -> list[Lease]:
        async with self._talk:
            return await take_all(self._session(), self.space, partitions, self.worker)

    def _session(self) -> asyncpg.Connection:
        if self._conn is None:
            raise StoreError(f"worker {self.worker}: the membership session is closed")
        return self._conn

    async def _talking(self, query: Callable[[asyncpg.Connection], Awaitable[_T]]) -> _T:
        async with self._talk:
            return await query(self._session())

    async def _close(self, conn: asyncpg.Connection) -> None:
        if conn.is_closed():
            return
        try:
            await asyncio.wait_for(conn.close(), timeout=self._idle_timeout)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            conn.terminate()
