"""A ``TimerStore`` in SQLite: one table in a file of its own beside the hub's database.

``SqliteTimerStore.beside(db)``: ``hub.db`` → ``hub.timers.db`` (see ``carhome.sqlitefile``
for why a file of its own, the worker thread and the durability). Every write is a
committed transaction, on disk when it returns.
"""

from __future__ import annotations

import sqlite3
from typing import Final

import msgspec

from carhome.automations.timers import SavedTimer
from carhome.sqlitefile import BesideHub, Migrations

# MIGRATIONS[n] takes the file from schema version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[Migrations] = (
    (
        # IF NOT EXISTS: files made before the schema had a version already hold the table.
        "CREATE TABLE IF NOT EXISTS automation_timers ("
        " key TEXT PRIMARY KEY, automation TEXT NOT NULL, kind TEXT NOT NULL,"
        " due REAL NOT NULL, data BLOB NOT NULL)",
    ),
)


class SqliteTimerStore(BesideHub, part="timers", what="automation timers", migrations=MIGRATIONS):
    """Automation timers in a SQLite file."""

    async def load(self) -> list[SavedTimer]:
        def read(conn: sqlite3.Connection) -> list[tuple[str, str, str, float, bytes]]:
            rows = conn.execute("SELECT key, automation, kind, due, data FROM automation_timers ORDER BY due")
            return list(rows)

        rows = await self._file.read("reading timers", read)
        return [
            msgspec.convert(
                {"key": k, "automation": a, "kind": kind, "due": due, "data": msgspec.json.decode(data)},
                SavedTimer,
            )
            for k, a, kind, due, data in rows
        ]

    async def save(self, timer: SavedTimer) -> None:
        data = msgspec.json.encode(timer.data)
        await self._file.write(
            "saving a timer",
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO automation_timers VALUES (?, ?, ?, ?, ?)",
                (timer.key, timer.automation, timer.kind, timer.due, data),
            ),
        )

    async def delete(self, key: str) -> None:
        await self._file.write(
            "deleting a timer",
            lambda conn: conn.execute("DELETE FROM automation_timers WHERE key = ?", (key,)),
        )
