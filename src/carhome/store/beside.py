"""``SqliteBeside``: a SQLite file of its own beside the hub's database, on its own thread.

The hub's store holds its database with an exclusive lock (one hub per file), so a part
that keeps its own data (the automation timers, the trip history) keeps it in a file
beside it, readable by its owner only: ``carhome.db`` → ``carhome.<part>.db``. One
connection, used only on one worker thread of its own, so the event loop never waits on
the disk; WAL with ``synchronous = FULL``, so a committed write is on disk when it
returns; the schema brought up to date by ``MIGRATIONS`` and ``PRAGMA user_version`` when
the file is opened. sqlite3 errors become
``StoreError`` here, naming the file and what was being done.

A subclass sets ``PART`` (the file's middle name and the thread's), ``WHAT`` (what it
holds, for messages) and ``MIGRATIONS``, and runs its work with ``_run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar, Self, TypeVar

from carhome.errors import StoreError
from carhome.private import private_file

_T = TypeVar("_T")


def migrate(conn: sqlite3.Connection, migrations: tuple[tuple[str, ...], ...], what: str) -> None:
    """Bring the file's schema from its ``user_version`` to ``len(migrations)``, a step a
    transaction; a file written by a newer carhome is refused."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > len(migrations):
        raise StoreError(
            f"{what} was written by a newer carhome (schema {version}, this one knows"
            f" {len(migrations)}); upgrade carhome or move the file away"
        )
    for step in range(version, len(migrations)):
        conn.execute("BEGIN IMMEDIATE")
        for statement in migrations[step]:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {step + 1}")
        conn.execute("COMMIT")


class SqliteBeside:
    """One SQLite file beside the hub's database, opened and closed with its owner."""

    PART: ClassVar[str]
    WHAT: ClassVar[str]
    MIGRATIONS: ClassVar[tuple[tuple[str, ...], ...]]

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None

    @classmethod
    def beside(cls, db: str | os.PathLike[str]) -> Self:
        """The store for the hub database ``db``: ``hub.db`` → ``hub.<PART>.db``."""
        path = Path(db)
        return cls(path.with_name(f"{path.stem}.{cls.PART}{path.suffix or '.db'}"))

    async def open(self) -> None:
        if self._thread is not None:
            return
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"carhome-{self.PART}")
        try:
            self._conn = await self._run("opening", self._connect)
        except BaseException:
            self._thread.shutdown(wait=False)
            self._thread = None
            raise

    def _connect(self) -> sqlite3.Connection:
        # home data (trips, timers): its owner's only; a file that cannot be made is sqlite3's to report
        with contextlib.suppress(OSError):
            private_file(self.path)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            migrate(conn, self.MIGRATIONS, f"{self.path}: the {self.WHAT}")
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

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the {self.WHAT} store is not open; open it (or its owner) first")
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
