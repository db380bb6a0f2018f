"""The worker role under failover: real worker processes keep ~100 homes' state from their logs.

Two ``carhome worker`` processes (``role_child.py``, ``carhome.compose.worker.serve``) share
a fleet of 8 partitions over 96 homes of two air purifiers each, whose messages the test
appends to the partitions' logs (``tablelog``) while they run: a few thousand state messages,
some of them sent again later with their old timestamp (a redelivery behind newer ones).
Midway one worker is killed with SIGKILL, or stopped with SIGSTOP and later resumed as a
zombie. At the end the test counts, from the database:

- ``lost``: properties whose stored state is not their newest message (by the device's
  ``ts``), plus log entries of no committed batch;
- ``applied_twice``: log entries committed by more than one batch;
- ``served_again_s``: from the failure until the other worker holds every partition;
- ``zombie_writes_accepted``: writes of a stale epoch that were committed after the takeover.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from carhome.hub.model import Device, Home
from carhome.mqtt.payloads import encode_state
from carhome.store import PostgresStore

from .rig import HEARTBEAT, IDLE_TIMEOUT, Rig, Worker
from .tablelog import Writer, connected

pytestmark = pytest.mark.postgres

CHILD = Path(__file__).with_name("role_child.py")
PARTITIONS = 8
HOMES = 96
DEVICES = ("purifier_a", "purifier_b")
CHUNKS = 40
PER_CHUNK = 75  # 3,000 state messages
REDELIVERED = 0.05  # the share of messages sent again later with their old ts
RECENT = 200  # a redelivered message is one of the last this many
SERVED_AGAIN_BOUND = 5.0  # seconds: the fleet's aim is under 10 s
T0 = 1_000_000.0


class RoleRig(Rig):
    """The failover rig, its workers of the worker role."""

    def command(self, name: str) -> list[str]:
        return [str(CHILD), self.url, name, str(self.partitions), str(HEARTBEAT), str(IDLE_TIMEOUT)]

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(CHILD.parent)}


class Stream:
    """The messages the test sends, and what each property's final state must be."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.ts = T0
        self.newest: dict[tuple[str, str, str], tuple[float, int]] = {}
        self.sent: list[tuple[str, str, float, dict[str, int]]] = []

    def chunk(self) -> list[tuple[str, str, str, bytes]]:
        messages = []
        for _ in range(PER_CHUNK):
            if self.sent and self.random.random() < REDELIVERED:
                # again, behind newer ones: a recent message, as a redelivery after a timeout
                home, device, ts, values = self.random.choice(self.sent[-RECENT:])
            else:
                self.ts += 0.5
                home = f"h{self.random.randrange(HOMES):03d}"
                device = self.random.choice(DEVICES)
                ts = self.ts
                # few values: a newer message often repeats the value it follows, changing its time only
                values = {"pm25": self.random.randrange(1000), "humidity": self.random.randrange(3)}
                self.sent.append((home, device, ts, values))
            for prop, value in values.items():
                if self.newest.get((home, device, prop), (0.0, 0))[0] < ts:
                    self.newest[(home, device, prop)] = (ts, value)
            messages.append((home, device, "state", encode_state(values, ts)))
        return messages


@pytest.fixture
async def rig(postgres_url: str) -> AsyncIterator[RoleRig]:
    async with PostgresStore(postgres_url) as store:
        for i in range(HOMES):
            await store.save_home(Home(id=f"h{i:03d}", name=f"Home {i}", lat=52.0, lon=13.0))
            await store.save_devices(
                [Device(home=f"h{i:03d}", id=d, type="air_purifier", name=d) for d in DEVICES]
            )
    rig = RoleRig(postgres_url, PARTITIONS, 0)
    await rig.prepare()
    try:
        yield rig
    finally:
        errors = await rig.close()
        if errors.strip():
            print(errors[-3000:])


class Sending:
    """The test's devices sending the whole stream in the background, chunk after chunk."""

    def __init__(self, writer: Writer, stream: Stream) -> None:
        self.writer = writer
        self.stream = stream
        self.halfway = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @classmethod
    async def to(cls, url: str, seed: int) -> Sending:
        """The stream of ``seed``, to the partitions' logs made new in the database at ``url``."""
        writer = Writer(url, PARTITIONS)
        await writer.create()
        return cls(writer, Stream(seed=seed))

    def start(self) -> None:
        self.task = asyncio.create_task(self._send(), name="sending")

    async def _send(self) -> None:
        for i in range(CHUNKS):
            await self.writer.append(self.stream.chunk())
            if i + 1 == CHUNKS // 2:
                self.halfway.set()


async def two_workers(rig: Rig, sending: Sending, *a_extra: str) -> tuple[Worker, Worker]:
    """``a`` alone, then ``b`` joins: half each; both applying, the stream halfway."""
    a = await rig.start("a", *a_extra)
    await rig.until("a holds every partition", lambda: len(a.held) == PARTITIONS)
    b = await rig.start("b")
    half = PARTITIONS // 2
    await rig.until("a and b hold half each", lambda: len(a.held) == half and len(b.held) == half)
    sending.start()
    await sending.halfway.wait()
    await rig.until("a applies its partitions", lambda: all(a.at.get(p, 0) > 0 for p in a.held))
    return a, b


