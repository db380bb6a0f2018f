"""The embedded default store: one SQLite file, behind the hub's ``Store`` protocol.

The file is a ``carhome.sqlitefile.SqliteFile``: every call runs on one thread of its own
that owns the connection, so the event loop never waits on the disk and the connection is
never shared between threads. Calls run in the order they were made, which keeps a
command's ``put`` before its updates.

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

sqlite3 errors become ``StoreError`` (``SqliteFile``), with a message that says what to do.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from typing import TypeVar

from carhome.errors import DuplicateCommand, StoreError
from carhome.hub.commands import Command
from carhome.hub.model import Device, Home
from carhome.hub.persistence import StateRow
from carhome.sqlitefile import MEMORY, KeptInFile, SqliteFile
from carhome.store import schema
from carhome.store.groupcommit import GroupCommit
from carhome.store.rows import command_row, decode_command, decode_device, decode_home, decode_value, encode

_T = TypeVar("_T")

__all__ = ["MEMORY", "SqliteStore"]


class SqliteStore(KeptInFile):
    """Implements the hub's ``Store`` protocol on a SQLite file (or ``":memory:"``).

    Use it as ``async with SqliteStore(path) as store`` or hand it to a ``Hub``, which opens
    and closes it. ``lock_timeout`` is how long ``open`` waits for another connection to
    let go of the file before it gives up.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 5.0) -> None:
        self._file = SqliteFile(
            path,
            what="hub's database",
            migrations=schema.MIGRATIONS,
            exclusive=True,
            lock_timeout=lock_timeout,
        )
        # The outbox's statements, committed in groups (many commands share one fsync).
        self._outbox = GroupCommit(self._write_commands, name="sqlite-outbox-writer")

    @property
    def lock_timeout(self) -> float:
        return self._file.lock_timeout

    # -- lifecycle ------------------------------------------------------------------------

    async def close(self) -> None:
        """Finish queued calls, close the connection (releasing the lock) and the thread."""
        await self._outbox.finish()
        await self._file.close()

    async def schema_version(self) -> int:
        """The schema version of the open file (``open`` brought it up to this carhome's)."""
        return await self._read("reading the schema version", _user_version)

    # -- homes and devices ----------------------------------------------------------------

    async def save_home(self, home: Home) -> None:
        data = encode(home).decode()
        await self._write("saving a home", [(schema.SAVE_HOME, (home.id, data))])

    async def homes(self) -> list[Home]:
        return await self._read(
            "reading homes", lambda conn: [decode_home(data) for (data,) in conn.execute(schema.HOMES)]
        )

    async def save_device(self, device: Device) -> None:
        data = encode(device).decode()
        await self._write("saving a device", [(schema.SAVE_DEVICE, (device.home, device.id, data))])

    async def save_devices(self, devices: Sequence[Device]) -> None:
        statements: list[tuple[str, tuple[object, ...]]] = [
            (schema.SAVE_DEVICE, (d.home, d.id, encode(d).decode())) for d in devices
        ]
        await self._write("saving devices", statements)

    async def remove_device(self, home: str, device: str) -> None:
        await self._write(
            "removing a device",
            [(schema.REMOVE_DEVICE, (home, device)), (schema.REMOVE_DEVICE_STATES, (home, device))],
        )

    async def devices(self) -> list[Device]:
        return await self._read(
            "reading devices", lambda conn: [decode_device(data) for (data,) in conn.execute(schema.DEVICES)]
        )

    # -- states ---------------------------------------------------------------------------

    async def save_states(self, rows: Sequence[StateRow]) -> None:
        """Upsert a batch of states in one transaction; on return they are on disk."""
        if not rows:
            return

        def write(conn: sqlite3.Connection) -> None:
            params = [(r.home, r.device, r.prop, encode(r.value).decode(), r.ts, r.source) for r in rows]
            conn.executemany(schema.SAVE_STATE, params)

        await self._file.write("saving states", write)

    async def states(self) -> list[StateRow]:
        return await self._read(
            "reading states",
            lambda conn: [
                StateRow(home, device, prop, decode_value(value), ts, source)
                for home, device, prop, value, ts, source in conn.execute(schema.STATES)
            ],
        )

    # -- the command outbox ---------------------------------------------------------------

    async def outbox_put(self, command: Command) -> None:
        """Keep ``command``; return only once its transaction is committed to disk.

        ``DuplicateCommand`` if its id is taken: the record already kept stays as it is."""
        if not await self._outbox_write((schema.PUT_COMMAND, command_row(command))):
            raise DuplicateCommand(command.id)

    async def outbox_update(self, command: Command) -> None:
        """Record a new status of ``command``; on return it is on disk. An update never
        touches another command under the same id, nor a command already final."""
        await self._outbox_write((schema.UPDATE_COMMAND, command_row(command)))

    async def outbox_get(self, command_id: str) -> Command | None:
        """The command kept under ``command_id``, whatever its status."""
        found = await self._read(
            "reading a command",
            lambda conn: [decode_command(data) for (data,) in conn.execute(schema.COMMAND, (command_id,))],
        )
        return found[0] if found else None

    async def _outbox_write(self, statement: tuple[str, tuple[object, ...]]) -> int:
        """One outbox statement in the next group commit; the rows it changed."""
        if not self._file.is_open:
            raise StoreError(f"{self.path}: the store is not open; use `async with` or await open() first")
        return await self._outbox.write(statement)

    async def _write_commands(self, batch: list[tuple[str, tuple[object, ...]]]) -> list[int]:
        # In arrival order, so a command's put always lands before its updates.
        return await self._write("writing commands to the outbox", batch)

    async def outbox_pending(self) -> list[Command]:
        """Commands not yet final, oldest first."""
        return await self._read(
            "reading the outbox",
            lambda conn: [decode_command(data) for (data,) in conn.execute(schema.OPEN_COMMANDS)],
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
            lambda conn: [decode_command(data) for (data,) in conn.execute(query, params)],
        )

    # -- running on the database thread ---------------------------------------------------

    async def _write(self, doing: str, statements: list[tuple[str, tuple[object, ...]]]) -> list[int]:
        """Run ``statements`` in one transaction; the rows each one changed."""
        return await self._file.write(
            doing, lambda conn: [conn.execute(sql, params).rowcount for sql, params in statements]
        )

    async def _read(self, doing: str, query: Callable[[sqlite3.Connection], _T]) -> _T:
        return await self._file.read(doing, query)


def _user_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version
