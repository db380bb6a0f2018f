"""Kill -9 a hub and its devices under load, again and again, and hold what it said against
what it kept.

The parent runs the broker (Mosquitto, or the built-in one where Mosquitto is missing; a
process of its own either way) and starts ``crash_child.py``
on one store (a SQLite file, or a PostgreSQL database by URL) and one data directory for
every run: each run starts on what the last
kill left behind, restores the outbox, redelivers, and its devices restart on their logs of
what they ran. The parent reads what the child announces (``accepted ID``, ``final ID
STATUS``), kills it with SIGKILL after a seeded number of lines — wherever it got to — keeps
every whole line printed before the kill, and then opens the store:

- every accepted id must be kept (``acked-but-lost``: the outbox promise);
- every status ever announced final must be the stored status, now and after every later
  restart (``final-but-not-durable``: what the API calls final is durable and stays);
- ``PRAGMA integrity_check`` must say ok (SQLite; PostgreSQL's own crash safety is not
  what is tested: the hub is killed, not the server).

A last run settles (sends nothing, lets the hub finish) and the devices' journal of what
they ran is checked against the store: no value ran twice (``executed twice``), no command
acked that did not run, and a command that ran but is not acked is one the device was
running when it was killed (answered ``failed``, interrupted: its outcome is not known).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import signal
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

from carhome.hub import Command, CommandStatus
from carhome.mqtt.executed import INTERRUPTED
from carhome.store import SqliteStore, open_store
from chaos.brokers import Builtin, Mosquitto
from mqtt.conftest import HAVE_MOSQUITTO, free_port

CHILD = Path(__file__).with_name("crash_child.py")
BOUND = 30.0  # seconds the child may go without printing: a safety net for a broken build


@dataclass
class Figures:
    """What the kills showed."""

    kills: int = 0
    accepted: set[str] = field(default_factory=set)
    told: dict[str, str] = field(default_factory=dict)
    """Every final status announced, by command id (the first announcement)."""
    acked_but_lost: set[str] = field(default_factory=set)
    final_but_not_durable: set[str] = field(default_factory=set)
    corrupt: int = 0
    not_final: int = 0
    executed_twice: int = 0
    acked_not_run: int = 0
    interrupted: int = 0
    run_not_acked: int = 0

    def broken(self) -> dict[str, object]:
        """Each promise of the outbox the kills broke, with what broke it (empty: none)."""
        found: dict[str, object] = {
            "acknowledged but lost": self.acked_but_lost,
            "final but not durable": self.final_but_not_durable,
            "corrupt databases": self.corrupt,
            "never final": self.not_final,
            "executed twice": self.executed_twice,
            "acknowledged but not run": self.acked_not_run,
            "run but not acknowledged, not interrupted": self.run_not_acked - self.interrupted,
        }
        return {promise: what for promise, what in found.items() if what}

    def line(self) -> str:
        return (
            f"kills: {self.kills}, accepted: {len(self.accepted)}, finals told: {len(self.told)},"
            f" acked-but-lost: {len(self.acked_but_lost)},"
            f" final-but-not-durable: {len(self.final_but_not_durable)},"
            f" executed twice: {self.executed_twice}, commands lost: {self.not_final},"
            f" corrupt databases: {self.corrupt}"
            f" (interrupted, not run again: {self.interrupted})"
        )


async def _run_child(
    db: Path | str, data: Path, url: str, run: int, log: Path, *, kill_after: int | None
) -> list[str]:
    """Run one child; kill it after ``kill_after`` lines, or let it settle (``None``).
    Returns every whole line it printed."""
    with log.open("ab") as stderr:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-W",
            "error",
            str(CHILD),
            str(db),
            str(data),
            url,
            str(run),
            *(["--settle"] if kill_after is None else []),
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    assert child.stdout is not None
    lines: list[str] = []
    try:
        while kill_after is None or len(lines) < kill_after:
            line = await asyncio.wait_for(child.stdout.readline(), BOUND)
            assert line.endswith(b"\n"), f"the child exited after {len(lines)} lines; see {log}"
            lines.append(line.decode().strip())
            if kill_after is None and lines[-1] == "settled":
                break
        if kill_after is not None:
            child.send_signal(signal.SIGKILL)
        # whole lines printed before the kill count; a line cut short was never told
        rest = (await asyncio.wait_for(child.stdout.read(), BOUND)).decode()
        lines += rest.splitlines()[: rest.count("\n")]
        code = await asyncio.wait_for(child.wait(), BOUND)
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
    assert code == (-signal.SIGKILL if kill_after is not None else 0), f"child ended {code}; see {log}"
    return lines


async def _stored(db: Path | str) -> dict[str, Command]:
    async with SqliteStore(db) if isinstance(db, Path) else open_store(db) as store:
        return {c.id: c for c in await store.commands(limit=10**9)}


def _integrity(db: Path | str) -> bool:
    if not isinstance(db, Path):
        return True  # a store URL: the server, not the killed hub, keeps its files whole
    conn = sqlite3.connect(db)
    try:
        return bool(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    finally:
        conn.close()


async def kill_runs(tmp: Path, runs: int, seed: int, *, store: str | None = None) -> Figures:
    """Kill the child ``runs`` times at seeded points, settle, and count. The hub keeps its
    outbox at the store URL ``store``, else in a SQLite file in ``tmp``."""
    db: Path | str = tmp / "hub.db" if store is None else store
    data, log = tmp / "data", tmp / "child.log"
    data.mkdir()
    points = random.Random(seed)
    figures = Figures()
    broker = (Mosquitto if HAVE_MOSQUITTO else Builtin)(free_port(), tmp)
    await broker.start()
    try:
        for run in range(runs + 1):
            settling = run == runs
            # a few early points (before, during and just after start), then anywhere
            kill_after = None if settling else (1, 2, 10)[run] if run < 3 else points.randint(1, 80)
            lines = await _run_child(db, data, broker.url, run, log, kill_after=kill_after)
            figures.kills += not settling
            for line in lines:
                word, _, rest = line.partition(" ")
                if word == "accepted":
                    figures.accepted.add(rest)
                elif word == "final":
                    command_id, status = rest.split()
                    figures.told.setdefault(command_id, status)
            stored = await _stored(db)
            figures.acked_but_lost |= figures.accepted - stored.keys()
            figures.final_but_not_durable |= {
                i for i, status in figures.told.items() if i not in stored or stored[i].status != status
            }
            figures.corrupt += not _integrity(db)
    finally:
        await broker.stop(kill=False)
    _match_journal(figures, stored, data / "executed.log")
    return figures


def _match_journal(figures: Figures, stored: dict[str, Command], journal: Path) -> None:
    ran = collections.Counter(int(v) for v in journal.read_text().split())
    figures.executed_twice = sum(n - 1 for n in ran.values() if n > 1)
    for command in stored.values():
        if not command.status.final:
            figures.not_final += 1
        value = command.args["value"]
        if command.status is CommandStatus.ACKED and value not in ran:
            figures.acked_not_run += 1
        if value in ran and command.status is not CommandStatus.ACKED:
            figures.run_not_acked += 1
            figures.interrupted += command.error == INTERRUPTED
