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
  from JetStream), one or two, each running W1's three automations in every home of the
  partitions it holds (W2's: low battery turns d8 on, nearly home d9, arriving home d0 and
  d1), from one shared automation file (``homes:`` all of them) the config names; the
  commands go to the lights over NATS;
- the **devices** (``--role devices``): every light, one MQTT client on ``carhome/+/+/cmd``
  logged in as the cluster's operator; it executes a command id once and acks it (QoS 1),
  answering an id received again with the same ack.

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

Each phase starts every car where the stream starts it (W2's start: 25 km away, 80 %) and
ends once every command is acked (none new or open for the bound) and the acks committed;
then from what the devices received:

- ``firings``: command ids at the device each automation reaches first (d8, d9, d0, as W2
  counts them), against ``expected_firings``, the firings the stream makes once the worker
  derives ``place`` and ``distance_to_home`` from the location the cars report (by the
  automations' rules, ``firings_of``; the generator's own count, which tracks place and
  distance apart, is ``generator_firings_per_phase``); ``every_firing`` per phase when each
  home's every automation fired exactly as often as expected;
- ``commands`` (ids received), ``commands_received_twice`` (ids received more than once: a
  command sent again on a take or after ``resend`` seconds unacked, executed once) and
  ``executed_twice`` (firings executed again under another id).

The acks go through the partition streams too: ``in_streams`` is the state messages plus one
entry per command received. ``msgs_per_s`` is the state messages' (their automations' runs
included: a batch's checkpoint waits for the commands it made to be in the outbox). One
JSON line.

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
from readings import cpu_seconds
from w1_signals import DERIVED, LIGHTS, SIGNALS, generator

LAT, LON = 52.0, 13.0
KM_PER_DEGREE = 111.195
START_KM, START_SOC = 25.0, 80.0
AWAY_KM = 0.3  # nearest a car reports itself while away: the home's circle is 200 m
SOC_BELOW, NEAR_BELOW = 20.0, 2.0  # W1's thresholds (bench/w1_signals.py)
CAR = "car"
WORKER = [sys.executable, "-c", "from carhome.cli.main import main; main()", "worker", "--config"]
SERVING = "carhome.compose.worker: partition "
NAMES = ("1_worker", "2_workers", "kill_9", "sigstop")

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
    "TRUNCATE states, commands, w5_checkpoints, w5_state_tx, w5_state_again",
    "UPDATE fleet_partitions SET checkpoint = 0, owner = NULL",
    "TRUNCATE w5_checkpoints",
)
RESET_TIMERS = "TRUNCATE automation_timers"  # once a worker made the table
COMMANDS_MADE = (
    "SELECT count(*) AS made, count(*) FILTER (WHERE status IN ('queued', 'sent')) AS open FROM commands"
)


def _read(path: Path) -> Any:
    return msgspec.json.decode(path.read_bytes())


def _write(path: Path, value: object) -> None:
    path.write_bytes(msgspec.json.encode(value))


# -- the messages ------------------------------------------------------------------------------


@dataclass
class Messages:
    """The W1 stream as the cars' state messages: (home index, payload) in order, what each
    car property's stored state must be at the end (its last valid value), and the firings
    the stream must make: per (home, the device its automation's command reaches first)."""

    rows: list[tuple[int, str]]
    last: dict[tuple[str, str], Any]
    firings: dict[tuple[str, str], int]
    generator_firings: int
    t0: float
    """The stream's first time (``ts``)."""

    @property
    def commands(self) -> int:
        """The commands the firings make: one for ``soc`` and ``near``, two for ``arrive``."""
        arrive = w2.FIRST_DEVICE["arrive"]
        return sum(n * (2 if device == arrive else 1) for (_, device), n in self.firings.items())


