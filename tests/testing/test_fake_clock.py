"""The fake clock: time moves when every task is blocked, never after a counted number of turns."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from carhome.testing import FakeClock, settle
from carhome.testing.clock import SETTLE_TURNS, ready_callbacks

DAY = 86_400.0
WAIT = 5.0
"""Real seconds a test waits for what must happen at once, before it fails."""


async def test_advance_lets_a_woken_task_run_until_it_blocks_again(clock: FakeClock) -> None:
    seen: list[float] = []

    async def busy_after_waking() -> None:
        await clock.sleep(10)
        for _ in range(50):  # far more turns than any fixed count would give it
            await asyncio.sleep(0)
        seen.append(clock.time())
        await clock.sleep(10)
        seen.append(clock.time())

    start = clock.time()
    task = asyncio.create_task(busy_after_waking())
    await clock.advance(10)
    assert seen == [start + 10]  # it ran to its second sleep before advance returned
    await clock.advance(10)
    assert seen == [start + 10, start + 20]
    assert task.done()


async def test_a_task_started_just_before_advance_reaches_its_sleep_first(clock: FakeClock) -> None:
    task = asyncio.create_task(clock.sleep(3600))  # not yet running when advance is called
    await clock.advance(3600)
    assert task.done()


async def test_sleepers_wake_in_deadline_order_each_at_its_own_time(clock: FakeClock) -> None:
    start = clock.time()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.time() - start))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("c", 3), ("a", 1), ("b", 2), ("late", 9))]
    await clock.advance(5)
    assert woke == [("a", 1), ("b", 2), ("c", 3)]
    assert clock.time() == start + 5
    assert clock.deadlines == [start + 9]
    tasks[-1].cancel()
    await settle()
    assert clock.deadlines == []


async def test_settle_returns_once_every_task_waits(clock: FakeClock) -> None:
    done = asyncio.Event()

    async def chain(n: int) -> None:
        if n:
            await asyncio.create_task(chain(n - 1))
        else:
            done.set()

    asyncio.create_task(chain(30))  # noqa: RUF006 - it ends within the test
    await settle()
    assert done.is_set()


async def test_settle_gives_up_on_a_task_that_never_blocks() -> None:
    async def spin() -> None:
        while True:  # noqa: ASYNC110 - the point: a task that never blocks
            await asyncio.sleep(0)

    spinner = asyncio.create_task(spin())
    await asyncio.wait_for(settle(), WAIT)  # bounded: it does not hang the test
    assert not spinner.done()
    spinner.cancel()
    assert SETTLE_TURNS >= 1000


def test_a_loop_whose_ready_queue_cannot_be_read_falls_back() -> None:
    class Opaque:
        pass

    assert ready_callbacks(cast(Any, Opaque())) is None


async def test_time_does_not_move_by_itself_without_autojump(clock: FakeClock) -> None:
    start = clock.time()
    task = asyncio.create_task(clock.sleep(1))
    await settle()
    assert not task.done()
    assert clock.time() == start
    task.cancel()


async def test_autojump_moves_to_each_deadline_once_the_loop_is_idle() -> None:
    clock = FakeClock(autojump=0.0)
    start = clock.time()
    await asyncio.wait_for(clock.sleep(30 * DAY), WAIT)  # a month, in no real time
    assert clock.time() == start + 30 * DAY
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(clock.time() - start - 30 * DAY)

    await asyncio.wait_for(asyncio.gather(sleeper(7200), sleeper(60), sleeper(3600)), WAIT)
    assert woke == [60, 3600, 7200]


async def test_autojump_can_be_switched_off_and_on() -> None:
    clock = FakeClock(autojump=0.0)
    clock.autojump_threshold = None
    start = clock.time()
    task = asyncio.create_task(clock.sleep(10))
    await settle()
    assert not task.done()
    clock.autojump_threshold = 0.001
    await clock.sleep(20)  # starts the jumps again: the first sleeper wakes on the way
    assert task.done()
    assert clock.time() == start + 20
    with pytest.raises(ValueError, match="autojump threshold"):
        clock.autojump_threshold = -1


async def test_jump_through_passes_short_sleeps_and_leaves_far_deadlines(clock: FakeClock) -> None:
    start = clock.time()
    expiry = asyncio.create_task(clock.sleep(60))

    async def reconnect() -> str:
        for delay in (0.5, 1.0, 1.0):  # a backoff
            await clock.sleep(delay)
        return "up"

    assert await asyncio.wait_for(clock.jump_through(reconnect(), horizon=1.0), WAIT) == "up"
    assert clock.time() == start + 2.5
    assert not expiry.done()
    assert clock.deadlines == [start + 60]
    expiry.cancel()


async def test_until_sleeping_waits_for_a_task_to_sleep(clock: FakeClock) -> None:
    go = asyncio.Event()

    async def later() -> None:
        await go.wait()
        await clock.sleep(5)

    task = asyncio.create_task(later())
    waiting = asyncio.create_task(clock.until_sleeping())
    await settle()
    assert not waiting.done()
    go.set()
    await asyncio.wait_for(waiting, WAIT)
    assert clock.deadlines == [clock.time() + 5]
    await clock.advance(5)
    assert task.done()


async def test_time_never_goes_backwards_but_the_wall_clock_may_be_stepped(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="backwards"):
        await clock.advance(-1)
    clock.set(clock.time() - 3600)
    assert clock.time() == 1_767_225_600.0 - 3600
