"""Running a connector's commands: once per id, always ending in an ack, in owned tasks.

A connector that executes a command by a request of its own keeps a ``CommandRuns`` per
device (``carhome.hub.runs``); its ``Executor`` attaches it as the hub's transport for its
devices, starts a run only when the record says so, turns a bug in the run into a failed
ack instead of a silent expiry, counts (``RunStats``) and keeps the ack, and hands it to
the hub. ``Tasks`` are the background tasks a connector owns, named, cancelled together
when it stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import msgspec

from carhome.hub import Ack, Command, Hub, Transport
from carhome.hub.runs import CommandRuns


class RunStats(msgspec.Struct):
    """The commands a connector ran itself: how many came, and how each ended."""

    delivered: int = 0
    acked: int = 0
    failed: int = 0
    expired: int = 0


class Tasks:
    """The named background tasks of one owner; ``cancel`` ends them all."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run ``coro`` as a task named ``name`` until it ends or ``cancel``."""
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until no task runs, those spawned meanwhile too (however each ends)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel(self) -> None:
        """Cancel every task still running and wait until each has ended."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Executor:
    """How one connector (``connector``, as the hub's devices name it; ``name``, as its logs
    say it) takes the commands it executes itself, and runs them in its ``tasks``."""

    def __init__(
        self, hub: Hub, stats: RunStats, tasks: Tasks, *, connector: str, name: str, log: logging.Logger
    ) -> None:
        self._hub = hub
        self._stats = stats
        self._tasks = tasks
        self._connector = connector
        self._name = name
        self._log = log

    def attach(self, transport: Transport) -> None:
        """Have the hub deliver the connector's commands to ``transport`` from now on."""
        self._hub.commands.attach(self._connector, transport)

    async def stop(self) -> None:
        """Take no more commands, and end every task of the connector (runs cut short)."""
        self._hub.commands.detach(self._connector)
        await self._tasks.cancel()

    def start(
        self,
        runs: CommandRuns,
        command: Command,
        run: Callable[[], Awaitable[Ack]],
        then: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Run ``command`` by ``run`` in a task, unless ``runs`` says it ran or runs already
        (a redelivery runs nothing); ``then`` runs after its ack went to the hub."""
        if runs.start(command, self._stats, self._hub.ack):
            self._tasks.spawn(self._execute(runs, command, run, then), f"{self._connector}-cmd-{command.id}")

    async def _execute(
        self,
        runs: CommandRuns,
        command: Command,
        run: Callable[[], Awaitable[Ack]],
        then: Callable[[], Awaitable[object]] | None,
    ) -> None:
        with runs.running(command):
            try:
                ack = await run()
            except Exception as exc:  # a bug must still end in an ack, not a silent expiry
                self._log.exception(
                    "%s command %s on %s/%s", self._name, command.id, command.home, command.device
                )
                ack = self.failed(command, f"the {self._name} connector failed: {exc!r}")
        runs.finished(command, ack, self._stats)
        self._hub.ack(command.home, command.device, ack)
        if then is not None:
            await then()

    def failed(self, command: Command, reason: str) -> Ack:
        """A failed ack of ``command`` saying ``reason``, logged."""
        self._log.info(
            "%s command %s %s on %s/%s failed: %s",
            self._name,
            command.kind,
            command.target,
            command.home,
            command.device,
            reason,
        )
        return Ack(command.id, "failed", error=reason)
