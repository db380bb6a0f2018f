"""A ``TimerStore`` in SQLite: one table, its own connection, on its own worker thread.

The hub's store opens its database with ``locking_mode = EXCLUSIVE`` (a second hub on the
same file must fail), so a second connection to that file cannot write; the timers
therefore live in a file of their own beside it (``SqliteTimerStore.beside(db)``). Every
write is a committed transaction with ``synchronous = FULL`` in WAL mode. sqlite3 errors
become ``StoreError`` here.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import msgspec

from carhome.automations.timers import SavedTimer
from carhome.errors import StoreError

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS automation_timers (
    key TEXT PRIMARY KEY,
    automation TEXT NOT NULL,
    kind TEXT NOT NULL,
    due REAL NOT NULL,
    data BLOB NOT NULL
)
"""


class SqliteTimerStore:
    """Automation timers in a SQLite file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None

    @classmethod
    def beside(cls, db: str | os.PathLike[str]) -> SqliteTimerStore:
        """The timer store for the hub database ``db``: ``hub.db`` → ``hub.timers.db``."""
        path = Path(db)
        return cls(path.with_name(f"{path.stem}.timers{path.suffix or '.db'}"))

    async def open(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="automation-timers")

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(_SCHEMA)
            return conn

        self._conn = await self._run("opening", connect)

    async def close(self) -> None:
        conn, thread = self._conn, self._thread
        self._conn = None
        if conn is not None:
            await self._run("closing", conn.close, thread)
        if thread is not None:
            thread.shutdown(wait=True)
        self._thread = None

    async def load(self) -> list[SavedTimer]:
        def read() -> list[tuple[str, str, str, float, bytes]]:
            rows = self._connection().execute(
                "SELECT key, automation, kind, due, data FROM automation_timers ORDER BY due"
            )
            return list(rows)

        rows = await self._run("reading timers", read)
        return [
            msgspec.convert(
                {"key": k, "automation": a, "kind": kind, "due": due, "data": msgspec.json.decode(data)},
                SavedTimer,
            )
            for k, a, kind, due, data in rows
        ]

    async def save(self, timer: SavedTimer) -> None:
        data = msgspec.json.encode(timer.data)
        await self._run(
            "saving a timer",
            lambda: self._connection().execute(
                "INSERT OR REPLACE INTO automation_timers VALUES (?, ?, ?, ?, ?)",
                (timer.key, timer.automation, timer.kind, timer.due, data),
            ),
        )

    async def delete(self, key: str) -> None:
        await self._run(
            "deleting a timer",
            lambda: self._connection().execute("DELETE FROM automation_timers WHERE key = ?", (key,)),
        )

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the timer store is not open; use it inside the engine")
        return self._conn

    async def _run(self, doing: str, fn: Callable[[], _T], thread: ThreadPoolExecutor | None = None) -> _T:
        def guarded() -> _T:
            try:
                return fn()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {doing} failed: {exc}; check the file and the disk") from exc

        return await asyncio.get_running_loop().run_in_executor(thread or self._thread, guarded)
