"""Transactions outlive the hub process.

The hub keeps its transactions in SQLite beside its database (``SqliteTransactionStore``),
or in its PostgreSQL database (``PostgresTransactionStore``), and its history beside them:
a charger that goes on metering while the hub restarts, and sends its readings and its stop
when the hub is back, is heard as if nothing had happened, and the charge is in the history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from carhome.connectors.ocpp import Charger, OcppServer
from carhome.connectors.ocpp.postgres import PostgresTransactionStore
from carhome.connectors.ocpp.sqlite import SqliteTransactionStore
from carhome.connectors.ocpp.store import TransactionStore
from carhome.history import History, HistoryStore, PostgresHistoryStore, SqliteHistoryStore
from carhome.hub import Device, Home, Hub
from carhome.pgdatabase import PgDatabase
from carhome.store.sqlite import SqliteStore
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox, Version
from pgcluster import own_database

PASSWORD = "s3cret-wallbox-password"
CHARGERS = {"CP-1": Charger(home="h1", device="wallbox", password=PASSWORD)}


@dataclass(frozen=True)
class Kept:
    """Where the hub keeps its transactions and history: beside its SQLite file, or in PostgreSQL."""

    db: Path
    database: PgDatabase | None = None

    def transactions(self) -> TransactionStore:
        if self.database is None:
            return SqliteTransactionStore.beside(self.db)
        return PostgresTransactionStore(self.database, {cid: c.home for cid, c in CHARGERS.items()})

    def history(self) -> HistoryStore:
        return (
            SqliteHistoryStore.beside(self.db)
            if self.database is None
            else PostgresHistoryStore(self.database)
        )

    @asynccontextmanager
    async def running(self, clock: FakeClock) -> AsyncIterator[tuple[Hub, History, OcppServer]]:
        """The hub process over what is kept: its store, its history and its OCPP server."""
        async with (
            Hub(store=SqliteStore(self.db), clock=clock) as hub,
            History(hub, self.history()) as history,
            OcppServer(hub, "127.0.0.1", 0, chargers=CHARGERS, store=self.transactions()) as server,
        ):
            yield hub, history, server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def kept(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Kept]:
    if request.param == "sqlite":
        yield Kept(tmp_path / "carhome.db")
        return
    async with own_database(request) as database:
        yield Kept(tmp_path / "carhome.db", database)


def _url(server: OcppServer) -> str:
    return f"ws://127.0.0.1:{server.port}/ocpp/CP-1"


async def test_a_transaction_outlives_a_hub_restart(kept: Kept, version: Version) -> None:
    clock = FakeClock()
    db = kept.db
    box = SimulatedWallbox("ws://127.0.0.1:1/ocpp", "CP-1", version=version, password=PASSWORD, clock=clock)
    async with Hub(store=SqliteStore(db), clock=clock) as hub:
        # the home and its devices first, as a running hub has them before its parts start
        await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
        await hub.add_devices(
            [
                Device(home="h1", id="car", type="car"),
                Device(home="h1", id="wallbox", type="wallbox", connector="ocpp"),
            ]
        )
    async with kept.running(clock) as (hub, history, server):
        box.url = _url(server)
        await box.connect()
        await box.boot()
        box.register_wh = 52_300.0
        tx_id = await box.start("RFID-ALICE")
        await box.status("Charging" if version == "1.6" else "Occupied")
        await clock.advance(60)
        await box.meter(900.0, 7_400.0)
        assert hub.value("h1", "wallbox", "energy") == pytest.approx(0.9)
    await box.disconnect()
    # the hub is down; the charger meters on and stops, and keeps it all for later
    for _ in range(2):
        await clock.advance(60)
        await box.meter(550.0, 7_400.0)
    await clock.advance(60)
    await box.stop()
    assert len(box.queue) == 3
    async with kept.running(clock) as (hub, history, server):
        box.url = _url(server)
        await box.connect()
        assert box.queue == []  # every queued message taken
        await box.status("Available")
        await box.disconnect()
        [tx] = server.transactions_of("CP-1")
        shown = hub.value("h1", "wallbox", "energy")
        [charge] = await history.charges()
    assert (tx.id, tx.active, tx.energy_wh()) == (tx_id, False, 2_000.0)
    assert shown == pytest.approx(2.0)
    assert (charge.charger, charge.grid_kwh) == ("wallbox", 2.0)
    print(
        f"OCPP {version} across a hub restart ({'PostgreSQL' if kept.database else 'SQLite'}):"
        f" {shown:.1f} of 2.0 kWh shown, {charge.grid_kwh} kWh recorded"
    )
