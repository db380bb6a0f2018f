"""One contract for every OCPP transaction store: SQLite (beside the hub's database),
PostgreSQL (in the hub's database) and memory."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from carhome.connectors.ocpp import Sample
from carhome.connectors.ocpp.postgres import PostgresTransactionStore
from carhome.connectors.ocpp.sqlite import SqliteTransactionStore
from carhome.connectors.ocpp.store import MemoryTransactionStore, TransactionStore
from carhome.connectors.ocpp.transactions import Register, Transaction, Transactions
from carhome.errors import StoreError
from carhome.pgdatabase import PgDatabase
from pgcluster import check_newer_tables_refused, store_of_each_kind

DAY = 86_400.0


def tx(charger: str, tx_id: str, started: float, stopped: float | None = None) -> Transaction:
    return Transaction(
        id=tx_id,
        charger=charger,
        connector=1,
        id_tag="RFID-ALICE",
        member="alice",
        started=started,
        start_wh=1_000.0,
        stopped=stopped,
        stop_wh=None if stopped is None else 3_000.0,
        ended=None if stopped is None else "charger",
    )


HOMES = {"CP-1": "h1", "CP-2": "h2"}


store = store_of_each_kind(
    memory=MemoryTransactionStore,
    sqlite=lambda tmp_path: SqliteTransactionStore.beside(tmp_path / "carhome.db"),
    postgres=lambda database: PostgresTransactionStore(database, HOMES),
)


async def test_a_transaction_and_its_samples_come_back(store: TransactionStore) -> None:
    await store.save(tx("CP-1", "7", 100.0), [Sample(160.0, 1_500.0, 7_400.0)])
    await store.save(tx("CP-1", "7", 100.0), [Sample(160.0, 1_500.0, 7_400.0), Sample(220.0, 2_000.0)])
    [back] = (await store.load(0.0)).transactions
    assert (back.charger, back.id, back.start_wh) == ("CP-1", "7", 1_000.0)
    assert back.samples == {160.0: Sample(160.0, 1_500.0, 7_400.0), 220.0: Sample(220.0, 2_000.0)}


async def test_the_same_id_at_two_chargers_is_two_transactions(store: TransactionStore) -> None:
    await store.save(tx("CP-1", "1", 100.0), [Sample(160.0, 1_500.0)])
    await store.save(tx("CP-2", "1", 200.0), [Sample(260.0, 9_000.0)])
    a, b = (await store.load(0.0)).transactions
    assert [(a.charger, list(a.samples)), (b.charger, list(b.samples))] == [
        ("CP-1", [160.0]),
        ("CP-2", [260.0]),
    ]


async def test_load_keeps_open_and_recently_ended_transactions(store: TransactionStore) -> None:
    await store.save(tx("CP-1", "old", 0.0, stopped=DAY))
    await store.save(tx("CP-1", "recent", 20 * DAY, stopped=20 * DAY + 3600))
    await store.save(tx("CP-1", "open", 2.0))
    loaded = await store.load(10 * DAY)
    assert [t.id for t in loaded.transactions] == ["open", "recent"]


async def test_the_newest_register_of_each_connector_wins(store: TransactionStore) -> None:
    await store.save_register(Register(charger="CP-1", connector=1, ts=200.0, energy_wh=5_000.0))
    await store.save_register(Register(charger="CP-1", connector=1, ts=100.0, energy_wh=4_000.0))
    await store.save_register(Register(charger="CP-1", connector=2, ts=100.0, energy_wh=9_000.0))
    registers = sorted((await store.load(0.0)).registers, key=lambda r: r.connector)
    assert [(r.connector, r.energy_wh) for r in registers] == [(1, 5_000.0), (2, 9_000.0)]


async def test_transactions_resume_from_the_store(store: TransactionStore) -> None:
    """What ``Transactions`` saved is what a restarted server finds, resent starts included."""
    first = Transactions(store)
    opened, new = await first.begin(
        charger="CP-1", connector=1, id_tag="RFID-ALICE", member="alice", started=100.0, start_wh=1_000.0
    )
    await first.record(opened, [Sample(160.0, 1_700.0, 7_400.0)])
    again = Transactions(store)
    await again.open(1_000.0)
    resent, resent_new = await again.begin(
        charger="CP-1", connector=1, id_tag="RFID-ALICE", member="alice", started=100.0, start_wh=1_000.0
    )
    assert (new, resent_new, resent.id) == (True, False, opened.id)
    assert resent.energy_wh() == 700.0
    assert again.register("CP-1", 1) == Sample(160.0, 1_700.0)


async def test_a_sqlite_file_from_a_newer_carhome_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "carhome.ocpp.db"
    store = SqliteTransactionStore(path)
    await store.open()
    await store.close()
    import sqlite3  # noqa: PLC0415 - only this test writes the file by hand

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer carhome"):
        await SqliteTransactionStore(path).open()


async def test_a_sample_saved_twice_in_one_batch_is_kept_once(store: TransactionStore) -> None:
    await store.save(
        tx("CP-1", "7", 100.0), [Sample(160.0, 1_500.0), Sample(160.0, 1_500.0), Sample(170.0, 1_600.0)]
    )
    [back] = (await store.load(0.0)).transactions
    assert back.samples == {160.0: Sample(160.0, 1_500.0), 170.0: Sample(170.0, 1_600.0)}


@pytest.mark.postgres
async def test_postgres_transactions_survive_a_restart(postgres_url: str) -> None:
    """Closed with its pool, and opened again on the same schema: everything still there."""
    async with PgDatabase(postgres_url) as database, PostgresTransactionStore(database, HOMES) as store:
        await store.save(tx("CP-1", "7", 100.0), [Sample(160.0, 1_500.0, 7_400.0)])
        await store.save(tx("CP-2", "7", 200.0, stopped=900.0), [Sample(260.0, 9_000.0)])
        await store.save_register(Register(charger="CP-1", connector=1, ts=50.0, energy_wh=900.0))
    async with PgDatabase(postgres_url) as database, PostgresTransactionStore(database, HOMES) as again:
        loaded = await again.load(0.0)
    assert [(t.charger, t.id, t.stopped, list(t.samples.values())) for t in loaded.transactions] == [
        ("CP-1", "7", None, [Sample(160.0, 1_500.0, 7_400.0)]),
        ("CP-2", "7", 900.0, [Sample(260.0, 9_000.0)]),
    ]
    assert loaded.registers == [Register(charger="CP-1", connector=1, ts=50.0, energy_wh=900.0)]


@pytest.mark.postgres
async def test_postgres_rows_carry_the_chargers_home(postgres_url: str) -> None:
    """Each row is under its charger's home; a charger moved to another home (or saved
    without one) takes its transactions, samples and registers along as the store opens,
    and a later save keeps one transaction, not two."""

    async def homes(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
        rows = await conn.fetch(
            "SELECT 'tx', charger, home FROM ocpp_transactions"
            " UNION ALL SELECT 'sample', charger, home FROM ocpp_samples"
            " UNION ALL SELECT 'register', charger, home FROM ocpp_registers ORDER BY 1, 2"
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async with PgDatabase(postgres_url) as database:
        async with PostgresTransactionStore(database, HOMES) as store:
            await store.save(tx("CP-1", "7", 100.0), [Sample(160.0, 1_500.0)])
            await store.save_register(Register(charger="CP-1", connector=1, ts=50.0, energy_wh=900.0))
            await store.save_register(Register(charger="CP-2", connector=1, ts=50.0, energy_wh=900.0))
        async with PostgresTransactionStore(database) as unnamed:
            await unnamed.save(tx("CP-3", "1", 100.0), [Sample(160.0, 1_500.0)])
        kept = await database.read("reading the homes", homes)
        async with PostgresTransactionStore(database, {"CP-1": "h3", "CP-3": "h1"}) as moved:
            opened = await database.read("reading the homes", homes)
            await moved.save(tx("CP-1", "7", 100.0, stopped=300.0))
            assert [(t.charger, t.stopped) for t in (await moved.load(0.0)).transactions] == [
                ("CP-3", None),  # started at the same time: by id
                ("CP-1", 300.0),
            ]
    assert kept == [
        ("register", "CP-1", "h1"),
        ("register", "CP-2", "h2"),
        ("sample", "CP-1", "h1"),
        ("sample", "CP-3", ""),
        ("tx", "CP-1", "h1"),
        ("tx", "CP-3", ""),
    ]
    assert opened == [
        ("register", "CP-1", "h3"),
        ("register", "CP-2", "h2"),
        ("sample", "CP-1", "h3"),
        ("sample", "CP-3", "h1"),
        ("tx", "CP-1", "h3"),
        ("tx", "CP-3", "h1"),
    ]


@pytest.mark.postgres
async def test_postgres_tables_from_a_newer_carhome_are_refused(postgres_url: str) -> None:
    await check_newer_tables_refused(postgres_url, PostgresTransactionStore, "ocpp", "OCPP transactions")
