"""Gatekeepers for tests: the command router's one access seam, deciding as a test says.

``Allow`` lets every command through and ``Refuse`` turns every one down with its reason;
both record what they were asked (``asked``: the command and its device's spec, in order)
and can be waited on (``until_asked``). A policy of a test's own is a class with one
``async def decide(command, spec) -> Decision``, as ``carhome.hub.Gatekeeper`` says.
"""

from __future__ import annotations

import asyncio
from typing import Final

from carhome.hub import Command, Decision
from carhome.spec import DeviceSpec

WAIT: Final = 10.0
"""Real seconds ``until_asked`` waits before it fails."""


class _Recording:
    def __init__(self, allowed: bool, reason: str) -> None:
        self.allowed = allowed
        self.reason = reason
        self.asked: list[tuple[Command, DeviceSpec]] = []
        """Every decision asked for, in order: the command and its device's spec."""
        self._asked: asyncio.Condition | None = None

    async def decide(self, command: Command, spec: DeviceSpec) -> Decision:
        self.asked.append((command, spec))
        if self._asked is None:
            self._asked = asyncio.Condition()
        async with self._asked:
            self._asked.notify_all()
        return Decision(self.allowed, self.reason)

    @property
    def commands(self) -> list[Command]:
        """The commands asked about, in order."""
        return [command for command, _ in self.asked]

    async def until_asked(self, count: int = 1, *, wait: float = WAIT) -> Command:
        """Wait until asked ``count`` times in all; the ``count``-th command."""
        if self._asked is None:
            self._asked = asyncio.Condition()
        async with asyncio.timeout(wait), self._asked:
            await self._asked.wait_for(lambda: len(self.asked) >= count)
        return self.asked[count - 1][0]


class Allow(_Recording):
    """A ``Gatekeeper`` that allows every command, with ``reason``, and records each."""

    def __init__(self, reason: str = "allowed by the test") -> None:
        super().__init__(True, reason)


class Refuse(_Recording):
    """A ``Gatekeeper`` that refuses every command with ``reason``, and records each."""

    def __init__(self, reason: str) -> None:
        super().__init__(False, reason)
