"""W5 — W2 over the fleet: NATS cluster, PostgreSQL, ``carhome worker`` processes (shared/WORKLOADS.md).

The parts, each a process of its own on this machine:

- a **NATS cluster** of three servers (``carhome.fleet.cluster.NatsCluster``): MQTT for the
  cars, one JetStream stream per partition (R3), a device login per car;
- a **throwaway PostgreSQL** (``carhome.testing.postgres.ThrowawayCluster``) holding the
  fleet's homes (one car and ten lights each), states, partitions and checkpoints;
- the **publisher** (``--role publisher``): every car an MQTT client logged in as itself, the
  cars spread over the three servers, sending the W1 stream as the cars' ``state`` messages,
  one change per message, each with its time (``ts``), as fast as gmqtt takes them. The car's
  ``place`` and ``distance_to_home`` are the hub's own (derived): the car reports where it is
  (its location, ``distance_to_home`` km north of the home, at the home for ``place: home``)
  and the worker derives them, as a fleet's hub does;
- **workers**: ``carhome worker --config FILE`` (the real CLI, reading the partition streams
  from JetStream), one or two.

Phases, each on fresh streams and fresh state (the homes and devices stay):

1. ``raw``: the whole stream published, then read by a bare JetStream reader in this
   process (``raw_msgs_per_s``, from its start until it read the last);
2. one worker: first started on empty streams until it serves every partition (its
   start-up: importing, loading the homes, joining), stopped; then the whole stream is
   published and the worker started again: ``msgs_per_s_1_worker`` from the moment it began
   to read a partition until every partition's checkpoint is its stream's last sequence,
   and its CPU seconds (``/proc/<pid>/stat``) until then, less its start-up's, per 1,000
   messages (the work per message, each worker reading full batches: on a machine of two
   cores shared by everything, flat from one worker to two means it scales with cores);
3. the same with two workers: ``msgs_per_s_2_workers``, ``cpu_s_per_1k_msgs_2_workers`` (both
   workers' CPU), ``partition_balance`` (the smaller worker's partitions ÷ the larger's);
4. two workers serving, the stream published live, one killed with SIGKILL once a third of
   the messages were committed: ``failover_s`` from the kill until the other serves every
   partition the dead one held (its log line saying it reads the partition, at the
   partition's new epoch); ``leases_taken_s`` (the first and last lease, from the kill) and
   ``take_steps_s``, the median and slowest of each step of the takes, in seconds since the
   lease came, as the worker logs them: its homes' ids read, its hub loaded, the parts
   beside it started, its first batch read, its first commit;
5. two workers, one stopped with SIGSTOP likewise, resumed once the other serves its
   partitions: ``zombie_writes_accepted`` (and the fenced writes it had refused);
   ``sigstop_failover_s`` as ``failover_s`` (after the stopped one's idle_session_timeout).

After phases 2–5 the stream is drained and counted from the database:

- ``lost``: car properties whose stored state is not the value of the last message the
  publisher sent for them (end to end: a message the broker dropped counts too);
- ``applied_twice``: log entries covered by more than one committed checkpoint (a trigger
  logs every checkpoint move: a move back, or one starting below where the partition
  already was, covers entries again), plus state rows rewritten with a time not newer than
  the one they held (each message has a time of its own, so that is a message applied
  again or an older one over a newer);
- ``zombie_writes_accepted``: checkpoint commits of an epoch older than one that had already
  taken the partition, plus state writes committed outside a checkpoint's transaction.

Automations and commands: this run measures state ingest (the worker composes no
automations yet). One JSON line.

    .venv/bin/python bench/w5.py --homes 10000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gmqtt
import msgspec
from gmqtt.mqtt.constants import MQTTv311

sys.path.insert(0, str(Path(__file__).resolve().parent))

import w2  # the W2 publisher's pieces, beside this file
from w1_signals import DERIVED, LIGHTS, SIGNALS, generator

LAT, LON = 52.0, 13.0
KM_PER_DEGREE = 111.195
CAR = "car"
WORKER = [sys.executable, "-c", "from carhome.cli.main import main; main()", "worker", "--config"]
SERVING = "carhome.compose.worker: partition "
TICK = os.sysconf("SC_CLK_TCK")

CHECKPOINT_LOG = """
CREATE TABLE w5_checkpoints (
    id BIGSERIAL PRIMARY KEY, partition INTEGER, old_epoch BIGINT, new_epoch BIGINT,
    old_checkpoint BIGINT, new_checkpoint BIGINT, tx BIGINT);
