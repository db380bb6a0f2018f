"""A ``TransactionStore`` in PostgreSQL: the central system's tables in the hub's database.

When the hub's store is on PostgreSQL, the OCPP transactions, their samples and the
chargers' register readings are kept in tables of that database
(``carhome.pgdatabase.PgDatabase``, the pool the process shares) instead of
``carhome.ocpp.db`` beside the hub's file. The tables hold what the SQLite store's hold
(``carhome.connectors.ocpp.sqlite``), with the home of the charger first in every primary
key (``homes``: charger id → home, from the configuration; a charger it does not name is
kept under the home ``""``). Charger ids are the hub's, so (charger, …) stays unique on
its own: a charger moved to another home keeps its transactions, moved under that home
when the store opens.

A transaction is msgspec JSON in a ``TEXT`` ``data`` column beside the columns ``load``
selects on; its samples are rows of their own. Each ``save`` is one transaction, committed
when it returns. The SQL is all here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import asyncpg
import msgspec

from carhome.connectors.ocpp.store import Saved
from carhome.connectors.ocpp.transactions import Register, Transaction
from carhome.ocpp.messages import Sample
from carhome.pgdatabase import PartTables, PgDatabase
from carhome.sqlitefile import Migrations

PART: Final = "ocpp"

# MIGRATIONS[n] takes the tables from version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[Migrations] = (
    (
        "CREATE TABLE ocpp_transactions ("
        " home TEXT NOT NULL, charger TEXT NOT NULL, id TEXT NOT NULL,"
        " started DOUBLE PRECISION NOT NULL, stopped DOUBLE PRECISION, data TEXT NOT NULL,"
        " PRIMARY KEY (home, charger, id), UNIQUE (charger, id))",
        "CREATE INDEX ocpp_transactions_by_stop ON ocpp_transactions (stopped)",
        "CREATE TABLE ocpp_samples ("
        " home TEXT NOT NULL, charger TEXT NOT NULL, tx TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL,"
        " energy DOUBLE PRECISION, power DOUBLE PRECISION,"
        " PRIMARY KEY (home, charger, tx, ts), UNIQUE (charger, tx, ts))",
        "CREATE TABLE ocpp_registers ("
        " home TEXT NOT NULL, charger TEXT NOT NULL, connector INTEGER NOT NULL,"
        " ts DOUBLE PRECISION NOT NULL, energy DOUBLE PRECISION NOT NULL,"
        " PRIMARY KEY (home, charger, connector), UNIQUE (charger, connector))",
    ),
)

_SAVE_TX: Final = (
    "INSERT INTO ocpp_transactions (home, charger, id, started, stopped, data)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
    " ON CONFLICT (charger, id) DO UPDATE SET home = excluded.home, started = excluded.started,"
    " stopped = excluded.stopped, data = excluded.data"
)
# A transaction's samples follow it to its charger's home (a no-op but when the charger moved).
_MOVE_SAMPLES: Final = "UPDATE ocpp_samples SET home = $1 WHERE charger = $2 AND tx = $3 AND home <> $1"
# A sample saved twice is kept once (the first); a batch in one statement, a column per array.
_SAVE_SAMPLES: Final = (
    "INSERT INTO ocpp_samples (home, charger, tx, ts, energy, power)"
    " SELECT $1, $2, $3, ts, energy, power FROM unnest($4::float8[], $5::float8[], $6::float8[])"
    " AS s (ts, energy, power)"
    " ON CONFLICT (charger, tx, ts) DO NOTHING"
)
# The newest reading of a connector wins.
_SAVE_REGISTER: Final = (
    "INSERT INTO ocpp_registers (home, charger, connector, ts, energy) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (charger, connector) DO UPDATE SET home = excluded.home, ts = excluded.ts,"
    " energy = excluded.energy WHERE excluded.ts >= ocpp_registers.ts"
)
# On open, each named charger's rows move to its home (a charger moved in the configuration,
# or rows copied in without one): one statement per table, a column per array.
_REHOME: Final = tuple(
    f"UPDATE {table} AS t SET home = h.home FROM unnest($1::text[], $2::text[]) AS h (charger, home)"  # noqa: S608 - constants
    " WHERE t.charger = h.charger AND t.home <> h.home"
    for table in ("ocpp_transactions", "ocpp_samples", "ocpp_registers")
)
_TRANSACTIONS: Final = (
    "SELECT data FROM ocpp_transactions WHERE stopped IS NULL OR stopped >= $1 ORDER BY started, id"
)
# The samples of the transactions ``load`` returns, in one query.
_SAMPLES: Final = (
    "SELECT s.charger, s.tx, s.ts, s.energy, s.power FROM ocpp_samples s"
    " JOIN ocpp_transactions t ON t.charger = s.charger AND t.id = s.tx"
    " WHERE t.stopped IS NULL OR t.stopped >= $1 ORDER BY s.charger, s.tx, s.ts"
)
_REGISTERS: Final = "SELECT charger, connector, ts, energy FROM ocpp_registers ORDER BY charger, connector"

_encode: Final = msgspec.json.Encoder().encode
_decode: Final = msgspec.json.Decoder(Transaction).decode


class PostgresTransactionStore(PartTables, part=PART, what="OCPP transactions", migrations=MIGRATIONS):
    """The central system's transactions in the tables of ``database`` (opened and closed
    by its owner); ``homes`` names each charger's home."""

    def __init__(self, database: PgDatabase, homes: Mapping[str, str] | None = None) -> None:
        super().__init__(database)
        self._homes = dict(homes or {})

    async def open(self) -> None:
        """Bring the central system's tables up to date; each named charger's rows under its home."""
        await super().open()
        if self._homes:
            chargers, homes = list(self._homes), list(self._homes.values())
            await self.database.execute(
                "putting the chargers' transactions under their homes",
                [(sql, (chargers, homes)) for sql in _REHOME],
            )

    async def load(self, since: float) -> Saved:
        async def read(conn: asyncpg.Connection) -> Saved:
            # one snapshot for the three reads, so samples match the transactions
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                found = [_decode(row[0]) for row in await conn.fetch(_TRANSACTIONS, since)]
                samples: dict[tuple[str, str], dict[float, Sample]] = {}
                for charger, tx, ts, energy, power in await conn.fetch(_SAMPLES, since):
                    samples.setdefault((charger, tx), {})[ts] = Sample(ts, energy, power)
                registers = [_register(row) for row in await conn.fetch(_REGISTERS)]
            for tx in found:
                tx.samples = samples.get((tx.charger, tx.id), {})
            return Saved(transactions=found, registers=registers)

        return await self.database.read("reading the OCPP transactions", read)

    async def save(self, tx: Transaction, samples: Sequence[Sample] = ()) -> None:
        home = self._homes.get(tx.charger, "")
        data = _encode(msgspec.structs.replace(tx, samples={})).decode()
        columns = (
            [s.ts for s in samples],
            [s.energy_wh for s in samples],
            [s.power_w for s in samples],
        )

        async def write(conn: asyncpg.Connection) -> None:
            await conn.execute(_SAVE_TX, home, tx.charger, tx.id, tx.started, tx.stopped, data)
            await conn.execute(_MOVE_SAMPLES, home, tx.charger, tx.id)
            if samples:
                await conn.execute(_SAVE_SAMPLES, home, tx.charger, tx.id, *columns)

        await self.database.write("saving an OCPP transaction", write)

    async def save_register(self, register: Register) -> None:
        args = (
            self._homes.get(register.charger, ""),
            register.charger,
            register.connector,
            register.ts,
            register.energy_wh,
        )
        await self.database.execute("saving a charger's register", [(_SAVE_REGISTER, args)])


def _register(row: Any) -> Register:
    charger, connector, ts, energy = row
    return Register(charger=charger, connector=connector, ts=ts, energy_wh=energy)
