"""What only the SQLite store promises: the file, its lock, its schema and its errors."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import msgspec
import pytest

from carhome.errors import DuplicateCommand, StoreError
from carhome.hub import Command, Device, Home, StateRow, Store
from carhome.store import SqliteStore
from carhome.store.schema import SCHEMA_VERSION
from carhome.testing import settle

from .command_rig import T0, command


def test_sqlite_store_implements_the_store_protocol(tmp_path: Path) -> None:
    store: Store = SqliteStore(tmp_path / "hub.db")  # checked by mypy as well
    assert isinstance(store, SqliteStore)


async def test_everything_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    home = Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.506)
    car = Device(home="h1", id="car", type="car")
    row = StateRow("h1", "car", "Vehicle.Speed", 42.0, T0, "mqtt")
    async with SqliteStore(path) as store:
        await store.save_home(home)
        await store.save_device(car)
        await store.save_states([row])
        await store.outbox_put(command(1))
    async with SqliteStore(str(path)) as store:
        assert await store.homes() == [home]
        assert await store.devices() == [car]
        assert await store.states() == [row]
        assert await store.outbox_pending() == [command(1)]


async def test_the_file_is_in_wal_mode_at_the_current_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    async with SqliteStore(path):
        pass
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert tables == {"homes", "devices", "states", "commands"}


async def test_opening_again_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    for _ in range(3):
        async with SqliteStore(path) as store:
            await store.save_home(Home(id="h1", name="Home", lat=0.0, lon=0.0))
    async with SqliteStore(path) as store:
        assert len(await store.homes()) == 1


async def test_removing_a_device_forgets_its_states(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "hub.db") as store:
        await store.save_device(Device(home="h1", id="car", type="car"))
        await store.save_states(
            [StateRow("h1", "car", "Vehicle.Speed", 1.0, T0, ""), StateRow("h1", "lamp", "on", True, T0, "")]
        )
        await store.remove_device("h1", "car")
        assert [r.device for r in await store.states()] == ["lamp"]


async def test_a_memory_database_works_for_throwaway_hubs() -> None:
    async with SqliteStore(":memory:") as store:
        await store.outbox_put(command(1))
        assert [c.id for c in await store.outbox_pending()] == ["c1"]


# -- errors that say what to do --------------------------------------------------------------


async def test_a_second_hub_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    async with SqliteStore(path) as first:
        with pytest.raises(StoreError, match="locked by another carhome hub"):
            await SqliteStore(path, lock_timeout=0.01).open()
        # the refused one did not disturb the owner
        await first.outbox_put(command(1))
    async with SqliteStore(path, lock_timeout=0.01) as second:
        assert len(await second.outbox_pending()) == 1


async def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory exists"):
        await SqliteStore(tmp_path / "no" / "such" / "hub.db").open()


async def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    path.write_bytes(b"this is a text file, not a database\n" * 200)
    with pytest.raises(StoreError, match="not a SQLite database"):
        await SqliteStore(path).open()


async def test_a_database_from_a_newer_carhome_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="upgrade carhome"):
        await SqliteStore(path).open()


async def test_a_store_that_is_not_open_says_so(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    with pytest.raises(StoreError, match="not open"):
        await store.outbox_put(command(1))
    await store.open()
    await store.close()
    with pytest.raises(StoreError, match="not open"):
        await store.homes()


async def test_an_unreadable_record_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    async with SqliteStore(path) as store:
        await store.save_home(Home(id="h1", name="Home", lat=0.0, lon=0.0))
    with sqlite3.connect(path) as conn:
        conn.execute('UPDATE homes SET data = \'{"id": "h1", "colour": 1}\'')
    conn.close()
    async with SqliteStore(path) as store:
        with pytest.raises(StoreError, match="cannot be read"):
            await store.homes()


async def test_an_open_cancelled_midway_does_not_keep_the_file_locked(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    opening = asyncio.create_task(SqliteStore(path).open())
    await settle()  # it handed the connect to its thread
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    # the busy timeout (not a sleep) covers the moment until the abandoned connection closes
    async with SqliteStore(path, lock_timeout=5.0) as store:
        assert await store.homes() == []


async def test_a_taken_id_stays_taken_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    async with SqliteStore(path) as store:
        await store.outbox_put(command(1))
    async with SqliteStore(path) as store:
        with pytest.raises(DuplicateCommand):
            await store.outbox_put(Command(**{**msgspec.structs.asdict(command(2)), "id": "c1"}))
        assert await store.outbox_get("c1") == command(1)


async def test_puts_committed_together_refuse_only_the_taken_id(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "hub.db") as store:
        await store.outbox_put(command(1))
        # one group commit: the taken id fails alone, the others are kept
        results = await asyncio.gather(
            store.outbox_put(command(2)),
            store.outbox_put(command(1)),
            store.outbox_put(command(3)),
            store.outbox_put(command(3)),
            return_exceptions=True,
        )
        refused = [isinstance(r, DuplicateCommand) for r in results]
        assert refused == [False, True, False, True]
        assert [r for r in results if not isinstance(r, DuplicateCommand)] == [None, None]
        assert [c.id for c in await store.outbox_pending()] == ["c1", "c2", "c3"]
