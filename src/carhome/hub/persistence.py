"""What the hub needs from a store, and the write-behind that feeds it.

The hub knows no SQL: it talks to a ``Store`` (SQLite for the embedded default, PostgreSQL
for a fleet, memory for tests and benchmarks). Changes reach the store through
``StateWriter``, which keeps only the latest state per property and writes them in
batches; ``flush()`` is the durability point for state. While the store cannot write (a
database gone away), the latest state of each property waits in memory, bounded by the
number of properties, and the writer tries again with backoff until the store is back.
Commands do not go through it: the outbox write happens, durably, before a command is
reported accepted, and its final status is written, durably, before anyone is told it is
final.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Sequence
from typing import Final, Protocol

import msgspec

from carhome.backoff import Backoff
from carhome.hub.commands import Command
from carhome.hub.model import Device, Home
from carhome.hub.states import Change

log: Final = logging.getLogger(__name__)

RETRY: Final = Backoff(0.5, 30.0)
"""The write-behind's delays between attempts while the store fails (real seconds)."""


class StateRow(msgspec.Struct, frozen=True, array_like=True):
    """One stored property state."""

    home: str
    device: str
    prop: str
    value: object
    ts: float
    source: str


class Store(Protocol):
    """Persistence for homes, devices, last state and the command outbox."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def save_home(self, home: Home) -> None: ...

    async def homes(self) -> list[Home]: ...

    async def save_device(self, device: Device) -> None: ...

    async def save_devices(self, devices: Sequence[Device]) -> None:
        """Save many devices in one transaction."""
        ...

    async def remove_device(self, home: str, device: str) -> None: ...

    async def devices(self) -> list[Device]: ...

    async def save_states(self, rows: Sequence[StateRow]) -> None: ...

    async def states(self) -> list[StateRow]: ...

    async def outbox_put(self, command: Command) -> None:
        """Keep ``command``; return only when it would survive a crash. A taken id (by any
        command, ever) raises ``DuplicateCommand`` and leaves the kept record as it is."""
        ...

    def outbox_update(self, command: Command) -> Awaitable[None]:
        """Record ``command``'s new status; done only when it would survive a crash (a
        store done at once may return a finished future). A final status is never
        rewritten, nor a record of another command under that id."""
        ...

    async def outbox_get(self, command_id: str) -> Command | None:
        """The command kept under ``command_id``, whatever its status."""
        ...

    async def outbox_pending(self) -> list[Command]:
        """Commands not yet final, oldest first."""
        ...

    async def commands(self, home: str | None = None, limit: int = 100) -> list[Command]:
        """Recent commands, newest first."""
        ...


class StateWriter:
    """Write-behind: collects the latest state per property and writes them in batches.

    A failed write is tried again after ``retry``'s delays (doubling, jittered) until one
    goes through; the states collected meanwhile wait in memory, the latest per property,
    and go with it. The first failure of a run of them is logged with its reason, and the
    write that ends it."""

    # The interval is real time on purpose: it paces disk writes, not anything in the domain.
    def __init__(
        self, store: Store, *, interval: float = 1.0, batch: int = 5_000, retry: Backoff = RETRY
    ) -> None:
        self._store = store
        self._interval = interval
        self._batch = batch
        self._retry = retry
        self._dirty: dict[tuple[str, str, str], StateRow] = {}
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()
        self.written = 0
        self.failures = 0
        """Writes that failed since the last one that went through."""

    def __call__(self, change: Change) -> None:
        self._dirty[(change.home, change.device, change.prop)] = StateRow(
            change.home, change.device, change.prop, change.value, change.ts, change.source
        )
        if len(self._dirty) >= self._batch:
            self._full.set()

    @property
    def backlog(self) -> int:
        return len(self._dirty)

    async def flush(self) -> None:
        """Write everything collected so far; when this returns, it is in the store."""
        async with self._lock:
            while self._dirty:
                batch, self._dirty = self._dirty, {}
                self._full.clear()
                try:
                    await self._store.save_states(list(batch.values()))
                except BaseException:
                    # Put the batch back under anything newer that came in meanwhile.
                    self._dirty = batch | self._dirty
                    raise
                self.written += len(batch)

    async def run(self) -> None:
        """Flush every ``interval`` seconds, or sooner when a batch fills up; after a failed
        write, again after the next delay of ``retry`` until one goes through."""
        delays = self._retry.delays()
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancellation
            # that stops this task, and the hub's close would then hang.
            if self.failures:
                await asyncio.sleep(next(delays))
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._interval):
                        await self._full.wait()
            try:
                await self.flush()
            except Exception:
                if not self.failures:
                    log.exception(
                        "writing states to the store failed; will retry with backoff, the latest"
                        " state of each property waiting in memory (%d now)",
                        self.backlog,
                    )
                self.failures += 1
                continue
            if self.failures:
                log.warning("states written to the store again after %d failed attempts", self.failures)
                self.failures = 0
                delays = self._retry.delays()
