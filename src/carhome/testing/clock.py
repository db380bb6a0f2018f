"""A clock that moves only when a test says so, or when every task waits on it (after trio's MockClock).

``FakeClock`` implements ``carhome.clock.Clock``. Its time starts where it is told (by default
2026-01-01T00:00:00Z) and moves in two ways:

- ``await clock.advance(seconds)`` first lets every task that can run do so, until all of
  them are blocked (``settle``); then it wakes the sleepers due by the new time one deadline
  at a time, in order, settling after each, so what a woken task starts (a timer, a second
  sleep) is in place before time moves on; then it settles once more. A test therefore never
  counts loop turns nor sprinkles ``asyncio.sleep(0)``: after ``advance`` returns, everything
  the new time made happen has happened, as far as it does not wait on real I/O or a thread.
- With ``FakeClock(autojump=threshold)`` (trio's ``autojump_threshold``), time also jumps by
  itself: once the loop has been idle — no callback ready to run, no sleeper added, no
  ``advance`` — for ``threshold`` seconds of real time, the clock jumps to the next sleeper's
  deadline and wakes it. A test can then simply ``await`` a long simulated wait (a backoff of
  minutes, a timer of hours) without calling ``advance``. Keep the threshold small (0.01 s);
  0 jumps as soon as the loop is idle. Real I/O in flight for longer than the threshold does
  not stop a jump, so use autojump where the code under test waits on the clock, not on a
  socket. ``autojump_threshold`` can be changed (or set to ``None``) at any time.

``await clock.jump_through(awaitable, horizon=...)`` is autojump for code that also waits on
real I/O (a reconnect to a real broker): while it awaits ``awaitable``, every sleeper due at
most ``horizon`` seconds ahead is woken as soon as it sleeps (a backoff's delay), while
farther deadlines (a command's expiry) stay put until the test advances past them.

``await clock.until_sleeping(count)`` waits until that many tasks sleep on the clock (a link
that noticed its broker is gone sleeps its backoff), and ``deadlines`` lists when each is due.

``await settle()`` is the wait the clock uses: it returns once no callback of the running loop
is ready, i.e. every task waits on something (a future, I/O, a thread, a sleep). ``set(now)``
steps the wall clock either way, as NTP or a user might, without waking anyone.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Sized
from typing import Final, TypeVar

_T = TypeVar("_T")

SETTLE_TURNS: Final = 10_000
"""Loop turns ``settle`` waits at most: a loop still busy after these never settles (a task
that spins on ``sleep(0)``), so it returns anyway rather than hang the test."""
_FALLBACK_TURNS: Final = 20
"""Loop turns ``settle`` lets pass on a loop whose ready queue cannot be read."""


def ready_callbacks(loop: asyncio.AbstractEventLoop) -> int | None:
    """How many callbacks ``loop`` has ready to run now, or ``None`` if that cannot be told.

    asyncio has no public API for this. Its own loops (``BaseEventLoop``: the selector and
    proactor loops) keep the callbacks of the next turn in the deque ``_ready``; this is the
    one place that reads it. A loop without it (uvloop) answers ``None``, and ``settle``
    falls back to a bounded number of turns.
    """
    ready = getattr(loop, "_ready", None)
    return len(ready) if isinstance(ready, Sized) else None


async def settle() -> None:
    """Return once every task of the running loop is blocked (no callback is ready).

    Each turn yields once to the loop, which runs every callback ready before it; when this
    task runs again and nothing new became ready meanwhile, every other task waits on
    something. Tasks that wait on real I/O or a thread are blocked too: ``settle`` does not
    wait for the I/O, only for what is ready now.
    """
    loop = asyncio.get_running_loop()
    for _ in range(SETTLE_TURNS):
        await asyncio.sleep(0)
        ready = ready_callbacks(loop)
        if ready is None:
            for _ in range(_FALLBACK_TURNS - 1):
                await asyncio.sleep(0)
            return
        if ready == 0:
            return


class FakeClock:
    """Implements ``carhome.clock.Clock``; ``advance`` moves time and wakes due sleepers."""

    def __init__(
        self,
        start: float = 1_767_225_600.0,  # 2026-01-01T00:00:00Z
        *,
        autojump: float | None = None,
    ) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._moves = 0  # bumped by every sleep, advance and set: autojump waits for quiet
        self._jumper: asyncio.Task[None] | None = None
        self._slept: list[asyncio.Future[None]] = []  # told when anyone starts to sleep
        self.autojump_threshold = autojump

    @property
    def autojump_threshold(self) -> float | None:
        """Real seconds of an idle loop after which time jumps to the next deadline (``None``: never)."""
        return self._autojump

    @autojump_threshold.setter
    def autojump_threshold(self, threshold: float | None) -> None:
        if threshold is not None and threshold < 0:
            raise ValueError(f"an autojump threshold is a number of real seconds >= 0, got {threshold}")
        self._autojump = threshold
        self._moves += 1

    def time(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        self._moves += 1
        slept, self._slept = self._slept, []
        for waiter in slept:
            if not waiter.done():
                waiter.set_result(None)
        if self._autojump is not None and (self._jumper is None or self._jumper.done()):
            self._jumper = asyncio.get_running_loop().create_task(self._jump(), name="fake-clock-autojump")
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking each sleeper in deadline order."""
        if seconds < 0:
            raise ValueError("time does not go backwards; use set() to step the wall clock")
        target = self._now + seconds
        self._moves += 1
        # what is ready (a timer task just started) reaches its sleep before time moves
        await settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            await self._wake_first()
        self._now = target
        await settle()

    @property
    def deadlines(self) -> list[float]:
        """When each task that sleeps on this clock now is due, earliest first."""
        return sorted(due for due, _, future in self._sleepers if not future.done())

    async def until_sleeping(self, count: int = 1) -> None:
        """Return once at least ``count`` tasks sleep on this clock (e.g. a link in its backoff).

        Bound it with ``asyncio.timeout`` or ``wait_for``: it waits as long as nobody sleeps.
        """
        loop = asyncio.get_running_loop()
        while len(self.deadlines) < count:
            slept: asyncio.Future[None] = loop.create_future()
            self._slept.append(slept)
            try:
                await slept
            finally:
                slept.cancel()

    async def jump_through(self, awaitable: Awaitable[_T], *, horizon: float) -> _T:
        """Await ``awaitable``, moving time to each deadline at most ``horizon`` s ahead meanwhile.

        Made for waits that mix the clock and real I/O, such as a reconnect: the link sleeps
        its backoff on this clock, then connects over a real socket. Each time a sleeper due
        within ``horizon`` seconds is waiting, time moves to its deadline (as ``advance``
        would); sleepers due later wait for the test. Bound the whole with ``asyncio.timeout``
        or ``wait_for`` as for any real wait.
        """
        if horizon <= 0:
            raise ValueError(f"a horizon is a number of seconds > 0, got {horizon}")
        loop = asyncio.get_running_loop()
        work = asyncio.ensure_future(awaitable)
        try:
            while not work.done():
                await settle()
                self._drop_cancelled()
                if self._sleepers and self._sleepers[0][0] <= self._now + horizon:
                    await self.advance(self._sleepers[0][0] - self._now)
                    continue
                slept: asyncio.Future[None] = loop.create_future()
                self._slept.append(slept)
                try:
                    await asyncio.wait((work, slept), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    slept.cancel()
            return work.result()
        finally:
            work.cancel()

    def set(self, now: float) -> None:
        """Step the wall clock to ``now`` (either way), as NTP or a user might."""
        self._now = now
        self._moves += 1

    async def _wake_first(self) -> None:
        """Move time to the first deadline, wake its sleeper and let it run until all block."""
        due, _, future = heapq.heappop(self._sleepers)
        self._now = max(self._now, due)
        if not future.done():  # a cancelled sleep leaves its entry behind
            future.set_result(None)
            await settle()

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)

    async def _jump(self) -> None:
        """Autojump: while anyone sleeps, wake the next one once the loop was idle long enough."""
        loop = asyncio.get_running_loop()
        while True:
            self._drop_cancelled()
            threshold = self._autojump
            if not self._sleepers or threshold is None:
                return
            await settle()
            moves = self._moves
            # Real time on purpose: this is how long the loop must stay idle before a jump.
            await asyncio.sleep(threshold)
            if moves == self._moves and ready_callbacks(loop) in (0, None):
                self._drop_cancelled()
                if self._sleepers:
                    self._moves += 1
                    await self._wake_first()
