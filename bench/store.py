"""Benchmark of the hub's stores side by side: SQLite and PostgreSQL, measured in the same run.

Run:

    .venv/bin/python bench/store.py [--backend sqlite|postgresql|both] [--url postgresql://…]
                                    [--dir DIR] [--repeat 3]

and it prints one JSON line per backend (``"bench": "store_sqlite"`` / ``"store_postgresql"``):

- ``submit_per_s``: commands submitted through a ``Hub`` on the store by 50 concurrent
  senders (each ``submit`` returns once its command is durable in the outbox: what an API
  caller waits for; concurrent submits share commits);
- ``outbox_put_per_s``: ``outbox_put`` one after another (one commit each);
- ``outbox_put_concurrent_per_s``: 50 puts in flight at once (group commit);
- ``save_states_rows_per_s``: state rows upserted in batches of 5,000 (the write-behind's batch);
- ``audit_append_per_s``: access decisions recorded in the audit log of one home one after
  another (``AuditLog.record``: each entry hashed, linked and committed before it returns;
  SQLite: ``access.db``, one chain for the file; PostgreSQL: table ``access_audit``, the
  home's chain under its advisory lock);
- ``audit_append_concurrent_per_s``: 50 decisions of one home recorded at once (what 50
  requests deciding together wait for; one chain, so they link one after another).

Medians of the repeats. Without ``--url`` the PostgreSQL run starts a throwaway cluster of its
own (``initdb`` in a temporary directory, ``fsync`` on; ``carhome.testing.postgres``) and
stops it at the end; each repeat runs on a fresh schema (or, with ``--url``, a fresh schema
made in that database and dropped after).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from carhome.access.audit import AuditLog, AuditStore, SqliteAuditStore
from carhome.access.database import ACCESS_DB, access_file
from carhome.access.postgres import PostgresAuditStore, open_tables
from carhome.hub import Command, Device, Home, Hub, StateRow
from carhome.hub.commands import Decision
from carhome.store import PostgresStore, SqliteStore
from carhome.testing import FakeClock
from carhome.testing.postgres import ThrowawayCluster

T0 = 1_767_225_600.0
PUTS = 300
AUDITS = 300
SUBMITS = 1_000
CONCURRENT = 50
BATCH = 5_000
BATCHES = 10

Store = SqliteStore | PostgresStore


def _command(n: int) -> Command:
    return Command(
        id=uuid.uuid4().hex,
        home="h1",
        device="purifier",
        kind="set",
        target="fan_level",
        args={"value": 2},
        member="alice",
        face="api",
        created=T0 + n,
        expires=T0 + n + 30,
    )


async def _store_figures(store: Store) -> dict[str, float]:
    commands = [_command(n) for n in range(2 * PUTS)]
    started = time.perf_counter()
    for command in commands[:PUTS]:
        await store.outbox_put(command)
    sequential = PUTS / (time.perf_counter() - started)

    started = time.perf_counter()
    for i in range(PUTS, 2 * PUTS, CONCURRENT):
        await asyncio.gather(*(store.outbox_put(c) for c in commands[i : i + CONCURRENT]))
    concurrent = PUTS / (time.perf_counter() - started)

    seconds = 0.0
    for b in range(BATCHES):
        rows = [
            StateRow("h1", f"dev{i // 20:03d}", f"prop{i % 20}", float(i + b), T0 + b, "mqtt")
            for i in range(BATCH)
        ]
        started = time.perf_counter()
        await store.save_states(rows)
        seconds += time.perf_counter() - started
    return {
        "outbox_put_per_s": sequential,
        "outbox_put_concurrent_per_s": concurrent,
        "save_states_rows_per_s": BATCH * BATCHES / seconds,
    }


@contextlib.asynccontextmanager
async def _audit_store(store: Store) -> AsyncIterator[AuditStore]:
    """The audit log beside ``store``: ``access.db`` beside the SQLite file, else its tables."""
    if isinstance(store, PostgresStore):
        await open_tables(store.database)
        yield PostgresAuditStore(store.database)
        return
    async with access_file(Path(store.path).parent / ACCESS_DB) as file:
        yield SqliteAuditStore(file)


async def _audit_figures(store: Store) -> dict[str, float]:
    async with _audit_store(store) as audit_store:
        log = AuditLog(audit_store, FakeClock(T0))

        async def record(n: int) -> None:
            decision = Decision(allowed=n % 5 != 0, reason="bench")
            await log.record(
                home="h1", member="alice", face="api", command=f"c{n}", device="purifier",
                target="fan_level", decision=decision,
            )  # fmt: skip

        started = time.perf_counter()
        for n in range(AUDITS):
            await record(n)
        sequential = AUDITS / (time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(AUDITS, 2 * AUDITS, CONCURRENT):
            await asyncio.gather(*(record(n) for n in range(i, min(i + CONCURRENT, 2 * AUDITS))))
        concurrent = AUDITS / (time.perf_counter() - started)
        verified = await log.verify()
    if not verified.ok or verified.entries != 2 * AUDITS:
        raise SystemExit(f"audit log after the bench: {verified}")
    return {"audit_append_per_s": sequential, "audit_append_concurrent_per_s": concurrent}


async def _submits(store: Store) -> float:
    async with Hub(store=store, clock=FakeClock(T0)) as hub:
        await hub.add_home(Home(id="h1", name="Bench", lat=39.7953, lon=116.506))
        await hub.add_device(Device(home="h1", id="purifier", type="air_purifier"))
        made = 0

        async def sender() -> None:
            nonlocal made
            while made < SUBMITS:
                made += 1
                await hub.submit(
                    "h1", "purifier", "set", "fan_level", {"value": 2}, member="alice", face="api", ttl=3600
                )

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(CONCURRENT)))
        seconds = time.perf_counter() - started
        stored = len(await store.commands(limit=10 * SUBMITS))
    if stored != made:
        raise SystemExit(f"{made} commands submitted, {stored} kept")
    return made / seconds


async def _once(first: Store, second: Store) -> dict[str, float]:
    """The store's figures on ``first``, the hub's on ``second`` (two fresh databases)."""
    async with first as store:
        figures = await _store_figures(store)
        figures |= await _audit_figures(store)
    figures["submit_per_s"] = await _submits(second)  # the hub opens and closes it
    return figures


def _line(bench: str, runs: list[dict[str, float]], **extra: object) -> None:
    result: dict[str, object] = {"bench": bench, "repeat": len(runs), "concurrent": CONCURRENT, **extra}
    for key in runs[0]:
        result[key] = round(statistics.median(r[key] for r in runs), 1)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


async def _sqlite(directory: str | None, repeat: int) -> None:
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(dir=directory) as tmp:
            runs.append(await _once(SqliteStore(Path(tmp) / "a.db"), SqliteStore(Path(tmp) / "b.db")))
    _line("store_sqlite", runs, dir=directory or tempfile.gettempdir())


async def _postgresql(url: str, repeat: int, where: str) -> None:
    runs = []
    for _ in range(repeat):
        schemas = [f"bench_{uuid.uuid4().hex[:12]}" for _ in range(2)]
        conn = await asyncpg.connect(url)
        try:
            for schema in schemas:
                await conn.execute(f'CREATE SCHEMA "{schema}"')
            first, second = (
                PostgresStore(f"{url}{'&' if '?' in url else '?'}search_path={s}") for s in schemas
            )
            runs.append(await _once(first, second))
        finally:
            for schema in schemas:
                await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await conn.close()
    _line("store_postgresql", runs, server=where)


async def main(backend: str, url: str | None, directory: str | None, repeat: int) -> None:
    if backend in ("sqlite", "both"):
        await _sqlite(directory, repeat)
    if backend in ("postgresql", "both"):
        if url is not None:
            await _postgresql(url, repeat, "given")
        else:
            with ThrowawayCluster(parent=directory) as cluster:
                await _postgresql(cluster.url(), repeat, "throwaway cluster, loopback, fsync on")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--url", help="a PostgreSQL database to measure on (default: a throwaway cluster)")
    parser.add_argument("--dir", help="directory for the databases (default: the temp dir)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.backend, args.url, args.dir, args.repeat))
