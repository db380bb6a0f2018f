"""A ``TimerStore`` in PostgreSQL: the automation timers' table in the hub's database.

When the hub's store is on PostgreSQL, the running timers of the automations are kept in
a table of that database (``carhome.pgdatabase.PgDatabase``, the pool the process shares)
instead of ``carhome.timers.db`` beside the hub's file. Every write is one committed
transaction when it returns, as on SQLite (``carhome.automations.sqlite_timers``).

A timer is keyed as on SQLite, by its key alone (``<automation>/…``): automation ids are
the hub's, not a home's, and a timer names no home — an automation that names no device
nor time may have none in a hub of several homes. The SQL is all here.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from carhome.automations.timers import SavedTimer
from carhome.pgdatabase import PartTables
from carhome.sqlitefile import Migrations

PART: Final = "timers"

# MIGRATIONS[n] takes the table from version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[Migrations] = (
    (
        "CREATE TABLE automation_timers ("
        " key TEXT PRIMARY KEY, automation TEXT NOT NULL, kind TEXT NOT NULL,"
        " due DOUBLE PRECISION NOT NULL, data TEXT NOT NULL)",
        # A timer names no home (automation ids are the hub's): keyed by its key, as on SQLite.
        "COMMENT ON TABLE automation_timers IS 'automation timers, keyed by the timer''s key"
        " (<automation>/...): automation ids are the hub''s and a timer names no home'",
    ),
)

_TIMERS: Final = "SELECT key, automation, kind, due, data FROM automation_timers ORDER BY due, key"
_SAVE: Final = (
    "INSERT INTO automation_timers (key, automation, kind, due, data) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (key) DO UPDATE SET automation = excluded.automation, kind = excluded.kind,"
    " due = excluded.due, data = excluded.data"
)
_DELETE: Final = "DELETE FROM automation_timers WHERE key = $1"


def _timer(row: Any) -> SavedTimer:
    key, automation, kind, due, data = row
    return msgspec.convert(
        {"key": key, "automation": automation, "kind": kind, "due": due, "data": msgspec.json.decode(data)},
        SavedTimer,
    )


class PostgresTimerStore(PartTables, part=PART, what="automation timers", migrations=MIGRATIONS):
    """Automation timers in the table of ``database`` (opened and closed by its owner)."""

    async def load(self) -> list[SavedTimer]:
        return await self.database.fetch("reading timers", _timer, _TIMERS)

    async def save(self, timer: SavedTimer) -> None:
        data = msgspec.json.encode(timer.data).decode()
        args = (timer.key, timer.automation, timer.kind, timer.due, data)
        await self.database.execute("saving a timer", [(_SAVE, args)])

    async def delete(self, key: str) -> None:
        await self.database.execute("deleting a timer", [(_DELETE, (key,))])
