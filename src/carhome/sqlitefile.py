"""``SqliteFile``: one SQLite file, one connection, on one worker thread of its own.

Every SQLite file carhome keeps is opened through this, so each is kept the same way: the
hub's store (``carhome.db``), the files beside it (``carhome.<part>.db``: the trip
history, the automation timers, the OCPP transactions), the members and the audit chain
(``access.db``), and a device's executed command ids (``executed.db``).

- **One thread, one connection.** The connection is used only on a worker thread of the
  file's own, so the event loop never waits on the disk — no commit, no fsync, no lock
  wait on the loop — and the connection is never shared between threads. Calls run in the
  order they were made; a caller awaits its own.
- **Durable.** WAL journal with ``synchronous = FULL``: when ``write`` returns, its
  transaction is on disk. A file system that refuses WAL is refused, saying where to put
  the file instead.
- **Migrations by version.** ``migrations[n]`` takes the file from schema ``n`` to
  ``n + 1``; the schema is brought up to date when the file is opened, each step in one
  transaction with the ``PRAGMA user_version`` it reaches. A file written by a newer
  carhome (a higher version than the steps known) is refused with a message naming it.
- **Private.** The file is made mode 0600 before SQLite opens it; its ``-wal`` and
  ``-shm`` files take its mode.
- **Errors translated.** ``sqlite3`` errors, and values that cannot be stored or read
  back, become ``StoreError`` naming the file, what was being done and what to do.

``exclusive=True`` (the hub's store) holds SQLite's exclusive lock from ``open`` to
``close``, so a second process on the same file fails at ``open`` (after ``lock_timeout``)
instead of both writing; the lock dies with the process, even under ``kill -9``.
``readonly=True`` opens a file to read without changing it, not even its schema (``carhome
audit verify`` checks a running hub's log). ``":memory:"`` is a throwaway database.

A store kept in one file derives from ``KeptInFile`` (its ``path``, ``open``, ``close`` and
``async with``); a part's store in a file beside the hub's derives from ``BesideHub``, which
names the part, what the file holds and its migrations once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Final, Self, TypeVar

import msgspec

from carhome.errors import StoreError
from carhome.private import private_dir, private_file

_T = TypeVar("_T")
_R = TypeVar("_R")

Migrations = tuple[tuple[str, ...], ...]
"""``migrations[n]``: the statements that take a file from schema version ``n`` to ``n + 1``.
Append a step to change a schema; never edit one that has shipped."""

MEMORY: Final = ":memory:"

_SOMEWHERE: Final = "check the file, its permissions and the disk"
# What to do about each SQLite result code, by the prefix of its name.
_LOCKED: Final = (
    "the database is locked by another carhome hub or program; stop it, or give this hub a file of its own"
)
_HINTS: Final = (
    ("SQLITE_BUSY", _LOCKED),
    ("SQLITE_LOCKED", _LOCKED),
    (
        "SQLITE_CANTOPEN",
        "the file cannot be opened: check that its directory exists and that this user may write there",
    ),
    ("SQLITE_READONLY", "the database is read-only: make the file and its directory writable by this user"),
    ("SQLITE_PERM", "permission denied: make the file and its directory writable by this user"),
    ("SQLITE_FULL", "the disk is full: free some space, then try again"),
    ("SQLITE_NOTADB", "the file is not a SQLite database: point carhome at another path"),
    ("SQLITE_CORRUPT", "the database is damaged: restore it from a backup"),
    ("SQLITE_IOERR", "the disk reported an I/O error: check the disk and its free space"),
)


def beside(db: str | os.PathLike[str], part: str) -> Path:
    """The file of ``part`` beside the hub database ``db``: ``hub.db`` → ``hub.<part>.db``.

    The hub's store holds its database with an exclusive lock (one hub per file), so a
    part that keeps data of its own keeps it in a file beside it."""
    path = Path(db)
    return path.with_name(f"{path.stem}.{part}{path.suffix or '.db'}")


def codec_error(
    where: str, doing: str, exc: msgspec.DecodeError | msgspec.EncodeError | TypeError, kept_in: str
) -> StoreError:
    """The ``StoreError`` of a record that cannot be read back, or of a value that cannot be
    stored as JSON, while ``doing`` something in the ``kept_in`` (file, database) at ``where``."""
    if isinstance(exc, msgspec.DecodeError):
        return StoreError(
            f"{where}: {doing}: a stored record cannot be read ({exc});"
            f" was the {kept_in} written by a newer carhome?"
        )
    return StoreError(
        f"{where}: {doing}: a value cannot be stored as JSON ({exc});"
        " only spec-checked values belong in the store"
    )


def decoded(rows: Iterable[_R], decode: Callable[[_R], _T], where: str, what: str, remedy: str) -> list[_T]:
    """Each of ``rows`` decoded; one that is not a stored ``what`` is a ``StoreError`` at
    ``where`` saying the ``remedy``."""
    try:
        return [decode(row) for row in rows]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise StoreError(f"{where}: a stored {what} is damaged ({exc}); {remedy}") from exc


class Opens:
    """``async with`` for what has ``open`` and ``close``: opened on entry, closed on exit."""

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class SqliteFile(Opens):
    """One SQLite file holding ``what`` (for messages), kept by ``migrations``.

    ``async with SqliteFile(...) as file`` (or ``open``/``close``, both idempotent; a
    closed file opens again). ``read`` and ``write`` run a function of the connection on
    the file's thread; ``write`` runs it in one transaction, committed when it returns.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        what: str,
        migrations: Migrations,
        thread: str = "sqlite",
        exclusive: bool = False,
        readonly: bool = False,
        lock_timeout: float = 5.0,
        pragmas: Sequence[str] = (),
        make_directory: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.what = what
        self.migrations = migrations
        self.lock_timeout = lock_timeout
        self._thread_name = f"carhome-{thread}"
        self._exclusive = exclusive
        self._readonly = readonly
        self._pragmas = tuple(pragmas)
        self._make_directory = make_directory
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def open(self) -> None:
        """Open the file (made if missing, unless read-only) and bring its schema up to date."""
        if self._executor is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._thread_name)
        connecting = executor.submit(self._connect)
        try:
            self._conn = await asyncio.wrap_future(connecting)
        except BaseException:
            # Cancelled while connecting: close what the thread opens, so its lock goes too.
            executor.submit(_discard, connecting)
            executor.shutdown(wait=False)
            raise
        self._executor = executor

    async def close(self) -> None:
        """Let the calls already made finish, then close the connection and the thread."""
        executor, self._executor = self._executor, None
        conn, self._conn = self._conn, None
        if executor is None:
            return
        try:
            if conn is not None:
                await asyncio.get_running_loop().run_in_executor(
                    executor, self._guard, "closing the database", conn.close
                )
        finally:
            # The thread is idle now (close ran last on it), so this does not block.
            executor.shutdown(wait=False)

    # -- running on the file's thread -----------------------------------------------------

    async def read(self, doing: str, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """``fn(connection)`` on the file's thread; ``doing`` names it in errors."""
        executor, conn = self._opened()
        return await asyncio.get_running_loop().run_in_executor(executor, self._guard, doing, fn, conn)

    async def write(self, doing: str, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """``fn(connection)`` in one transaction on the file's thread: on disk when this
        returns; rolled back whole if ``fn`` (or the commit) fails."""

        def in_transaction(conn: sqlite3.Connection) -> _T:
            with transaction(conn):
                return fn(conn)

        return await self.read(doing, in_transaction)

    def _opened(self) -> tuple[ThreadPoolExecutor, sqlite3.Connection]:
        # The connection is taken when the call is made, so calls made before close()
        # still run on it; close() runs after them on the same thread.
        if self._executor is None or self._conn is None:
            raise StoreError(
                f"{self.path}: the {self.what} is not open; use `async with` or await open() first"
            )
        return self._executor, self._conn

    def _guard(self, doing: str, fn: Callable[..., _T], *args: object) -> _T:
        """Run ``fn`` and turn sqlite3 and encoding errors into ``StoreError``."""
        try:
            return fn(*args)
        except sqlite3.Error as exc:
            raise self._error(doing, exc) from exc
        except (msgspec.DecodeError, msgspec.EncodeError, TypeError) as exc:
            raise codec_error(self.path, doing, exc, "file") from exc

    def _error(self, doing: str, exc: sqlite3.Error) -> StoreError:
        name = getattr(exc, "sqlite_errorname", "") or ""
        hint = next((hint for prefix, hint in _HINTS if name.startswith(prefix)), _SOMEWHERE)
        return StoreError(f"{self.path}: {doing} failed ({exc}): {hint}")

    # -- opening ----------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # SQLite skips its busy handler where waiting could deadlock (a reader upgrading to
        # writer, WAL recovery), so a process opening the file while another still lets go
        # of it gets "locked" at once: try again until lock_timeout has passed. This runs
        # on the file's thread, so its waits never hold up the event loop.
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.005
        while True:
            try:
                return self._connect_once()
            except StoreError as exc:
                name = getattr(exc.__cause__, "sqlite_errorname", "") or ""
                busy = name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
                if not busy or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _connect_once(self) -> sqlite3.Connection:
        memory = self.path == MEMORY
        if not memory and not self._readonly:
            if self._make_directory:
                try:
                    private_dir(Path(self.path).parent)
                except OSError as exc:
                    raise StoreError(
                        f"{self.path}: cannot make its directory ({exc.strerror}): {_SOMEWHERE}"
                    ) from exc
            # a file that cannot be made is sqlite3's to report, below
            with contextlib.suppress(OSError):
                private_file(self.path)
        try:
            if self._readonly:
                uri = f"file:{urllib.parse.quote(os.path.abspath(self.path))}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=self.lock_timeout, isolation_level=None)
            else:
                conn = sqlite3.connect(self.path, timeout=self.lock_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._error("opening the database", exc) from exc
        try:
            self._guard("opening the database", self._prepare, conn, memory)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection, memory: bool) -> None:
        if self._readonly:
            self._check_version(conn.execute("PRAGMA user_version").fetchone()[0])
            return
        if self._exclusive:
            # Before the first read, so WAL keeps its index in process memory and the lock
            # is held for the life of the connection.
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal" and not memory:
            raise StoreError(
                f"{self.path}: the file system refused WAL mode (got {mode!r});"
                " put the database on a local disk"
            )
        conn.execute("PRAGMA synchronous = FULL")
        # The write lock, taken now, makes a second hub on an exclusive file fail here.
        with transaction(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        self._check_version(version)
        for step in range(version, len(self.migrations)):
            with transaction(conn):
                for statement in self.migrations[step]:
                    conn.execute(statement)
                # The version moves in the same transaction as the step it records.
                conn.execute(f"PRAGMA user_version = {step + 1:d}")
        for pragma in self._pragmas:
            conn.execute(f"PRAGMA {pragma}")

    def _check_version(self, version: int) -> None:
        if version > len(self.migrations):
            raise StoreError(
                f"{self.path}: the {self.what} was written by a newer carhome (schema {version};"
                f" this one knows {len(self.migrations)}); upgrade carhome to open it, or move"
                " the file away"
            )


class PartStore(Opens):
    """A part's store, declared as ``class Store(Base, part=..., what=..., migrations=...)``
    (``BesideHub``, ``carhome.pgdatabase.PartTables``): ``part`` names its tables' version
    (and in SQLite its file), ``what`` says what they hold in messages. A base that names
    no part is one to derive from."""

    PART: ClassVar[str]
    WHAT: ClassVar[str]
    MIGRATIONS: ClassVar[Migrations]

    def __init_subclass__(
        cls, *, part: str | None = None, what: str = "", migrations: Migrations = ()
    ) -> None:
        super().__init_subclass__()
        if part is not None:
            cls.PART, cls.WHAT, cls.MIGRATIONS = part, what, migrations


class KeptInFile(Opens):
    """A store kept in the ``SqliteFile`` ``self._file``: its path, ``open``, ``close``
    (both idempotent) and ``async with``."""

    _file: SqliteFile

    @property
    def path(self) -> str:
        return self._file.path

    async def open(self) -> None:
        """Open the file and bring its schema up to date."""
        await self._file.open()

    async def close(self) -> None:
        """Let the calls already made finish, then close the file."""
        await self._file.close()


class BesideHub(KeptInFile, PartStore):
    """A part's store in a file of its own beside the hub's database (see ``beside``),
    declared as ``class Store(BesideHub, part=..., what=..., migrations=...)``: ``part``
    names the file and its thread, ``what`` says what it holds in messages."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = SqliteFile(path, what=self.WHAT, migrations=self.MIGRATIONS, thread=self.PART)

    @classmethod
    def beside(cls, db: str | os.PathLike[str]) -> Self:
        """The store beside the hub database ``db``: ``hub.db`` → ``hub.<PART>.db``."""
        return cls(beside(db, cls.PART))


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One explicit transaction; rolled back if anything inside it (or the commit) fails."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def _discard(connecting: Future[sqlite3.Connection]) -> None:
    """Close the connection an abandoned ``open`` made (runs after it, on its thread)."""
    if not connecting.cancelled() and connecting.exception() is None:
        connecting.result().close()
