"""Running a connector's commands: once per id, always ending in an ack, in owned tasks.

A connector that executes a command by a request of its own keeps a ``CommandRuns`` per
device (``carhome.hub.runs``); its ``Executor`` starts a run only when the record says so,
turns a bug in the run into a failed ack instead of a silent expiry, counts and keeps the
ack, and hands it to the hub. ``Tasks`` are the background tasks a connector owns, named,
cancelled together when it stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from carhome.hub import Ack, Command, Hub
from carhome.hub.runs import CommandRuns, RunTally


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

    async def cancel(self) -> None:
        """Cancel every task still running and wait until each has ended."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Executor:
    """How one connector (``name``, as its logs say it; ``prefix`` of its task names) runs
    the commands it executes itself."""

    def __init__(
        self, hub: Hub, tally: RunTally, tasks: Tasks, *, name: str, prefix: str, log: logging.Logger
    ) -> None:
        self._hub = hub
        self._tally = tally
        self._tasks = tasks
        self._name = name
        self._prefix = prefix
        self._log = log

    def start(
        self,
        runs: CommandRuns,
        command: Command,
        run: Callable[[], Awaitable[Ack]],
        then: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Run ``command`` by ``run`` in a task, unless ``runs`` says it ran or runs already
        (a redelivery runs nothing); ``then`` runs after its ack went to the hub."""
        if runs.start(command, self._tally, self._hub.ack):
            self._tasks.spawn(self._execute(runs, command, run, then), f"{self._prefix}-cmd-{command.id}")

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
        runs.finished(command, ack, self._tally)
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
