"""W4 — charging plans (see shared/WORKLOADS.md).

365 seeded days. Each day at 18:00 the planner sees 48 hours of 15-minute prices (morning
and evening peaks, a midday dip), a seeded solar forecast and house load, and plans one car
(75 kWh, 11 kW AC, 30 % → 80 % by 07:00) — then two cars sharing one 16 A three-phase
connection. Each plan's charging cost (the site's bill with the cars minus without) is
compared with

- the optimum of the same problem, written here a second time, independently (dense
  matrices, cumulative energy instead of state variables) and solved with
  ``scipy.optimize.milp`` — a MILP because the chargers' 6 A minimum makes charging
  on/off; and
- the greedy rule: the cheapest slots at full power until the target, solar ignored
  (its bill is still counted with the solar the site really had).

Prints one JSON line per scenario: the cost ratios, and the time to plan (wall and CPU
milliseconds, garbage collection held off during each plan as timeit does). Run:
``.venv/bin/python bench/w4.py [--days N]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from carhome.energy import (
    Car,
    Charger,
    Connection,
    DynamicTariff,
    Energy,
    FixedTariff,
    OneOffDeparture,
    PlanRequest,
    SiteForecast,
    SlotSeries,
    Soc,
    TaperCurve,
    make_plan,
)

ZONE = timezone(timedelta(hours=1))
SLOT_H = 0.25
FEED_IN = 0.08
SLOTS = 192  # 48 hours


@dataclass(frozen=True)
class Day:
    start: datetime
    price: np.ndarray
    solar: np.ndarray
    load: np.ndarray


def make_day(rng: np.random.Generator, day: int) -> Day:
    start = datetime(2025, 1, 1, 18, tzinfo=ZONE) + timedelta(days=day)
    hour = (18 + np.arange(SLOTS) * SLOT_H) % 24
    doy = (day + np.arange(SLOTS) * SLOT_H / 24) % 365
    season = np.cos(2 * np.pi * (doy - 172) / 365)  # +1 midsummer, -1 midwinter
    base = 0.22 + 0.04 * rng.standard_normal()
    morning = 0.10 * np.exp(-((hour - 8.0) ** 2) / 2.0)
    evening = 0.14 * np.exp(-((hour - 19.0) ** 2) / 3.0)
    dip = 0.12 * (0.5 + 0.5 * season) * np.exp(-((hour - 13.0) ** 2) / 4.0)
    night = -0.05 * ((hour < 5) | (hour >= 23))
    noise = np.zeros(SLOTS)
    for t in range(1, SLOTS):
        noise[t] = 0.8 * noise[t - 1] + 0.012 * rng.standard_normal()
    price = np.maximum(base + morning + evening - dip + night + noise, FEED_IN + 0.01)
    sunrise, sunset = 12.0 - (6.0 + 2.2 * season), 12.0 + (6.0 + 2.2 * season)
    shape = np.clip(np.sin(np.pi * (hour - sunrise) / (sunset - sunrise)), 0.0, None)
    clouds = np.repeat(rng.uniform(0.2, 1.0, size=SLOTS // 8), 8)
    solar = 8.0 * (0.65 + 0.35 * season) * shape * clouds
    load = (
        0.35
        + 0.5 * np.exp(-((hour - 19.5) ** 2) / 2.0)
        + 0.3 * np.exp(-((hour - 7.5) ** 2))
        + 0.1 * rng.random(SLOTS)
    )
    return Day(start, price, solar, load)


def cars_for(day: Day, count: int) -> tuple[Car, ...]:
    taper = TaperCurve(((0.0, 11.0), (0.8, 11.0), (1.0, 3.0)))
    shared = Connection("line", 16.0) if count == 2 else None
    one = Car(
        "ev1",
        Energy(75.0),
        Soc(0.30),
        Soc(0.80),
        OneOffDeparture(day.start + timedelta(hours=13)),
        Charger("wallbox1", 16.0, 6.0, 3, connection=shared),
        taper=taper,
        efficiency=0.9,
    )
    if count == 1:
        return (one,)
    two = Car(
        "ev2",
        Energy(60.0),
        Soc(0.20),
        Soc(0.80),
        OneOffDeparture(day.start + timedelta(hours=13, minutes=30)),
        Charger("wallbox2", 16.0, 6.0, 3, connection=shared),
        taper=taper,
        efficiency=0.9,
    )
    return (one, two)


def bill(day: Day, cars_kw: np.ndarray) -> float:
    """The charging cost: the site's bill with the cars' power minus without."""

    def site(net: np.ndarray) -> float:
        return float(np.sum(SLOT_H * (day.price * np.maximum(net, 0) - FEED_IN * np.maximum(-net, 0))))

    base = day.load - day.solar
    return site(base + cars_kw) - site(base)


def reference(day: Day, cars: tuple[Car, ...], limit_kw: float | None) -> np.ndarray:  # noqa: PLR0915
    """The optimum, formulated independently: per car p[t] and on/off z[t]; per slot g, x."""
    windows = [round((c.departure.next_after(day.start) - day.start) / timedelta(minutes=15)) for c in cars]
    n = max(windows)
    blocks = [(2 * w) for w in windows]  # p and z per car slot
    nv = sum(blocks) + 2 * n
    cost = np.zeros(nv)
    lo, hi = np.zeros(nv), np.zeros(nv)
    integrality = np.zeros(nv)
    rows: list[np.ndarray] = []
    rlo: list[float] = []
    rhi: list[float] = []
    offs = np.cumsum([0, *blocks])
    g0 = offs[-1]
    for k, (car, w) in enumerate(zip(cars, windows, strict=True)):
        o = offs[k]
        pidx, zidx = o + np.arange(w), o + w + np.arange(w)
        pmax = car.charger.max_power.kw
        pmin = car.charger.min_power.kw
        hi[pidx] = pmax
        hi[zidx] = 1.0
        integrality[zidx] = 1
        cap, eta = car.capacity.kwh, car.efficiency
        e0 = car.soc.fraction * cap
        for t in range(w):
            on_max = np.zeros(nv)
            on_max[pidx[t]], on_max[zidx[t]] = 1.0, -pmax
            on_min = np.zeros(nv)
            on_min[pidx[t]], on_min[zidx[t]] = 1.0, -pmin
            rows += [on_max, on_min]
            rlo += [-np.inf, 0.0]
            rhi += [0.0, np.inf]
            # taper on the energy after slot t: p ≤ a + b·(e0 + η·h·Σp)/cap
            for a, b in car.lines:
                if min(a, a + b) >= pmax:
                    continue
                row = np.zeros(nv)
                row[pidx[: t + 1]] = -b * eta * SLOT_H / cap
                row[pidx[t]] += 1.0
                rows.append(row)
                rlo.append(-np.inf)
                rhi.append(a + b * e0 / cap)
        final = np.zeros(nv)
        final[pidx] = eta * SLOT_H
        rows.append(final)
        rlo.append(car.target.fraction * cap - e0)
        rhi.append(car.target.fraction * cap - e0 + 1e-9)  # the limit is the target
    for t in range(n):
        gi, xi = g0 + t, g0 + n + t
        hi[gi], hi[xi] = np.inf, day.solar[t]
        cost[gi], cost[xi] = SLOT_H * day.price[t], -SLOT_H * FEED_IN
        row = np.zeros(nv)
        row[gi], row[xi] = 1.0, -1.0
        both = np.zeros(nv)
        for k, w in enumerate(windows):
            if t < w:
                row[offs[k] + t] = -1.0
                both[offs[k] + t] = 1.0
        rows.append(row)
        rlo.append(day.load[t] - day.solar[t])
        rhi.append(day.load[t] - day.solar[t])
        if limit_kw is not None:
            rows.append(both)
            rlo.append(-np.inf)
            rhi.append(limit_kw)
    result = milp(
        cost,
        constraints=LinearConstraint(np.array(rows), rlo, rhi),
        bounds=Bounds(lo, hi),
        integrality=integrality,
        options={"mip_rel_gap": 1e-9},
    )
    if result.x is None:
        raise SystemExit(f"reference failed on {day.start}: {result.message}")
    power = np.zeros(SLOTS)
    for k, w in enumerate(windows):
        power[:w] += result.x[offs[k] : offs[k] + w]
    return power


def greedy(day: Day, cars: tuple[Car, ...], limit_kw: float | None) -> np.ndarray:
    """Cheapest slots at full power until the target, car by car; solar ignored."""
    used = np.zeros(SLOTS)
    for car in cars:
        w = round((car.departure.next_after(day.start) - day.start) / timedelta(minutes=15))
        cap, eta = car.capacity.kwh, car.efficiency
        goal = car.target.fraction * cap
        order = sorted(range(w), key=lambda t: (day.price[t], t))
        for k in range(1, w + 1):
            chosen = set(order[:k])
            power, energy = np.zeros(SLOTS), car.soc.fraction * cap
            for t in range(w):
                if t not in chosen or energy >= goal:
                    continue
                room = car.max_power_at(energy / cap)  # taper at the start of the slot
                if limit_kw is not None:
                    room = min(room, limit_kw - used[t])
                power[t] = max(0.0, min(room, (goal - energy) / (eta * SLOT_H)))
                energy += eta * SLOT_H * power[t]
            if energy >= goal - 1e-9:
                break
        used += power
    return used


def run(count: int, days: int) -> dict[str, object]:
    rng = np.random.default_rng(2025 + count)
    ratios_opt, ratios_greedy, ms, cpu_ms = [], [], [], []
    solves: list[int] = []
    solar_days = cheaper_on_solar_days = 0
    for d in range(days):
        day = make_day(rng, d)
        cars = cars_for(day, count)
        limit = Connection("line", 16.0).max_power.kw if count == 2 else None
        request = PlanRequest(
            now=day.start,
            cars=cars,
            tariff=DynamicTariff(SlotSeries.of(day.start, day.price.tolist())),
            feed_in=FixedTariff(FEED_IN),
            forecast=SiteForecast(
                SlotSeries.of(day.start, day.solar.tolist()), SlotSeries.of(day.start, day.load.tolist())
            ),
        )
        # timed like timeit: no garbage collection inside the plan (the reference MILP's
        # garbage would otherwise be collected there); CPU time beside wall time, since
        # the machines here are shared and a plan can wait for a core
        gc.collect()
        gc.disable()
        t0, c0 = time.perf_counter(), time.thread_time()
        plan = make_plan(request)
        ms.append((time.perf_counter() - t0) * 1000)
        cpu_ms.append((time.thread_time() - c0) * 1000)
        gc.enable()
        solves.append(getattr(plan, "solves", 0))  # how hard the plan was (0 where not counted)
        if plan.shortfall_kwh > 1e-3:
            raise SystemExit(f"day {d}: the plan falls short by {plan.shortfall_kwh} kWh")
        planned = np.zeros(SLOTS)
        for cp in plan.cars:
            planned[: len(cp.power_kw)] += np.array(cp.power_kw)
        mine = bill(day, planned)
        best = bill(day, reference(day, cars, limit))
        rule = bill(day, greedy(day, cars, limit))
        ratios_opt.append(mine / best)
        ratios_greedy.append(mine / rule)
        window = slice(0, 13 * 4 + (2 if count == 2 else 0))
        if np.sum(np.maximum(day.solar[window] - day.load[window], 0)) * SLOT_H > 0.1:
            solar_days += 1
            cheaper_on_solar_days += mine < rule - 1e-9
    return {
        "bench": "w4",
        "cars": count,
        "connection": "16 A three-phase shared" if count == 2 else "own 16 A three-phase",
        "days": days,
        "reference": "scipy.optimize.milp on an independent dense formulation",
        "mean_cost_ratio_vs_optimum": round(statistics.fmean(ratios_opt), 6),
        "worst_cost_ratio_vs_optimum": round(max(ratios_opt), 6),
        "mean_cost_ratio_vs_greedy": round(statistics.fmean(ratios_greedy), 4),
        "solar_days": solar_days,
        "cheaper_than_greedy_on_solar_days": cheaper_on_solar_days,
        "plan_ms_p50": round(statistics.median(ms), 2),
        "plan_ms_p90": round(float(np.percentile(ms, 90)), 2),
        "plan_ms_max": round(max(ms), 2),
        "plan_cpu_ms_p50": round(statistics.median(cpu_ms), 2),
        "plan_cpu_ms_p90": round(float(np.percentile(cpu_ms, 90)), 2),
        "plan_cpu_ms_max": round(max(cpu_ms), 2),
        "lp_solves_max": max(solves) if solves else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    for count in (1, 2):
        print(json.dumps(run(count, args.days)), flush=True)


if __name__ == "__main__":
    main()
