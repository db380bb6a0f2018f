"""One contract for every history store: SQLite (beside the hub's database), PostgreSQL (in
the hub's database) and memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from carhome.errors import StoreError
from carhome.history import (
    ChargeSession,
    HistoryStore,
    MemoryHistoryStore,
    OpenState,
    Parked,
    PostgresHistoryStore,
    Query,
    Snapshot,
    SqliteHistoryStore,
    Trip,
)
from carhome.history.records import OpenTrip, record_id
from carhome.pgdatabase import PgDatabase
from pgcluster import check_newer_tables_refused, store_of_each_kind
from records_rig import a_trip


def spell(start: float, end: float) -> Parked:
    return Parked(
        id=f"parked-{start}", home="h1", car="car", start=start, end=end, place="home", lost_kwh=0.1
    )


store = store_of_each_kind(
    memory=MemoryHistoryStore,
    sqlite=lambda tmp_path: SqliteHistoryStore.beside(tmp_path / "carhome.db"),
    postgres=PostgresHistoryStore,
)


async def test_records_by_kind_car_and_overlapping_range(store: HistoryStore) -> None:
    await store.commit(
        [
            a_trip("h1", "car", 100, 200),
            a_trip("h1", "car", 300, 400),
            a_trip("h1", "van", 150, 250),
            spell(200, 300),
        ],
        [],
    )
    assert [t.start for t in await store.records(Trip, Query())] == [100, 150, 300]
    assert [t.start for t in await store.records(Trip, Query(car="car"))] == [100, 300]
    assert [t.start for t in await store.records(Trip, Query(since=200, until=300))] == [100, 150]
    assert [t.start for t in await store.records(Trip, Query(limit=2))] == [150, 300]
    assert await store.records(ChargeSession, Query()) == []
    assert await store.records(Parked, Query(since=250)) == [spell(200, 300)]
    assert await store.records(Trip, Query(home="h2")) == []


async def test_saving_the_same_record_again_replaces_it(store: HistoryStore) -> None:
    await store.commit([a_trip("h1", "car", 100, 200, km=5.0)], [])
    await store.commit([a_trip("h1", "car", 100, 200, km=6.0)], [])
    [kept] = await store.records(Trip, Query())
    assert kept.distance_km == 6.0


async def test_open_states_are_kept_per_car_and_copied(store: HistoryStore) -> None:
    state = OpenState(home="h1", car="car", trip=OpenTrip(start=Snapshot(ts=5.0, odometer_km=100.0)))
    await store.commit([], [state])
    state.trip = None  # the caller's copy changes; the kept one must not
    [kept] = await store.open_states()
    assert kept.trip is not None
    assert kept.trip.start.odometer_km == 100.0
    await store.commit([], [OpenState(home="h1", car="car")])
    [kept] = await store.open_states()
    assert kept.trip is None


async def test_sqlite_history_survives_reopening_and_lives_beside_the_database(tmp_path: Path) -> None:
    store = SqliteHistoryStore.beside(tmp_path / "hub.db")
    assert Path(store.path) == tmp_path / "hub.history.db"
    await store.open()
    await store.commit([a_trip("h1", "car", 100, 200)], [OpenState(home="h1", car="car")])
    await store.close()
    again = SqliteHistoryStore(tmp_path / "hub.history.db")
    await again.open()
    assert len(await again.records(Trip, Query())) == 1
    assert len(await again.open_states()) == 1
    await again.close()


async def test_sqlite_errors_say_what_to_do(tmp_path: Path) -> None:
    store = SqliteHistoryStore(tmp_path / "missing-dir" / "h.db")
    with pytest.raises(
        StoreError, match=r"h\.db: opening the database failed .*check that its directory exists"
    ):
        await store.open()
    closed = SqliteHistoryStore(tmp_path / "h.db")
    with pytest.raises(StoreError, match="not open"):
        await closed.records(Trip, Query())


async def test_a_batch_naming_one_record_or_car_twice_keeps_the_last(store: HistoryStore) -> None:
    await store.commit(
        [a_trip("h1", "car", 100, 200, km=5.0), a_trip("h1", "car", 100, 200, km=7.0)],
        [
            OpenState(home="h1", car="car", trip=OpenTrip(start=Snapshot(ts=5.0))),
            OpenState(home="h1", car="car"),
        ],
    )
    [kept] = await store.records(Trip, Query())
    [state] = await store.open_states()
    assert (kept.distance_km, state.trip) == (7.0, None)


async def test_homes_keep_their_own_cars_and_records(store: HistoryStore) -> None:
    await store.commit(
        [a_trip("h1", "car", 100, 200), a_trip("h2", "car", 150, 250, km=9.0)],
        [
            OpenState(home="h1", car="car"),
            OpenState(home="h2", car="car", trip=OpenTrip(start=Snapshot(ts=1.0))),
        ],
    )
    assert [t.distance_km for t in await store.records(Trip, Query(home="h2", car="car"))] == [9.0]
    assert [t.home for t in await store.records(Trip, Query(car="car"))] == ["h1", "h2"]
    states = sorted(await store.open_states(), key=lambda s: s.home)
    assert [(s.home, s.trip is not None) for s in states] == [("h1", False), ("h2", True)]


@pytest.mark.postgres
async def test_postgres_history_survives_a_restart(postgres_url: str) -> None:
    """Closed with its pool, and opened again on the same schema: everything still there."""
    async with PgDatabase(postgres_url) as database, PostgresHistoryStore(database) as store:
        await store.commit(
            [a_trip("h1", "car", 100, 200), spell(200, 300)],
            [OpenState(home="h1", car="car", trip=OpenTrip(start=Snapshot(ts=300.0, odometer_km=105.0)))],
        )
    async with PgDatabase(postgres_url) as database, PostgresHistoryStore(database) as again:
        assert [t.id for t in await again.records(Trip, Query())] == [record_id("trip", "h1", "car", 100)]
        assert await again.records(Parked, Query()) == [spell(200, 300)]
        [state] = await again.open_states()
        assert state.trip is not None
        assert state.trip.start.odometer_km == 105.0


@pytest.mark.postgres
async def test_postgres_history_from_a_newer_carhome_is_refused(postgres_url: str) -> None:
    await check_newer_tables_refused(postgres_url, PostgresHistoryStore, "history", "history")
