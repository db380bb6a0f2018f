"""A hub whose store is on PostgreSQL keeps its parts' tables there too: the demo hub run by
``carhome.compose.runtime.run`` with ``hub.store: postgresql://…`` serves the history it
finds in PostgreSQL, keeps a saved automation's timer there, makes its OCPP transactions'
tables there, makes no
``carhome.history.db``, ``carhome.timers.db`` nor ``carhome.ocpp.db`` in its data directory,
and after a stop and a start still has them all.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from carhome.history import PostgresHistoryStore, Query, Trip
from carhome.pgdatabase import PgDatabase
from hub_process import AUTOMATION, HOME, demo_hub, on_postgres, owner_login, owner_writes
from members_rig import bearer
from records_rig import a_trip

PART_FILES = ("carhome.history.db", "carhome.timers.db", "carhome.ocpp.db")
TIMERS = "SELECT key, kind FROM automation_timers ORDER BY key"
PARTS = "SELECT part FROM part_versions ORDER BY part"


async def trips_served(client: httpx.AsyncClient, data: Path) -> list[str]:
    auth = bearer(await owner_login(client, data))
    r = await client.get("/api/history/trips", params={"car": "car"}, headers=auth)
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()["trips"]]


async def timers_kept(url: str) -> list[tuple[str, str]]:
    async with PgDatabase(url) as database:
        return await database.fetch("reading the timers", lambda row: (row[0], row[1]), TIMERS)


@pytest.mark.postgres
async def test_a_hub_on_postgresql_keeps_history_timers_and_transactions_there_across_a_restart(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    data = tmp_path / "demo"
    # history recorded before this start, in the database the hub will find it in: a trip
    # of the demo car that ended an hour ago
    now = time.time()
    seeded = a_trip(HOME, "car", now - 5400, now - 3600, km=12.5)
    async with PgDatabase(postgres_url) as database, PostgresHistoryStore(database) as history:
        await history.commit([seeded], [])

    async with (
        demo_hub(data, on_postgres(data, postgres_url)) as running,
        httpx.AsyncClient(base_url=running.api_url, timeout=20) as client,
    ):
        first = await trips_served(client, data)
        await owner_writes(client, bearer(await owner_login(client, data)), AUTOMATION)
    saved = await timers_kept(postgres_url)
    left = sorted(p.name for p in data.iterdir() if p.name in PART_FILES)

    async with (
        demo_hub(data, on_postgres(data, postgres_url)) as running,
        httpx.AsyncClient(base_url=running.api_url, timeout=20) as client,
    ):
        again = await trips_served(client, data)
    resumed = await timers_kept(postgres_url)
    left += sorted(p.name for p in data.iterdir() if p.name in PART_FILES)
    async with PgDatabase(postgres_url) as database, PostgresHistoryStore(database) as history:
        recorded = await history.records(Trip, Query(home=HOME))
        parts = await database.fetch("reading the parts", lambda row: row[0], PARTS)

    print(
        f"hub on postgresql, stopped and started: {len(again)} trip(s) served, {len(resumed)} timer(s) kept,"
        f" {len(left)} part file(s) in its data directory"
    )
    assert first == again == [seeded.id]
    assert saved == resumed == [("purifier_at_night/triggers[0]/at", "schedule")]
    assert seeded.id in [t.id for t in recorded]
    assert left == []
    assert {"history", "ocpp", "timers"} <= set(parts)  # each part made its tables there
