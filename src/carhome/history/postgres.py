"""A ``HistoryStore`` in PostgreSQL: the history's tables in the hub's database.

When the hub's store is on PostgreSQL, the history keeps its records and open states in
tables of that database (``carhome.pgdatabase.PgDatabase``, the pool the process shares)
instead of ``carhome.history.db`` beside the hub's file. The tables hold what the SQLite
store's hold (``carhome.history.sqlite``), with the home id first in every primary key (the
home is the fleet's partition key); a record's id stays unique on the whole database, so
saving a record whose id is kept replaces it, as on SQLite.

Records are msgspec JSON in a ``TEXT`` ``data`` column beside the columns queries select
and order on. ``commit`` writes records and states in one transaction, committed when it
returns. The SQL is all here; ``MIGRATIONS`` is applied by ``PgDatabase.migrate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import asyncpg
import msgspec

from carhome.history.records import OpenState, Record
from carhome.history.store import KINDS, Query, R, record_row, state_row
from carhome.pgdatabase import PartTables
from carhome.sqlitefile import Migrations

PART: Final = "history"

# MIGRATIONS[n] takes the tables from version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[Migrations] = (
    (
        "CREATE TABLE history_records ("
        " home TEXT NOT NULL, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, car TEXT NOT NULL,"
        " start DOUBLE PRECISION NOT NULL, finish DOUBLE PRECISION NOT NULL, data TEXT NOT NULL,"
        " PRIMARY KEY (home, id))",
        "CREATE INDEX history_records_by_time ON history_records (kind, start)",
        "CREATE INDEX history_records_by_car ON history_records (home, kind, car, start)",
        "CREATE TABLE history_open_states ("
        " home TEXT NOT NULL, car TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (home, car))",
    ),
)

# A batch in one statement, a column per array. A record's id is its own on the whole
# database: saved again, it replaces the record (its time and data), as on SQLite.
_SAVE_RECORDS: Final = (
    "INSERT INTO history_records (id, kind, home, car, start, finish, data)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[],"
    " $7::text[])"
    " ON CONFLICT (id) DO UPDATE SET start = excluded.start, finish = excluded.finish, data = excluded.data"
)
_SAVE_STATES: Final = (
    "INSERT INTO history_open_states (home, car, data)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[])"
    " ON CONFLICT (home, car) DO UPDATE SET data = excluded.data"
)
_OPEN_STATES: Final = "SELECT data FROM history_open_states ORDER BY home, car"
_RECORDS: Final = "SELECT data FROM history_records WHERE {where} ORDER BY start DESC, id DESC"
_LIMIT: Final = " LIMIT ${n}"

_decode_state: Final = msgspec.json.Decoder(OpenState).decode


class PostgresHistoryStore(PartTables, part=PART, what="history", migrations=MIGRATIONS):
    """The history in the tables of ``database`` (opened and closed by its owner: the process)."""

    async def commit(self, records: Sequence[Record], states: Sequence[OpenState]) -> None:
        # one row per id and per (home, car): the last of the batch, as upserts one by one keep
        kept = {r.id: r for r in records}.values()
        latest = {(s.home, s.car): s for s in states}.values()

        async def write(conn: asyncpg.Connection) -> None:
            if kept:
                await conn.execute(_SAVE_RECORDS, *_columns([record_row(r) for r in kept]))
            if latest:
                await conn.execute(_SAVE_STATES, *_columns([state_row(s) for s in latest]))

        await self.database.write("saving the history", write)

    async def open_states(self) -> list[OpenState]:
        return await self.database.fetch(
            "reading open trips", lambda row: _decode_state(row[0]), _OPEN_STATES
        )

    async def records(self, kind: type[R], query: Query) -> list[R]:
        where = ["kind = $1"]
        args: list[object] = [KINDS[kind]]
        for column, op, value in query.filters():
            args.append(value)
            where.append(f"{column} {op} ${len(args)}")
        sql = _RECORDS.format(where=" AND ".join(where))
        if query.limit is not None:
            args.append(query.limit)
            sql += _LIMIT.format(n=len(args))
        decode = msgspec.json.Decoder(kind).decode
        found = await self.database.fetch("reading the history", lambda row: decode(row[0]), sql, *args)
        return found[::-1]


def _columns(rows: Sequence[tuple[object, ...]]) -> list[list[object]]:
    """Rows as a list per column (``unnest``'s arrays), the JSON as text."""
    return [[v.decode() if isinstance(v, bytes) else v for v in column] for column in zip(*rows, strict=True)]
