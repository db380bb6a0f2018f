"""A store that keeps everything in memory: for tests, benchmarks and throwaway hubs.

It keeps the outbox's rules as the SQLite store does: a taken command id is refused with
``DuplicateCommand``, and an update never rewrites a final status or another command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import msgspec

from carhome.errors import DuplicateCommand
from carhome.hub.commands import Command
from carhome.hub.model import Device, Home
from carhome.hub.persistence import StateRow


class MemoryStore:
    """Implements the hub's ``Store`` protocol in memory; nothing survives the process."""

    def __init__(self) -> None:
        self._homes: dict[str, Home] = {}
        self._devices: dict[tuple[str, str], Device] = {}
        self._states: dict[tuple[str, str, str], StateRow] = {}
        self._commands: dict[str, Command] = {}
        self._finished: asyncio.Future[None] | None = None

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def save_home(self, home: Home) -> None:
        self._homes[home.id] = home

    async def homes(self) -> list[Home]:
        return list(self._homes.values())

    async def save_device(self, device: Device) -> None:
        self._devices[(device.home, device.id)] = device

    async def save_devices(self, devices: Sequence[Device]) -> None:
        for device in devices:
            self._devices[(device.home, device.id)] = device

    async def remove_device(self, home: str, device: str) -> None:
        self._devices.pop((home, device), None)

    async def devices(self) -> list[Device]:
        return list(self._devices.values())

    async def save_states(self, rows: Sequence[StateRow]) -> None:
        for row in rows:
            self._states[(row.home, row.device, row.prop)] = row

    async def states(self) -> list[StateRow]:
        return list(self._states.values())

    async def outbox_put(self, command: Command) -> None:
        if command.id in self._commands:
            raise DuplicateCommand(command.id)
        # A copy, so later in-memory mutation does not masquerade as a durable write.
        self._commands[command.id] = msgspec.structs.replace(command)

    def outbox_update(self, command: Command) -> asyncio.Future[None]:
        """Done at once (a finished future): the router makes a result final right away."""
        kept = self._commands.get(command.id)
        # a final status stays; another command's record is not this one's to change
        if kept is None or not (kept.status.final or _made(kept) != _made(command)):
            self._commands[command.id] = msgspec.structs.replace(command)
        return self._done()

    def _done(self) -> asyncio.Future[None]:
        """A finished future of the running loop: one per loop, handed out again (a
        finished future never changes, and awaiting it does not wait)."""
        loop = asyncio.get_running_loop()
        done = self._finished
        if done is None or done.get_loop() is not loop:
            done = self._finished = loop.create_future()
            done.set_result(None)
        return done

    async def outbox_get(self, command_id: str) -> Command | None:
        kept = self._commands.get(command_id)
        return None if kept is None else msgspec.structs.replace(kept)

    async def outbox_pending(self) -> list[Command]:
        pending = [c for c in self._commands.values() if not c.status.final]
        return sorted(pending, key=lambda c: c.created)

    async def commands(self, home: str | None = None, limit: int = 100) -> list[Command]:
        rows = [c for c in self._commands.values() if home is None or c.home == home]
        return sorted(rows, key=lambda c: c.created, reverse=True)[:limit]


def _made(command: Command) -> tuple[str, str, float]:
    """What tells one command from another under the same id (as the SQLite store checks)."""
    return command.home, command.device, command.created
