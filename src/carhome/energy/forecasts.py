"""What the home itself will produce and use: a solar forecast and a house-load forecast.

Both are average kilowatts per slot. Where a forecast says nothing (or is not given), the
planner assumes no solar and no other load, so surplus is never counted on that was not
forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from carhome.prices.series import SlotSeries


@dataclass(frozen=True, slots=True)
class SiteForecast:
    """Solar production and house load (without the cars), each optional."""

    solar: SlotSeries | None = None
    load: SlotSeries | None = None

    def __post_init__(self) -> None:
        if self.solar is not None:
            self.solar.non_negative("a solar forecast")
        if self.load is not None:
            self.load.non_negative("a house load forecast")

    def solar_kw(self, starts: Sequence[datetime]) -> list[float]:
        return self.solar.sample(starts, default=0.0) if self.solar else [0.0] * len(starts)

    def load_kw(self, starts: Sequence[datetime]) -> list[float]:
        return self.load.sample(starts, default=0.0) if self.load else [0.0] * len(starts)
