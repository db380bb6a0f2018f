"""Time for the whole hub: one injectable clock.

Everything that needs the time (state timestamps, command expiry, the simulator) asks a
``Clock``. Production uses ``SystemClock``; the demo may run simulated time faster with
``ScaledClock`` (``real_time`` is the real clock under it, for windows people see); tests
use ``carhome.testing.FakeClock`` and advance it by hand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol


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

    # The C function itself, not a method around it: the hub reads the clock on every
    # report and every run, and this saves a Python call each time.
    time = staticmethod(time.time)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Real time sped up by ``speed`` from the moment it is made (for the simulator).

    ``real`` is the clock it speeds up (the system's, by default; a test gives a fake one).
    Some windows are meant for people and must stay real seconds however fast the simulated
    world runs (an enrollment code's two minutes): those ask ``real_time(clock)``.
    """

    def __init__(self, speed: float = 1.0, *, start: float | None = None, real: Clock | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.speed = speed
        self.real: Clock = real if real is not None else SystemClock()
        # The system's time may be stepped; its elapsed time is measured on the monotonic clock.
        self._elapsed: Callable[[], float] = time.monotonic if real is None else real.time
        self._start = self.real.time() if start is None else start
        self._base = self._elapsed()

    def time(self) -> float:
        return self._start + (self._elapsed() - self._base) * self.speed

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(max(0.0, seconds) / self.speed)


def real_time(clock: Clock) -> Clock:
    """The real time under ``clock``: a scaled clock's own real clock, else ``clock`` itself."""
    return clock.real if isinstance(clock, ScaledClock) else clock


async def sleep_or_wake(sleep: Coroutine[Any, Any, None], wake: asyncio.Event, *, name: str) -> None:
    """Wait until ``sleep`` (a clock's sleep) ends or ``wake`` is set, whichever comes first;
    then clear ``wake``. Both waits are tasks named after ``name``, cancelled on the way out."""
    sleeper = asyncio.create_task(sleep, name=f"{name}-sleep")
    waker = asyncio.create_task(wake.wait(), name=f"{name}-wake")
    try:
        await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        waker.cancel()
    wake.clear()
