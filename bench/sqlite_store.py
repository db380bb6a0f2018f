"""Benchmark of the SQLite store: durable commits per second and state rows per second.

Run:

    .venv/bin/python bench/sqlite_store.py [--dir DIR] [--repeat 3]

and it prints one JSON line: ``outbox_put_per_s`` (one committed, fsynced transaction per
put, made one after another as the router makes them), ``outbox_put_concurrent_per_s`` (50
puts in flight at once: each still its own transaction), ``save_states_rows_per_s`` for
batches of 5,000 (the write-behind's default batch, all rewriting the same properties), and
``states_load_s`` (reading 5,000 states back, as a hub does at start). Medians of the repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from carhome.hub import Command, StateRow
from carhome.store import SqliteStore

T0 = 1_767_225_600.0
PUTS = 300
CONCURRENT = 50
BATCH = 5_000
BATCHES = 10


def _command(n: int) -> Command:
    return Command(
        id=f"{n:032x}",
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


async def _once(path: Path) -> dict[str, float]:
    async with SqliteStore(path) as store:
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

    async with SqliteStore(path) as store:
        started = time.perf_counter()
        loaded = await store.states()
        load = time.perf_counter() - started
    if len(loaded) != BATCH:
        raise SystemExit(f"expected {BATCH} states back, got {len(loaded)}")
    return {
        "outbox_put_per_s": sequential,
        "outbox_put_concurrent_per_s": concurrent,
        "save_states_rows_per_s": BATCH * BATCHES / seconds,
        "states_load_s": load,
    }


async def main(directory: str | None, repeat: int) -> None:
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(dir=directory) as tmp:
            runs.append(await _once(Path(tmp) / "hub.db"))
    result: dict[str, object] = {
        "bench": "store_sqlite",
        "repeat": repeat,
        "batch": BATCH,
        "dir": directory or tempfile.gettempdir(),
    }
    for key in runs[0]:
        result[key] = round(statistics.median(r[key] for r in runs), 3)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dir", help="directory for the database (default: the temp dir)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.dir, args.repeat))
