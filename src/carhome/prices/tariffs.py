"""What a kilowatt-hour costs, slot by slot: fixed, time-of-use, or a dynamic series.

A ``Tariff`` answers one question: the price at each slot start of a planning grid, and
how far its prices are known. The planner plans only as far as the tariff knows
(``known_until``); a fixed or time-of-use tariff is known forever. Feed-in (export)
payment is a tariff too, usually ``FixedTariff(0.0)`` or a small fixed price.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from carhome.errors import ConfigError
from carhome.prices.series import SlotSeries


class Tariff(Protocol):
    """A price per kWh at any instant it knows, in one currency."""

    def known_until(self) -> datetime | None:
        """The end of the known prices, or None when they are known forever."""
        ...

    def prices(self, starts: Sequence[datetime]) -> list[float]:
        """The price per kWh holding at each instant (all before ``known_until``)."""
        ...


@dataclass(frozen=True, slots=True)
class FixedTariff:
    """One price at all times."""

    price: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.price):
            raise ConfigError(f"a price must be a finite number, got {self.price!r}")

    def known_until(self) -> datetime | None:
        return None

    def prices(self, starts: Sequence[datetime]) -> list[float]:
        return [self.price] * len(starts)


@dataclass(frozen=True, slots=True)
class TouWindow:
    """A price from ``start`` (inclusive) to ``end`` (exclusive) local time; may cross midnight."""

    start: time
    end: time
    price: float


@dataclass(frozen=True, slots=True)
class TimeOfUseTariff:
    """Prices by local time of day; the windows cover the day exactly once.

    ``weekend`` windows, when given, apply on Saturdays and Sundays.
    """

    windows: tuple[TouWindow, ...]
    zone: ZoneInfo
    weekend: tuple[TouWindow, ...] | None = None

    def __post_init__(self) -> None:
        _check_cover(self.windows, "the time-of-use windows")
        if self.weekend is not None:
            _check_cover(self.weekend, "the weekend time-of-use windows")

    def known_until(self) -> datetime | None:
        return None

    def prices(self, starts: Sequence[datetime]) -> list[float]:
        out: list[float] = []
        for when in starts:
            local = when.astimezone(self.zone)
            windows = self.weekend if self.weekend is not None and local.weekday() >= 5 else self.windows
            minute = local.hour * 60 + local.minute
            out.append(next(w.price for w in windows if _covers(w, minute)))
        return out


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _covers(window: TouWindow, minute: int) -> bool:
    lo, hi = _minutes(window.start), _minutes(window.end)
    if lo < hi:
        return lo <= minute < hi
    return minute >= lo or minute < hi  # crosses midnight (or lo == hi: the whole day)


def _check_cover(windows: tuple[TouWindow, ...], what: str) -> None:
    if not windows:
        raise ConfigError(f"{what} are empty; give at least one window")
    for w in windows:
        if not math.isfinite(w.price):
            raise ConfigError(f"{what}: the price from {w.start} is not a finite number")
        if w.start.second or w.end.second or w.start.microsecond or w.end.microsecond:
            raise ConfigError(f"{what}: windows start and end on whole minutes, got {w.start}–{w.end}")
    for minute in range(24 * 60):
        holding = [w for w in windows if _covers(w, minute)]
        at = f"{minute // 60:02d}:{minute % 60:02d}"
        if not holding:
            raise ConfigError(f"{what} leave a gap at {at}")
        if len(holding) > 1:
            raise ConfigError(f"{what} overlap at {at}")


@dataclass(frozen=True, slots=True)
class DynamicTariff:
    """Prices known slot by slot (day-ahead market prices, say) from a ``SlotSeries``."""

    series: SlotSeries

    def known_until(self) -> datetime | None:
        return self.series.end

    def prices(self, starts: Sequence[datetime]) -> list[float]:
        return self.series.sample(starts)

    @classmethod
    def of(
        cls, start: datetime, prices: Sequence[float], *, slot: timedelta = timedelta(minutes=15)
    ) -> DynamicTariff:
        return cls(SlotSeries.of(start, prices, slot=slot))
