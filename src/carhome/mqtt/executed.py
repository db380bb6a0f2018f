"""``ExecutedLog``: what a device has executed, kept so that a restart never runs a command twice.

A device acknowledges by command id and must never execute an id twice — also when the hub
(or the broker, or the device itself) restarts and the hub redelivers what it has not heard
back about. The memory of executed ids has to survive the device's own restart for that, so
a device with a data directory keeps it here: one SQLite file (``executed.db``, a
``carhome.sqlitefile.SqliteFile``: written on a thread of its own, ``synchronous = FULL``),
its write-ahead file kept small.

The protocol is write-ahead: ``begin`` records the id before the device runs the command,
``finish`` records the ack it answered. A restart between the two finds the id without an
ack: the device does not know whether the command ran, so it is not run again and is
answered ``failed`` (``INTERRUPTED``). An id is kept while its command is unexpired (after
that the device refuses it anyway) and never more than ``keep`` ids.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

import msgspec

from carhome.sqlitefile import KeptInFile, Migrations, SqliteFile

FILE: Final = "executed.db"
_CHECKPOINT_PAGES: Final = 32
_WAL_LIMIT: Final = 256 * 1024
INTERRUPTED: Final = (
    "interrupted: the device restarted while running this command, so whether it ran is not"
    " known; it is not run again — check the device's state and send a new command if needed"
)


class Executed(msgspec.Struct, frozen=True):
    """One id the device took to run: until when its command is valid, and the ack it
    answered (``None`` while it runs, or if the device stopped before it answered)."""

    id: str
    expires: float
    ack: bytes | None


# MIGRATIONS[n] takes the file from schema version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[Migrations] = (
    (
        "CREATE TABLE executed (id TEXT PRIMARY KEY, expires DOUBLE PRECISION NOT NULL, ack BLOB)",
        "CREATE INDEX executed_expires ON executed (expires)",
    ),
)


class ExecutedLog(KeptInFile):
    """The executed command ids of one device, in ``directory/executed.db``."""

    def __init__(self, directory: Path, *, keep: int = 1024) -> None:
        self._file = SqliteFile(
            directory / FILE,
            what="device's executed commands",
            migrations=MIGRATIONS,
            thread="executed",
            # A few rows, two small transactions a command: checkpoint often and keep the
            # write-ahead file small, not SQLite's 4 MB high-water mark per device.
            pragmas=(f"wal_autocheckpoint = {_CHECKPOINT_PAGES:d}", f"journal_size_limit = {_WAL_LIMIT:d}"),
            make_directory=True,  # the device's own: its commands and acks
        )
        self.keep = max(1, keep)

    async def recall(self, now: float) -> list[Executed]:
        """The ids still worth remembering at ``now``, oldest first (those gone are dropped)."""

        def read(conn: sqlite3.Connection) -> list[Executed]:
            conn.execute("DELETE FROM executed WHERE expires <= ?", (now,))
            rows = conn.execute(
                "SELECT id, expires, ack FROM executed ORDER BY rowid DESC LIMIT ?", (self.keep,)
            ).fetchall()
            return [Executed(i, e, None if a is None else bytes(a)) for i, e, a in reversed(rows)]

        return await self._file.write("reading the executed commands", read)

    async def begin(self, command_id: str, expires: float, now: float) -> None:
        """Record that the device is about to run ``command_id``; on return it is on disk."""
        await self._write("recording a command about to run", command_id, expires, None, now)

    async def finish(self, command_id: str, expires: float, ack: bytes, now: float) -> None:
        """Record the ack the device answered for ``command_id``; on return it is on disk."""
        await self._write("recording a command's ack", command_id, expires, ack, now)

    async def _write(
        self, doing: str, command_id: str, expires: float, ack: bytes | None, now: float
    ) -> None:
        keep = self.keep

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO executed (id, expires, ack) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET ack = excluded.ack",
                (command_id, expires, ack),
            )
            # bounded: what has expired, and the oldest beyond ``keep``
            conn.execute("DELETE FROM executed WHERE expires <= ?", (now,))
            conn.execute("DELETE FROM executed WHERE rowid <= (SELECT max(rowid) FROM executed) - ?", (keep,))

        await self._file.write(doing, write)
