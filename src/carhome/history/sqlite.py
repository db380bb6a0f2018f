"""A ``HistoryStore`` in SQLite, in a file of its own beside the hub's database.

The hub holds its database with an exclusive lock (one hub per file), so the history lives
beside it (``SqliteHistoryStore.beside(db)``: ``carhome.db`` → ``carhome.history.db``), as the
automation timers do. One connection, on one worker thread of its own, so the event loop
never waits on the disk. WAL with ``synchronous = FULL``: a ``commit`` is on disk when it
returns. Records are msgspec JSON beside the columns queries select on; the schema is
brought up to date by ``MIGRATIONS`` and ``PRAGMA user_version``. sqlite3 errors become
``StoreError`` here, with what to do.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, TypeVar

import msgspec

from carhome.errors import StoreError
from carhome.history.records import ChargeSession, OpenState, Parked, Record, Trip
from carhome.history.store import Query, R

_T = TypeVar("_T")

# MIGRATIONS[n] takes the file from schema version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        "CREATE TABLE records ("
        " id TEXT PRIMARY KEY, kind TEXT NOT NULL, home TEXT NOT NULL, car TEXT NOT NULL,"
        " start DOUBLE PRECISION NOT NULL, finish DOUBLE PRECISION NOT NULL, data BLOB NOT NULL)",
        "CREATE INDEX records_by_time ON records (kind, start)",
        "CREATE INDEX records_by_car ON records (kind, home, car, start)",
        "CREATE TABLE open_states ("
        " home TEXT NOT NULL, car TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (home, car))",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

_KINDS: Final[dict[type, str]] = {Trip: "trip", ChargeSession: "charge", Parked: "parked"}
_SAVE_RECORD: Final = (
    "INSERT INTO records (id, kind, home, car, start, finish, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET start = excluded.start, finish = excluded.finish, data = excluded.data"
)
_SAVE_STATE: Final = (
    "INSERT INTO open_states (home, car, data) VALUES (?, ?, ?)"
    " ON CONFLICT (home, car) DO UPDATE SET data = excluded.data"
)
_encode: Final = msgspec.json.Encoder().encode
_decode_state: Final = msgspec.json.Decoder(OpenState).decode


class SqliteHistoryStore:
    """The history in a SQLite file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None

    @classmethod
    def beside(cls, db: str | os.PathLike[str]) -> SqliteHistoryStore:
        """The history store for the hub database ``db``: ``hub.db`` → ``hub.history.db``."""
        path = Path(db)
        return cls(path.with_name(f"{path.stem}.history{path.suffix or '.db'}"))

    async def open(self) -> None:
        if self._thread is not None:
            return
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="carhome-history")
        try:
            self._conn = await self._run("opening", self._connect)
        except BaseException:
            self._thread.shutdown(wait=False)
            self._thread = None
            raise

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: the history was written by a newer carhome (schema {version},"
                    f" this one knows {SCHEMA_VERSION}); upgrade carhome or move the file away"
                )
            for step in range(version, SCHEMA_VERSION):
                conn.execute("BEGIN IMMEDIATE")
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {step + 1}")
                conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        conn, thread = self._conn, self._thread
        self._conn = None
        if conn is not None:
            await self._run("closing", conn.close, thread)
        if thread is not None:
            thread.shutdown(wait=True)
        self._thread = None

    async def commit(self, records: Sequence[Record], states: Sequence[OpenState]) -> None:
        rows = [(r.id, _KINDS[type(r)], r.home, r.car, r.start, r.end, _encode(r)) for r in records]
        state_rows = [(s.home, s.car, _encode(s)) for s in states]

        def write() -> None:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_SAVE_RECORD, rows)
                conn.executemany(_SAVE_STATE, state_rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run("saving the history", write)

    async def open_states(self) -> list[OpenState]:
        def read() -> list[bytes]:
            return [row[0] for row in self._connection().execute("SELECT data FROM open_states")]

        return [_decode_state(data) for data in await self._run("reading open trips", read)]

    async def records(self, kind: type[R], query: Query) -> list[R]:
        where = ["kind = ?"]
        args: list[object] = [_KINDS[kind]]
        for column, op, value in (
            ("home", "=", query.home),
            ("car", "=", query.car),
            ("finish", ">=", query.since),
            ("start", "<", query.until),
        ):
            if value is not None:
                where.append(f"{column} {op} ?")
                args.append(value)
        sql = f"SELECT data FROM records WHERE {' AND '.join(where)} ORDER BY start DESC, id DESC"  # noqa: S608 - fixed columns
        if query.limit is not None:
            sql += " LIMIT ?"
            args.append(query.limit)

        def read() -> list[bytes]:
            return [row[0] for row in self._connection().execute(sql, args)]

        decode = msgspec.json.Decoder(kind).decode
        rows = await self._run("reading the history", read)
        return [decode(data) for data in reversed(rows)]

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the history store is not open; open it (or the History) first")
        return self._conn

    async def _run(self, doing: str, fn: Callable[[], _T], thread: ThreadPoolExecutor | None = None) -> _T:
        def guarded() -> _T:
            try:
                return fn()
            except sqlite3.Error as exc:
                raise StoreError(
                    f"{self.path}: {doing} failed: {exc}; check the file, its permissions and the disk"
                ) from exc

        return await asyncio.get_running_loop().run_in_executor(thread or self._thread, guarded)
