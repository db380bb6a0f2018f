"""A partition log for tests: a PostgreSQL table written by the test, read by worker processes.

``TableLog`` implements ``carhome.fleet.log.PartitionLog`` over ``test_log (partition, seq,
subject, payload)``: a reader fetches a partition's rows after a position, in order, and when
there are none waits for the writer's ``NOTIFY test_log`` (``append`` sends it in the
transaction of its rows). Any process with the URL can read it: the workers are other
processes than the test that writes it.

``connected(url)``: a connection of the caller's own, closed on the way out (the tests' reads
and changes made directly in the database).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Final, Self

import asyncpg

from carhome.fleet.config import FleetConfig
from carhome.fleet.log import Entry, entry, partition_of

TABLE: Final = (
    "CREATE TABLE test_log (partition INTEGER NOT NULL, seq BIGINT NOT NULL, subject TEXT NOT NULL,"
    " payload BYTEA NOT NULL, PRIMARY KEY (partition, seq))"
)
_READ: Final = (
    "SELECT seq, subject, payload FROM test_log WHERE partition = $1 AND seq > $2 ORDER BY seq LIMIT $3"
)
_APPEND: Final = "INSERT INTO test_log (partition, seq, subject, payload) VALUES ($1, $2, $3, $4)"
CHANNEL: Final = "test_log"
BATCH: Final = 20
# A reader looks again this often even without a notification: a safety net, not the pace.
LOOK_AGAIN: Final = 1.0


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own to ``url``, closed on the way out."""
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


class TableLog:
    """The partitions' logs in ``test_log`` at ``url``, as a worker reads them."""

    def __init__(self, url: str, *, batch: int = BATCH) -> None:
        self.url = url
        self.batch = batch
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._waiting: set[asyncio.Event] = set()

    async def __aenter__(self) -> Self:
        self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=4)
        self._listener = await asyncpg.connect(self.url)
        await self._listener.add_listener(CHANNEL, self._notified)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._listener is not None:
            self._listener.terminate()
        if self._pool is not None:
            self._pool.terminate()

    def _notified(self, *_: object) -> None:
        for woke in self._waiting:
            woke.set()

    async def read(self, partition: int, after: int) -> AsyncIterator[list[Entry]]:
        assert self._pool is not None
        while True:
            woke = asyncio.Event()
            self._waiting.add(woke)
            try:
                async with self._pool.acquire() as conn:
                    rows = await conn.fetch(_READ, partition, after, self.batch)
                if rows:
                    after = rows[-1]["seq"]
                    yield [entry(row["seq"], row["subject"], row["payload"]) for row in rows]
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LOOK_AGAIN):
                        await woke.wait()
            finally:
                self._waiting.discard(woke)


def open_log(fleet: FleetConfig) -> TableLog:
    """The log of ``fleet``'s partitions in its database (``carhome worker --log tablelog:open_log``)."""
    return TableLog(fleet.database)


class Writer:
    """The test's side: appends messages to the partitions' logs, in order per partition."""

    def __init__(self, url: str, partitions: int) -> None:
        self.url = url
        self.partitions = partitions
        self.last: dict[int, int] = dict.fromkeys(range(partitions), 0)

    async def create(self) -> None:
        async with connected(self.url) as conn:
            await conn.execute(TABLE)

    async def append(self, messages: Sequence[tuple[str, str, str, bytes]]) -> None:
        """Append each (home, device, kind, payload) to its home's partition, in one transaction."""
        rows = []
        for home, device, kind, payload in messages:
            p = partition_of(home, self.partitions)
            self.last[p] += 1
            rows.append((p, self.last[p], f"fleet.{p}.{home}.{device}.{kind}", payload))
        async with connected(self.url) as conn, conn.transaction():
            await conn.executemany(_APPEND, rows)
            await conn.execute(f"NOTIFY {CHANNEL}")
