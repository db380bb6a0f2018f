"""Time for the whole hub: one injectable clock.

Everything that needs the time (state timestamps, command expiry, the simulator) asks a
``Clock``. Production uses ``SystemClock``; the demo may run simulated time faster with
``ScaledClock``; tests use ``carhome.testing.FakeClock`` and advance it by hand.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock seconds since the epoch and a way to wait on them."""

    def time(self) -> float:
        """Seconds since the Unix epoch, as this clock sees them."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait for ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The real time."""

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Real time sped up by ``speed`` from the moment it is made (for the simulator)."""

    def __init__(self, speed: float = 1.0, *, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.speed = speed
        self._start = time.time() if start is None else start
        self._mono0 = time.monotonic()

    def time(self) -> float:
        return self._start + (time.monotonic() - self._mono0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)
