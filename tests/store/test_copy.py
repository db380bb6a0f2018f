"""``carhome store copy`` and ``carhome store migrate``: the hub's store moved from SQLite to
PostgreSQL and back with every row, a hub started on the copy, and migrations run alone.

The commands run as the ``carhome`` command does (click, in a thread of their own so they
run their own event loop), on a SQLite file and on schemas of the session's throwaway
PostgreSQL cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import pty
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from carhome.cli import exits
from carhome.compose.demo import DEMO_HOME, demo_config
from carhome.errors import StoreError
from carhome.hub import Command, CommandStatus, Hub, StateRow
from carhome.store import PostgresStore, SqliteStore, open_store
from carhome.store.copy import counted_keys, held_as_copied
from carhome.store.pgschema import SCHEMA_VERSION
from carhome.testing import FakeClock

from .copy_rig import carhome

T0 = 1_767_225_600.0
STATUSES = list(CommandStatus)


def _states(devices: list[tuple[str, str]]) -> list[StateRow]:
    """A few properties per device, of every JSON shape a state takes."""
    values: list[object] = [72.5, "on", True, None, {"lat": 39.79, "lon": 116.5}, [1, 2, 3], 0]
    shapes = itertools.cycle(values)
    return [
        StateRow(home, device, f"p{k}", next(shapes), T0 + k * 0.25, "mqtt")
        for home, device in devices
        for k in range(3)
    ]


def _commands(devices: list[tuple[str, str]], n: int) -> list[Command]:
    """``n`` commands of the demo's devices in every status, several in one clock tick."""
    made = []
    for i in range(n):
        home, device = devices[i % len(devices)]
        status = STATUSES[i % len(STATUSES)]
        created = T0 + i // 3  # three per tick: their order is kept by the outbox, not the time
        made.append(
            Command(
                id=f"cmd-{i:04d}",
                home=home,
                device=device,
                kind="action",
                target="turn_on",
                args={"n": i},
                member="owner",
                face="api",
                created=created,
                expires=created + 3600 * 24,
                status=status,
                sent_at=None if status is CommandStatus.QUEUED else created + 0.1,
                done_at=created + 0.5 if status.final else None,
                result={"ok": True} if status is CommandStatus.ACKED else None,
                error="device refused" if status is CommandStatus.FAILED else None,
            )
        )
    return made


async def _fill_demo_like(db: Path, commands: int = 1200) -> str:
    """A SQLite store at ``db`` holding what a demo hub's store holds after a while: its
    home, devices, states and commands. Returns the store's URL."""
    config = demo_config(speed=1, data_dir=Path("unused"), api_port=0, mqtt_port=1, mqtt_url=None)
    async with SqliteStore(db) as store:
        for home in config.home_records():
            await store.save_home(home)
        devices = config.device_records()
        await store.save_devices(devices)
        keys = [(d.home, d.id) for d in devices]
        await store.save_states(_states(keys))
        for command in _commands(keys, commands):
            await store.outbox_put(command)
    return f"sqlite:///{db}"


async def _rows(url: str) -> dict[str, list[object]]:
    """Every row of the hub's store at ``url``, in a stable order."""
    async with open_store(url) as store:
        return {
            "homes": list(await store.homes()),
            "devices": list(await store.devices()),
            "states": sorted(await store.states(), key=lambda r: (r.home, r.device, r.prop)),
            "commands": list(await store.commands(limit=10**6)),
            "outbox": list(await store.outbox_pending()),
        }


@pytest.mark.postgres
async def test_copy_from_sqlite_to_postgresql_and_back_keeps_every_row(
    tmp_path: Path, postgres_url: str
) -> None:
    source = await _fill_demo_like(tmp_path / "carhome.db")
    there = await carhome("store", "copy", "--from", source, "--to", postgres_url)
    assert there.exit_code == 0, there.output
    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    back = await carhome("store", "copy", "--from", postgres_url, "--to", back_url)
    assert back.exit_code == 0, back.output

    original, on_postgres, returned = await _rows(source), await _rows(postgres_url), await _rows(back_url)
    counts = {table: len(rows) for table, rows in original.items()}
    differ = sum(
        a != b
        for copy in (on_postgres, returned)
        for table in original
        for a, b in itertools.zip_longest(original[table], copy[table])
    )
    print(f"copied sqlite → postgresql → sqlite: {counts}, rows that differ: {differ}")
    assert counts["commands"] == 1200
    assert {c.status for c in original["commands"]} == set(CommandStatus)  # type: ignore[attr-defined]
    assert counts["outbox"] == 480  # queued and sent: 2 of every 5
    assert on_postgres == original
    assert returned == original
    # a progress line per table, and the counts compared and printed at the end
    for table, n in (("homes", 1), ("devices", counts["devices"]), ("states", counts["states"])):
        assert f"{table}: {n} copied" in there.output
        assert f"  {table}: {n} in the source, {n} in the target" in there.output
    assert "  commands: 1200 in the source, 1200 in the target (480 in the outbox)" in there.output


