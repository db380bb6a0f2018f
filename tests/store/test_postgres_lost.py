"""PostgreSQL lost while the hub runs, and PostgreSQL unreachable when it starts.

A hub on a PostgreSQL cluster of the test's own takes reports and commands without pause;
the cluster is stopped (``pg_ctl stop``, fast or immediate) and started again on the same
data and port. While it is gone, commands are refused with a reason and none is accepted,
the hub's state stays current, the write-behind keeps the latest states and nothing of the
hub's tasks fails unseen; once it is back, commands are accepted again, every acknowledged
command is in the store with its final status and the stored states catch up.
With the access control deciding each command on the same database (members and one
audit chain per home there), every accepted command also has its audit entry, allowed, and
the home's chain verifies: a decision whose audit entry cannot be written refuses the
command, and the chain goes on from the store's last entry once the database is back.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from click.testing import CliRunner

from carhome.access.audit import verify_chains
from carhome.access.members import Member
from carhome.access.service import Access
from carhome.cli.main import cli
from carhome.errors import StoreError
from carhome.hub import Ack, Command, CommandStatus, Device, Home, Hub
from carhome.hub.commands import RESULT_RETRY
from carhome.hub.persistence import StateWriter
from carhome.pgdatabase import PgDatabase
from carhome.store import PostgresStore
from carhome.testing import FakeClock
from carhome.testing.postgres import ThrowawayCluster, free_port
from carhome.wire.members import Role
from waiting import until

HOME = Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060)
DEVICES = [Device(home="h1", id=f"purifier{n}", type="air_purifier", room="living_room") for n in range(4)]
WORKERS = 8
ROUND = 120
"""Commands submitted in each phase of an outage: before the stop, while stopped, after the start."""
OUTAGES = 3
REACH = "check that PostgreSQL runs and listens there"

Phase = Literal["before", "stopping", "stopped", "starting", "after"]


@pytest.fixture
def cluster() -> Iterator[ThrowawayCluster]:
    """A cluster of this test's own: the session's is shared, and this one is stopped."""
    with ThrowawayCluster() as made:
        yield made


class AckingTransport:
    """Delivers each command to a device that answers ``acked`` right after."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def deliver(self, command: Command) -> None:
        ack = Ack(id=command.id, status="acked")
        asyncio.get_running_loop().call_soon(self._hub.ack, command.home, command.device, ack)


