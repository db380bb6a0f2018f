"""Timers: ``for:`` durations, delays and waits, on the hub clock, kept across restarts.

``Timers`` owns one task per running timer (sleeping on the injected clock) and, when a
timer has a key, mirrors it into a ``TimerStore``: saved when started, deleted when it
fires or is cancelled. Writes go through one writer task in order, so starting a timer
from inside a bus callback never blocks ingest; ``flush()`` is the durability point.

On start the engine opens the store and hands each automation the timers saved for it;
the automation resumes them with their original due time. One that came due while the hub
was down fires once, at once, with ``late=True`` (shown in the run's trace).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Final, Literal, Protocol

import msgspec

from carhome.clock import Clock

log: Final = logging.getLogger(__name__)

TimerKind = Literal["for", "delay", "wait", "schedule"]


class SavedTimer(msgspec.Struct, frozen=True, kw_only=True):
    """A timer as stored: whose it is, when it is due, and what it needs to resume."""

    key: str
    automation: str
    kind: TimerKind
    due: float
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class TimerStore(Protocol):
    """Where timers are kept while the hub is down."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def load(self) -> list[SavedTimer]: ...

    async def save(self, timer: SavedTimer) -> None: ...

    async def delete(self, key: str) -> None: ...


class MemoryTimerStore:
    """A ``TimerStore`` in memory: survives an engine restart within one process (tests)."""

    def __init__(self) -> None:
        self.timers: dict[str, SavedTimer] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def load(self) -> list[SavedTimer]:
        return sorted(self.timers.values(), key=lambda t: t.due)

    async def save(self, timer: SavedTimer) -> None:
        self.timers[timer.key] = timer

    async def delete(self, key: str) -> None:
        self.timers.pop(key, None)


class Timer:
    """A running timer; ``cancel()`` stops it and forgets it in the store."""

    __slots__ = ("_timers", "due", "key", "task")

    def __init__(self, timers: Timers, due: float, key: str | None) -> None:
        self._timers = timers
        self.due = due
        self.key = key
        self.task: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self._timers._forget(self)


_Op = tuple[Literal["save"], SavedTimer] | tuple[Literal["delete"], str]


class Timers:
    """The running timers of one engine, and their mirror in a ``TimerStore``."""

    def __init__(self, clock: Clock, store: TimerStore | None = None) -> None:
        self.clock = clock
        self.store = store
        self._saved: dict[str, SavedTimer] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ops: asyncio.Queue[_Op] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False

    async def open(self) -> None:
        if self.store is None:
            return
        await self.store.open()
        self._saved = {t.key: t for t in await self.store.load()}
        self._writer = asyncio.create_task(self._write(), name="automation-timer-writer")

    def freeze(self) -> None:
        """From now on, timers that end by cancellation stay saved (the hub is stopping)."""
        self._closing = True

    async def close(self) -> None:
        self.freeze()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._writer is not None:
            await self.flush()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        if self.store is not None:
            await self.store.close()

    def saved(self, automation: str) -> list[SavedTimer]:
        """Timers saved for ``automation`` before the last restart, taken (once) to resume."""
        found = [t for t in self._saved.values() if t.automation == automation]
        for timer in found:
            del self._saved[timer.key]
        return found

    def take(self, key: str) -> SavedTimer | None:
        """The saved timer with this key, taken (once) to resume."""
        return self._saved.pop(key, None)

    def discard(self, saved: SavedTimer) -> None:
        """Forget a saved timer that will not be resumed (its condition no longer holds)."""
        if self.store is not None:
            self._ops.put_nowait(("delete", saved.key))

    def start(
        self,
        due: float,
        callback: Callable[[bool], None],
        *,
        name: str,
        saved: SavedTimer | None = None,
        late: bool = False,
    ) -> Timer:
        """Call ``callback(late)`` at ``due`` (hub clock); persisted when ``saved`` is given."""
        timer = Timer(self, due, None if saved is None else saved.key)
        if saved is not None and self.store is not None:
            self._ops.put_nowait(("save", saved))
        task = asyncio.get_running_loop().create_task(self._run(timer, callback, late), name=name)
        timer.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return timer

    async def _run(self, timer: Timer, callback: Callable[[bool], None], late: bool) -> None:
        wait = timer.due - self.clock.time()
        if wait > 0:
            await self.clock.sleep(wait)
        else:
            await asyncio.sleep(0)
        self._forget(timer)
        timer.task = None  # fired: a cancel from the callback's owner must not stop the caller
        callback(late)

    def _forget(self, timer: Timer) -> None:
        if timer.key is not None and self.store is not None and not self._closing:
            self._ops.put_nowait(("delete", timer.key))
            timer.key = None

    async def flush(self) -> None:
        """Wait until every timer started or ended so far is written to the store."""
        if self._writer is not None:
            await self._ops.join()

    async def _write(self) -> None:
        store = self.store
        if store is None:
            return
        while True:
            op = await self._ops.get()
            try:
                if op[0] == "save":
                    await store.save(op[1])
                else:
                    await store.delete(op[1])
            except Exception:
                log.exception("saving automation timer failed")
            finally:
                self._ops.task_done()
