"""A series of values in equal time slots: prices, solar forecasts, house load.

``SlotSeries`` is checked when made: an aware start, a positive slot length, at least one
value, every value finite (and non-negative where the caller asks). It answers what value
holds at an instant and samples itself onto a planning grid whose slots nest inside its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from carhome.errors import ConfigError

QUARTER_HOUR = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class SlotSeries:
    """``values[i]`` holds from ``start + i·slot`` to ``start + (i+1)·slot``."""

    start: datetime
    slot: timedelta
    values: tuple[float, ...]
    unit: str = ""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ConfigError(f"a series start needs a time zone, got {self.start.isoformat()}")
        if self.slot <= timedelta(0):
            raise ConfigError(f"a slot length must be positive, got {self.slot}")
        if not self.values:
            raise ConfigError("a series needs at least one value")
        values = tuple(float(v) for v in self.values)
        for i, v in enumerate(values):
            if not math.isfinite(v):
                raise ConfigError(f"value {i} of the series is not a finite number: {v!r}")
        object.__setattr__(self, "values", values)

    @classmethod
    def of(
        cls, start: datetime, values: Iterable[float], *, slot: timedelta = QUARTER_HOUR, unit: str = ""
    ) -> SlotSeries:
        return cls(start, slot, tuple(values), unit)

    @property
    def end(self) -> datetime:
        return self.start + self.slot * len(self.values)

    def non_negative(self, what: str) -> SlotSeries:
        """Return self, or refuse a negative value (a forecast of power, say)."""
        for i, v in enumerate(self.values):
            if v < 0:
                at = (self.start + i * self.slot).isoformat()
                raise ConfigError(f"{what} cannot be negative, got {v} at {at}")
        return self

    def at(self, when: datetime) -> float | None:
        """The value holding at ``when``, or None outside the series."""
        if when < self.start or when >= self.end:
            return None
        return self.values[(when - self.start) // self.slot]

    def sample(self, starts: Iterable[datetime], default: float | None = None) -> list[float]:
        """The value at each instant; ``default`` outside the series (or raise if None)."""
        out: list[float] = []
        for when in starts:
            value = self.at(when)
            if value is None:
                if default is None:
                    raise ConfigError(f"the series has no value at {when.isoformat()}")
                value = default
            out.append(value)
        return out