class Load:
    """Workers that each report a new state of their device, then submit a command, without
    pause; what became of each submit, by the phase it began and ended in."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.phase: Phase = "before"
        self.submitted = dict.fromkeys(("before", "stopped", "after"), 0)
        self.acked: list[tuple[Phase, Phase, Command]] = []
        self.refused: list[tuple[Phase, Phase, StoreError]] = []
        self.stale_reads = 0
        self._values = itertools.count()
        self._stop = False
        self._workers: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._workers = [asyncio.create_task(self._work(n)) for n in range(WORKERS)]

    async def stop(self) -> None:
        self._stop = True
        await asyncio.gather(*self._workers)

    async def _work(self, n: int) -> None:
        device = DEVICES[n % len(DEVICES)].id
        while not self._stop:
            value = next(self._values) % 1000
            self.hub.report("h1", device, {"pm25": value})
            self.stale_reads += self.hub.value("h1", device, "pm25") != value
            began = self.phase
            if began in self.submitted:
                self.submitted[began] += 1
            try:
                command = await self.hub.submit(
                    "h1", device, "action", "turn_on", member="alice", face="api", ttl=3600
                )
            except StoreError as exc:
                self.refused.append((began, self.phase, exc))
            else:
                self.acked.append((began, self.phase, command))
            await asyncio.sleep(0)  # the other workers' turn

    async def until_submitted(self, phase: Phase) -> None:
        """Wait until ``ROUND`` more commands are submitted in ``phase``, which begins now."""
        self.phase = phase
        target = self.submitted[phase] + ROUND
        await until(lambda: self.submitted[phase] >= target, f"{ROUND} commands submitted {phase}")


async def _lose_postgresql_under_load(
    hub: Hub, cluster: ThrowawayCluster, mode: Literal["fast", "immediate"], caplog: pytest.LogCaptureFixture
) -> tuple[Load, list[int]]:
    """``HOME`` and ``DEVICES`` added to ``hub`` (their commands acked), then ``cluster``
    stopped and started under a ``Load`` of commands; the load, and the states in memory
    during each outage."""
    await hub.add_home(HOME)
    await hub.add_devices(DEVICES)
    hub.commands.attach(DEVICES[0].connector, AckingTransport(hub))
    load = Load(hub)
    load.start()
    writer = hub.writer
    assert writer is not None
    try:
        return load, await _lose_postgresql(cluster, mode, load, writer, caplog)
    finally:
        await load.stop()


async def _lose_postgresql(
    cluster: ThrowawayCluster,
    mode: Literal["fast", "immediate"],
    load: Load,
    writer: StateWriter,
    caplog: pytest.LogCaptureFixture,
) -> list[int]:
    """Stop and start ``cluster`` ``OUTAGES`` times under ``load``, ``ROUND`` commands
    submitted before, during and after each outage; the states in memory during each."""
    backlogs: list[int] = []
    down = False
    try:
        for _ in range(OUTAGES):
            await load.until_submitted("before")
            failed = len(caplog.records)
            load.phase = "stopping"
            down = True
            await asyncio.to_thread(cluster.stop_server, mode)
            await load.until_submitted("stopped")
            # the write-behind meets the outage (it writes at least once a second)
            await until(
                lambda: any("writing states" in r.getMessage() for r in caplog.records[failed:]),  # noqa: B023
                "a failed state write",
            )
            backlogs.append(writer.backlog)
            load.phase = "starting"
            await asyncio.to_thread(cluster.start_server)
            down = False
            written = writer.written
            # by itself, after its next delay (the latest state of each property waiting)
            await until(lambda: writer.written > written, "states written again", bound=45)  # noqa: B023
            await load.until_submitted("after")
    finally:
        if down:  # the hub closes on a running server, so what failed is what is reported
            await asyncio.to_thread(cluster.start_server)
    return backlogs


async def _settle(hub: Hub, clock: FakeClock) -> None:
    """Let the outcomes whose write met an outage be written again (``RESULT_RETRY``, on the
    clock) and the write-behind write the last states."""
    await hub.commands.drain()
    for _ in range(60):
        if not hub.commands.pending():
            break
        await clock.advance(RESULT_RETRY)
        await hub.commands.drain()
    writer = hub.writer
    assert writer is not None
    await until(lambda: writer.backlog == 0, "the last states written", bound=45)
    await writer.flush()  # waits for a write under way; nothing is left to write


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgresql_lost_while_running_refuses_commands_loses_nothing_and_catches_up(
    cluster: ThrowawayCluster, mode: Literal["fast", "immediate"], caplog: pytest.LogCaptureFixture
) -> None:
    unhandled: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: unhandled.append(context))
    url = await cluster.create_schema("lost")
    clock = FakeClock()
    async with Hub(store=PostgresStore(url), clock=clock) as hub:
        load, backlogs = await _lose_postgresql_under_load(hub, cluster, mode, caplog)
        await _settle(hub, clock)
        stored = {(r.device, r.prop): r.value for r in await hub.store.states()}
        current = {(d.id, p): state.value for d in DEVICES for p, state in hub.state("h1", d.id).items()}
        caught_up = sum(stored.get(key) == value for key, value in current.items())

        lost = final_lost = 0
        for _, _, command in load.acked:
            kept = await hub.store.outbox_get(command.id)
            lost += kept is None
            final_lost += kept is not None and kept.status is not CommandStatus.ACKED
    gc.collect()  # a task's exception nobody retrieved is reported when the task goes

    acked_outage = [c for began, ended, c in load.acked if began == ended == "stopped"]
    refused_outage = [e for began, ended, e in load.refused if began == ended == "stopped"]
    refused_after = [e for began, _, e in load.refused if began == "after"]
    print(
        f"postgres lost {OUTAGES} times ({mode}): acked lost {lost} of {len(load.acked)},"
        f" refused during outage {len(refused_outage)} of {load.submitted['stopped']},"
        f" accepted during outage {len(acked_outage)}, states caught up {caught_up} of {len(current)}"
        f" (in memory during each outage: {backlogs}), unhandled task errors {len(unhandled)}"
    )
    assert lost == final_lost == 0
    assert acked_outage == []
    assert len(refused_outage) >= OUTAGES * (ROUND - WORKERS)  # a worker's last may end after the start
    assert all(cluster.url().partition("?")[0] in str(e) and REACH in str(e) for e in refused_outage)
    assert refused_after == []
    assert load.stale_reads == 0
    assert caught_up == len(current) >= len(DEVICES)
    assert unhandled == [], [c.get("message") for c in unhandled]


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgresql_lost_while_running_loses_no_audit_entry_of_an_accepted_command(
    cluster: ThrowawayCluster,
    mode: Literal["fast", "immediate"],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """The same outages, each command decided by the access control on the same database:
    every accepted command has its audit entry, allowed, and the home's chain verifies."""
    unhandled: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: unhandled.append(context))
    database = PgDatabase(await cluster.create_schema("lost_audit"))
    clock = FakeClock()
    async with (
        Hub(store=PostgresStore(database), clock=clock) as hub,
        Access.open(tmp_path / "data", clock, postgres=database) as access,
    ):
        await access.members.add(Member(id="alice", home="h1", name="Alice", role=Role.OWNER))
        hub.commands.gatekeeper = access.gatekeeper
        load, _ = await _lose_postgresql_under_load(hub, cluster, mode, caplog)
        await _settle(hub, clock)
        decided = access.gatekeeper.decisions
        lost = [c.id for _, _, c in load.acked if await hub.store.outbox_get(c.id) is None]
        chain = await access.audit.verify("h1")
        entries = await access.audit.entries()
        after = await hub.submit("h1", DEVICES[0].id, "action", "turn_on", member="alice", face="api")
        appended = await access.audit.verify("h1")
        last = (await access.audit.entries())[-1]
    gc.collect()

    allowed = {e.command for e in entries if e.decision == "allowed"}
    audit_lost = sum(c.id not in allowed for _, _, c in load.acked)
    acked_outage = [c for began, ended, c in load.acked if began == ended == "stopped"]
    refused_outage = [e for began, ended, e in load.refused if began == ended == "stopped"]
    refused_by_audit = [e for e in refused_outage if "writing the audit log" in str(e)]
    refused_after = [e for began, _, e in load.refused if began == "after"]
    print(
        f"postgres lost with audit ({mode}): acked lost {len(lost)} of {len(load.acked)},"
        f" audit entries lost {audit_lost} of {len(load.acked)}, {chain}"
        f" ({len(entries)} entries of {decided} decisions),"
        f" refused during outage {len(refused_outage)} of {load.submitted['stopped']}"
        f" ({len(refused_by_audit)} as their audit entry failed), accepted during outage {len(acked_outage)}"
    )
    assert lost == []
    assert audit_lost == 0
    assert chain.ok, chain
    assert verify_chains(entries, per_home=True).ok
    assert {e.home for e in entries} == {"h1"}
    assert acked_outage == []
    assert len(refused_outage) >= OUTAGES * (ROUND - WORKERS)
    assert all(cluster.url().partition("?")[0] in str(e) and REACH in str(e) for e in refused_outage)
    assert len(refused_by_audit) >= OUTAGES  # the decision is on record before the command is kept
    assert refused_after == []
    # the chain goes on where the store has it, not where a failed append left it
    assert appended.ok, appended
    assert (last.command, last.decision, last.seq) == (after.id, "allowed", entries[-1].seq + 1)
    assert unhandled == [], [c.get("message") for c in unhandled]


