"""``carhome fleet up`` as a real process: a worker killed mid-stream, its partitions moved, no state
lost, and nothing of the fleet left running after SIGTERM.

``fleet up`` starts three NATS servers, a PostgreSQL, two workers, an API node and 200
simulated homes (a car and a wallbox or a light each); the owner it prints logs in through
the API node; the cars change on a seeded schedule. Once both workers
hold their share, ``fleet kill-worker 1`` kills the first with SIGKILL while the cars still
report; the second must take every partition, and once the simulator's stream is done
(every report PUBACKed) the states in the fleet's PostgreSQL must be each device's last
published state. The waits are bounded polls of PostgreSQL (``fleet status``'s reading).

The simulator alone, on a NATS cluster: its wallbox and light ack commands (or refuse one
they cannot do), and the partition streams end with each device's last state as it keeps it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import msgspec
import pytest

from carhome.compose.fleetup import (
    STATE_FILE,
    FleetState,
    Status,
    fleet_devices,
    read_simulator,
    read_state,
    simulated,
    status,
)
from carhome.fleet.cluster import NatsCluster
from carhome.fleet.jetstream import JetStreamLog, connect, ensure_streams
from carhome.fleet.log import partition_of
from carhome.mqtt.credentials import Credentials
from carhome.mqtt.payloads import CommandMessage, decode_state
from carhome.sim.fleet import SOC, FleetSimulator
from carhome.store.postgres import PostgresStore
from carhome_child import carhome
from fleet.nats_rig import Collector

HOMES = 200
WORKERS = 2
PARTITIONS = 8
ROUNDS = 40
EVERY = 0.5  # seconds per round: the cars report for about 20 s, long enough to kill a worker mid-stream
BOUND = 120.0
"""Seconds any wait may take (a fleet starts in seconds; the machine may be shared)."""
POLL = 0.2
DIES_WITHIN = 10.0
"""Seconds within which every child of a killed ``fleet up`` must be gone: they die with it."""

T = TypeVar("T")


async def until(
    what: str, read: Callable[[], Awaitable[T]], done: Callable[[T], bool], bound: float = BOUND
) -> T:
    """Read until ``done`` holds of what was read; fails saying what did not happen within ``bound`` s."""
    loop = asyncio.get_running_loop()
    end = loop.time() + bound
    while True:
        value = await read()
        if done(value):
            return value
        if loop.time() > end:
            pytest.fail(f"not within {bound} s: {what} (last read: {value!r})")
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


@pytest.mark.postgres
@pytest.mark.timeout(300)
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
    async with httpx.AsyncClient(base_url=state.api, timeout=BOUND) as http:
        login = await http.post(
            "/api/auth/login", json={"member": state.owner, "password": state.owner_password}
        )
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        car = await http.get(f"/api/devices/{state.owner_home}/car")
        assert car.status_code == 200, car.text

    async def read() -> Status:
        return await status(state)

    found = await until(
        "both workers hold their share of all 8 partitions",
        read,
        lambda f: not f.unheld and all(held_by(f, w.id) for w in state.workers),
    )
    first = held_by(found, "worker-1")
    running = read_simulator(directory)
    assert running is None or not running.done, "the stream is meant to go on after the kill"

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

    during = await status(state, read_simulator(directory))  # the stream runs: some are behind
    assert during.states is not None
    assert during.states.lost == 0, during.states

    async def compared() -> Status:
        return await status(state, read_simulator(directory))

    found = await until(
        "the simulator's stream is done and the fleet holds every device's last state",
        compared,
        lambda f: f.states is not None and f.states.done and f.states.held == f.states.devices,
    )
    report = read_simulator(directory)
    assert report is not None
    assert found.states is not None
    assert report.reports > HOMES * ROUNDS
    shown = subprocess.run(  # noqa: ASYNC221 - the command a person runs, done in a moment
        carhome("fleet", "status", "--dir", str(directory)), capture_output=True, text=True, check=False
    )
    assert f"states: {2 * HOMES} devices, lost 0 (held {2 * HOMES}, behind 0 not applied" in shown.stdout, (
        shown
    )
    missing = found.states.lost_devices
    async with PostgresStore(state.database) as store:  # a car's states gone once applied: lost
        delete = ("DELETE FROM states WHERE home = $1 AND device = $2", ["home-00003", "car"])
        await store.database.execute("removing a car's states", [delete])
        gone = await status(state, report)
        assert gone.states is not None
        assert (gone.states.lost, gone.states.lost_devices) == (1, ["home-00003/car"])
        rewind = (  # ... and behind, not lost, while its partition's checkpoint is before its report
            "UPDATE fleet_partitions SET checkpoint = 0 WHERE partition = $1",
            [partition_of("home-00003", PARTITIONS)],
        )
        await store.database.execute("moving a checkpoint back", [rewind])
        back = await status(state, report)
    assert back.states is not None
    assert (back.states.lost, back.states.behind) == (0, 1)
    print(
        f"fleet up: {HOMES} homes, {WORKERS} workers, kill-worker 1: partitions moved {moved} of {len(first)}"
        f" → worker 2 ({len(held_by(found, 'worker-2'))} of {PARTITIONS} held),"
        f" states lost {len(missing)} of {len(report.last)} devices ({report.reports} reports,"
        f" behind {during.states.behind} while running,"
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


async def test_the_simulator_s_devices_ack_commands_and_the_stream_holds_their_last_states(
    tmp_path: Path,
) -> None:
    devices = fleet_devices(2)  # home-00000: a car and a wallbox; home-00001: a car and a light
    credentials = Credentials.make((d.home, d.id) for d in devices)
    async with NatsCluster(tmp_path, partitions=4, credentials=credentials) as cluster:
        admin = await connect(cluster.nats_urls, cluster.admin)
        worker = await connect(cluster.nats_urls, cluster.worker)
        collector = Collector(JetStreamLog(worker.jetstream(), idle=0.5))
        try:
            await ensure_streams(admin.jetstream(), 4, replicas=3)
            for p in sorted({partition_of(d.home, 4) for d in devices}):
                collector.start(p)
            ports = [cluster.mqtt_port(i) for i in range(cluster.size)]
            async with FleetSimulator(simulated(devices, credentials), ports, seed=3) as simulator:
                await simulator.run(rounds=5, every=0.05)
                expires = simulator.clock.time() + 60
                commands = {
                    "c-light": (
                        "home-00001",
                        "light",
                        CommandMessage("c-light", "action", "turn_on", {}, expires),
                    ),
                    "c-limit": (
                        "home-00000",
                        "wallbox",
                        CommandMessage("c-limit", "set", "current_limit", {"value": 10}, expires),
                    ),
                    "c-fly": ("home-00000", "wallbox", CommandMessage("c-fly", "action", "fly", {}, expires)),
                }
                for home, device, message in commands.values():
                    await worker.publish(f"carhome.{home}.{device}.cmd", msgspec.json.encode(message))

                def acks() -> dict[str, str]:
                    return {
                        (ack := msgspec.json.decode(e.payload)).get("id"): ack["status"]
                        for entries in collector.read.values()
                        for e in entries
                        if e.kind == "ack"
                    }

                await collector.until(lambda: len(acks()) == len(commands))
                await simulator.until_acked()
                last = simulator.last()
                await collector.until(lambda: streamed(collector) == last)
        finally:
            await collector.stop()
            await worker.close()
            await admin.close()
    print(f"simulator: commands acked {sum(s == 'acked' for s in acks().values())} of {len(commands)}")
    assert acks() == {"c-light": "acked", "c-limit": "acked", "c-fly": "failed"}
    assert last["home-00001/light"]["on"] is True
    assert last["home-00000/wallbox"]["current_limit"] == 10
    assert set(last) == {f"{d.home}/{d.id}" for d in devices}
    assert last["home-00000/car"][SOC] != last["home-00001/car"][SOC]  # each car on its own schedule


def streamed(collector: Collector) -> dict[str, dict[str, object]]:
    """Each device's state as the partition streams say it, message after message."""
    states: dict[str, dict[str, object]] = {}
    for entries in collector.read.values():
        for e in entries:
            if e.kind == "state":
                values, _ = decode_state(e.payload)
                states.setdefault(f"{e.home}/{e.device}", {}).update(values)
    return states