CREATE TABLE w5_state_tx (tx BIGINT);
CREATE TABLE w5_state_again (home TEXT, device TEXT, prop TEXT, old_ts FLOAT8, new_ts FLOAT8);
CREATE FUNCTION w5_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO w5_checkpoints (partition, old_epoch, new_epoch, old_checkpoint, new_checkpoint, tx)
    VALUES (NEW.partition, OLD.epoch, NEW.epoch, OLD.checkpoint, NEW.checkpoint, txid_current());
    RETURN NULL; END $$;
CREATE TRIGGER w5_checkpoint AFTER UPDATE ON fleet_partitions FOR EACH ROW EXECUTE FUNCTION w5_checkpoint();
CREATE FUNCTION w5_state_tx() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO w5_state_tx VALUES (txid_current()); RETURN NULL; END $$;
CREATE TRIGGER w5_state_tx AFTER INSERT OR UPDATE ON states FOR EACH STATEMENT EXECUTE FUNCTION w5_state_tx();
CREATE FUNCTION w5_state_again() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO w5_state_again VALUES (NEW.home, NEW.device, NEW.prop, OLD.ts, NEW.ts); RETURN NULL; END $$;
CREATE TRIGGER w5_state_again AFTER UPDATE ON states FOR EACH ROW
    WHEN (NEW.ts <= OLD.ts) EXECUTE FUNCTION w5_state_again();
"""
RESET = (
    "TRUNCATE states, w5_checkpoints, w5_state_tx, w5_state_again",
    "UPDATE fleet_partitions SET checkpoint = 0, owner = NULL",
    "TRUNCATE w5_checkpoints",
)


def _read(path: Path) -> Any:
    return msgspec.json.decode(path.read_bytes())


def _write(path: Path, value: object) -> None:
    path.write_bytes(msgspec.json.encode(value))


# -- the messages ------------------------------------------------------------------------------


@dataclass
class Messages:
    """The W1 stream as the cars' state messages: (home index, payload) in order, and what
    each car property's stored state must be at the end (its last valid value)."""

    rows: list[tuple[int, str]]
    last: dict[tuple[str, str], Any]


def make_messages(homes: int, updates: int, seed: int, fire_ratio: float) -> Messages:
    from carhome.mqtt.payloads import encode_state  # noqa: PLC0415 - the coordinator's only
    from carhome.spec.devices import CAR as CAR_SPEC  # noqa: PLC0415
    from carhome.spec.properties import InvalidValue  # noqa: PLC0415
    from carhome.spec.vss import LATITUDE, LONGITUDE  # noqa: PLC0415

    changes, _ = generator().generate(homes, updates, fire_ratio, seed)
    t0 = float(int(time.time()))
    distance: dict[int, float] = {}
    rows: list[tuple[int, str]] = []
    last: dict[tuple[str, str], Any] = {}
    for i, (h, sig, value, _fires) in enumerate(changes):
        prop = SIGNALS[sig]
        if prop in DERIVED:  # where the car is, which the worker's hub turns into these
            if sig == "distance_to_home":
                distance[h] = float(value)
            km = 0.0 if sig == "place" and value == "home" else distance.get(h, 25.0)
            values: dict[str, Any] = {LATITUDE: LAT + km / KM_PER_DEGREE, LONGITUDE: LON}
        else:
            values = {prop: value}
        for name, raw in values.items():
            with contextlib.suppress(InvalidValue):
                last[(f"h{h}", name)] = CAR_SPEC.properties[name].check(raw)
        rows.append((h, encode_state(values, t0 + i * 1e-4).decode()))
    return Messages(rows, last)


