"""A car as the planner sees it: battery, state of charge, target, departure, taper, losses.

``TaperCurve`` is the most a car draws at each state of charge, a piecewise-linear,
non-increasing, concave curve, so the planner can bound power by one linear inequality
per segment. ``Departure`` is one-off or weekly; either answers "when next after now".
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from carhome.energy.chargers import Charger
from carhome.energy.modes import Mode
from carhome.energy.units import Energy, Soc
from carhome.errors import ConfigError


@dataclass(frozen=True, slots=True)
class TaperCurve:
    """Maximum charging power (kW, drawn from the supply) against state of charge (0–1).

    ``points`` run from SoC 0 to SoC 1; power never rises and the curve is concave (it
    bends down only), e.g. ``((0, 11), (0.8, 11), (1.0, 2))``.
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        pts = tuple((float(s), float(p)) for s, p in self.points)
        if len(pts) < 2 or pts[0][0] != 0.0 or pts[-1][0] != 1.0:
            raise ConfigError("a taper curve needs points from SoC 0 to SoC 1")
        for s, p in pts:
            if not (math.isfinite(s) and math.isfinite(p)) or p < 0:
                raise ConfigError(f"a taper point must be finite with power ≥ 0, got ({s}, {p})")
        slopes: list[float] = []
        for (s0, p0), (s1, p1) in itertools.pairwise(pts):
            if s1 <= s0:
                raise ConfigError(f"taper SoC points must increase, got {s0} then {s1}")
            if p1 > p0:
                raise ConfigError(f"taper power must not rise with SoC, got {p0} kW then {p1} kW")
            slopes.append((p1 - p0) / (s1 - s0))
        for k in range(1, len(slopes)):
            if slopes[k] > slopes[k - 1] + 1e-9:
                raise ConfigError(
                    f"a taper curve must be concave (bend down only); it bends up at SoC {pts[k][0]}"
                )
        object.__setattr__(self, "points", pts)

    def max_power(self, soc: float) -> float:
        """The curve's power at ``soc`` (clamped to 0–1)."""
        s = min(1.0, max(0.0, soc))
        for (s0, p0), (s1, p1) in zip(self.points, self.points[1:], strict=False):
            if s <= s1:
                return p0 + (p1 - p0) * (s - s0) / (s1 - s0)
        return self.points[-1][1]

    def lines(self) -> tuple[tuple[float, float], ...]:
        """Each segment as ``(a, b)`` with power ≤ a + b·soc; their minimum is the curve."""
        out = []
        for (s0, p0), (s1, p1) in zip(self.points, self.points[1:], strict=False):
            b = (p1 - p0) / (s1 - s0)
            out.append((p0 - b * s0, b))
        return tuple(out)


@dataclass(frozen=True, slots=True)
class OneOffDeparture:
    """Leave once, at ``at``."""

    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ConfigError(f"a departure needs a time zone, got {self.at.isoformat()}")

    def next_after(self, now: datetime) -> datetime:
        return self.at


@dataclass(frozen=True, slots=True)
class WeeklyDeparture:
    """Leave every week at the given local times; ``days`` maps weekday (Mon=0) to a time."""

    days: tuple[tuple[int, time], ...]
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if not self.days:
            raise ConfigError("a weekly departure needs at least one day")
        seen: set[int] = set()
        for day, _ in self.days:
            if day not in range(7):
                raise ConfigError(f"a weekday is 0 (Monday) to 6 (Sunday), got {day}")
            if day in seen:
                raise ConfigError(f"weekday {day} is given twice")
            seen.add(day)

    def next_after(self, now: datetime) -> datetime:
        local = now.astimezone(self.zone)
        times = dict(self.days)
        for ahead in range(8):
            date = (local + timedelta(days=ahead)).date()
            at = times.get(date.weekday())
            if at is not None:
                when = datetime.combine(date, at, tzinfo=self.zone)
                if when > now:
                    return when
        raise ConfigError("no weekly departure found")  # unreachable: one day recurs in 8


Departure = OneOffDeparture | WeeklyDeparture


@dataclass(frozen=True, slots=True)
class Car:
    """One car at one charger, as much as the planner needs to know.

    ``efficiency`` is the share of the energy drawn that reaches the battery. ``limit`` is
    the highest SoC the planner may charge to (cheap or free energy); it defaults to the
    target. ``mode`` says how the user wants it charged.
    """

    id: str
    capacity: Energy
    soc: Soc
    target: Soc
    departure: Departure
    charger: Charger
    taper: TaperCurve | None = None
    efficiency: float = 0.9
    limit: Soc | None = None
    plugged_in: bool = True
    mode: Mode = Mode.SMART
    lines: tuple[tuple[float, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.efficiency <= 1:
            raise ConfigError(f"car {self.id!r}: efficiency must be in (0, 1], got {self.efficiency}")
        if self.capacity.kwh <= 0:
            raise ConfigError(f"car {self.id!r}: battery capacity must be positive")
        if self.limit is not None and self.limit < self.target:
            raise ConfigError(f"car {self.id!r}: the limit {self.limit} is below the target {self.target}")
        object.__setattr__(self, "lines", self.taper.lines() if self.taper else ())

    @property
    def limit_soc(self) -> float:
        return max(self.soc.fraction, (self.limit or self.target).fraction)

    def max_power_at(self, soc: float) -> float:
        """The most this car can draw at ``soc``: its charger, bent by its taper."""
        top = self.charger.max_power.kw
        return min(top, self.taper.max_power(soc)) if self.taper else top
