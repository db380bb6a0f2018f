"""Stores for tests: the memory store with a hand on its writes.

``GatedStore`` holds each outbox write until the test opens ``gate`` (``writing`` says one
has begun): what a caller sees while the durable write has not yet happened.
``WatchedStore`` signals each batch of state rows it saved (``saved``, ``batches``) and
can fail the next ``failures`` ones with ``OSError``, as a full disk would. ``HeldStore``
holds each outbox *update* (a command's new status) until the test opens ``gate``, and can
fail the next ``failures`` ones with ``StoreError``: a disk that is slow, or full.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from carhome.errors import StoreError
from carhome.hub import Command, StateRow
from carhome.store import MemoryStore


class GatedStore(MemoryStore):
    """A ``MemoryStore`` whose outbox write waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = asyncio.Event()
        """Set once an outbox write has begun."""
        self.gate = asyncio.Event()
        """Open (set) unless the test clears it; writes wait while it is closed."""
        self.gate.set()

    async def outbox_put(self, command: Command) -> None:
        self.writing.set()
        await self.gate.wait()
        await super().outbox_put(command)


class WatchedStore(MemoryStore):
    """A ``MemoryStore`` that signals each state write and can fail the next ones."""

    def __init__(self, *, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures
        """How many of the next state writes fail with ``OSError``."""
        self.saved = asyncio.Event()
        self.failed = asyncio.Event()
        self.batches: list[int] = []
        """The size of each batch of state rows saved, in order."""

    async def save_states(self, rows: Sequence[StateRow]) -> None:
        if self.failures:
            self.failures -= 1
            self.failed.set()
            raise OSError("disk full")
        await super().save_states(rows)
        self.batches.append(len(rows))
        self.saved.set()


class HeldStore(MemoryStore):
    """A ``MemoryStore`` whose outbox updates wait for the test to let them through, and can
    fail: a disk that is slow, or full."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        """Open (set) unless the test clears it; updates wait while it is closed."""
        self.gate.set()
        self.updating = asyncio.Event()
        """Set once an outbox update has begun."""
        self.failures = 0
        """How many of the next updates fail with ``StoreError``."""
        self.updates = 0
        self.updated = asyncio.Event()

    async def outbox_update(self, command: Command) -> None:  # type: ignore[override]
        self.updating.set()
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise StoreError("disk full")
        await super().outbox_update(command)
        self.updates += 1
        self.updated.set()