# -- the publisher process ---------------------------------------------------------------------


async def publisher(args: argparse.Namespace) -> None:
    """Every car a gmqtt client logged in as itself, on server ``h % 3``; on each ``go`` line
    the whole stream, then ``published`` (and the times in ``--out``); ``stop`` ends it."""
    ports = [int(p) for p in args.ports.split(",")]
    logins = _read(Path(args.logins))
    rows = [(h, f"carhome/h{h}/{CAR}/state", payload.encode()) for h, payload in _read(Path(args.stream))]
    clients: list[gmqtt.Client] = []
    for h, (user, password) in enumerate(logins):
        client = gmqtt.Client(f"w5-h{h}-{CAR}", clean_session=True)
        client.set_auth_credentials(user, password)
        clients.append(client)

    async def connect(h: int) -> None:
        # the first connections wait while the servers make MQTT's own streams: again until in
        for _ in range(20):
            with contextlib.suppress(Exception):
                await clients[h].connect("127.0.0.1", ports[h % len(ports)], version=MQTTv311, keepalive=600)
            if clients[h].is_connected:
                return
            await asyncio.sleep(0.5)
        sys.exit(f"w5 publisher: car h{h} cannot connect")

    await connect(0)
    for start in range(1, len(clients), 200):
        await asyncio.gather(*(connect(h) for h in range(start, min(start + 200, len(clients)))))
    print("connected", flush=True)
    loop = asyncio.get_running_loop()
    qos = args.qos
    now = time.monotonic_ns
    while (line := (await loop.run_in_executor(None, sys.stdin.readline)).strip()) == "go":
        t_first = now()
        for i, (h, topic, payload) in enumerate(rows):
            clients[h].publish(topic, payload, qos=qos)
            if i % 500 == 499:
                await asyncio.sleep(0)  # let the transports drain
        t_last = now()
        _write(Path(args.out), {"t_first": t_first, "t_last": t_last})
        print("published", flush=True)
    if line != "stop":
        print(f"w5 publisher: unknown order {line!r}", file=sys.stderr)
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


