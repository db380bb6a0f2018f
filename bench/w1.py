"""W1 — car × home automations through carhome, in process (see shared/WORKLOADS.md).

Per home: one car and ten lights that really execute commands (a fake transport at the
public seam acks each command and reports the light on), and three automations written in
carhome's YAML, loaded by carhome's loader. The W1 stream is pumped through ``Hub.report_one``
as fast as it is accepted (yielding to the loop whenever a run is waiting); latency is from
just before the crossing change is reported to the moment the recorded action (a notify)
runs. Prints one JSON line with the peer's field names. With ``--shared`` the automations
come from one file whose ``homes:`` lists every home (parsed and checked once, bound per
home) instead of one text per home.

    .venv/bin/python bench/w1.py --homes 1000 --updates 200000
    .venv/bin/python bench/w1.py --durable                          # a SQLite file
    .venv/bin/python bench/w1.py --store postgresql://user@db/name  # a fresh schema there
    .venv/bin/python bench/w1.py --store postgresql                 # a throwaway cluster
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import platform
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg

from carhome.automations import Engine, Notification
from carhome.hub import Ack, Command, Device, Home, Hub
from carhome.spec import vss
from carhome.spec.devices import DISTANCE_TO_HOME, PLACE
from carhome.store import MemoryStore, PostgresStore, SqliteStore, open_store
from carhome.testing.postgres import ThrowawayCluster
from readings import percentile, rss_mb
from w1_signals import DERIVED, LIGHTS, SIGNALS, automations, generator

TEMPLATE = automations(
    soc=["{action: notify, member: owner, message: soc}"],
    arrive=[
        "{action: command, device: [d0, d1], name: turn_on}",
        "{action: notify, member: owner, message: arrive}",
    ],
    near=["{action: notify, member: owner, message: near}"],
)

SHARED = TEMPLATE.replace("home: {home}\n", "homes: [{homes}]\n").replace("id: {home}.", "id: ")
"""The same automations given to every home by one file (``--shared``): parsed once."""


class Lights:
    """The home devices: execute each command at once, ack it, report the new state."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def deliver(self, command: Command) -> None:
        self.hub.ack(command.home, command.device, Ack(command.id, "acked"))
        self.hub.report_one(command.home, command.device, "on", command.target != "turn_off")


def _load_stream(args: argparse.Namespace) -> tuple[list[tuple[int, str, Any, str | None]], int]:
    if args.stream:
        with open(args.stream, encoding="utf-8") as f:
            header = json.loads(f.readline())
            rows = [json.loads(line) for line in f]
        changes = [(r["home"], r["signal"], r["value"], r["fires"]) for r in rows]
        args.homes = header["homes"]
        return changes, int(header["expected_firings"])
    changes, expected = generator().generate(args.homes, args.updates, args.fire_ratio, args.seed)
    return changes, int(expected)


@contextlib.asynccontextmanager
async def _store(args: argparse.Namespace) -> AsyncIterator[Any]:
    """The hub's store (not opened): memory; with ``--durable`` a SQLite file in a temporary
    directory; with ``--store`` the store at that URL, on PostgreSQL in a fresh schema made
    for the run and dropped after (``--store postgresql``: a throwaway cluster of its own)."""
    if args.store is None:
        if not args.durable:
            yield MemoryStore()
            return
        with tempfile.TemporaryDirectory(prefix="w1_") as tmp:
            yield SqliteStore(str(Path(tmp) / "carhome.db"))
        return
    if args.store == "postgresql":
        with ThrowawayCluster() as cluster:
            async with _schema(cluster.url()) as url:
                yield PostgresStore(url)
        return
    if args.store.startswith(("postgresql://", "postgres://")):
        async with _schema(args.store) as url:
            yield PostgresStore(url)
        return
    yield open_store(args.store)


@contextlib.asynccontextmanager
async def _schema(url: str) -> AsyncIterator[str]:
    """``url`` with a fresh schema of its own for the run, dropped at the end."""
    schema = f"w1_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        yield f"{url}{'&' if '?' in url else '?'}search_path={schema}"
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


def _where(args: argparse.Namespace) -> str:
    """Where the durable store was, for the result line (never a password)."""
    if args.store is None:
        return "sqlite (temporary file)" if args.durable else "memory"
    if args.store == "postgresql":
        return "postgresql (throwaway cluster, loopback, fsync on)"
    return "postgresql" if args.store.startswith("postgres") else "sqlite"


async def _build(hub: Hub, homes: list[str], *, durable: bool) -> None:
    """One car and ten lights per home, in the state the peer starts from."""
    for home in homes:
        devices = [
            Device(home=home, id="car", type="car"),
            *(Device(home=home, id=f"d{d}", type="light") for d in range(LIGHTS)),
        ]
        if durable:
            await hub.add_home(Home(id=home, name=home, lat=39.79, lon=116.5))
            for device in devices:
                await hub.add_device(device)
        else:
            hub.add_home_unsaved(Home(id=home, name=home, lat=39.79, lon=116.5))
            for device in devices:
                hub.add_device_unsaved(device)
        hub.report(
            home, "car", {vss.SOC: 80.0, vss.SPEED: 0.0, vss.ODOMETER: 1000.0, vss.CABIN_TEMPERATURE: 20.0}
        )
        hub.report(home, "car", {DISTANCE_TO_HOME: 25.0, PLACE: "away"}, trusted=True)
        for d in range(LIGHTS):
            hub.report(home, f"d{d}", {"on": False})