async def fail(rig: Rig, a: Worker, b: Worker, sig: signal.Signals) -> tuple[dict[int, int], float]:
    """Send ``sig`` to ``a``: the partitions it held, and the seconds until ``b`` holds every one."""
    held = dict(a.held)
    failed = time.monotonic()
    a.signal(sig)
    await rig.until("b holds every partition", lambda: len(b.held) == PARTITIONS)
    return held, time.monotonic() - failed


async def finish(rig: Rig, sending: Sending, a: Worker, b: Worker, held: dict[int, int]) -> None:
    """Wait until the stream was sent and ``b`` applied it to the end; check that ``b`` took
    ``a``'s partitions mid-stream (from a checkpoint ``a`` committed, short of the end)."""
    assert sending.task is not None
    await sending.task
    last = sending.writer.last
    taken: dict[int, int] = {}  # partition → the checkpoint b took it from

    def at_end() -> bool:
        for line in b.lines:
            if line.startswith("acquired "):
                _, p, _, checkpoint = line.split()
                taken[int(p)] = int(checkpoint)
        return len(b.held) == PARTITIONS and all(
            max(b.at.get(p, 0), taken.get(p, 0)) == last[p] for p in range(PARTITIONS)
        )

    await rig.until("b applied every log to its end", at_end)
    for p in held:
        assert 0 < taken[p] < last[p], f"partition {p} was not taken mid-stream: from {taken[p]} of {last[p]}"


async def counted(url: str, sending: Sending) -> tuple[int, int, int]:
    """(lost, applied twice, zombie writes accepted), from the database."""
    writer, stream = sending.writer, sending.stream
    async with connected(url) as conn:
        stored = {
            (r["home"], r["device"], r["prop"]): (r["ts"], msgspec.json.decode(r["value"]))
            for r in await conn.fetch("SELECT home, device, prop, ts, value FROM states")
        }
        total, distinct = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT (partition, seq)) FROM fleet_test_applied"
        )
        # a stale epoch's entry committed past where a newer epoch of its partition began
        zombies = await conn.fetchval(
            "SELECT count(*) FROM fleet_test_applied old WHERE old.seq >= (SELECT min(f.seq)"
            " FROM fleet_test_applied f WHERE f.partition = old.partition AND f.epoch > old.epoch)"
        )
        zombies += await conn.fetchval("SELECT count(*) FROM states WHERE home = 'zombie'")
        missing = await conn.fetch(
            "SELECT p, s FROM unnest($1::int[], $2::int[]) AS ends(p, upto), generate_series(1, upto) AS s"
            " WHERE NOT EXISTS (SELECT 1 FROM fleet_test_applied a WHERE a.partition = p AND a.seq = s)",
            list(writer.last),
            list(writer.last.values()),
        )
    # the value only: a newer message of the same value changes nothing, so writes nothing
    wrong = [
        (key, stored.get(key), value)
        for key, (_, value) in stream.newest.items()
        if stored.get(key, (0, None))[1] != value
    ]
    if wrong or missing:  # named, so a failure says where to look
        print(f"states not as the stream last said: {wrong[:10]}; entries never applied: {missing[:10]}")
    entries = sum(writer.last.values())
    return len(wrong) + entries - distinct, total - distinct, zombies


async def test_a_killed_worker_s_homes_are_served_again_with_nothing_lost_or_applied_twice(
    rig: RoleRig, postgres_url: str
) -> None:
    sending = await Sending.to(postgres_url, seed=15)
    a, b = await two_workers(rig, sending)
    held, served_again = await fail(rig, a, b, signal.SIGKILL)
    await finish(rig, sending, a, b, held)
    lost, twice, zombies = await counted(postgres_url, sending)
    messages = sum(sending.writer.last.values())
    print(
        f'{{"messages": {messages}, "homes": {HOMES}, "lost": {lost}, "applied_twice": {twice},'
        f' "served_again_s": {served_again:.2f}, "zombie_writes_accepted": {zombies}}}'
    )
    assert (lost, twice, zombies) == (0, 0, 0)
    assert served_again < SERVED_AGAIN_BOUND


async def test_a_stopped_worker_s_homes_move_and_its_resumed_writes_are_refused(
    rig: RoleRig, postgres_url: str
) -> None:
    sending = await Sending.to(postgres_url, seed=16)
    zombie_writes = 3
    a, b = await two_workers(rig, sending, "--zombie-writes", str(zombie_writes))
    held, served_again = await fail(rig, a, b, signal.SIGSTOP)
    a.signal(signal.SIGCONT)
    await rig.until("a's zombie tried its writes", lambda: a.zombie is not None)
    await finish(rig, sending, a, b, held)
    lost, twice, zombies = await counted(postgres_url, sending)
    assert a.zombie is not None
    accepted, tried = a.zombie
    print(
        f'{{"messages": {sum(sending.writer.last.values())}, "lost": {lost}, "applied_twice": {twice},'
        f' "served_again_s": {served_again:.2f}, "zombie_writes_accepted": {zombies + accepted},'
        f' "zombie_writes_tried": {tried}}}'
    )
    assert tried == zombie_writes * (PARTITIONS // 2)
    assert (lost, twice, zombies + accepted) == (0, 0, 0)
    assert served_again < IDLE_TIMEOUT + SERVED_AGAIN_BOUND
