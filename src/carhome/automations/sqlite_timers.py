"""A ``TimerStore`` in SQLite: one table in a file of its own beside the hub's database.

``SqliteTimerStore.beside(db)``: ``hub.db`` → ``hub.timers.db`` (see ``carhome.store.beside``
for why a file of its own, the worker thread and the durability). Every write is a
committed transaction.
"""

from __future__ import annotations

from typing import Final

import msgspec

from carhome.automations.timers import SavedTimer
from carhome.store.beside import SqliteBeside

# MIGRATIONS[n] takes the file from schema version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        # IF NOT EXISTS: files made before the schema had a version already hold the table.
        "CREATE TABLE IF NOT EXISTS automation_timers ("
        " key TEXT PRIMARY KEY, automation TEXT NOT NULL, kind TEXT NOT NULL,"
        " due REAL NOT NULL, data BLOB NOT NULL)",
    ),
)


class SqliteTimerStore(SqliteBeside):
    """Automation timers in a SQLite file."""

    PART = "timers"
    WHAT = "automation timers"
    MIGRATIONS = MIGRATIONS

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