def _unreachable() -> str:
    return f"postgresql://carhome:s3cret-pw@127.0.0.1:{free_port()}/carhome"


def _said_clearly(output: str, url: str) -> bool:
    return url.replace(":s3cret-pw", "") in output and REACH in output and "s3cret-pw" not in output


@pytest.mark.postgres
def test_serve_with_postgresql_unreachable_exits_naming_the_url_without_the_password(tmp_path: Path) -> None:
    url = _unreachable()
    config = tmp_path / "carhome.yaml"
    config.write_text(
        f"hub:\n  data_dir: data\n  store: {url}\n"
        f"api:\n  port: 0\nmqtt:\n  builtin: {{port: {free_port()}}}\n"
        "homes:\n  - {id: h1, name: Home, lat: 39.79, lon: 116.5, devices: [{id: car, type: car}]}\n"
    )
    served = CliRunner().invoke(cli, ["serve", "--config", str(config)])
    print(f"serve, PostgreSQL unreachable: exit {served.exit_code}: {served.output.strip()}")
    assert served.exit_code == 1, served.output
    assert _said_clearly(served.output, url), served.output


@pytest.mark.postgres
def test_the_demo_with_postgresql_unreachable_exits_naming_the_url_without_the_password(
    tmp_path: Path,
) -> None:
    url = _unreachable()
    ran = CliRunner().invoke(
        cli,
        ["demo", "--data", str(tmp_path / "data"), "--api-port", "0", "--mqtt-port", "0", "--store", url],
    )
    print(f"demo --store, PostgreSQL unreachable: exit {ran.exit_code}: {ran.output.strip()}")
    assert ran.exit_code == 1, ran.output
    assert _said_clearly(ran.output, url), ran.output
