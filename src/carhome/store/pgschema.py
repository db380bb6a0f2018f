"""The SQL of the PostgreSQL store: its tables, migrations and every query, in one place.

The tables hold what the SQLite store's hold (``carhome.store.schema``), with two
differences the fleet needs: every table carries the home id as the first column of its
primary key (the home is the fleet's partition key), and the version of the schema is a
table of its own, ``schema_version``, one row per step applied.

Records are msgspec JSON in a ``data`` column (``TEXT``, so a record reads back byte for
byte, ``\\u0000`` included), beside the few columns the queries select or order by: a new
field of ``Home``, ``Device`` or ``Command`` needs no migration.

``MIGRATIONS[n]`` takes a database from schema version ``n`` to ``n + 1``. Append a step to
change the schema; never edit one that has shipped.
"""

from __future__ import annotations

from typing import Final

from carhome.store.schema import OPEN_STATUSES

_OPEN_SQL: Final = ", ".join(f"'{s}'" for s in OPEN_STATUSES)

# Serialises migrations of one database between processes (a transaction-level advisory lock).
MIGRATION_LOCK: Final = 0x6361_7268_6F6D_65  # "carhome"

VERSION_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())"
)
VERSION: Final = "SELECT coalesce(max(version), 0) FROM schema_version"
RECORD_VERSION: Final = "INSERT INTO schema_version (version) VALUES ($1)"

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 0 → 1: homes, devices, last state per property, the command outbox
    (
        "CREATE TABLE homes (home TEXT PRIMARY KEY, data TEXT NOT NULL)",
        "CREATE TABLE devices ("
        " home TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,"
        " PRIMARY KEY (home, id))",
        "CREATE TABLE states ("
        " home TEXT NOT NULL, device TEXT NOT NULL, prop TEXT NOT NULL,"
        " value TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL, source TEXT NOT NULL,"
        " PRIMARY KEY (home, device, prop))",
        # A command id is taken for good on the whole database, whichever home made it
        # (UNIQUE (id)); seq keeps submission order among commands of the same clock tick.
        "CREATE TABLE commands ("
        " home TEXT NOT NULL, id TEXT NOT NULL UNIQUE,"
        " seq BIGINT GENERATED ALWAYS AS IDENTITY,"
        " device TEXT NOT NULL, status TEXT NOT NULL,"
        " created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL,"
        " data TEXT NOT NULL,"
        " PRIMARY KEY (home, id))",
        # Restart reads only the open commands: keep them in an index of their own.
        f"CREATE INDEX commands_open ON commands (created, seq) WHERE status IN ({_OPEN_SQL})",
        "CREATE INDEX commands_home ON commands (home, created, seq)",
        "CREATE INDEX commands_created ON commands (created, seq)",
    ),
    # 1 → 2: each home's FNV-1a 32 hash (the fleet's partition key: the partition is the hash
    # modulo P), computed by the server as a home is saved (existing rows too), so a worker
    # taking a partition reads only its homes' ids instead of every home's
    (
        "CREATE FUNCTION carhome_fnv1a(home TEXT) RETURNS BIGINT LANGUAGE plpgsql IMMUTABLE STRICT"
        " PARALLEL SAFE AS $$ DECLARE bytes BYTEA := convert_to(home, 'UTF8'); h BIGINT := 2166136261;"
        " BEGIN FOR i IN 0 .. length(bytes) - 1 LOOP"
        " h := ((h # get_byte(bytes, i)) * 16777619) & 4294967295; END LOOP; RETURN h; END $$",
        "ALTER TABLE homes ADD COLUMN hash BIGINT GENERATED ALWAYS AS (carhome_fnv1a(home)) STORED",
        "CREATE INDEX homes_hash ON homes (hash, home)",
    ),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)

SAVE_HOME: Final = (
    "INSERT INTO homes (home, data) VALUES ($1, $2) ON CONFLICT (home) DO UPDATE SET data = excluded.data"
)
HOMES: Final = "SELECT data FROM homes ORDER BY home"

