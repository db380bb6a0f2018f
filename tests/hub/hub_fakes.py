"""Fakes at the command router's public seams: Transport, Gatekeeper and Store."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from carhome.errors import ConnectorError, StoreError
from carhome.hub import Command, Decision, StateRow
from carhome.spec import DeviceSpec
from carhome.store import MemoryStore


class RecordingTransport:
    """A ``Transport`` that records what it delivers, or refuses with ``ConnectorError``."""

    def __init__(self, *, down: bool = False) -> None:
        self.down = down
        self.delivered: list[Command] = []
        self.attempts = 0
        self.sent = asyncio.Event()

    async def deliver(self, command: Command) -> None:
        self.attempts += 1
        if self.down:
            raise ConnectorError("broker unreachable")
        self.delivered.append(command)
        self.sent.set()


class Refuse:
    """A ``Gatekeeper`` that says no, and remembers whom it was asked about."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.asked: list[tuple[Command, DeviceSpec]] = []

    async def decide(self, command: Command, spec: DeviceSpec) -> Decision:
        self.asked.append((command, spec))
        return Decision(False, self.reason)


class GatedStore(MemoryStore):
    """A memory ``Store`` whose outbox write waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()

    async def outbox_put(self, command: Command) -> None:
        self.writing.set()
        await self.gate.wait()
        await super().outbox_put(command)


class WatchedStore(MemoryStore):
    """A memory ``Store`` that signals each state write and can fail the next ones."""

    def __init__(self, *, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures
        self.saved = asyncio.Event()
        self.failed = asyncio.Event()
        self.batches: list[int] = []

    async def save_states(self, rows: Sequence[StateRow]) -> None:
        if self.failures:
            self.failures -= 1
            self.failed.set()
            raise OSError("disk full")
        await super().save_states(rows)
        self.batches.append(len(rows))
        self.saved.set()


class HeldStore(MemoryStore):
    """A memory ``Store`` whose outbox updates wait for the test to let them through, and
    can fail: a disk that is slow, or full."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.updating = asyncio.Event()
        self.failures = 0
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
