"""One contract for every timer store: memory, SQLite (beside the hub's database) and
PostgreSQL (in the hub's database)."""

from __future__ import annotations

import pytest

from carhome.automations import MemoryTimerStore, PostgresTimerStore, SavedTimer, SqliteTimerStore, TimerStore
from carhome.pgdatabase import PgDatabase
from pgcluster import check_newer_tables_refused, store_of_each_kind


def timer(key: str, due: float, **data: object) -> SavedTimer:
    return SavedTimer(key=key, automation=key.partition("/")[0], kind="delay", due=due, data=dict(data))


store = store_of_each_kind(
    memory=MemoryTimerStore,
    sqlite=lambda tmp_path: SqliteTimerStore.beside(tmp_path / "hub.db"),
    postgres=PostgresTimerStore,
)


async def test_timers_come_back_soonest_first_with_their_data(store: TimerStore) -> None:
    await store.save(timer("later/run/2", 300.0, step=[0, 1], who="Ana"))
    await store.save(timer("held/triggers.0/for", 100.0))
    await store.save(timer("later/run/1", 200.0, note="ünïcode \u0000 kept"))
    loaded = await store.load()
    assert [(t.key, t.due) for t in loaded] == [
        ("held/triggers.0/for", 100.0),
        ("later/run/1", 200.0),
        ("later/run/2", 300.0),
    ]
    assert loaded[1].data == {"note": "ünïcode \u0000 kept"}
    assert loaded[2] == timer("later/run/2", 300.0, step=[0, 1], who="Ana")


async def test_a_timer_saved_again_is_replaced_and_a_deleted_one_is_gone(store: TimerStore) -> None:
    await store.save(timer("a/run/1", 100.0))
    await store.save(timer("a/run/1", 500.0, left=1))
    await store.save(timer("b/run/1", 200.0))
    await store.delete("b/run/1")
    await store.delete("never/saved")
    assert await store.load() == [timer("a/run/1", 500.0, left=1)]


@pytest.mark.postgres
async def test_postgres_timers_survive_a_restart(postgres_url: str) -> None:
    """Closed with its pool, and opened again on the same schema: every timer still there."""
    async with PgDatabase(postgres_url) as database, PostgresTimerStore(database) as store:
        await store.save(timer("later/run/1", 200.0, step=[1]))
        await store.save(timer("held/triggers.0/for", 100.0))
    async with PgDatabase(postgres_url) as database, PostgresTimerStore(database) as again:
        assert await again.load() == [
            timer("held/triggers.0/for", 100.0),
            timer("later/run/1", 200.0, step=[1]),
        ]


@pytest.mark.postgres
async def test_postgres_timers_from_a_newer_carhome_are_refused(postgres_url: str) -> None:
    await check_newer_tables_refused(postgres_url, PostgresTimerStore, "timers", "automation timers")
