"""The SQL of carhome's database stores: tables, migrations and every query, in one place.

Records are kept as msgspec JSON in a ``data`` column, beside the few columns the queries
select or order by, so adding a field to ``Home``, ``Device`` or ``Command`` needs no
migration. The PostgreSQL store's tables and statements are ``carhome.store.pgschema``'s
(the same columns, the home id in every primary key, ``$n`` placeholders).

``MIGRATIONS[n]`` takes a database from schema version ``n`` to ``n + 1``; the SQLite store
keeps the version in ``PRAGMA user_version``. Append a step to change the schema; never edit
one that has shipped.
"""

from __future__ import annotations

from typing import Final

from carhome.hub.commands import CommandStatus

# Commands in these statuses are still the router's business; the rest are history.
OPEN_STATUSES: Final = tuple(s.value for s in CommandStatus if not s.final)
_OPEN_SQL: Final = ", ".join(f"'{s}'" for s in OPEN_STATUSES)

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 0 → 1: homes, devices, last state per property, the command outbox
    (
        "CREATE TABLE homes (id TEXT PRIMARY KEY, data TEXT NOT NULL)",
        "CREATE TABLE devices ("
        " home TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,"
        " PRIMARY KEY (home, id))",
        "CREATE TABLE states ("
        " home TEXT NOT NULL, device TEXT NOT NULL, prop TEXT NOT NULL,"
        " value TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL, source TEXT NOT NULL,"
        " PRIMARY KEY (home, device, prop))",
        # seq keeps submission order among commands made in the same clock tick.
        "CREATE TABLE commands ("
        " seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
        " home TEXT NOT NULL, device TEXT NOT NULL, status TEXT NOT NULL,"
        " created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL,"
        " data TEXT NOT NULL)",
        # Restart reads only the open commands: keep them in an index of their own.
        f"CREATE INDEX commands_open ON commands (created, seq) WHERE status IN ({_OPEN_SQL})",
        "CREATE INDEX commands_home ON commands (home, created, seq)",
        "CREATE INDEX commands_created ON commands (created, seq)",
    ),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)

SAVE_HOME: Final = (
    "INSERT INTO homes (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data"
)
HOMES: Final = "SELECT data FROM homes ORDER BY id"

SAVE_DEVICE: Final = (
    "INSERT INTO devices (home, id, data) VALUES (?, ?, ?)"
    " ON CONFLICT (home, id) DO UPDATE SET data = excluded.data"
)
REMOVE_DEVICE: Final = "DELETE FROM devices WHERE home = ? AND id = ?"
# A removed device's states go with it, so a device added later under the same id starts clean.
REMOVE_DEVICE_STATES: Final = "DELETE FROM states WHERE home = ? AND device = ?"
DEVICES: Final = "SELECT data FROM devices ORDER BY home, id"

SAVE_STATE: Final = (
    "INSERT INTO states (home, device, prop, value, ts, source) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (home, device, prop) DO UPDATE SET"
    " value = excluded.value, ts = excluded.ts, source = excluded.source"
)
STATES: Final = "SELECT home, device, prop, value, ts, source FROM states"

# A command id is a key over the id alone (``UNIQUE`` beside ``seq``), for good: a put of a
# taken id inserts nothing (the store reports it, never replaces the record), whoever made
# the first command and however long ago.
PUT_COMMAND: Final = (
    "INSERT INTO commands (id, home, device, status, created, expires, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO NOTHING"
)
# An update changes only the same command (same home, device and creation time) while it is
# open: a final status is never rewritten, so what the hub reported final stays so. An
# update of an unknown id keeps the command rather than losing it, as the memory store does.
UPDATE_COMMAND: Final = (
    "INSERT INTO commands (id, home, device, status, created, expires, data)"  # noqa: S608 - constants
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET"
    " status = excluded.status, expires = excluded.expires, data = excluded.data"
    " WHERE commands.home = excluded.home AND commands.device = excluded.device"
    f" AND commands.created = excluded.created AND commands.status IN ({_OPEN_SQL})"
)
COMMAND: Final = "SELECT data FROM commands WHERE id = ?"
OPEN_COMMANDS: Final = f"SELECT data FROM commands WHERE status IN ({_OPEN_SQL}) ORDER BY created, seq"  # noqa: S608 - constants
RECENT_COMMANDS: Final = "SELECT data FROM commands ORDER BY created DESC, seq DESC LIMIT ?"
RECENT_HOME_COMMANDS: Final = (
    "SELECT data FROM commands WHERE home = ? ORDER BY created DESC, seq DESC LIMIT ?"
)
