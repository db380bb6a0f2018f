"""The automation engine: binds automations to a hub, fires them, owns their runs.

``Engine`` is an async context manager around a running ``Hub``. ``add`` binds one
automation (its triggers subscribe on the hub's bus for exactly the keys they watch —
properties, device events, command results —, its conditions and actions resolve their
devices and properties) or raises ``ConfigError`` with file and line; ``load`` adds
every automation of a file or directory and returns the errors of those that failed, the
others loaded. Runs that must wait become named tasks the engine owns; leaving the
context cancels them and closes every subscription of every automation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from types import TracebackType
from typing import Any, Final, Self

from carhome.automations.actions import bind_steps
from carhome.automations.automation import Automation
from carhome.automations.binding import Binder, BindError, MemberHomes
from carhome.automations.firing import Armed
from carhome.automations.loader import Loaded, Source, load_path, load_text
from carhome.automations.notifications import Notifications
from carhome.automations.runs import Runner
from carhome.automations.timers import Timers, TimerStore
from carhome.automations.traces import Trace, TraceLog
from carhome.errors import ConfigError, UnknownDevice
from carhome.hub import Hub
from carhome.yamlfile import decoding

_BIND_AT_ONCE: Final = 50
"""Automations a check binds before it lets the loop run others (a text may hold 1,000)."""


@dataclass(slots=True)
class _Bound:
    automation: Automation
    source: Source
    runner: Runner
    subscriptions: list[Armed] = field(default_factory=list)


class Engine:
    """Runs the automations of one hub."""

    def __init__(
        self,
        hub: Hub,
        *,
        notifications: Notifications | None = None,
        timer_store: TimerStore | None = None,
        members: MemberHomes | None = None,
    ) -> None:
        self.hub = hub
        self.members = members
        self.notifications = notifications or Notifications()
        self.traces = TraceLog()
        self.timers = Timers(hub.clock, timer_store)
        self._bound: dict[str, _Bound] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Whether any run is waiting on something (a task of its own): kept as runs
        # start and end, read on every change by whoever pumps many of them.
        self.busy = False
        self._idle = asyncio.Event()
        self._idle.set()

    async def __aenter__(self) -> Self:
        await self.timers.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Stopping is not cancelling: delays, waits and for-timers stay saved to resume.
        self.timers.freeze()
        for bound in list(self._bound.values()):
            for sub in bound.subscriptions:
                sub.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.timers.close()

    # -- automations ----------------------------------------------------------------------

    def add(self, automation: Automation, source: Source | None = None) -> None:
        """Bind ``automation`` to the hub and start watching its triggers."""
        source = source or Source("<api>")
        if automation.id in self._bound:
            raise source.error(
                ("id",),
                f"automation {automation.id!r} is already loaded"
                f" (from {self._bound[automation.id].source.file})",
            )
        binder = Binder(
            self.hub,
            automation.home,
            automation=automation.id,
            timers=self.timers,
            scenes=automation.scenes,
            members=self.members,
        )
        if automation.home is not None:
            try:
                self.hub.home(automation.home)
            except UnknownDevice:
                raise source.error(("home",), f"no home {automation.home!r} in this hub") from None
        subscriptions: list[Armed] = []
        try:
            checks = [
                (f"conditions[{i}]", c.bind(binder, ("conditions", i)))
                for i, c in enumerate(automation.conditions)
            ]
            steps = bind_steps(automation.actions, binder, ("actions",))
            runner = Runner(
                automation=automation.id,
                home=binder.home,
                member=automation.member or "automation",
                mode=automation.mode,
                max_runs=automation.max,
                conditions=checks,
                steps=steps,
                variables=dict(automation.variables),
                hub=self.hub,
                notifications=self.notifications,
                traces=self.traces,
                spawner=self,
                timers=self.timers,
            )
            if automation.enabled:
                for i, trigger in enumerate(automation.triggers):
                    subscriptions += trigger.arm(binder, ("triggers", i), i, runner.fire)
            else:
                self._bind_unarmed(automation, binder)
            runner.home = binder.home  # a trigger may be what named it
            self._check_member(automation, binder)
        except BindError as exc:
            for sub in subscriptions:
                sub.cancel()
            raise source.error(exc.path, exc.message) from None
        self.traces.keep(automation.id, automation.traces)
        self._bound[automation.id] = _Bound(automation, source.without_node(), runner, subscriptions)
        for saved in self.timers.saved(automation.id):
            if saved.kind in ("for", "schedule") or not automation.enabled:
                self.timers.discard(saved)  # its trigger is gone or no longer holds
            else:
                runner.resume(saved)

    def _bind_unarmed(self, automation: Automation, binder: Binder) -> None:
        """A disabled automation's triggers are not armed, but must still stay in its home:
        bound on a binder of their own (no saved timer taken, nothing indexed), let go."""
        probe = Binder(self.hub, binder.home, automation=automation.id, members=self.members)
        for i, trigger in enumerate(automation.triggers):
            for sub in trigger.arm(probe, ("triggers", i), i, lambda _: None):
                sub.cancel()
        binder.home = probe.home

    def _check_member(self, automation: Automation, binder: Binder) -> None:
        """With the hub's members known, an automation runs as a member of its own home."""
        if self.members is None:
            return
        if automation.member is None:
            raise BindError(
                ("member",),
                f"say which member of home {binder.home!r} this automation acts as ('member: …');"
                " its commands are decided as that member's",
            )
        binder.member(automation.member, ("member",))

    def home_of(self, automation_id: str) -> str | None:
        """The home an automation acts in (None only for one that names no device or time
        in a hub of several homes)."""
        return self._bound[automation_id].runner.home

    def remove(self, automation_id: str) -> None:
        bound = self._bound.pop(automation_id)
        for sub in bound.subscriptions:
            sub.cancel()
        for task in list(bound.runner.active):
            task.cancel()
        self.traces.forget(automation_id)

    def add_loaded(self, loaded: Loaded) -> list[ConfigError]:
        """Add every decoded automation; the errors of the ones that failed, decode or bind.

        Binding many (a file's ``homes:`` may give 100,000) makes as many long-lived objects
        as decoding their text: Python's full collections wait meanwhile, as they do while
        a text is decoded (``carhome.yamlfile.decoding``), rather than walk the growing
        process again and again."""
        errors = list(loaded.errors)
        with decoding():
            for automation, source in loaded.automations:
                try:
                    self.add(automation, source)
                except ConfigError as exc:
                    errors.append(exc)
        return errors

    def load(self, path: str | FsPath) -> list[ConfigError]:
        """Load a file or directory of automations; returns the errors, the rest loaded."""
        return self.add_loaded(load_path(path))

    def load_text(self, text: str, file: str = "<text>") -> list[ConfigError]:
        return self.add_loaded(load_text(text, file))

    async def check_text(self, text: str, file: str = "<text>") -> list[ConfigError]:
        """Every error of the automations in ``text``, decoded and bound against this hub,
        without loading them (a scratch engine binds them and lets go)."""
        return await self.check_loaded(load_text(text, file), file)

    async def check_loaded(self, loaded: Loaded, file: str = "<text>") -> list[ConfigError]:
        """``check_text`` of automations already decoded from ``file``; a long text is
        bound a few dozen automations at a time, the loop free in between."""
        async with Engine(self.hub, members=self.members) as scratch:
            errors = list(loaded.errors)
            for n, (automation, source) in enumerate(loaded.automations, 1):
                try:
                    scratch.add(automation, source)
                except ConfigError as exc:
                    errors.append(exc)
                if n % _BIND_AT_ONCE == 0:
                    await asyncio.sleep(0)
            theirs = {a.id for a in scratch.automations()}
            taken = [a.id for a in self.automations() if a.id in theirs]
        errors += [
            ConfigError(f"id: automation {automation_id!r} is already loaded", file=file)
            for automation_id in taken
        ]
        return errors

    def source(self, automation_id: str) -> Source:
        return self._bound[automation_id].source

    def automations(self) -> list[Automation]:
        return [b.automation for b in self._bound.values()]

    def trigger(self, automation_id: str) -> None:
        """Run an automation now, as if a trigger fired (conditions still apply)."""
        self._bound[automation_id].runner.fire(None)

    def trace(self, automation_id: str) -> list[Trace]:
        return self.traces.get(automation_id)

    def stats(self, automation_id: str) -> dict[str, Any]:
        runner = self._bound[automation_id].runner
        return {
            "firings": runner.firings,
            "dropped": runner.dropped,
            "active": len(runner.active),
            "queued": len(runner.queue),
        }

    # -- tasks ----------------------------------------------------------------------------

    def spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        self.busy = True
        self._idle.clear()
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self.busy = False
            self._idle.set()

    def running(self) -> frozenset[asyncio.Task[None]]:
        """The tasks of the runs active now (a fleet worker waits for those a batch started)."""
        return frozenset(self._tasks)

    async def idle(self) -> None:
        """Wait until no run is active (bounded by the runs' own waits)."""
        while self._tasks:
            await self._idle.wait()
