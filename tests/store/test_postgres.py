"""What only the PostgreSQL store promises: its tables, its migrations, its group commit and
its errors (the ``Store`` contract itself runs on it in test_contract.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import msgspec
import pytest

from carhome.errors import ConfigError, DuplicateCommand, StoreError
from carhome.hub import CommandStatus, Store
from carhome.store import PostgresStore, SqliteStore, open_store
from carhome.store.pgschema import SCHEMA_VERSION
from carhome.testing.postgres import free_port

from .command_rig import T0, command


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def test_postgres_store_implements_the_store_protocol() -> None:
    store: Store = PostgresStore("postgresql://127.0.0.1/carhome")  # checked by mypy as well
    assert isinstance(store, PostgresStore)


@pytest.mark.postgres
async def test_every_table_carries_the_home_id_first_in_its_primary_key(postgres_url: str) -> None:
    async with PostgresStore(postgres_url):
        pass
    keys = await _fetch(
        postgres_url,
        "SELECT c.relname AS table, a.attname AS first"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]"
        " WHERE i.indisprimary AND c.relnamespace = current_schema()::regnamespace",
    )
    firsts = {r["table"]: r["first"] for r in keys}
    print(f"tables with the home id first in the primary key: {sum(f == 'home' for f in firsts.values())}")
    assert firsts.pop("schema_version") == "version"
    assert firsts == {"homes": "home", "devices": "home", "states": "home", "commands": "home"}


@pytest.mark.postgres
async def test_the_schema_is_migrated_once_even_by_stores_opening_together(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    await asyncio.gather(*(s.close() for s in stores))
    async with PostgresStore(postgres_url):
        pass
    versions = await _fetch(postgres_url, "SELECT version FROM schema_version ORDER BY version")
    assert [r["version"] for r in versions] == list(range(1, SCHEMA_VERSION + 1)) == [1, 2]


@pytest.mark.postgres
async def test_a_database_from_a_newer_carhome_is_refused(postgres_url: str) -> None:
    async with PostgresStore(postgres_url) as store:
        await store.outbox_put(command(1))
    conn = await asyncpg.connect(postgres_url)
    await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", SCHEMA_VERSION + 1)
    await conn.close()
    with pytest.raises(ConfigError, match=rf"newer carhome \(schema {SCHEMA_VERSION + 1};.*upgrade carhome"):
        await PostgresStore(postgres_url).open()
    # refused before anything was touched
    assert len(await _fetch(postgres_url, "SELECT id FROM commands")) == 1


@pytest.mark.postgres
async def test_concurrent_puts_share_one_commit_and_only_the_taken_id_is_refused(postgres_url: str) -> None:
    async with PostgresStore(postgres_url) as store:
        await store.outbox_put(command(0))
        # all made in one clock tick: the outbox keeps them in the order they were submitted
        results = await asyncio.gather(
            *(store.outbox_put(msgspec.structs.replace(command(n), created=T0)) for n in range(50, 0, -1)),
            store.outbox_put(command(0, home="h2")),
            return_exceptions=True,
        )
        assert results[:50] == [None] * 50
        assert isinstance(results[50], DuplicateCommand)
        pending = [c.id for c in await store.outbox_pending()]
        assert pending == ["c0"] + [f"c{n}" for n in range(50, 0, -1)]
        assert (await store.outbox_get("c0")) == command(0)
    # rows written by one transaction share its id (xmin)
    commits = await _fetch(postgres_url, "SELECT DISTINCT xmin::text FROM commands WHERE id <> 'c0'")
    print(f"postgres group commit: 50 concurrent puts in {len(commits)} transaction(s)")
    assert len(commits) < 5


@pytest.mark.postgres
async def test_puts_committed_together_refuse_only_the_taken_id(postgres_url: str) -> None:
    async with PostgresStore(postgres_url) as store:
        await store.outbox_put(command(1))
        results = await asyncio.gather(
            store.outbox_put(command(2)),
            store.outbox_put(command(1)),
            store.outbox_put(command(3)),
            store.outbox_put(command(3, home="h2")),
            store.outbox_update(msgspec.structs.replace(command(3), status=CommandStatus.SENT)),
            store.outbox_put(command(4)),
            return_exceptions=True,
        )
        refused = [isinstance(r, DuplicateCommand) for r in results]
        assert refused == [False, True, False, True, False, False]
        assert [c.id for c in await store.outbox_pending()] == ["c1", "c2", "c3", "c4"]
        # the first put of c3 is the one kept, and the update after it in the same commit applied
        assert await store.outbox_get("c3") == msgspec.structs.replace(command(3), status=CommandStatus.SENT)


@pytest.mark.postgres
async def test_an_unreadable_record_is_a_store_error(postgres_url: str) -> None:
    async with PostgresStore(postgres_url) as store:
        await store.outbox_put(command(1))
        conn = await asyncpg.connect(postgres_url)
        await conn.execute("""UPDATE commands SET data = '{"id": 1}'""")
        await conn.close()
        with pytest.raises(StoreError, match="cannot be read"):
            await store.outbox_pending()


async def test_a_store_that_is_not_open_says_so() -> None:
    store = PostgresStore("postgresql://carhome@127.0.0.1/carhome")
    with pytest.raises(StoreError, match="not open"):
        await store.outbox_put(command(1))
    with pytest.raises(StoreError, match="not open"):
        await store.homes()


async def test_an_unreachable_server_is_named_without_the_password() -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://alice:s3cret-word@127.0.0.1:{port}/carhome"
    with pytest.raises(StoreError) as refused:
        await PostgresStore(url, connect_timeout=5).open()
    message = str(refused.value)
    assert f"postgresql://alice@127.0.0.1:{port}/carhome: cannot connect" in message
    assert "check that PostgreSQL runs" in message
    assert "s3cret" not in message
    assert "s3cret" not in repr(refused.value.__cause__) + repr(refused.value.__context__)


# -- choosing a store by URL -------------------------------------------------------------------


def test_open_store_takes_sqlite_and_postgresql_urls(tmp_path: Path) -> None:
    relative = open_store("sqlite:///hub.db")
    absolute = open_store(f"sqlite:///{tmp_path}/hub.db")
    assert isinstance(relative, SqliteStore)
    assert relative.path == "hub.db"
    assert isinstance(absolute, SqliteStore)
    assert absolute.path == f"{tmp_path}/hub.db"
    assert isinstance(open_store("postgres://db.example/home"), PostgresStore)
    store = open_store("postgresql://carhome:pw@db.example:5433/home")
    assert isinstance(store, PostgresStore)
    assert store.url == "postgresql://carhome@db.example:5433/home"  # the password is never shown
    hidden = open_store("postgresql://db.example/home?user=carhome&password=pw&sslmode=require")
    assert isinstance(hidden, PostgresStore)
    assert hidden.url == "postgresql://db.example/home?user=carhome&sslmode=require"


@pytest.mark.parametrize(
    "url", ["mysql://root:hunter2@db/home", "hub.db", "sqlite://hub.db", "sqlite:///", "memory:"]
)
def test_open_store_refuses_any_other_url_saying_what_it_takes(url: str) -> None:
    with pytest.raises(ConfigError, match=r"sqlite:///path/to/hub\.db .* or postgresql://") as refused:
        open_store(url)
    assert "hunter2" not in str(refused.value)


@pytest.mark.postgres
async def test_open_store_opens_a_postgresql_database(postgres_url: str) -> None:
    async with open_store(postgres_url) as store:
        await store.outbox_put(command(1))
    async with PostgresStore(postgres_url) as store:
        assert [c.id for c in await store.outbox_pending()] == ["c1"]


@pytest.mark.postgres
async def test_a_partitions_homes_are_those_the_fleet_hash_gives_it_rows_from_before_the_column_too(
    postgres_url: str,
) -> None:
    from carhome.fleet.log import partition_of  # noqa: PLC0415 - the fleet's hash, the reference
    from carhome.hub.model import Home  # noqa: PLC0415
    from carhome.store.pgschema import MIGRATIONS, RECORD_VERSION, VERSION_TABLE  # noqa: PLC0415

    before = [f"h{n}" for n in range(40)] + ["Zürich-7", "家", "a.b", "x" * 60]
    after = [f"new{n}" for n in range(20)]
    conn = await asyncpg.connect(postgres_url)  # a database of schema 1, holding homes
    await conn.execute(VERSION_TABLE)
    for statement in MIGRATIONS[0]:
        await conn.execute(statement)
    await conn.execute(RECORD_VERSION, 1)
    for home in before:
        await conn.execute("INSERT INTO homes (home, data) VALUES ($1, '{}')", home)
    await conn.close()
    async with PostgresStore(postgres_url) as store:  # migrated as it opens
        for home in after:
            await store.save_home(Home(id=home, name=home, lat=52.0, lon=13.0))
        everyone = before + after
        for partitions in (1, 7, 64):
            found = {p: await store.home_ids_of_partition(p, partitions) for p in range(partitions)}
            assert found == {
                p: sorted(h for h in everyone if partition_of(h, partitions) == p) for p in range(partitions)
            }
    placed = sum(map(len, found.values()))
    print(f"homes in the partition the fleet's hash gives: {placed} of {len(everyone)}")