# -- workers -----------------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    """One ``carhome worker`` child and what its log said: the partitions it reads, by epoch."""

    name: str
    process: asyncio.subprocess.Process
    serving: dict[int, int] = field(default_factory=dict)  # partition → epoch it reads at
    first_serving: int | None = None  # monotonic ns of the first such line
    serving_at: dict[int, int] = field(default_factory=dict)  # partition → monotonic ns of its line
    took: dict[int, dict[str, float]] = field(default_factory=dict)  # partition → its take's steps (s)
    refused: int = 0  # "epoch … is over" (a fenced write refused)
    tail: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        self.reader = asyncio.create_task(self._read(), name=f"read-{self.name}")

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.tail = [*self.tail[-200:], line]
            if SERVING in line and ") took: " in line:
                rest = line.split(SERVING, 1)[1]
                words = rest.split(") took: ", 1)[1].split()
                steps = zip(words[::2], words[1::2], strict=True)
                self.took[int(rest.split()[0])] = {k: float(v) for k, v in steps}
            elif SERVING in line and "(epoch " in line:
                rest = line.split(SERVING, 1)[1]
                partition = int(rest.split()[0])
                epoch = int(rest.split("(epoch ", 1)[1].split(")")[0])
                self.serving[partition] = epoch
                self.serving_at[partition] = time.monotonic_ns()
                if self.first_serving is None:
                    self.first_serving = time.monotonic_ns()
                self.changed.set()
            elif "is over; another worker serves it now" in line or "Fenced" in line:
                self.refused += 1

    def cpu_s(self) -> float:
        """User + system CPU seconds of the process so far."""
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def signal(self, number: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(number)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.signal(signal.SIGKILL)
                await self.process.wait()
        if self.reader is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self.reader, 5)


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Run:
    """The fleet on this machine for one benchmark run."""

    args: argparse.Namespace
    work: Path
    cluster: Any  # NatsCluster
    pg_url: str
    messages: Messages
    publisher: asyncio.subprocess.Process | None = None
    db: Any = None  # asyncpg.Connection
    admin: Any = None  # nats Client
    workers: list[WorkerProcess] = field(default_factory=list)

    @property
    def partitions(self) -> int:
        return int(self.args.partitions)

    def say(self, text: str) -> None:
        if not self.args.quiet:
            print(f"w5 {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)

    # -- set-up ------------------------------------------------------------------------------

    async def load_homes(self) -> None:
        """The homes (one car, ten lights each) into the fleet's store, and the partitions."""
        from carhome.fleet.partitions import Partitions  # noqa: PLC0415
        from carhome.hub.model import Device, Home  # noqa: PLC0415
        from carhome.pgdatabase import PgDatabase  # noqa: PLC0415
        from carhome.store import PostgresStore  # noqa: PLC0415

        # loading only: no wait for the disk on each of the many small commits
        async with PgDatabase(f"{self.pg_url}?synchronous_commit=off", pool_size=8) as database:
            await Partitions(database, self.partitions).create()
            async with PostgresStore(database) as store:

                async def one(h: int) -> None:
                    home = f"h{h}"
                    await store.save_home(Home(id=home, name=home, lat=LAT, lon=LON))
                    await store.save_devices(
                        [
                            Device(home=home, id=CAR, type="car", name="Car"),
                            *(
                                Device(home=home, id=f"d{d}", type="light", name=f"d{d}")
                                for d in range(LIGHTS)
                            ),
                        ]
                    )

                for start in range(0, self.args.homes, 64):
                    await asyncio.gather(*(one(h) for h in range(start, min(start + 64, self.args.homes))))

    async def start_publisher(self) -> None:
        ports = ",".join(str(self.cluster.mqtt_port(i)) for i in range(self.cluster.size))
        self.publisher = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--role",
            "publisher",
            "--ports",
            ports,
            "--qos",
            str(self.args.qos),
            "--logins",
            str(self.work / "logins.json"),
            "--stream",
            str(self.work / "stream.json"),
            "--out",
            str(self.work / "published.json"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        if not await w2._line(self.publisher, "connected", 60 + self.args.homes / 50):
            sys.exit("w5: the publisher's cars did not all connect")

    async def publish(self) -> None:
        """Send the whole stream once more (returns at once)."""
        assert self.publisher is not None
        assert self.publisher.stdin is not None
        self.publisher.stdin.write(b"go\n")
        await self.publisher.stdin.drain()

    async def published(self) -> int:
        """When the publisher sent the last message: its first publish's monotonic ns."""
        assert self.publisher is not None
        if not await w2._line(self.publisher, "published", 600):
            sys.exit("w5: the publisher did not finish")
        return int(_read(self.work / "published.json")["t_first"])

    async def fresh(self) -> None:
        """New, empty partition streams and no state; the partitions free at checkpoint 0."""
        from carhome.fleet.jetstream import ensure_streams  # noqa: PLC0415
        from carhome.fleet.log import stream  # noqa: PLC0415

        js = self.admin.jetstream()
        for p in range(self.partitions):
            with contextlib.suppress(Exception):
                await js.delete_stream(stream(p))
        await ensure_streams(js, self.partitions, replicas=min(3, self.cluster.size), timeout=60)
        for statement in RESET:
            await self.db.execute(statement)

    # -- workers -----------------------------------------------------------------------------

    async def start_worker(self, name: str) -> WorkerProcess:
        config = self.work / f"{name}.yaml"
        fleet = {
            "database": self.pg_url,
            "worker": name,
            "partitions": self.partitions,
            "heartbeat": self.args.heartbeat,
            "idle_timeout": self.args.idle_timeout,
            "nats": self.cluster.nats_urls,
            "nats_user": self.cluster.worker.user,
            "nats_password": self.cluster.worker.password,
        }
        (self.work / name).mkdir(exist_ok=True)
        config.write_text(json.dumps({"hub": {"data_dir": name}, "fleet": fleet}))
        config.chmod(0o600)
        process = await asyncio.create_subprocess_exec(
            *WORKER, str(config), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        worker = WorkerProcess(name, process)
        worker.start_reading()
        self.workers.append(worker)
        return worker

    async def owners(self) -> dict[int, tuple[str | None, int]]:
        rows = await self.db.fetch("SELECT partition, owner, epoch FROM fleet_partitions")
        return {r["partition"]: (r["owner"], r["epoch"]) for r in rows}

    async def until(self, what: str, done: Callable[[], Any], bound: float) -> None:
        """Poll ``done`` (sync or async) every 20 ms until it holds; after ``bound`` s, exit saying so."""
        deadline = time.monotonic() + bound
        while True:
            result = done()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            if time.monotonic() > deadline:
                tails = "\n".join(f"{w.name}: {line}" for w in self.workers for line in w.tail[-40:])
                sys.exit(f"w5: not within {bound} s: {what}\n{tails}")
            await asyncio.sleep(0.02)

    async def settled(self, workers: list[WorkerProcess]) -> bool:
        """Every partition owned by one of ``workers``, which reads it at its current epoch,
        each worker holding its share (ceil(P / workers))."""
        owners = await self.owners()
        by_name = {w.name: w for w in workers}
        held: dict[str, int] = {}
        for p, (owner, epoch) in owners.items():
            worker = by_name.get(owner or "")
            if worker is None or worker.serving.get(p) != epoch:
                return False
            held[owner or ""] = held.get(owner or "", 0) + 1
        share = -(-self.partitions // len(workers))
        return len(held) == len(workers) and max(held.values()) <= share

    async def stop_workers(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers))
        self.workers.clear()

    # -- measuring ---------------------------------------------------------------------------

    async def in_streams(self) -> dict[int, int]:
        """Each partition stream's last sequence."""
        from carhome.fleet.log import stream  # noqa: PLC0415

        js = self.admin.jetstream()
        return {p: (await js.stream_info(stream(p))).state.last_seq for p in range(self.partitions)}

    async def all_in_streams(self) -> dict[int, int]:
        """Wait until the streams hold every message (or none came for the bound): their last sequences."""
        quiet_since, seen = time.monotonic(), -1
        while True:
            last = await self.in_streams()
            total = sum(last.values())
            if total >= len(self.messages.rows) or time.monotonic() - quiet_since > self.args.bound:
                if total < len(self.messages.rows):
                    self.say(f"the streams hold {total} of {len(self.messages.rows)} messages")
                return last
            if total != seen:
                seen, quiet_since = total, time.monotonic()
            await asyncio.sleep(0.05)

    async def committed(self) -> int:
        return int(await self.db.fetchval("SELECT coalesce(sum(checkpoint), 0) FROM fleet_partitions"))

    async def drained(self) -> tuple[int, dict[int, int]]:
        """Wait until every partition's checkpoint is its stream's last sequence: the monotonic ns then."""
        last = await self.all_in_streams()
        want = sum(last.values())

        async def done() -> bool:
            return await self.committed() >= want

        await self.until("every partition's checkpoint at its stream's end", done, self.args.bound * 10)
        return time.monotonic_ns(), last

    async def count(self, last: dict[int, int]) -> dict[str, int]:
        """lost, applied twice and zombie writes accepted, from the database."""
        stored = {
            (r["home"], r["prop"]): msgspec.json.decode(r["value"])
            for r in await self.db.fetch("SELECT home, prop, value FROM states WHERE device = $1", CAR)
        }
        wrong = [
            (key, value, stored.get(key))
            for key, value in self.messages.last.items()
            if stored.get(key) != value
        ]
        lost = len(wrong)
        if wrong:
            self.say(f"lost, for example: {wrong[:5]}")
            rows = await self.db.fetch("SELECT device, prop, count(*) FROM states GROUP BY 1, 2")
            self.say(f"stored: {[tuple(r) for r in rows]}")
            for w in self.workers:
                self.say("\n".join(w.tail[-30:]))
        # entries covered by more than one checkpoint commit, and checkpoints of a stale epoch
        twice = zombies = backwards = 0
        top: dict[int, int] = {}  # partition → the highest checkpoint committed so far
        newest: dict[int, int] = {}  # partition → the newest epoch that took it so far
        checkpoint_tx = set()
        for r in await self.db.fetch("SELECT * FROM w5_checkpoints ORDER BY id"):
            p, old, new = r["partition"], r["old_checkpoint"], r["new_checkpoint"]
            if r["new_epoch"] != r["old_epoch"]:  # a take
                newest[p] = max(newest.get(p, 0), r["new_epoch"])
                continue
            checkpoint_tx.add(r["tx"])
            if r["new_epoch"] < newest.get(p, 0):
                zombies += 1
            # what the partition's commits covered so far is 1..high (they follow each other)
            high = top.get(p, 0)
            twice += max(0, min(new, high) - old)
            backwards += new < old
            top[p] = max(high, new)
        gaps = sum(max(0, last.get(p, 0) - top.get(p, 0)) for p in range(self.partitions))
        zombies += sum(
            1
            for r in await self.db.fetch("SELECT DISTINCT tx FROM w5_state_tx")
            if r["tx"] not in checkpoint_tx
        )
        again = int(await self.db.fetchval("SELECT count(*) FROM w5_state_again"))
        return {
            "lost": lost,
            "applied_twice": twice + backwards + again,
            "zombie_writes_accepted": zombies,
            "entries_never_committed": gaps,
            "checkpoints_backwards": backwards,
            "states_rewritten_not_newer": again,
        }

    # -- phases ------------------------------------------------------------------------------

    async def raw(self) -> float:
        """The same messages through the cluster to a bare JetStream reader in this process,
        published before it starts (as for the workers): msg/s from its start to its last."""
        from carhome.fleet.jetstream import open_log  # noqa: PLC0415

        await self.fresh()
        await self.publish()
        await self.published()
        total = sum((await self.all_in_streams()).values())
        got = 0
        done = asyncio.Event()
        async with open_log(self.cluster.nats_urls, self.cluster.worker) as partition_log:

            async def read(p: int) -> None:
                nonlocal got
                async for batch in partition_log.read(p, 0):
                    got += len(batch)
                    if got >= total:
                        done.set()

            t_first = time.monotonic_ns()
            readers = [asyncio.create_task(read(p)) for p in range(self.partitions)]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.args.bound * 4)
            t_last = time.monotonic_ns()
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
        if got < total:
            self.say(f"the bare reader got {got} of {total}")
            return 0.0
        return total / ((t_last - t_first) / 1e9)

    async def steady(self, names: list[str]) -> dict[str, Any]:
        """``names`` workers through the whole stream, published before they start: rate, CPU,
        balance, counts.

        First the workers start on empty streams and settle (each serving its share): the CPU
        that took (importing, loading the homes, joining) is their start-up, and the shares
        give the balance. They stop; the whole stream is published; the same workers start
        again and drain it. ``msgs_per_s`` is from the first partition a worker began to read
        until every checkpoint is at its stream's end; the CPU per message is the workers'
        CPU until then less their start-up's."""
        await self.fresh()
        workers = [await self.start_worker(n) for n in names]
        await self.until(f"{len(names)} workers serve the partitions", lambda: self.settled(workers), 120)
        startup_cpu = sum(w.cpu_s() for w in workers)
        owners = await self.owners()
        shares = [sum(1 for o, _ in owners.values() if o == w.name) for w in workers]
        await self.stop_workers()
        await self.publish()
        await self.published()
        await self.all_in_streams()
        workers = [await self.start_worker(n) for n in names]
        t_done, last = await self.drained()
        cpu = sum(w.cpu_s() for w in workers) - startup_cpu
        t_first = min(w.first_serving for w in workers if w.first_serving is not None)
        total = sum(last.values())
        counts = await self.count(last)
        await self.stop_workers()
        return {
            "msgs_per_s": round(total / ((t_done - t_first) / 1e9)),
            "cpu_s_per_1k_msgs": round(cpu / total * 1000, 4) if total else None,
            "startup_cpu_s": round(startup_cpu, 2),
            "balance": round(min(shares) / max(shares), 3),
            "shares": shares,
            "in_streams": total,
            **counts,
        }

    async def failure(self, sig: signal.Signals) -> dict[str, Any]:
        """Two workers; ``sig`` to the second once a third of the stream is committed."""
        await self.fresh()
        a, b = await self.start_worker("a"), await self.start_worker("b")
        await self.until("2 workers serve the partitions", lambda: self.settled([a, b]), 120)
        owners = await self.owners()
        held = {p: epoch for p, (owner, epoch) in owners.items() if owner == b.name}
        third = len(self.messages.rows) // 3

        async def committed_third() -> bool:
            return await self.committed() >= third

        await self.publish()
        await self.until("a third committed", committed_third, self.args.bound * 10)
        failed = time.monotonic_ns()
        b.signal(sig)
        await self.until(
            "the other worker serves the failed one's partitions",
            lambda: all(a.serving.get(p, 0) > epoch for p, epoch in held.items()),
            60 + 4 * self.args.idle_timeout,
        )
        served_again = sorted((a.serving_at[p] - failed) / 1e9 for p in held)
        resumed_refused = 0
        if sig == signal.SIGSTOP:
            b.signal(signal.SIGCONT)
            with contextlib.suppress(TimeoutError):  # it sees its session gone and stops
                await asyncio.wait_for(b.process.wait(), 4 * self.args.idle_timeout + 10)
            resumed_refused = b.refused
        await self.published()
        _, last = await self.drained()
        counts = await self.count(last)
        await self.stop_workers()
        # when each lease came, from the kill: served again less the take's steps before serving
        # (a take logs its steps once it first committed: read once every partition was drained)
        leased = sorted((a.serving_at[p] - failed) / 1e9 - a.took[p]["parts"] for p in held if p in a.took)
        steps: dict[str, dict[str, float]] = {}
        for name in ("homes", "hub", "parts", "batch", "commit"):
            times = sorted(a.took[p][name] for p in held if name in a.took.get(p, {}))
            if times:
                steps[name] = {"median": round(times[len(times) // 2], 3), "max": round(times[-1], 3)}
        return {
            "failover_s": round(served_again[-1], 2),
            "leases_taken_s": [round(leased[0], 2), round(leased[-1], 2)] if leased else None,
            "take_steps_s": steps,
            "first_partition_served_again_s": round(served_again[0], 2),
            "median_partition_served_again_s": round(served_again[len(served_again) // 2], 2),
            "partitions_moved": len(held),
            "in_streams": sum(last.values()),
            "zombie_writes_refused": resumed_refused,
            **counts,
        }


@contextlib.asynccontextmanager
async def fleet(args: argparse.Namespace, work: Path, messages: Messages) -> AsyncIterator[Run]:
    import asyncpg  # noqa: PLC0415 - the coordinator's only

    from carhome.fleet.cluster import NatsCluster  # noqa: PLC0415
    from carhome.fleet.jetstream import connect  # noqa: PLC0415
    from carhome.mqtt.credentials import Credentials  # noqa: PLC0415
    from carhome.testing.postgres import ThrowawayCluster  # noqa: PLC0415

    credentials = Credentials.make((f"h{h}", CAR) for h in range(args.homes))
    _write(
        work / "logins.json",
        [(i.username, i.password) for i in (credentials.device(f"h{h}", CAR) for h in range(args.homes))],
    )
    (work / "logins.json").chmod(0o600)
    _write(work / "stream.json", messages.rows)
    with ThrowawayCluster() as pg:
        async with NatsCluster(work / "nats", partitions=args.partitions, credentials=credentials) as cluster:
            run = Run(args, work, cluster, pg.url(), messages)
            run.say(f"cluster up; {args.homes} homes into PostgreSQL")
            await run.load_homes()
            run.db = await asyncpg.connect(run.pg_url)
            run.admin = await connect(cluster.nats_urls, cluster.admin)
            try:
                await run.db.execute(CHECKPOINT_LOG)
                run.say("homes loaded; the cars connect")
                await run.start_publisher()
                yield run
            finally:
                await run.stop_workers()
                if run.publisher is not None:
                    await w2._stop(run.publisher)
                await run.admin.close()
                await run.db.close()


async def coordinate(args: argparse.Namespace) -> dict[str, Any]:
    # the servers' own warnings (slow MQTT connects while the cars come) are not the bench's figures
    logging.getLogger("carhome.nats").setLevel(logging.CRITICAL)
    messages = make_messages(args.homes, args.updates, args.seed, args.fire_ratio)
    with tempfile.TemporaryDirectory(prefix="w5_") as directory:
        async with fleet(args, Path(directory), messages) as run:
            want = set(args.phases.split(","))
            skip: dict[str, Any] = {}
            run.say("raw")
            raw = await run.raw() if "raw" in want else 0.0
            run.say(f"raw {raw:.0f} msg/s; 1 worker")
            one = await run.steady(["w1"]) if "1" in want else skip
            run.say(f"1 worker: {one}; 2 workers")
            two = await run.steady(["w1", "w2"]) if "2" in want else skip
            run.say(f"2 workers: {two}; kill -9")
            killed = await run.failure(signal.SIGKILL) if "kill" in want else skip
            run.say(f"killed: {killed}; SIGSTOP")
            stopped = await run.failure(signal.SIGSTOP) if "stop" in want else skip
            run.say(f"stopped: {stopped}")
    phases = (one, two, killed, stopped)
    return {
        "bench": "carhome_w5",
        "homes": args.homes,
        "updates": len(messages.rows),
        "partitions": args.partitions,
        "qos": args.qos,
        "msgs_per_s_1_worker": one.get("msgs_per_s"),
        "cpu_s_per_1k_msgs_1_worker": one.get("cpu_s_per_1k_msgs"),
        "msgs_per_s_2_workers": two.get("msgs_per_s"),
        "cpu_s_per_1k_msgs_2_workers": two.get("cpu_s_per_1k_msgs"),
        "partition_balance": two.get("balance"),
        "failover_s": killed.get("failover_s"),
        "sigstop_failover_s": stopped.get("failover_s"),
        "lost": sum(p.get("lost", 0) for p in phases),
        "applied_twice": sum(p.get("applied_twice", 0) for p in phases),
        "zombie_writes_accepted": sum(p.get("zombie_writes_accepted", 0) for p in phases),
        "raw_msgs_per_s": round(raw),
        "ratio_to_raw": round(two["msgs_per_s"] / raw, 3) if raw and two else None,
        "measures": "state ingest (no automations in the worker yet)",
        "phases": {"1_worker": one, "2_workers": two, "kill_9": killed, "sigstop": stopped},
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--homes", type=int, default=10_000)
    p.add_argument("--updates", type=int, default=100_000)
    p.add_argument("--partitions", type=int, default=64)
    p.add_argument("--qos", type=int, choices=(0, 1), default=0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--fire-ratio", type=float, default=0.05)
    p.add_argument("--heartbeat", type=float, default=1.0)
    p.add_argument("--idle-timeout", type=float, default=5.0)
    p.add_argument("--bound", type=float, default=30.0, help="seconds to wait once nothing more moves")
    p.add_argument("--phases", default="raw,1,2,kill,stop", help="which to run (all by default)")
    p.add_argument("--quiet", action="store_true", help="say nothing but the JSON line")
    p.add_argument(
        "--role", choices=("coordinator", "publisher"), default="coordinator", help=argparse.SUPPRESS
    )
    p.add_argument("--ports", help=argparse.SUPPRESS)
    p.add_argument("--logins", help=argparse.SUPPRESS)
    p.add_argument("--stream", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role == "publisher":
        asyncio.run(publisher(args))
    else:
        print(json.dumps(asyncio.run(coordinate(args))))


if __name__ == "__main__":
    main()
