"""``SavedAutomations`` in PostgreSQL: the saved automations and switches in the hub's database.

When the hub's store is on PostgreSQL, what the API saves (``carhome.automations.saved``)
is kept in two tables of that database (``carhome.pgdatabase.PgDatabase``, the pool the
process shares) instead of files of ``<data>/automations/``: a hub started on another
machine, or with an empty data directory, finds them there. Each write is one committed
transaction when it returns.

- ``saved_automations``: the text of each automation saved through the API, verbatim in a
  TEXT column (a YAML text is the record: it reads back byte for byte, comments and all;
  YAML admits no NUL character, so every text fits).
- ``automation_switches``: the enable switch of any loaded automation, saved or not.

Both are keyed by ``(home, id)``: the home is the automation's ``home:``, or ``''`` for one
that names none (it belongs to no home: a hub of one home, an automation on times alone),
then it is keyed by its id alone. An id is also unique on its own, as in the engine (one
namespace per hub): saving an automation whose ``home:`` changed moves its row and switch.

A saved text is named ``postgresql:automations/<id>`` in errors (``file:line``), in the API
and in the CLI. The SQL is all here.
"""

from __future__ import annotations

from typing import Any, Final

from carhome.automations.saved import Kept
from carhome.pgdatabase import PgDatabase
from carhome.sqlitefile import Migrations, Opens

PART: Final = "saved_automations"
PREFIX: Final = "postgresql:automations/"
NO_HOME: Final = ""  # the home of an automation that names none

# MIGRATIONS[n] takes the tables from version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[Migrations] = (
    (
        "CREATE TABLE saved_automations ("
        " home TEXT NOT NULL, id TEXT NOT NULL, text TEXT NOT NULL,"
        " saved TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (home, id))",
        "CREATE UNIQUE INDEX saved_automations_id ON saved_automations (id)",
        "COMMENT ON TABLE saved_automations IS 'automations saved through the API, their text"
        " verbatim; keyed by the automation''s home ('''' when it names none) and id, the id"
        " unique on its own as in the engine'",
        "CREATE TABLE automation_switches ("
        " home TEXT NOT NULL, id TEXT NOT NULL, enabled BOOLEAN NOT NULL, PRIMARY KEY (home, id))",
        "CREATE UNIQUE INDEX automation_switches_id ON automation_switches (id)",
        "COMMENT ON TABLE automation_switches IS 'enable switches of automations; keyed as"
        " saved_automations'",
    ),
)

_TEXTS: Final = "SELECT id, text FROM saved_automations ORDER BY id"
_SWITCHES: Final = "SELECT id, enabled FROM automation_switches ORDER BY id"
_SAVE: Final = (
    "INSERT INTO saved_automations (home, id, text) VALUES ($1, $2, $3)"
    " ON CONFLICT (id) DO UPDATE SET home = excluded.home, text = excluded.text, saved = now()"
)
_MOVE_SWITCH: Final = "UPDATE automation_switches SET home = $1 WHERE id = $2 AND home <> $1"
_SWITCH: Final = (
    "INSERT INTO automation_switches (home, id, enabled) VALUES ($1, $2, $3)"
    " ON CONFLICT (id) DO UPDATE SET home = excluded.home, enabled = excluded.enabled"
)
_DELETE_TEXT: Final = "DELETE FROM saved_automations WHERE id = $1"
_DELETE_SWITCH: Final = "DELETE FROM automation_switches WHERE id = $1"


def _pair(row: Any) -> tuple[Any, Any]:
    return row[0], row[1]


class PostgresSavedAutomations(Opens):
    """Saved automations and switches in the tables of ``database`` (opened and closed by
    its owner)."""

    def __init__(self, database: PgDatabase) -> None:
        self.database = database

    async def open(self) -> None:
        """Bring the tables up to date."""
        await self.database.migrate(PART, "saved automations", MIGRATIONS)

    async def close(self) -> None:
        return None  # the database is the process's; its writes have all returned

    def name(self, automation_id: str) -> str:
        return PREFIX + automation_id

    async def read(self) -> Kept:
        texts = await self.database.fetch("reading the saved automations", _pair, _TEXTS)
        switches = await self.database.fetch("reading the automations' switches", _pair, _SWITCHES)
        return Kept(texts=[(self.name(i), t) for i, t in texts], switches=dict(switches))

    async def save(self, automation_id: str, home: str | None, text: str) -> None:
        home = home or NO_HOME
        await self.database.execute(
            "saving an automation",
            [(_SAVE, (home, automation_id, text)), (_MOVE_SWITCH, (home, automation_id))],
        )

    async def switch(self, automation_id: str, home: str | None, enabled: bool) -> None:
        await self.database.execute(
            "switching an automation", [(_SWITCH, (home or NO_HOME, automation_id, enabled))]
        )

    async def delete(self, automation_id: str) -> None:
        await self.database.execute(
            "deleting a saved automation",
            [(_DELETE_TEXT, (automation_id,)), (_DELETE_SWITCH, (automation_id,))],
        )