def car_location(h: int, sig: str, value: Any, distance: dict[int, float]) -> float:
    """How far north of its home (km) the car of home ``h`` reports itself for one change of
    the stream: at the home for ``place: home``; ``distance_to_home`` km out for a distance
    (at least ``AWAY_KM``: within the home's 200 m circle the car would be home); where its
    last distance put it (25 km at first) for ``place: away``."""
    if sig == "distance_to_home":
        distance[h] = max(AWAY_KM, float(value))
    return 0.0 if sig == "place" and value == "home" else distance.get(h, START_KM)


def firings_of(changes: list[tuple[int, str, Any, str | None]], homes: int) -> dict[tuple[str, str], int]:
    """The firings the stream makes once the worker derives ``place`` and ``distance_to_home``
    from the location each car reports, per (home, first device), by the automations' own
    rules: a threshold fires on entering its range and re-arms on leaving it, ``arrive`` on
    ``place`` going from ``away`` to ``home``.

    Not always the generator's own count: it tracks place and distance apart, while a car
    at its home is 0 km from it (arriving from 2 km or more is also "nearly home", and a
    distance under 2 km after it no longer enters the range)."""
    soc = dict.fromkeys(range(homes), START_SOC)
    km = dict.fromkeys(range(homes), START_KM)
    distance: dict[int, float] = {}
    fired: dict[tuple[str, str], int] = {}

    def fire(h: int, automation: str) -> None:
        key = (f"h{h}", w2.FIRST_DEVICE[automation])
        fired[key] = fired.get(key, 0) + 1

    for h, sig, value, _ in changes:
        if sig == "soc":
            if soc[h] >= SOC_BELOW > float(value):
                fire(h, "soc")
            soc[h] = float(value)
        elif sig in ("place", "distance_to_home"):
            new = car_location(h, sig, value, distance)
            if km[h] >= NEAR_BELOW > new:
                fire(h, "near")
            if km[h] > 0 and new == 0:
                fire(h, "arrive")
            km[h] = new
    return fired


def make_messages(homes: int, updates: int, seed: int, fire_ratio: float) -> Messages:
    from carhome.mqtt.payloads import encode_state  # noqa: PLC0415 - the coordinator's only
    from carhome.spec.devices import CAR as CAR_SPEC  # noqa: PLC0415
    from carhome.spec.properties import InvalidValue  # noqa: PLC0415
    from carhome.spec.vss import LATITUDE, LONGITUDE  # noqa: PLC0415

    changes, generator_firings = generator().generate(homes, updates, fire_ratio, seed)
    t0 = float(int(time.time()))
    distance: dict[int, float] = {}
    rows: list[tuple[int, str]] = []
    last: dict[tuple[str, str], Any] = {}
    for i, (h, sig, value, _fires) in enumerate(changes):
        prop = SIGNALS[sig]
        if prop in DERIVED:  # where the car is, which the worker's hub turns into these
            km = car_location(h, sig, value, distance)
            values: dict[str, Any] = {LATITUDE: LAT + km / KM_PER_DEGREE, LONGITUDE: LON}
        else:
            values = {prop: value}
        for name, raw in values.items():
            with contextlib.suppress(InvalidValue):
                last[(f"h{h}", name)] = CAR_SPEC.properties[name].check(raw)
        rows.append((h, encode_state(values, t0 + i * 1e-4).decode()))
    return Messages(rows, last, firings_of(changes, homes), int(generator_firings), t0)


def shared_automations(homes: int) -> str:
    """W1's three automations (W2's, each firing turning lights on) in one file for every
    home (``homes:``), as a fleet gives them."""
    text = w2.TEMPLATE.format(home="HOME")
    text = text.replace("home: HOME\n", f"homes: [{', '.join(f'h{h}' for h in range(homes))}]\n", 1)
    return text.replace("id: HOME.", "id: ")