@pytest.mark.postgres
async def test_a_hub_on_the_copied_postgresql_store_sees_the_same_states_and_pending_commands(
    tmp_path: Path, postgres_url: str
) -> None:
    source = await _fill_demo_like(tmp_path / "carhome.db", commands=50)
    done = await carhome("store", "copy", "--from", source, "--to", postgres_url)
    assert done.exit_code == 0, done.output

    seen = {}
    for store in (SqliteStore(tmp_path / "carhome.db"), PostgresStore(postgres_url)):
        async with Hub(store=store, clock=FakeClock(T0 + 60)) as hub:
            seen[type(store).__name__] = (
                {(d.home, d.id): hub.state(d.home, d.id) for d in hub.devices()},
                [c.id for c in hub.commands.pending()],
            )
    states, pending = seen["PostgresStore"]
    print(f"hub on the copied store: {len(states)} devices, {len(pending)} pending commands, as on SQLite")
    assert seen["PostgresStore"] == seen["SqliteStore"]
    assert len(pending) == 20
    assert sum(len(props) for props in states.values()) == 3 * len(states)
    assert (DEMO_HOME.id, "car") in states


@pytest.mark.postgres
async def test_copy_refuses_a_target_that_is_not_empty_unless_forced(
    tmp_path: Path, postgres_url: str
) -> None:
    source = await _fill_demo_like(tmp_path / "carhome.db", commands=10)
    async with PostgresStore(postgres_url) as target:
        await target.outbox_put(_commands([("elsewhere", "car")], 11)[10])  # an id the source lacks

    refused = await carhome("store", "copy", "--from", source, "--to", postgres_url)
    assert refused.exit_code == exits.HUB, refused.output
    assert "is not empty (1 commands); copy into an empty database, or give --force" in refused.output
    assert len((await _rows(postgres_url))["commands"]) == 1  # nothing written

    forced = await carhome("store", "copy", "--from", source, "--to", postgres_url, "--force")
    assert forced.exit_code == 0, forced.output
    assert "  commands: 10 in the source, 11 in the target" in forced.output
    assert (await _rows(postgres_url))["homes"] == (await _rows(source))["homes"]


async def test_copy_from_a_sqlite_file_that_is_not_there_says_so(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'nope.db'}"
    result = await carhome("store", "copy", "--from", missing, "--to", f"sqlite:///{tmp_path / 'to.db'}")
    assert result.exit_code == exits.HUB
    assert "nope.db: no such file" in result.output
    assert not (tmp_path / "nope.db").exists()


@pytest.mark.postgres
async def test_migrate_on_an_empty_database_prints_the_schema_version(postgres_url: str) -> None:
    result = await carhome("store", "migrate", "--store", postgres_url)
    assert result.exit_code == exits.OK, result.output
    print(f"carhome store migrate: {result.output.strip()}")
    assert result.output.strip().endswith(f": schema version {SCHEMA_VERSION}")
    conn = await asyncpg.connect(postgres_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM commands") == 0  # the tables are there
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_migrate_refuses_a_database_of_a_newer_carhome(postgres_url: str) -> None:
    async with PostgresStore(postgres_url):
        pass
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", SCHEMA_VERSION + 1)
    finally:
        await conn.close()
    result = await carhome("store", "migrate", "--store", postgres_url)
    print(f"migrate on a newer schema: exit {result.exit_code}")
    assert result.exit_code == exits.HUB
    assert (
        f"written by a newer carhome (schema {SCHEMA_VERSION + 1}; this one knows {SCHEMA_VERSION});"
        " upgrade carhome" in result.output
    )


async def test_migrate_on_a_sqlite_file_prints_its_version(tmp_path: Path) -> None:
    result = await carhome("store", "migrate", "--store", f"sqlite:///{tmp_path / 'hub.db'}")
    assert result.exit_code == exits.OK, result.output
    assert result.output == f"sqlite:///{tmp_path / 'hub.db'}: schema version 1\n"


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """``carhome`` run with a pseudo-terminal as its stdin, stdout and stderr; its exit
    status and everything it wrote there."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", "from carhome.cli.main import main; main()", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    written = bytearray()
    with contextlib.suppress(OSError):  # EIO: the terminal's last writer has gone
        while chunk := os.read(leader, 65536):
            written += chunk
    os.close(leader)
    return process.wait(timeout=60), written.decode(errors="replace")


async def test_copy_on_a_terminal_shows_a_progress_bar_per_table(tmp_path: Path) -> None:
    source, target = await _fill_demo_like(tmp_path / "from.db", commands=1200), tmp_path / "to.db"
    status, shown = await asyncio.to_thread(
        _on_a_terminal, "store", "copy", "--from", source, "--to", f"sqlite:///{target}"
    )
    assert status == exits.OK, shown
    # a bar drawn and redrawn in place (carriage returns) as the batches of 500 land
    bar = shown[shown.index("commands") :].split("\n", 1)[0]
    print(f"the commands' bar, as drawn: {bar!r}")
    assert "500/1200" in bar
    assert "1200/1200" in bar
    assert "#" in bar
    assert "commands: 1200 copied" in shown


def test_a_target_missing_a_copied_row_is_an_error_naming_the_table() -> None:
    copied = {"trips": {"t1", "t2"}, "timers": {"a/1"}}
    was = {"trips": {"t0"}, "timers": set()}
    after = {"trips": {"t0", "t1"}, "timers": {"a/1"}}  # t2 did not land
    counted = counted_keys(["trips", "timers"], copied, was, after)
    assert [(c.table, c.source, c.expected, c.target) for c in counted] == [
        ("trips", 2, 3, 2),
        ("timers", 1, 1, 1),
    ]
    with pytest.raises(StoreError, match=r"^db does not hold what was copied: trips: 2 rows, expected 3;"):
        held_as_copied(counted, "db")
    assert held_as_copied(counted[1:], "db") == counted[1:]
