"""Bounded waits for a condition, for the test rigs: each fails the test with what it waited
for once its bound has passed.

``until`` looks again at each turn of the loop, for conditions that tell no event (a
connector's counters); ``until_told`` looks again each time ``changed`` is set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

TIMEOUT = 10.0
"""Real seconds a rig waits before it fails: a safety net, never a wait the test needs."""


async def until(condition: Callable[[], bool], what: str, *, bound: float = TIMEOUT) -> None:
    """Wait until ``condition()`` holds, looking again at each turn of the loop."""
    try:
        async with asyncio.timeout(bound):
            while not condition():  # noqa: ASYNC110 - what it waits on has no event
                await asyncio.sleep(0.001)
    except TimeoutError:
        raise AssertionError(f"not within {bound} s: {what}") from None


async def until_told(
    changed: asyncio.Event, condition: Callable[[], bool], what: str, *, bound: float = TIMEOUT
) -> None:
    """Wait until ``condition()`` holds, looking again each time ``changed`` is set."""
    try:
        async with asyncio.timeout(bound):
            while not condition():
                changed.clear()
                await changed.wait()
    except TimeoutError:
        raise AssertionError(f"not within {bound} s: {what}") from None
