"""``carhome fleet up`` as a real process: a worker killed mid-stream, its partitions moved, no state
lost, and nothing of the fleet left running after SIGTERM.

``fleet up`` starts three NATS servers, a PostgreSQL, two workers and 200 simulated homes (a
car and a wallbox or a light each); the cars change on a seeded schedule. Once both workers
hold their share, ``fleet kill-worker 1`` kills the first with SIGKILL while the cars still
report; the second must take every partition, and once the simulator's stream is done
(every report PUBACKed) the states in the fleet's PostgreSQL must be each device's last
published state. The waits are bounded polls of PostgreSQL (``fleet status``'s reading).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import msgspec
import pytest

from carhome.compose.fleetup import (
    SIMULATOR_FILE,
    STATE_FILE,
    FleetState,
    SimulatorReport,
    Status,
    read_state,
    status,
)
from carhome.store.postgres import PostgresStore

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

HOMES = 200
WORKERS = 2
PARTITIONS = 8
ROUNDS = 40
EVERY = 0.5  # seconds per round: the cars report for about 20 s, long enough to kill a worker mid-stream
BOUND = 120.0
"""Seconds any wait may take (a fleet starts in seconds; the machine may be shared)."""
POLL = 0.2

T = TypeVar("T")


def carhome(*args: str) -> list[str]:
    return [sys.executable, "-c", "from carhome.cli.main import main; main()", *args]


async def until(what: str, read: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """Read until ``done`` holds of what was read; fails saying what did not happen within ``BOUND``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + BOUND
    while True:
        value = await read()
        if done(value):
            return value
        if loop.time() > end:
            pytest.fail(f"not within {BOUND} s: {what} (last read: {value!r})")
        await asyncio.sleep(POLL)  # a poll of PostgreSQL or a file, bounded above


def held_by(found: Status, worker: str) -> list[int]:
    return next((w.partitions for w in found.workers if w.id == worker), [])


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def running_under(directory: Path) -> list[int]:
    """The processes whose command line names ``directory`` (the fleet's servers and workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(directory).encode() in cmdline and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


async def test_fleet_up_moves_a_killed_worker_s_partitions_and_loses_no_state(tmp_path: Path) -> None:
    directory = tmp_path / "fleet"
    out = (tmp_path / "fleet-up.out").open("wb")
    up = subprocess.Popen(  # noqa: ASYNC220 - a child process that runs for the whole test
        carhome(
            "fleet",
            "up",
            *("--homes", str(HOMES), "--workers", str(WORKERS), "--partitions", str(PARTITIONS)),
            *("--rounds", str(ROUNDS), "--every", str(EVERY), "--dir", str(directory)),
        ),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        await _fleet(directory, up)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        out.close()
        print((tmp_path / "fleet-up.out").read_text()[-3000:])


async def _fleet(directory: Path, up: subprocess.Popen[bytes]) -> None:
    async def started() -> FleetState | None:
        assert up.poll() is None, f"fleet up ended early ({up.returncode})"
        return read_state(directory) if (directory / STATE_FILE).exists() else None

    state = await until("fleet up writes its state", started, lambda s: s is not None)
    assert state is not None
    assert [w.number for w in state.workers] == [1, 2]

    async def read() -> Status:
        return await status(state)

    found = await until(
        "both workers hold their share of all 8 partitions",
        read,
        lambda f: not f.unheld and all(held_by(f, w.id) for w in state.workers),
    )
    first = held_by(found, "worker-1")
    assert not (directory / SIMULATOR_FILE).exists(), "the stream is meant to go on after the kill"

    killed = subprocess.run(  # noqa: ASYNC221 - the command a person runs, done in a moment
        carhome("fleet", "kill-worker", "1", "--dir", str(directory)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == 0, killed.stdout + killed.stderr
    assert "killed worker 1" in killed.stdout

    found = await until(
        "worker 2 holds every partition",
        read,
        lambda f: held_by(f, "worker-2") == list(range(PARTITIONS)),
    )
    gone = next(w for w in found.workers if w.id == "worker-1")
    assert not gone.alive
    assert not alive(state.workers[0].pid)
    moved = len(set(first) & set(held_by(found, "worker-2")))

    async def simulated() -> SimulatorReport | None:
        path = directory / SIMULATOR_FILE
        return msgspec.json.decode(path.read_bytes(), type=SimulatorReport) if path.exists() else None

    report = await until("the simulator's stream is done", simulated, lambda r: r is not None)
    assert report is not None
    assert report.reports > HOMES * ROUNDS

    async def lost() -> list[str]:
        async with PostgresStore(state.database) as store:
            rows = await store.states_in([f"home-{n:05d}" for n in range(HOMES)])
        stored = {(r.home, r.device, r.prop): r.value for r in rows}
        return [
            device
            for device, values in report.last.items()
            if any(stored.get((*device.split("/"), prop)) != value for prop, value in values.items())
        ]

    missing = await until("the fleet holds every device's last state", lost, lambda m: not m)
    print(
        f"fleet up: {HOMES} homes, {WORKERS} workers, kill-worker 1: partitions moved {moved} of {len(first)}"
        f" → worker 2 ({len(held_by(found, 'worker-2'))} of {PARTITIONS} held),"
        f" states lost {len(missing)} of {len(report.last)} devices ({report.reports} reports,"
        f" devices connected in {report.connect_s} s, fleet started in {state.started_s} s)"
    )
    assert moved == len(first) > 0
    assert len(report.last) == 2 * HOMES

    children = [c for c in state.children if c != state.workers[0].pid]
    assert all(alive(c) for c in children), "every server and the other worker run until SIGTERM"
    up.send_signal(signal.SIGTERM)
    await until("fleet up stops", lambda: asyncio.sleep(0, up.poll()), lambda code: code is not None)
    assert up.returncode == 0
    left = [c for c in children if alive(c)] + running_under(directory)
    assert left == [], f"processes left after fleet up stopped: {left}"
    assert not (directory / STATE_FILE).exists()
    assert not os.path.exists(state.postgres_dir)  # noqa: ASYNC240 - once, at the end
