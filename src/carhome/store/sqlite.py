"""The embedded default store: one SQLite file, behind the hub's ``Store`` protocol.

Every call runs on one thread of its own that owns the connection, so the event loop never
waits on the disk and the connection is never shared between threads. Calls run in the order
they were made, which keeps a command's ``put`` before its updates.

Durability: WAL journal with ``synchronous=FULL``, so a transaction is on disk when its
commit returns. Each ``outbox_put`` and ``outbox_update`` returns once the transaction
holding it is committed (acknowledged means durable, and so does final: the router reports
a result only after its update returned); outbox writes arriving together share one
commit. Each ``save_states`` batch is one transaction (the write-behind's flush is the
durability point for state).

Command ids are unique for good: ``outbox_put`` of a taken id raises ``DuplicateCommand``
and leaves the kept record alone; ``outbox_update`` never rewrites another command's record
nor a final status.

One hub per file: the connection holds SQLite's exclusive lock from ``open`` to ``close``,
so a second hub started on the same file fails at ``open`` with a clear message instead of
both delivering the same outbox. The lock dies with the process, even under ``kill -9``.

sqlite3 errors become ``StoreError`` here, with a message that says what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Final, Self, TypeVar

import msgspec

from carhome.errors import DuplicateCommand, StoreError
from carhome.hub.commands import Command
from carhome.hub.model import Device, Home
from carhome.hub.persistence import StateRow
from carhome.private import private_file
from carhome.store import schema

_T = TypeVar("_T")

_encode: Final = msgspec.json.Encoder().encode
_decode_value: Final = msgspec.json.Decoder().decode
_decode_home: Final = msgspec.json.Decoder(Home).decode
_decode_device: Final = msgspec.json.Decoder(Device).decode
_decode_command: Final = msgspec.json.Decoder(Command).decode

MEMORY: Final = ":memory:"

# What to do about each SQLite result code, by the prefix of its name.
_HINTS: Final = (
    (
        "SQLITE_BUSY",
        "the database is locked by another carhome hub or program; stop it, or give"
        " this hub a file of its own",
    ),
    (
        "SQLITE_LOCKED",
        "the database is locked by another carhome hub or program; stop it, or"
        " give this hub a file of its own",
    ),
    (
        "SQLITE_CANTOPEN",
        "the file cannot be opened: check that its directory exists and that this user may write there",
    ),
    ("SQLITE_READONLY", "the database is read-only: make the file and its directory writable by this user"),
    ("SQLITE_PERM", "permission denied: make the file and its directory writable by this user"),
    ("SQLITE_FULL", "the disk is full: free some space, then try again"),
    ("SQLITE_NOTADB", "the file is not a SQLite database: point the hub at another path"),
    ("SQLITE_CORRUPT", "the database is damaged: restore it from a backup"),
    ("SQLITE_IOERR", "the disk reported an I/O error: check the disk and its free space"),
)


def _busy(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _hint(exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", "") or ""
    for prefix, hint in _HINTS:
        if name.startswith(prefix):
            return hint
    return "see the SQLite error above"


class SqliteStore:
    """Implements the hub's ``Store`` protocol on a SQLite file (or ``":memory:"``).

    Use it as ``async with SqliteStore(path) as store`` or hand it to a ``Hub``, which opens
    and closes it. ``lock_timeout`` is how long ``open`` waits for another connection to
    let go of the file before it gives up.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 5.0) -> None:
        self.path = os.fspath(path)
        self.lock_timeout = lock_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        # Group commit: outbox writes that arrive while a commit is on disk wait together
        # for the next one, so many commands share one fsync. Each caller still returns
        # only after the transaction holding its write has committed.
        self._outbox_queue: list[tuple[tuple[str, tuple[object, ...]], asyncio.Future[int]]] = []
        self._outbox_writer: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the file, take the lock, and bring the schema up to date."""
        if self._executor is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="carhome-sqlite")
        connecting = executor.submit(self._connect)
        try:
            self._conn = await asyncio.wrap_future(connecting)
        except BaseException:
            # Cancelled while connecting: close what the thread opens, so the lock goes too.
            executor.submit(_discard, connecting)
            executor.shutdown(wait=False)
            raise
        self._executor = executor

    async def close(self) -> None:
        """Finish queued calls, close the connection (releasing the lock) and the thread."""
        writer = self._outbox_writer
        if writer is not None:
            await asyncio.gather(writer, return_exceptions=True)
        executor, self._executor = self._executor, None
        if executor is None:
            return
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(executor, self._guard, "closing the database", conn.close)
        finally:
            # The thread is idle now (close ran last on it), so this does not block.
            executor.shutdown(wait=False)

    def _connect(self) -> sqlite3.Connection:
        # SQLite skips its busy handler where waiting could deadlock (a reader upgrading to
        # writer, WAL recovery), so a hub restarting while the old one still lets go gets
        # "locked" at once; try again until lock_timeout has passed. This runs on the
        # database thread, so its waits never hold up the event loop.
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.005
        while True:
            try:
                return self._connect_once()
            except StoreError as exc:
                busy = isinstance(exc.__cause__, sqlite3.Error) and _busy(exc.__cause__)
                if not busy or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _connect_once(self) -> sqlite3.Connection:
        if self.path != MEMORY:
            # the home's state and commands: its owner's only (SQLite's -wal file follows);
            # a file that cannot be made is sqlite3's to report, below
            with contextlib.suppress(OSError):
                private_file(self.path)
        try:
            conn = sqlite3.connect(self.path, timeout=self.lock_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._error("opening the database", exc) from exc
        try:
            self._guard("opening the database", self._prepare, conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        # Exclusive before the first read, so WAL keeps its index in process memory and the
        # lock is held for the life of the connection.
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal" and self.path != MEMORY:
            raise StoreError(
                f"{self.path}: the file system refused WAL mode (got {mode!r});"
                " put the database on a local disk"
            )
        conn.execute("PRAGMA synchronous = FULL")
        # Taking the write lock now makes a second hub on this file fail here.
        with _transaction(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > schema.SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this carhome"
                f" knows ({schema.SCHEMA_VERSION}); upgrade carhome to open it"
            )
        for step in range(version, schema.SCHEMA_VERSION):
            with _transaction(conn):
                for statement in schema.MIGRATIONS[step]:
                    conn.execute(statement)
                # The version moves in the same transaction as the step it records.
                conn.execute(f"PRAGMA user_version = {step + 1:d}")

    # -- homes and devices ----------------------------------------------------------------

    async def save_home(self, home: Home) -> None:
        data = _encode(home).decode()
        await self._write("saving a home", [(schema.SAVE_HOME, (home.id, data))])

    async def homes(self) -> list[Home]:
        return await self._read(
            "reading homes", lambda conn: [_decode_home(data) for (data,) in conn.execute(schema.HOMES)]
        )

    async def save_device(self, device: Device) -> None:
        data = _encode(device).decode()
        await self._write("saving a device", [(schema.SAVE_DEVICE, (device.home, device.id, data))])

    async def save_devices(self, devices: Sequence[Device]) -> None:
        statements: list[tuple[str, tuple[object, ...]]] = [
            (schema.SAVE_DEVICE, (d.home, d.id, _encode(d).decode())) for d in devices
        ]
        await self._write("saving devices", statements)

    async def remove_device(self, home: str, device: str) -> None:
        await self._write(
            "removing a device",
            [(schema.REMOVE_DEVICE, (home, device)), (schema.REMOVE_DEVICE_STATES, (home, device))],
        )

    async def devices(self) -> list[Device]:
        return await self._read(
            "reading devices", lambda conn: [_decode_device(data) for (data,) in conn.execute(schema.DEVICES)]
        )

    # -- states ---------------------------------------------------------------------------

    async def save_states(self, rows: Sequence[StateRow]) -> None:
        """Upsert a batch of states in one transaction; on return they are on disk."""
        if not rows:
            return

        def write(conn: sqlite3.Connection) -> None:
            params = [(r.home, r.device, r.prop, _encode(r.value).decode(), r.ts, r.source) for r in rows]
            with _transaction(conn):
                conn.executemany(schema.SAVE_STATE, params)

        await self._run(self._guard, "saving states", self._on_conn(write))

    async def states(self) -> list[StateRow]:
        return await self._read(
            "reading states",
            lambda conn: [
                StateRow(home, device, prop, _decode_value(value), ts, source)
                for home, device, prop, value, ts, source in conn.execute(schema.STATES)
            ],
        )

    # -- the command outbox ---------------------------------------------------------------

    async def outbox_put(self, command: Command) -> None:
        """Keep ``command``; return only once its transaction is committed to disk.

        ``DuplicateCommand`` if its id is taken: the record already kept stays as it is."""
        if not await self._outbox_write(_command_params(schema.PUT_COMMAND, command)):
            raise DuplicateCommand(command.id)

    async def outbox_update(self, command: Command) -> None:
        """Record a new status of ``command``; on return it is on disk. An update never
        touches another command under the same id, nor a command already final."""
        await self._outbox_write(_command_params(schema.UPDATE_COMMAND, command))

    async def outbox_get(self, command_id: str) -> Command | None:
        """The command kept under ``command_id``, whatever its status."""
        found = await self._read(
            "reading a command",
            lambda conn: [_decode_command(data) for (data,) in conn.execute(schema.COMMAND, (command_id,))],
        )
        return found[0] if found else None

    async def _outbox_write(self, statement: tuple[str, tuple[object, ...]]) -> int:
        """Queue one outbox statement for the next group commit; the rows it changed."""
        if self._conn is None:
            raise StoreError(f"{self.path}: the store is not open; use `async with` or await open() first")
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._outbox_queue.append((statement, done))
        if self._outbox_writer is None or self._outbox_writer.done():
            self._outbox_writer = asyncio.create_task(self._write_outbox(), name="sqlite-outbox-writer")
        return await done

    async def _write_outbox(self) -> None:
        while self._outbox_queue:
            batch, self._outbox_queue = self._outbox_queue, []
            try:
                # In arrival order, so a command's put always lands before its updates.
                counts = await self._write("writing commands to the outbox", [stmt for stmt, _ in batch])
            except BaseException as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, done), count in zip(batch, counts, strict=True):
                if not done.done():
                    done.set_result(count)

    async def outbox_pending(self) -> list[Command]:
        """Commands not yet final, oldest first."""
        return await self._read(
            "reading the outbox",
            lambda conn: [_decode_command(data) for (data,) in conn.execute(schema.OPEN_COMMANDS)],
        )

    async def commands(self, home: str | None = None, limit: int = 100) -> list[Command]:
        """Recent commands, newest first."""
        params: tuple[object, ...]
        if home is None:
            query, params = schema.RECENT_COMMANDS, (limit,)
        else:
            query, params = schema.RECENT_HOME_COMMANDS, (home, limit)
        return await self._read(
            "reading commands",
            lambda conn: [_decode_command(data) for (data,) in conn.execute(query, params)],
        )

    # -- running on the database thread ---------------------------------------------------

    async def _write(self, doing: str, statements: list[tuple[str, tuple[object, ...]]]) -> list[int]:
        """Run ``statements`` in one transaction; the rows each one changed."""

        def write(conn: sqlite3.Connection) -> list[int]:
            with _transaction(conn):
                return [conn.execute(sql, params).rowcount for sql, params in statements]

        return await self._run(self._guard, doing, self._on_conn(write))

    async def _read(self, doing: str, query: Callable[[sqlite3.Connection], _T]) -> _T:
        return await self._run(self._guard, doing, self._on_conn(query))

    def _on_conn(self, fn: Callable[[sqlite3.Connection], _T]) -> Callable[[], _T]:
        # The connection is taken when the call is made, so calls queued before close() still
        # run on it; close() runs after them on the same thread.
        conn = self._conn
        if conn is None:
            raise StoreError(f"{self.path}: the store is not open; use `async with` or await open() first")

        def call() -> _T:
            return fn(conn)

        return call

    async def _run(self, fn: Callable[..., _T], *args: object) -> _T:
        executor = self._executor
        if executor is None:
            raise StoreError(f"{self.path}: the store is not open; use `async with` or await open() first")
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    def _guard(self, doing: str, fn: Callable[..., _T], *args: object) -> _T:
        """Run ``fn`` and turn sqlite3 and decoding errors into ``StoreError``."""
        try:
            return fn(*args)
        except sqlite3.Error as exc:
            raise self._error(doing, exc) from exc
        except (msgspec.EncodeError, TypeError) as exc:
            raise StoreError(
                f"{self.path}: {doing}: a value cannot be stored as JSON ({exc});"
                " only spec-checked values belong in the store"
            ) from exc
        except msgspec.DecodeError as exc:
            raise StoreError(
                f"{self.path}: {doing}: a stored record cannot be read ({exc});"
                " was the file written by a newer carhome?"
            ) from exc

    def _error(self, doing: str, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"{self.path}: {doing} failed ({exc}): {_hint(exc)}")


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One explicit transaction; rolled back if anything inside (or the commit) fails."""
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


def _command_params(sql: str, command: Command) -> tuple[str, tuple[object, ...]]:
    # Encoded on the caller's side: the router mutates the command right after it returns,
    # and what is written must be the command as it was when the call was made.
    return sql, (
        command.id,
        command.home,
        command.device,
        command.status.value,
        command.created,
        command.expires,
        _encode(command).decode(),
    )