SAVE_DEVICE: Final = (
    "INSERT INTO devices (home, id, data) VALUES ($1, $2, $3)"
    " ON CONFLICT (home, id) DO UPDATE SET data = excluded.data"
)
REMOVE_DEVICE: Final = "DELETE FROM devices WHERE home = $1 AND id = $2"
# A removed device's states go with it, so a device added later under the same id starts clean.
REMOVE_DEVICE_STATES: Final = "DELETE FROM states WHERE home = $1 AND device = $2"
DEVICES: Final = "SELECT data FROM devices ORDER BY home, id"

# Some homes only: what a fleet worker loads when it takes a partition.
HOME_IDS: Final = "SELECT home FROM homes ORDER BY home"
# The homes of partition $1 of $2 (``carhome.fleet.log.partition_of``): the index's entries,
# scanned without the table's rows (an index-only scan of two narrow columns).
HOME_IDS_OF_PARTITION: Final = "SELECT home FROM homes WHERE hash % $2 = $1 ORDER BY home"
HOMES_IN: Final = "SELECT data FROM homes WHERE home = ANY($1::text[]) ORDER BY home"
DEVICES_IN: Final = "SELECT data FROM devices WHERE home = ANY($1::text[]) ORDER BY home, id"
STATES_IN: Final = "SELECT home, device, prop, value, ts, source FROM states WHERE home = ANY($1::text[])"

# A batch of states in one statement, a column per array; each property at most once in it
# (the store keeps the last of a batch's rows for one property, as upserts one by one would).
SAVE_STATES: Final = (
    "INSERT INTO states (home, device, prop, value, ts, source)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[])"
    " ON CONFLICT (home, device, prop) DO UPDATE SET"
    " value = excluded.value, ts = excluded.ts, source = excluded.source"
)
STATES: Final = "SELECT home, device, prop, value, ts, source FROM states"

# Puts committed together go in one statement, a column per array, in arrival order (seq);
# a put of a taken id inserts nothing (nor does the second put of one id in the arrays): the
# store reports it and never replaces the record. The ids returned are those kept.
PUT_COMMANDS: Final = (
    "INSERT INTO commands (id, home, device, status, created, expires, data)"
    " SELECT id, home, device, status, created, expires, data FROM unnest("
    "$1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::text[])"
    " WITH ORDINALITY AS put (id, home, device, status, created, expires, data, n)"
    " ORDER BY n"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
)
# An update changes only the same command (same home, device and creation time) while it is
# open: a final status is never rewritten. An update of an unknown id keeps the command.
UPDATE_COMMAND: Final = (
    "INSERT INTO commands (id, home, device, status, created, expires, data)"  # noqa: S608 - constants
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
    " ON CONFLICT (id) DO UPDATE SET"
    " status = excluded.status, expires = excluded.expires, data = excluded.data"
    " WHERE commands.home = excluded.home AND commands.device = excluded.device"
    f" AND commands.created = excluded.created AND commands.status IN ({_OPEN_SQL})"
)
COMMAND: Final = "SELECT data FROM commands WHERE id = $1"
OPEN_COMMANDS: Final = f"SELECT data FROM commands WHERE status IN ({_OPEN_SQL}) ORDER BY created, seq"  # noqa: S608 - constants
OPEN_COMMANDS_IN: Final = (
    f"SELECT data FROM commands WHERE home = ANY($1::text[]) AND status IN ({_OPEN_SQL})"  # noqa: S608 - constants
    " ORDER BY created, seq"
)
RECENT_COMMANDS: Final = "SELECT data FROM commands ORDER BY created DESC, seq DESC LIMIT $1"
RECENT_HOME_COMMANDS: Final = (
    "SELECT data FROM commands WHERE home = $1 ORDER BY created DESC, seq DESC LIMIT $2"
)
