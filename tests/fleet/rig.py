"""The failover tests' rig: fleet workers as real processes (``worker_child.py``), watched by their lines.

Each ``Worker`` reads its child's lines as they come and keeps what they say (the
partitions it holds, those it finished, whether its watchdog fired, its zombie figure);
``Rig.until`` waits for a condition over the workers, bounded, woken by each new line.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from .tablelog import connected

CHILD = Path(__file__).with_name("worker_child.py")
HEARTBEAT = 0.2
IDLE_TIMEOUT = 2.0
BOUND = 20.0

APPLIED = "CREATE TABLE fleet_test_applied (partition INTEGER, seq INTEGER, worker TEXT, epoch BIGINT)"


class Worker:
    """One worker process and what its lines said."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, changed: asyncio.Condition) -> None:
        self.name = name
        self.process = process
        self.held: dict[int, int] = {}  # partition → epoch
        self.at: dict[int, int] = {}  # partition → the checkpoint this worker last committed
        self.done: set[int] = set()
        self.fenced = 0
        self.stopped: str | None = None
        self.zombie: tuple[int, int] | None = None
        self.lines: list[str] = []
        self._changed = changed
        self._reader = asyncio.create_task(self._read(), name=f"read-{name}")

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode().rstrip("\n")
            self.lines.append(line)
            word, _, rest = line.partition(" ")
            args = rest.split()
            if word == "acquired":
                self.held[int(args[0])] = int(args[1])
            elif word == "released":
                self.held.pop(int(args[0]), None)
            elif word == "at":
                self.at[int(args[0])] = int(args[1])
            elif word == "done":
                self.done.add(int(args[0]))
            elif word == "fenced":
                self.fenced += 1
            elif word == "stopped":
                self.stopped = rest
                self.held.clear()
            elif word == "zombie":
                self.zombie = (int(args[0]), int(args[2]))
            async with self._changed:
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    def signal(self, number: signal.Signals) -> None:
        self.process.send_signal(number)

    async def close(self) -> str:
        """Kill the process if it still runs; its standard error, for failure messages."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGCONT)
                self.process.kill()
        await self.process.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        assert self.process.stderr is not None
        return (await self.process.stderr.read()).decode()


class Rig:
    """Workers of one fleet in the database at ``url``."""

    def __init__(self, url: str, partitions: int, messages: int) -> None:
        self.url = url
        self.partitions = partitions
        self.messages = messages
        self.workers: dict[str, Worker] = {}
        self.changed = asyncio.Condition()

    async def prepare(self) -> None:
        async with connected(self.url) as conn:
            await conn.execute(APPLIED)

    def command(self, name: str) -> list[str]:
        """The child's script and its arguments (the test's extra ones follow)."""
        return [
            str(CHILD),
            self.url,
            name,
            str(self.partitions),
            str(self.messages),
            str(HEARTBEAT),
            str(IDLE_TIMEOUT),
        ]

    def env(self) -> dict[str, str] | None:
        """The child's environment (None: this process's)."""
        return None

    async def start(self, name: str, *extra: str) -> Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.command(name),
            *extra,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env(),
        )
        worker = Worker(name, process, self.changed)
        self.workers[name] = worker
        return worker

    async def until(self, what: str, predicate: Callable[[], bool], bound: float = BOUND) -> None:
        """Wait until ``predicate()`` holds (checked at each line a worker prints), at most ``bound`` s."""
        try:
            async with asyncio.timeout(bound), self.changed:
                await self.changed.wait_for(predicate)
        except TimeoutError:
            said = {name: worker.lines[-5:] for name, worker in self.workers.items()}
            raise AssertionError(f"not within {bound} s: {what}; last lines: {said}") from None

    async def close(self) -> str:
        errors = [await worker.close() for worker in self.workers.values()]
        return "\n".join(error for error in errors if error)

    async def applied(self) -> tuple[int, int]:
        """(lost, applied twice): messages of the partitions' logs not applied, and applied more than once."""
        async with connected(self.url) as conn:
            total, distinct = await conn.fetchrow(
                "SELECT count(*), count(DISTINCT (partition, seq)) FROM fleet_test_applied"
            )
        return self.partitions * self.messages - distinct, total - distinct

    async def terminate(self, worker: str) -> int:
        """End ``worker``'s membership session from the server side (``pg_terminate_backend``)."""
        async with connected(self.url) as conn:
            # in the select list: evaluated only for the rows the filter keeps
            ended = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                f"carhome fleet {worker}",
            )
        return sum(1 for row in ended if row[0])
