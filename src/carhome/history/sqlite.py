"""A ``HistoryStore`` in SQLite, in a file of its own beside the hub's database.

``SqliteHistoryStore.beside(db)``: ``carhome.db`` → ``carhome.history.db``, as the automation
timers do (a ``carhome.sqlitefile.SqliteFile``: its own worker thread, WAL with
``synchronous = FULL`` so a ``commit`` is on disk when it returns, ``MIGRATIONS`` by
``PRAGMA user_version``).
Records are msgspec JSON beside the columns queries select on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

import msgspec

from carhome.history.records import OpenState, Record
from carhome.history.store import KINDS, Query, R, record_row, state_row
from carhome.sqlitefile import BesideHub, Migrations

# MIGRATIONS[n] takes the file from schema version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[Migrations] = (
    (
        "CREATE TABLE records ("
        " id TEXT PRIMARY KEY, kind TEXT NOT NULL, home TEXT NOT NULL, car TEXT NOT NULL,"
        " start DOUBLE PRECISION NOT NULL, finish DOUBLE PRECISION NOT NULL, data BLOB NOT NULL)",
        "CREATE INDEX records_by_time ON records (kind, start)",
        "CREATE INDEX records_by_car ON records (kind, home, car, start)",
        "CREATE TABLE open_states ("
        " home TEXT NOT NULL, car TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (home, car))",
    ),
)

_SAVE_RECORD: Final = (
    "INSERT INTO records (id, kind, home, car, start, finish, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET start = excluded.start, finish = excluded.finish, data = excluded.data"
)
_SAVE_STATE: Final = (
    "INSERT INTO open_states (home, car, data) VALUES (?, ?, ?)"
    " ON CONFLICT (home, car) DO UPDATE SET data = excluded.data"
)
_decode_state: Final = msgspec.json.Decoder(OpenState).decode


class SqliteHistoryStore(BesideHub, part="history", what="history", migrations=MIGRATIONS):
    """The history in a SQLite file."""

    async def commit(self, records: Sequence[Record], states: Sequence[OpenState]) -> None:
        rows = [record_row(r) for r in records]
        state_rows = [state_row(s) for s in states]

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(_SAVE_RECORD, rows)
            conn.executemany(_SAVE_STATE, state_rows)

        await self._file.write("saving the history", write)

    async def open_states(self) -> list[OpenState]:
        def read(conn: sqlite3.Connection) -> list[bytes]:
            return [row[0] for row in conn.execute("SELECT data FROM open_states")]

        return [_decode_state(data) for data in await self._file.read("reading open trips", read)]

    async def records(self, kind: type[R], query: Query) -> list[R]:
        where = ["kind = ?"]
        args: list[object] = [KINDS[kind]]
        for column, op, value in query.filters():
            where.append(f"{column} {op} ?")
            args.append(value)
        sql = f"SELECT data FROM records WHERE {' AND '.join(where)} ORDER BY start DESC, id DESC"  # noqa: S608 - fixed columns
        if query.limit is not None:
            sql += " LIMIT ?"
            args.append(query.limit)

        def read(conn: sqlite3.Connection) -> list[bytes]:
            return [row[0] for row in conn.execute(sql, args)]

        decode = msgspec.json.Decoder(kind).decode
        rows = await self._file.read("reading the history", read)
        return [decode(data) for data in reversed(rows)]