@pytest.mark.postgres
async def test_nothing_of_the_fleet_outlives_fleet_up_killed_with_sigkill(tmp_path: Path) -> None:
    directory = tmp_path / "fleet"
    up = subprocess.Popen(  # noqa: ASYNC220 - a child process that runs for the whole test
        carhome(
            "fleet", "up", "--homes", "4", "--workers", "1", "--partitions", "2", "--dir", str(directory)
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state: FleetState | None = None
    try:

        async def started() -> FleetState | None:
            assert up.poll() is None, f"fleet up ended early ({up.returncode})"
            return read_state(directory) if (directory / STATE_FILE).exists() else None

        state = await until("fleet up writes its state", started, lambda s: s is not None)
        assert state is not None
        children = state.children
        assert len(children) == 3 + 1 + 1 + 1  # servers, database, worker, API node
        assert all(alive(c) for c in children)
        up.kill()
        up.wait()
        left = await until(
            "every child of fleet up ends",
            lambda: asyncio.sleep(0, [c for c in children if alive(c)] + running_under(directory)),
            lambda found: not found,
            DIES_WITHIN,
        )
        print(f"fleet up killed with SIGKILL: children left {len(left)} of {len(children)}")
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        if state is not None:  # what fleet up's next start in the directory would remove
            shutil.rmtree(state.postgres_dir, ignore_errors=True)
