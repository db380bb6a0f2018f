"""A clock that moves only when a test says so (after trio's MockClock)."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class FakeClock:
    """Implements ``carhome.clock.Clock``; ``advance`` moves time and wakes due sleepers."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking each sleeper in deadline order."""
        if seconds < 0:
            raise ValueError("time does not go backwards; use set() to step the wall clock")
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            due, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, due)
            if not future.done():
                future.set_result(None)
            # let the woken task run before time moves on
            for _ in range(5):
                await asyncio.sleep(0)
        self._now = target
        for _ in range(5):
            await asyncio.sleep(0)

    def set(self, now: float) -> None:
        """Step the wall clock to ``now`` (either way), as NTP or a user might."""
        self._now = now
