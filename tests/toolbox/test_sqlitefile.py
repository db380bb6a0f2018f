"""``carhome.sqlitefile``: every SQLite file on one thread, migrated by version, errors
translated, durable and private; and every SQLite file of carhome kept by it."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Final

import pytest

from carhome.access.audit import AuditLog, SqliteAuditStore
from carhome.access.database import MIGRATIONS as ACCESS_MIGRATIONS
from carhome.access.database import access_file
from carhome.access.members import Member, Members, SqliteMemberStore
from carhome.access.sessions import SqliteSessionStore
from carhome.automations.sqlite_timers import SqliteTimerStore
from carhome.connectors.ocpp.sqlite import SqliteTransactionStore
from carhome.errors import StoreError
from carhome.history.sqlite import SqliteHistoryStore
from carhome.hub.commands import Decision
from carhome.mqtt.executed import ExecutedLog
from carhome.sqlitefile import Migrations, SqliteFile, beside
from carhome.store import SqliteStore
from carhome.testing import FakeClock
from carhome.wire.members import Role

WAIT: Final = 5.0
V1: Final[Migrations] = (("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",),)
V2: Final[Migrations] = (*V1, ("ALTER TABLE notes ADD COLUMN seen INTEGER NOT NULL DEFAULT 0",))


def notes(path: Path, migrations: Migrations = V1) -> SqliteFile:
    return SqliteFile(path, what="notes", migrations=migrations, thread="notes")


def pragma(path: Path, name: str) -> Any:
    with sqlite3.connect(path) as conn:
        value = conn.execute(f"PRAGMA {name}").fetchone()[0]
    conn.close()
    return value


def modes(directory: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()}


async def test_the_schema_moves_by_version_once_and_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    async with notes(path) as file:
        await file.write("adding", lambda conn: conn.execute("INSERT INTO notes (text) VALUES ('kept')"))
    assert pragma(path, "user_version") == 1
    for _ in range(2):  # the second open finds nothing to do
        async with notes(path, V2) as file:
            rows = await file.read(
                "reading", lambda conn: conn.execute("SELECT text, seen FROM notes").fetchall()
            )
        assert rows == [("kept", 0)]
        assert pragma(path, "user_version") == 2


async def test_a_file_from_a_newer_carhome_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    async with notes(path, V2):
        pass
    with pytest.raises(StoreError) as refused:
        await notes(path, V1).open()
    message = str(refused.value)
    assert message.startswith(
        f"{path}: the notes was written by a newer carhome (schema 2; this one knows 1)"
    )
    assert "upgrade carhome" in message
    assert pragma(path, "user_version") == 2  # untouched


async def test_a_failed_step_leaves_the_file_at_the_version_before(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    async with notes(path):
        pass
    broken: Migrations = (*V1, ("ALTER TABLE notes ADD COLUMN x", "CREATE TABLE notes (again)"))
    with pytest.raises(StoreError, match="opening the database failed"):
        await notes(path, broken).open()
    assert pragma(path, "user_version") == 1
    async with notes(path, V2) as file:  # and the right step still applies
        assert (
            await file.read("reading", lambda conn: conn.execute("SELECT seen FROM notes").fetchall()) == []
        )


async def test_sqlite_errors_become_store_errors_that_name_the_file_and_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    async with notes(path) as file:
        with pytest.raises(StoreError) as failed:
            await file.write(
                "adding a note", lambda conn: conn.execute("INSERT INTO notes (text) VALUES (NULL)")
            )
        assert str(failed.value).startswith(f"{path}: adding a note failed (NOT NULL constraint failed")
        assert isinstance(failed.value.__cause__, sqlite3.IntegrityError)

        def half(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO notes (text) VALUES ('first')")
            conn.execute("INSERT INTO notes (text) VALUES (NULL)")

        with pytest.raises(StoreError):
            await file.write("adding two", half)
        assert await file.read(
            "counting", lambda conn: conn.execute("SELECT count(*) FROM notes").fetchone()
        ) == (0,)  # the whole transaction or nothing
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all\n" * 100)
    with pytest.raises(StoreError, match=r"junk\.db: opening the database failed .*not a SQLite database"):
        await notes(junk).open()
    with pytest.raises(StoreError, match="check that its directory exists"):
        await notes(tmp_path / "no" / "such" / "notes.db").open()
    with pytest.raises(StoreError, match=r"the notes is not open; use `async with`"):
        await notes(path).read("reading", lambda conn: None)


async def test_work_runs_on_the_files_own_thread_in_the_order_it_was_asked(tmp_path: Path) -> None:
    threads: list[str] = []
    order: list[int] = []

    def record(n: int) -> Callable[[sqlite3.Connection], None]:
        def work(conn: sqlite3.Connection) -> None:
            threads.append(threading.current_thread().name)
            order.append(n)

        return work

    async with notes(tmp_path / "notes.db") as file:
        await asyncio.gather(*(file.write(f"write {n}", record(n)) for n in range(20)))
    assert order == list(range(20))
    assert {name.rpartition("_")[0] for name in threads} == {"carhome-notes"}
    assert threading.main_thread().name not in threads


async def test_a_file_is_its_owners_alone_durable_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    async with notes(path) as file:
        await file.write("adding", lambda conn: conn.execute("INSERT INTO notes (text) VALUES ('x')"))
        synchronous = await file.read("asking", lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])
        made = modes(tmp_path)
    assert synchronous == 2  # FULL
    assert pragma(path, "journal_mode") == "wal"
    assert made == {"notes.db": 0o600, "notes.db-wal": 0o600, "notes.db-shm": 0o600}


async def test_a_read_only_file_is_read_without_a_change(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    async with notes(path) as file:
        await file.write("adding", lambda conn: conn.execute("INSERT INTO notes (text) VALUES ('x')"))
        reader = SqliteFile(path, what="notes", migrations=V2, readonly=True)
        async with reader:  # while the writer has it open, and a step behind what the reader knows
            rows = await reader.read(
                "reading", lambda conn: conn.execute("SELECT text FROM notes").fetchall()
            )
            with pytest.raises(StoreError, match="readonly"):
                await reader.write("changing", lambda conn: conn.execute("DELETE FROM notes"))
    assert rows == [("x",)]
    assert pragma(path, "user_version") == 1


def _stores(directory: Path) -> dict[str, tuple[Any, str]]:
    db = directory / "carhome.db"
    return {
        "hub store": (SqliteStore(db), "carhome.db"),
        "history": (SqliteHistoryStore.beside(db), "carhome.history.db"),
        "timers": (SqliteTimerStore.beside(db), "carhome.timers.db"),
        "ocpp": (SqliteTransactionStore.beside(db), "carhome.ocpp.db"),
        "executed": (ExecutedLog(directory / "devices" / "car"), "devices/car/executed.db"),
        "access": (access_file(directory / "access.db"), "access.db"),
    }


@pytest.mark.parametrize("name", list(_stores(Path())))
async def test_every_sqlite_file_is_kept_the_same_way(tmp_path: Path, name: str) -> None:
    store, file = _stores(tmp_path)[name]
    path = tmp_path / file
    await store.open()
    try:
        assert store.path == str(path)
        assert modes(path.parent)[path.name] == 0o600
    finally:
        await store.close()
    mode, version = pragma(path, "journal_mode"), pragma(path, "user_version")
    assert (mode, version > 0) == ("wal", True)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {version + 1}")
    conn.close()
    with pytest.raises(StoreError, match=f"^{path}: .*newer carhome"):
        await _stores(tmp_path)[name][0].open()


def test_beside_names_a_parts_file_after_the_database() -> None:
    assert beside(Path("/data/carhome.db"), "history") == Path("/data/carhome.history.db")
    assert beside(Path("hub"), "timers") == Path("hub.timers.db")


# -- the members: written on the access database's thread, the caller awaiting -------------


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SqliteFile]:
    async with access_file(tmp_path / "access.db") as file:
        yield file


async def test_a_member_change_waits_for_the_disk_off_the_event_loop(database: SqliteFile) -> None:
    members = await Members.load(SqliteMemberStore(database))
    held, release = asyncio.Event(), threading.Event()
    loop = asyncio.get_running_loop()

    def hold(conn: sqlite3.Connection) -> None:
        loop.call_soon_threadsafe(held.set)
        release.wait(WAIT)

    holding = asyncio.create_task(database.read("holding the disk", hold))
    await asyncio.wait_for(held.wait(), WAIT)
    adding = asyncio.create_task(members.add(Member(id="olga", home="h1", name="Olga", role=Role.OWNER)))
    await asyncio.sleep(0)  # the task made its first step (it was scheduled first): it waits for the disk
    assert not adding.done()  # and the loop goes on meanwhile: this line runs
    assert members.get("olga") is not None  # in memory at once, for the next decision
    release.set()
    await asyncio.wait_for(asyncio.gather(holding, adding), WAIT)
    again = await Members.load(SqliteMemberStore(database))
    assert again.require("olga").role is Role.OWNER


class _FullDisk:
    """A member store whose disk is full."""

    async def load(self) -> list[Member]:
        return []

    async def save(self, member: Member) -> None:
        raise StoreError("access.db: saving a member failed (database or disk is full): the disk is full")


async def test_a_change_that_cannot_be_written_is_undone() -> None:
    members = Members(_FullDisk(), [Member(id="fred", home="h1", name="Fred", role=Role.FAMILY)])
    heard: list[str] = []
    members.on_revoke(lambda m: heard.append(m.id))
    with pytest.raises(StoreError, match="disk is full"):
        await members.revoke("fred")
    with pytest.raises(StoreError, match="disk is full"):
        await members.add(Member(id="gina", home="h1", name="Gina", role=Role.GUEST))
    assert not members.require("fred").revoked
    assert members.get("gina") is None
    assert heard == []  # a revocation not on disk is not announced


async def test_an_access_database_of_an_older_carhome_opens_with_its_members_and_chain(
    tmp_path: Path,
) -> None:
    path = tmp_path / "access.db"
    # The tables as carhome wrote them before the file had a schema version.
    with sqlite3.connect(path) as raw:
        raw.execute(
            "CREATE TABLE access_members (id TEXT PRIMARY KEY, home TEXT NOT NULL, data BLOB NOT NULL)"
        )
        raw.execute(
            "CREATE TABLE access_audit (seq INTEGER NOT NULL, time REAL NOT NULL, home TEXT NOT NULL,"
            " member TEXT NOT NULL, face TEXT NOT NULL, command TEXT NOT NULL, device TEXT NOT NULL,"
            " target TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT NOT NULL, prev TEXT NOT NULL,"
            " hash TEXT NOT NULL)"
        )
        raw.execute(
            "INSERT INTO access_members VALUES ('olga', 'h1',"
            ' \'{"id":"olga","home":"h1","name":"Olga","role":"owner"}\')'
        )
    raw.close()
    async with access_file(path) as file:
        members = await Members.load(SqliteMemberStore(file))
        log = AuditLog(SqliteAuditStore(file), FakeClock())
        await log.record(
            home="h1",
            member="olga",
            face="cli",
            command="-",
            device="-",
            target="t",
            decision=Decision(True, "ok"),
        )
        assert (await log.verify()).ok
        assert await SqliteSessionStore(file).load(0.0) == []  # the later steps' tables are there
    assert members.require("olga").role is Role.OWNER
    assert (pragma(path, "user_version"), pragma(path, "journal_mode")) == (len(ACCESS_MIGRATIONS), "wal")