def start_states(homes: int, ts: float) -> list[Any]:
    """Each car where the W1 stream starts it (W2's start): 25 km away, 80 %, standing."""
    from carhome.hub.persistence import StateRow  # noqa: PLC0415
    from carhome.spec.devices import DISTANCE_TO_HOME, PLACE  # noqa: PLC0415
    from carhome.spec.vss import LATITUDE, LONGITUDE  # noqa: PLC0415

    start = {
        LATITUDE: LAT + START_KM / KM_PER_DEGREE,
        LONGITUDE: LON,
        PLACE: "away",
        DISTANCE_TO_HOME: START_KM,
        SIGNALS["soc"]: START_SOC,
        SIGNALS["speed"]: 0.0,
        SIGNALS["odometer"]: 1000.0,
        SIGNALS["inside_temp"]: 20.0,
    }
    return [
        StateRow(f"h{h}", CAR, prop, value, ts, "w5") for h in range(homes) for prop, value in start.items()
    ]


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


# -- the devices process -----------------------------------------------------------------------


async def devices(args: argparse.Namespace) -> None:
    """Every light of every home: one gmqtt client on ``carhome/+/+/cmd``, logged in as the
    cluster's operator (a device's own login answers for itself only; 40,000 lights' own
    connections would be this bench's load, not the fleet's). A command id is executed once
    and acknowledged (QoS 1); one received again is answered with the same ack, not executed.
    On each ``dump`` line it writes what it received since the last (``{id: [home, device,
    times received]}``) to ``--out`` and forgets it, then says ``dumped``; ``stop`` ends it."""
    user, password = _read(Path(args.logins))
    received: dict[str, list[Any]] = {}
    decode = msgspec.json.Decoder(dict[str, Any]).decode
    encode = msgspec.json.encode
    client = gmqtt.Client(f"w5-devices-{os.getpid()}", clean_session=True)
    client.set_auth_credentials(user, password)

    def on_message(_: Any, topic: str, payload: bytes, qos: int, properties: Any) -> int:
        _, home, device, _ = topic.split("/")
        command_id = str(decode(payload)["id"])
        seen = received.get(command_id)
        if seen is None:
            received[command_id] = [home, device, 1]  # executed: the light goes on
        else:
            seen[2] += 1  # a repeat: the stored ack again, nothing executed
        client.publish(f"carhome/{home}/{device}/ack", encode({"id": command_id, "status": "acked"}), qos=1)
        return 0

    subscribed = asyncio.Event()
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    await client.connect("127.0.0.1", int(args.ports), version=MQTTv311, keepalive=600)
    client.subscribe("carhome/+/+/cmd", qos=1)
    await asyncio.wait_for(subscribed.wait(), 30)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "dump":
        _write(Path(args.out), received)
        received = {}
        print("dumped", flush=True)
    await client.disconnect()


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
    unsettled: int = 0  # checkpoints that went on with automation runs still running
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
            elif "automation runs still waiting after" in line:
                self.unsettled += 1
            elif "is over; another worker serves it now" in line or "Fenced" in line:
                self.refused += 1

    def cpu_s(self) -> float:
        """User + system CPU seconds of the process so far."""
        return cpu_seconds(self.process.pid)

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
    devices: asyncio.subprocess.Process | None = None
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
        self.publisher = await self._start_role(
            "publisher",
            {
                "--ports": ports,
                "--qos": str(self.args.qos),
                "--logins": str(self.work / "logins.json"),
                "--stream": str(self.work / "stream.json"),
                "--out": str(self.work / "published.json"),
            },
            ready="connected",
            bound=60 + self.args.homes / 50,
            or_else="the publisher's cars did not all connect",
        )

    async def start_devices(self) -> None:
        self.devices = await self._start_role(
            "devices",
            {
                "--ports": str(self.cluster.mqtt_port(0)),
                "--logins": str(self.work / "operator.json"),
                "--out": str(self.work / "received.json"),
            },
            ready="ready",
            bound=60,
            or_else="the devices did not subscribe",
        )

    async def _start_role(
        self, role: str, options: dict[str, str], *, ready: str, bound: float, or_else: str
    ) -> asyncio.subprocess.Process:
        """This script started again as ``role`` with ``options``, once it says ``ready``
        (within ``bound`` s; otherwise exit saying ``or_else``)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--role",
            role,
            *(word for option, value in options.items() for word in (option, value)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        if not await w2._line(process, ready, bound):
            sys.exit(f"w5: {or_else}")
        return process

    async def received(self) -> dict[str, list[Any]]:
        """What the devices received since the last call: ``{id: [home, device, times]}``."""
        assert self.devices is not None
        assert self.devices.stdin is not None
        self.devices.stdin.write(b"dump\n")
        await self.devices.stdin.drain()
        if not await w2._line(self.devices, "dumped", 60):
            sys.exit("w5: the devices did not say what they received")
        return dict(_read(self.work / "received.json"))

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
        """New, empty partition streams, no commands, and each car's state where the stream
        starts it; the partitions free at checkpoint 0, the devices' counts at 0."""
        import asyncpg  # noqa: PLC0415 - the coordinator's only

        from carhome.fleet.jetstream import ensure_streams  # noqa: PLC0415
        from carhome.fleet.log import stream  # noqa: PLC0415
        from carhome.store.postgres import write_states  # noqa: PLC0415

        js = self.admin.jetstream()
        for p in range(self.partitions):
            with contextlib.suppress(Exception):
                await js.delete_stream(stream(p))
        await ensure_streams(js, self.partitions, replicas=min(3, self.cluster.size), timeout=60)
        for statement in RESET:
            await self.db.execute(statement)
        with contextlib.suppress(asyncpg.UndefinedTableError):
            await self.db.execute(RESET_TIMERS)
        # each car where the stream starts it, written before any checkpoint (not a zombie's)
        await write_states(self.db, start_states(self.args.homes, self.messages.t0 - 1))
        await self.db.execute("TRUNCATE w5_state_tx")
        await self.received()  # the devices forget the phase before

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
        automations = {"files": [str(self.work / "automations.yaml")]}
        config.write_text(json.dumps({"hub": {"data_dir": name}, "fleet": fleet, "automations": automations}))
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

    async def drained(self, last: dict[int, int] | None = None) -> tuple[int, dict[int, int]]:
        """Wait until every partition's checkpoint is at least ``last`` (by default its stream's
        last sequence once the streams hold every state message): the monotonic ns then."""
        if last is None:
            last = await self.all_in_streams()
        want = last

        async def done() -> bool:
            rows = await self.db.fetch("SELECT partition, checkpoint FROM fleet_partitions")
            return all(r["checkpoint"] >= want.get(r["partition"], 0) for r in rows)

        await self.until("every partition's checkpoint at its stream's end", done, self.args.bound * 10)
        return time.monotonic_ns(), last

    async def streams_still(self) -> dict[int, int]:
        """Each stream's last sequence once none moved for a second (or the bound passed)."""
        deadline = time.monotonic() + self.args.bound
        last = await self.in_streams()
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            now = await self.in_streams()
            if now == last:
                break
            last = now
        return last

    async def fired(self) -> dict[str, Any]:
        """Once every command the automations made is acknowledged (none new or open for the
        bound) and the acks are committed: the firings and commands the devices saw."""
        quiet_since, seen, made = time.monotonic(), None, None
        want = self.messages.commands
        while time.monotonic() - quiet_since < self.args.bound:
            made = await self.db.fetchrow(COMMANDS_MADE)
            if made["made"] >= want and made["open"] == 0:
                break
            if tuple(made) != seen:
                seen, quiet_since = tuple(made), time.monotonic()
            await asyncio.sleep(0.05)
        await self.drained(await self.streams_still())  # the acks' entries committed too
        unsettled = sum(w.unsettled for w in self.workers)
        received = await self.received()
        got: dict[tuple[str, str], int] = {}
        for home, device, _ in received.values():
            if device in w2.FIRST_DEVICE.values():  # one command per firing: counted there
                got[(home, device)] = got.get((home, device), 0) + 1
        expected = self.messages.firings
        missing = sum(max(0, n - got.get(key, 0)) for key, n in expected.items())
        by_device: dict[str, int] = {}
        for _, device, _ in received.values():
            by_device[device] = by_device.get(device, 0) + 1
        # where the firings differ: home, first device, executed, expected
        differ = sorted(
            (home, device, got.get((home, device), 0), expected.get((home, device), 0))
            for home, device in {*got, *expected}
            if got.get((home, device), 0) != expected.get((home, device), 0)
        )
        return {
            "firings": sum(got.values()),
            "expected_firings": sum(expected.values()),
            "every_firing": got == expected,
            "firings_missing": missing,
            # a firing executed again under another id (devices execute an id once)
            "executed_twice": sum(max(0, n - expected.get(key, 0)) for key, n in got.items()),
            "firings_differ_at": [f"{h}/{d}: {n} of {e}" for h, d, n, e in differ[:10]],
            "commands": len(received),
            "commands_by_device": dict(sorted(by_device.items())),
            "expected_commands": want,
            "commands_received_twice": sum(1 for *_, times in received.values() if times > 1),
            "command_receipts": sum(times for *_, times in received.values()),
            "commands_made": made["made"] if made else 0,
            "commands_open": made["open"] if made else 0,
            # a batch's checkpoint committed while runs it set off still ran (``SETTLE``)
            "checkpoints_past_running_runs": unsettled,
        }

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
        states = await self.all_in_streams()  # the state messages only: no worker yet, no ack
        workers = [await self.start_worker(n) for n in names]
        t_done, _ = await self.drained(states)
        cpu = sum(w.cpu_s() for w in workers) - startup_cpu
        t_first = min(w.first_serving for w in workers if w.first_serving is not None)
        total = sum(states.values())
        fired = await self.fired()
        last = await self.in_streams()
        counts = await self.count(last)
        await self.stop_workers()
        return {
            "msgs_per_s": round(total / ((t_done - t_first) / 1e9)),
            "cpu_s_per_1k_msgs": round(cpu / total * 1000, 4) if total else None,
            "startup_cpu_s": round(startup_cpu, 2),
            "balance": round(min(shares) / max(shares), 3),
            "shares": shares,
            "state_messages": total,
            "in_streams": sum(last.values()),
            **fired,
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
        await self.drained()
        fired = await self.fired()
        last = await self.in_streams()
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
            **fired,
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
    (work / "automations.yaml").write_text(shared_automations(args.homes))
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
                _write(work / "operator.json", (cluster.admin.user, cluster.admin.password))
                (work / "operator.json").chmod(0o600)
                await run.start_devices()
                yield run
            finally:
                await run.stop_workers()
                if run.publisher is not None:
                    await w2._stop(run.publisher)
                if run.devices is not None:
                    await w2._stop(run.devices)
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
    ran = [p for p in phases if p]
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
        "firings": sum(p["firings"] for p in ran),
        "expected_firings": sum(p["expected_firings"] for p in ran),
        "every_firing": all(p["every_firing"] for p in ran),
        "every_firing_by_phase": {
            name: p["every_firing"] for name, p in zip(NAMES, phases, strict=True) if p
        },
        "commands": sum(p["commands"] for p in ran),
        "commands_received_twice": sum(p["commands_received_twice"] for p in ran),
        "executed_twice": sum(p["executed_twice"] for p in ran),
        "generator_firings_per_phase": messages.generator_firings,
        "raw_msgs_per_s": round(raw),
        "ratio_to_raw": round(two["msgs_per_s"] / raw, 3) if raw and two else None,
        "measures": "state ingest with W1's automations; commands to the devices over NATS, acked",
        "phases": dict(zip(NAMES, phases, strict=True)),
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
        "--role",
        choices=("coordinator", "publisher", "devices"),
        default="coordinator",
        help=argparse.SUPPRESS,
    )
    p.add_argument("--ports", help=argparse.SUPPRESS)
    p.add_argument("--logins", help=argparse.SUPPRESS)
    p.add_argument("--stream", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    w2.run_role(p.parse_args(), publisher, devices, coordinate)


if __name__ == "__main__":
    main()
