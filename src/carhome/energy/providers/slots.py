"""Providers' intervals laid on the planner's grid: one value per quarter hour.

Providers answer in hours, half hours or quarter hours, sometimes mixed in one answer
(a day-ahead market that moved to quarter hours, an hourly day after a quarter-hour one).
``quarter_hours`` repeats each interval's value on its quarter hours; where a finer
interval overlaps a coarser one, the finer wins. An interval that does not start and end
on quarter hours, a value that is not finite, or one that cannot be (negative sunshine)
is a ``BadAnswer``. The series is the unbroken run that holds ``now`` (or the first one
after it): data past a hole is not planned on.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

from carhome.energy.providers.source import BadAnswer, ProviderError
from carhome.prices.series import QUARTER_HOUR, SlotSeries

Interval = tuple[datetime, datetime, float]

_Q: Final = int(QUARTER_HOUR.total_seconds())
MAX_SLOTS: Final = 14 * 96
"""Two weeks of quarter hours: more than any provider gives ahead; more is refused."""


def quarter_hours(
    provider: str, intervals: Iterable[Interval], now: datetime, *, unit: str, non_negative: bool = False
) -> SlotSeries:
    """One quarter-hour series from ``intervals`` (see the module docstring)."""
    finest: dict[int, tuple[int, float]] = {}  # quarter index → (interval length, value)
    for start, end, value in intervals:
        if not math.isfinite(value):
            raise BadAnswer(provider, "bad_value", f"a value at {start.isoformat()} is not a finite number")
        if non_negative and value < 0:
            raise BadAnswer(provider, "bad_value", f"a negative value ({value}) at {start.isoformat()}")
        first, last = _index(provider, start), _index(provider, end)
        if last <= first:
            raise BadAnswer(
                provider, "bad_interval", f"an interval ends before it starts at {start.isoformat()}"
            )
        if last - first > MAX_SLOTS or len(finest) > MAX_SLOTS:
            raise BadAnswer(provider, "too_large", f"more than {MAX_SLOTS} quarter hours")
        length = last - first
        for q in range(first, last):
            held = finest.get(q)
            if held is None or held[0] >= length:
                finest[q] = (length, value)
    if not finest:
        raise ProviderError(provider, "no values in the answer yet; asking again later")
    start_q = _run_start(sorted(finest), _index_floor(now))
    values: list[float] = []
    q = start_q
    while q in finest:
        values.append(finest[q][1])
        q += 1
    if q <= _index_floor(now):
        raise ProviderError(provider, "the answer holds nothing from now on; asking again later")
    return SlotSeries.of(datetime.fromtimestamp(start_q * _Q, UTC), values, unit=unit)


def _index(provider: str, when: datetime) -> int:
    seconds = when.timestamp()
    if seconds % _Q:
        raise BadAnswer(provider, "bad_interval", f"{when.isoformat()} is not on a quarter hour")
    return int(seconds) // _Q


def _index_floor(when: datetime) -> int:
    return int(when.timestamp()) // _Q


def _run_start(quarters: list[int], now_q: int) -> int:
    """The first quarter of the unbroken run holding ``now_q``, or of the first run after it."""
    start = quarters[0]
    chosen = None
    for prev, q in itertools.pairwise(quarters):
        if q != prev + 1:  # a hole: prev ends a run
            if prev >= now_q:
                chosen = start
                break
            start = q
    return start if chosen is None else chosen


def energy_to_quarter_hours(
    provider: str, periods: Iterable[tuple[datetime, datetime, float]], now: datetime, *, unit: str = "kW"
) -> SlotSeries:
    """Energy per period (kWh from ``start`` to ``end``, any boundaries) as average kW per quarter hour.

    Each period's energy is spread evenly over it and summed into the quarter hours it
    covers, so a forecast's energy is kept exactly whatever its time stamps.
    """
    energy: dict[int, float] = {}
    for start, end, kwh in periods:
        if not math.isfinite(kwh) or kwh < 0:
            raise BadAnswer(provider, "bad_value", f"the energy until {end.isoformat()} is {kwh!r}")
        a, b = start.timestamp(), end.timestamp()
        if b <= a:
            continue  # a period of no length carries nothing
        if b - a > MAX_SLOTS * _Q:
            raise BadAnswer(provider, "too_large", "a period longer than two weeks")
        rate = kwh / (b - a)  # kWh per second
        q = int(a // _Q)
        while q * _Q < b:
            lo, hi = max(a, q * _Q), min(b, (q + 1) * _Q)
            energy[q] = energy.get(q, 0.0) + rate * (hi - lo)
            q += 1
    if not energy:
        raise ProviderError(provider, "no values in the answer yet; asking again later")
    first, last = min(energy), max(energy)
    hours = QUARTER_HOUR / timedelta(hours=1)
    values = [energy.get(q, 0.0) / hours for q in range(first, last + 1)]
    return SlotSeries.of(datetime.fromtimestamp(first * _Q, UTC), values, unit=unit)
