"""A plan request, and the numbers the solver works on, made from it.

``PlanRequest`` is what a caller knows: the time, the cars, the tariff, the feed-in
payment, the solar and load forecast. ``Problem.of(request)`` lays a grid of slots from
now to the planning horizon — the latest departure of a plugged-in car, but never past the
last known price — and turns every car into arrays over that grid. A car that leaves
after the horizon must only have, at the horizon, as much as it cannot still gain in the
time left after it (walking its taper back from the target), so nothing unknown is paid for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from carhome.energy.cars import Car
from carhome.energy.forecasts import SiteForecast
from carhome.energy.highs import FloatArray
from carhome.energy.modes import Mode
from carhome.errors import ConfigError
from carhome.prices.series import QUARTER_HOUR
from carhome.prices.tariffs import FixedTariff, Tariff

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """Everything a plan depends on, at one instant ``now``."""

    now: datetime
    cars: tuple[Car, ...]
    tariff: Tariff
    feed_in: Tariff = field(default_factory=lambda: FixedTariff(0.0))
    forecast: SiteForecast = field(default_factory=SiteForecast)
    slot: timedelta = QUARTER_HOUR
    max_horizon: timedelta = timedelta(hours=48)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ConfigError("the planning time needs a time zone")
        if timedelta(hours=1) % self.slot:
            raise ConfigError(f"the slot length must divide an hour, got {self.slot}")
        ids = [c.id for c in self.cars]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"car ids must be unique, got {ids}")


@dataclass(frozen=True, slots=True)
class CarProblem:
    """One car over the grid: the fraction of each slot it can charge, and its energies."""

    index: int
    car: Car
    share: FloatArray  # 0..1 per slot: how much of the slot it is plugged in before leaving
    last: int  # index of its last slot with share > 0, or -1
    start_kwh: float
    need_kwh: float  # battery energy wanted by the end of slot ``last``
    limit_kwh: float
    min_kw: float
    max_kw: float
    departs_in_horizon: bool


@dataclass(frozen=True, slots=True)
class Problem:
    """The grid and everything the solver and the rules need, as plain numbers."""

    request: PlanRequest
    starts: tuple[datetime, ...]
    end: datetime
    hours: FloatArray  # length of each slot inside the plan, in hours (the first may be short)
    price: FloatArray
    feed_in: FloatArray
    solar: FloatArray
    load: FloatArray
    cars: tuple[CarProblem, ...]
    connections: tuple[tuple[float, tuple[int, ...]], ...]  # (limit kW, car indices)

    @property
    def size(self) -> int:
        return len(self.starts)

    @classmethod
    def of(cls, request: PlanRequest) -> Problem:
        now, slot = request.now, request.slot
        epoch = datetime(2000, 1, 1, tzinfo=now.tzinfo)
        first = now - (now - epoch) % slot
        active = [c for c in request.cars if c.plugged_in and c.mode is not Mode.OFF]
        departures = [c.departure.next_after(now) for c in request.cars]
        end = max([d for c, d in zip(request.cars, departures, strict=True) if c in active], default=now)
        end = min(end, now + request.max_horizon)
        for tariff in (request.tariff, request.feed_in):
            known = tariff.known_until()
            if known is not None:
                end = min(end, known)
        if end <= now and active and request.tariff.known_until() is not None:
            raise ConfigError(f"no prices are known after {now.isoformat()}; load the next prices first")
        count = max(0, -(-(end - first) // slot))
        starts = tuple(first + i * slot for i in range(count))
        seconds = np.array([(min(s + slot, end) - max(s, now)).total_seconds() for s in starts])
        hours = np.maximum(seconds, 0.0) / 3600.0
        cars = tuple(
            _car_problem(i, car, dep, now, starts, slot, end, car in active)
            for i, (car, dep) in enumerate(zip(request.cars, departures, strict=True))
        )
        groups: dict[str, tuple[float, list[int]]] = {}
        for cp in cars:
            conn = cp.car.charger.connection
            if conn is not None:
                groups.setdefault(conn.id, (conn.max_power.kw, []))[1].append(cp.index)
        return cls(
            request=request,
            starts=starts,
            end=max(end, now),
            hours=hours,
            price=np.array(request.tariff.prices(starts), dtype=np.float64),
            feed_in=np.array(request.feed_in.prices(starts), dtype=np.float64),
            solar=np.array(request.forecast.solar_kw(starts), dtype=np.float64),
            load=np.array(request.forecast.load_kw(starts), dtype=np.float64),
            cars=cars,
            connections=tuple((kw, tuple(idx)) for kw, idx in groups.values()),
        )


def _car_problem(  # noqa: PLR0917 - one call site, all named by position there
    index: int,
    car: Car,
    departure: datetime,
    now: datetime,
    starts: Sequence[datetime],
    slot: timedelta,
    end: datetime,
    active: bool,
) -> CarProblem:
    cap = car.capacity.kwh
    share = np.zeros(len(starts))
    if active:
        stop = min(departure, end)
        for t, s in enumerate(starts):
            # the share of the slot's planned time (which is short in the first slot)
            planned = min(s + slot, end) - max(s, now)
            if planned > timedelta(0):
                share[t] = min(1.0, max(0.0, (min(s + slot, stop) - max(s, now)) / planned))
    nonzero = np.flatnonzero(share > 0)
    last = int(nonzero[-1]) if len(nonzero) else -1
    start_kwh = car.soc.fraction * cap
    target_kwh = max(start_kwh, car.target.fraction * cap)
    need = target_kwh
    # Past the horizon only what is still needed counts, except for "now": it charges now.
    if departure > end and car.mode is not Mode.NOW:
        need = _still_needed(car, target_kwh, departure - end, slot)
    return CarProblem(
        index=index,
        car=car,
        share=share,
        last=last,
        start_kwh=start_kwh,
        need_kwh=max(start_kwh, need),
        limit_kwh=car.limit_soc * cap,
        min_kw=car.charger.min_power.kw,
        max_kw=car.charger.max_power.kw,
        departs_in_horizon=departure <= end,
    )


def _still_needed(car: Car, target_kwh: float, after: timedelta, slot: timedelta) -> float:
    """The least energy at the horizon from which full power still reaches the target."""
    cap, hours = car.capacity.kwh, slot / HOUR
    energy = target_kwh
    steps = int(after // slot)
    for _ in range(steps):
        if energy <= 0:
            break
        energy -= car.efficiency * hours * car.max_power_at(energy / cap)
    return max(0.0, energy)