def _load(engine: Engine, homes: list[str], *, shared: bool) -> list[Any]:
    """The automations of every home: a text per home, or one file with ``homes:``."""
    if shared:
        return engine.load_text(SHARED.format(homes=", ".join(homes)), "<homes.yaml>")
    return [e for home in homes for e in engine.load_text(TEMPLATE.format(home=home), f"<{home}.yaml>")]


Update = tuple[str, str, Any, bool, tuple[str, str] | None]
"""One change of the stream: home, property, value, whether the hub owns it, and the
(home, message) of the firing it must cause."""


async def _pump(
    hub: Hub, engine: Engine, updates: list[Update], pending: dict[tuple[str, str], collections.deque[int]]
) -> None:
    """The timed part: every change through ``Hub.report_one`` (one value per call, as the
    peer's bench calls ``async_set``), then until every run is done."""
    report = hub.report_one
    sleep = asyncio.sleep
    perf_ns = time.perf_counter_ns
    for home, prop, value, trusted, key in updates:
        if key is not None:
            pending[key].append(perf_ns())
        report(home, "car", prop, value, trusted=trusted)
        if engine.busy:
            await sleep(0)
    await engine.idle()
    await hub.commands.drain()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    changes, expected = _load_stream(args)
    homes = [f"h{h}" for h in range(args.homes)]
    # The stream, mapped to carhome's names before the clock starts (the peer does the
    # same); each change is reported as one value, with no mapping made for it.
    updates: list[Update] = [
        (
            homes[h],
            SIGNALS[sig],
            value,
            SIGNALS[sig] in DERIVED,
            None if fires is None else (homes[h], fires),
        )
        for h, sig, value, fires in changes
    ]
    del changes

    pending: dict[tuple[str, str], collections.deque[int]] = collections.defaultdict(collections.deque)
    latencies: list[int] = []
    fired: collections.Counter[str] = collections.Counter()
    perf_ns = time.perf_counter_ns

    def record(note: Notification) -> None:
        now = perf_ns()
        queue = pending.get((note.home, note.message))
        if queue:
            latencies.append(now - queue.popleft())
        fired[note.message] += 1

    async with _store(args) as store:  # a throwaway cluster starts before the clock
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        async with Hub(store=store, persist_states=args.durable) as hub:
            await _build(hub, homes, durable=args.durable)
            hub.commands.attach("mqtt", Lights(hub))
            async with Engine(hub) as engine:
                errors = _load(engine, homes, shared=args.shared)
                if errors:
                    sys.exit("\n".join(str(e) for e in errors[:10]))
                engine.notifications.listen(record)
                if args.durable:
                    await hub.flush()
                startup_s = time.perf_counter() - t0
                startup_cpu_s = time.process_time() - cpu0
                rss_start = rss_mb()
                gc.collect()
                gc.freeze()

                cpu_start = time.process_time()
                t_start = time.perf_counter()
                await _pump(hub, engine, updates, pending)
                t_end = time.perf_counter()
                cpu_s = time.process_time() - cpu_start
                drain_s = None
                if args.durable:
                    await hub.flush()
                    drain_s = time.perf_counter() - t_end
                devices_on = sum(
                    1 for home in homes for d in range(LIGHTS) if hub.value(home, f"d{d}", "on") is True
                )
    wall = (t_end - t_start) + (drain_s or 0.0)
    lat_ms = sorted(x / 1e6 for x in latencies)
    p50, p99 = percentile(lat_ms, 50), percentile(lat_ms, 99)
    result: dict[str, Any] = {
        "bench": "carhome_w1",
        "python": platform.python_version(),
        "homes": args.homes,
        "updates": len(updates),
        "automations": len(engine.automations()),
        "durable": bool(args.durable),
        "store": _where(args),
        "shared": bool(args.shared),
        "updates_per_s": round(len(updates) / wall),
        # CPU time of the timed part, per update: steadier than the rate on a shared machine.
        "cpu_us_per_update": round(cpu_s / len(updates) * 1e6, 3),
        "firings": sum(fired.values()),
        "expected_firings": expected,
        "devices_on": devices_on,
        "latency_ms_p50": None if p50 is None else round(p50, 4),
        "latency_ms_p99": None if p99 is None else round(p99, 4),
        "latency_ms_max": round(lat_ms[-1], 4) if lat_ms else None,
        "startup_s": round(startup_s, 3),
        # CPU time of the start: steadier than startup_s on a shared machine.
        "startup_cpu_s": round(startup_cpu_s, 3),
        "rss_after_start_mb": round(rss_start, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if drain_s is not None:
        result["store_drain_s"] = round(drain_s, 3)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--homes", type=int, default=1000)
    p.add_argument("--updates", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--fire-ratio", type=float, default=0.05)
    p.add_argument("--stream", help="a W1 stream file written by shared/workloads/w1_stream.py")
    p.add_argument("--durable", action="store_true", help="persist every change (SQLite store)")
    p.add_argument(
        "--store",
        metavar="URL",
        help="persist every change in this store (implies --durable): postgresql://… (a fresh schema"
        " is made and dropped), sqlite:///path, or 'postgresql' for a throwaway cluster",
    )
    p.add_argument(
        "--shared",
        action="store_true",
        help="load the automations from one file with 'homes:' (parsed once) instead of a text per home",
    )
    args = p.parse_args()
    if args.store is not None:
        args.durable = True
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
