"""What a slice of charged energy cost, at the tariff's price of each moment it flowed.

Between two meter readings the energy is taken to have flowed at an even rate, so a
reading that straddles a price change is split at the change: the slice is cut at every
whole minute (time-of-use windows and market slots both start on whole minutes) and each
piece is priced at its start. A tariff that does not know the price of a piece (a dynamic
tariff past its published prices) makes the slice uncostable rather than free.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Final

from carhome.errors import CarhomeError
from carhome.prices.tariffs import Tariff

_MINUTE: Final = 60.0
# A gap longer than this between readings is priced in quarter hours, not minutes.
_FINE_PIECES: Final = 6 * 60


def slice_cost(tariff: Tariff, t0: float, t1: float, kwh: float) -> float | None:
    """The cost of ``kwh`` flowing evenly from ``t0`` to ``t1`` (None: a price is unknown)."""
    if kwh == 0.0:
        return 0.0
    if t1 <= t0:
        price = _prices(tariff, [t0])
        return None if price is None else price[0] * kwh
    step = _MINUTE if (t1 - t0) / _MINUTE <= _FINE_PIECES else 15 * _MINUTE
    cuts = [t0]
    edge = math.floor(t0 / step) * step + step
    while edge < t1:
        cuts.append(edge)
        edge += step
    prices = _prices(tariff, cuts)
    if prices is None:
        return None
    ends = [*cuts[1:], t1]
    span = t1 - t0
    return sum(p * (e - s) / span * kwh for p, s, e in zip(prices, cuts, ends, strict=True))


def _prices(tariff: Tariff, times: list[float]) -> list[float] | None:
    until = tariff.known_until()
    if until is not None and times[-1] >= until.timestamp():
        return None
    try:
        prices = tariff.prices([datetime.fromtimestamp(t, UTC) for t in times])
    except CarhomeError:
        return None  # a tariff with a hole in its known range: unknown, not free
    return prices if all(math.isfinite(p) for p in prices) else None
