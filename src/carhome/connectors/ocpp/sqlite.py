"""A ``TransactionStore`` in SQLite, in a file of its own beside the hub's database.

``SqliteTransactionStore.beside(db)``: ``carhome.db`` → ``carhome.ocpp.db``, as the trip
history and the automation timers do (a ``carhome.sqlitefile.SqliteFile``: its own worker
thread, WAL with ``synchronous = FULL`` so a ``save`` is on disk when it returns,
``MIGRATIONS`` by ``PRAGMA user_version``). A transaction is msgspec JSON beside the columns ``load``
selects on; its samples are rows of their own, so a meter value adds a row instead of
rewriting the transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

import msgspec

from carhome.connectors.ocpp.store import Saved
from carhome.connectors.ocpp.transactions import Register, Transaction
from carhome.ocpp.messages import Sample
from carhome.sqlitefile import BesideHub, Migrations

# MIGRATIONS[n] takes the file from schema version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[Migrations] = (
    (
        "CREATE TABLE transactions ("
        " charger TEXT NOT NULL, id TEXT NOT NULL, started DOUBLE PRECISION NOT NULL,"
        " stopped DOUBLE PRECISION, data BLOB NOT NULL, PRIMARY KEY (charger, id))",
        "CREATE INDEX transactions_by_stop ON transactions (stopped)",
        "CREATE TABLE samples ("
        " charger TEXT NOT NULL, tx TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL,"
        " energy DOUBLE PRECISION, power DOUBLE PRECISION, PRIMARY KEY (charger, tx, ts))",
        "CREATE TABLE registers ("
        " charger TEXT NOT NULL, connector INTEGER NOT NULL, ts DOUBLE PRECISION NOT NULL,"
        " energy DOUBLE PRECISION NOT NULL, PRIMARY KEY (charger, connector))",
    ),
)

_SAVE_TX: Final = (
    "INSERT INTO transactions (charger, id, started, stopped, data) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (charger, id) DO UPDATE SET started = excluded.started, stopped = excluded.stopped,"
    " data = excluded.data"
)
_SAVE_SAMPLE: Final = (
    "INSERT INTO samples (charger, tx, ts, energy, power) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (charger, tx, ts) DO NOTHING"
)
_SAVE_REGISTER: Final = (
    "INSERT INTO registers (charger, connector, ts, energy) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (charger, connector) DO UPDATE SET ts = excluded.ts, energy = excluded.energy"
    " WHERE excluded.ts >= registers.ts"
)
_encode: Final = msgspec.json.Encoder().encode
_decode: Final = msgspec.json.Decoder(Transaction).decode


class SqliteTransactionStore(BesideHub, part="ocpp", what="OCPP transactions", migrations=MIGRATIONS):
    """The central system's transactions in a SQLite file."""

    async def load(self, since: float) -> Saved:
        def read(conn: sqlite3.Connection) -> Saved:
            found: list[Transaction] = []
            rows = conn.execute(
                "SELECT data FROM transactions WHERE stopped IS NULL OR stopped >= ? ORDER BY started, id",
                (since,),
            )
            for (data,) in rows.fetchall():
                tx = _decode(data)
                samples = conn.execute(
                    "SELECT ts, energy, power FROM samples WHERE charger = ? AND tx = ? ORDER BY ts",
                    (tx.charger, tx.id),
                )
                tx.samples = {ts: Sample(ts, energy, power) for ts, energy, power in samples}
                found.append(tx)
            registers = [
                Register(charger=charger, connector=connector, ts=ts, energy_wh=energy)
                for charger, connector, ts, energy in conn.execute(
                    "SELECT charger, connector, ts, energy FROM registers"
                )
            ]
            return Saved(transactions=found, registers=registers)

        return await self._file.read("reading the OCPP transactions", read)

    async def save(self, tx: Transaction, samples: Sequence[Sample] = ()) -> None:
        row = (tx.charger, tx.id, tx.started, tx.stopped, _encode(msgspec.structs.replace(tx, samples={})))
        sample_rows = [(tx.charger, tx.id, s.ts, s.energy_wh, s.power_w) for s in samples]

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(_SAVE_TX, row)
            conn.executemany(_SAVE_SAMPLE, sample_rows)

        await self._file.write("saving an OCPP transaction", write)

    async def save_register(self, register: Register) -> None:
        args = (register.charger, register.connector, register.ts, register.energy_wh)

        await self._file.write("saving a charger's register", lambda conn: conn.execute(_SAVE_REGISTER, args))
