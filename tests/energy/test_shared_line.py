"""Two cars on one line: the pair's hull cuts, and the plan they make quick to find.

On a 16 A three-phase line (11.04 kW) two chargers that start at 6 A (4.14 kW) and are
held to 11 kW by their cars can share a full slot only as, say, 6.9 + 4.14 kW. The linear
relaxation alone would take 11 + 0.04 kW in every full slot, which no pair can run, and
the search would branch on each. ``pair_cuts`` gives the hull of what a pair can run.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

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
from carhome.energy.pairs import pair_cuts

kw = st.floats(min_value=0.0, max_value=20.0, allow_nan=False)


def runnable(
    least_x: float, most_x: float, least_y: float, most_y: float, room: float
) -> list[tuple[float, float]]:
    """A grid of splits the two chargers can really run."""
    xs = [0.0, *np.linspace(least_x, most_x, 9).tolist()] if least_x <= most_x else [0.0]
    ys = [0.0, *np.linspace(least_y, most_y, 9).tolist()] if least_y <= most_y else [0.0]
    return [(x, y) for x, y in itertools.product(xs, ys) if x + y <= room + 1e-9]


@settings(max_examples=300, deadline=None)
@given(kw, kw, kw, kw, kw)
def test_no_runnable_split_is_cut_off(a: float, da: float, b: float, db: float, room: float) -> None:
    least_x, most_x, least_y, most_y = a, a + da, b, b + db
    cuts = pair_cuts(least_x, most_x, least_y, most_y, room)
    for x, y in runnable(least_x, most_x, least_y, most_y, room):
        for wx, wy, rhs in cuts:
            assert wx * x + wy * y <= rhs + 1e-7, (x, y, (wx, wy, rhs))


@settings(max_examples=300, deadline=None)
@given(kw, kw, kw, kw, kw)
def test_every_cut_touches_a_runnable_split(a: float, da: float, b: float, db: float, room: float) -> None:
    """The cuts are the hull's own edges: none cuts deeper than the pair can run."""
    least_x, most_x, least_y, most_y = a, a + da, b, b + db
    corners = [
        (0.0, 0.0),
        (min(most_x, room), 0.0),
        (0.0, min(most_y, room)),
        (least_x, least_y),
        (min(most_x, room - least_y), least_y),
        (least_x, min(most_y, room - least_x)),
        (most_x, min(most_y, room - most_x)),
        (min(most_x, room - most_y), most_y),
    ]
    real = [
        p
        for p in corners
        if p in runnable(least_x, most_x, least_y, most_y, room) or _runs(p, a, most_x, b, most_y, room)
    ]
    for wx, wy, rhs in pair_cuts(least_x, most_x, least_y, most_y, room):
        assert any(abs(wx * x + wy * y - rhs) <= 1e-7 for x, y in real)


def _runs(p: tuple[float, float], a: float, most_x: float, b: float, most_y: float, room: float) -> bool:
    x, y = p
    ok_x = x == 0.0 or a - 1e-9 <= x <= most_x + 1e-9
    ok_y = y == 0.0 or b - 1e-9 <= y <= most_y + 1e-9
    return ok_x and ok_y and x >= 0 and y >= 0 and x + y <= room + 1e-9


def test_the_sliver_on_a_full_line_is_cut_off() -> None:
    cuts = pair_cuts(4.14, 11.0, 4.14, 11.0, 11.04)
    assert cuts, "a line a little above one charger's top needs cuts"
    assert any(wx * 11.0 + wy * 0.04 > rhs + 1e-6 for wx, wy, rhs in cuts)
    assert all(wx * 6.9 + wy * 4.14 <= rhs + 1e-9 for wx, wy, rhs in cuts)
    assert pair_cuts(4.14, 11.04, 4.14, 11.04, 11.04) == ()  # each can fill the line alone


def two_cars_one_line(start: datetime) -> tuple[Car, ...]:
    line = Connection("line", 16.0)
    taper = TaperCurve(((0.0, 11.0), (0.8, 11.0), (1.0, 3.0)))
    return tuple(
        Car(
            name,
            Energy(capacity),
            Soc(soc),
            Soc(0.80),
            OneOffDeparture(start + timedelta(hours=13, minutes=minutes)),
            Charger(f"wallbox-{name}", 16.0, 6.0, 3, connection=line),
            taper=taper,
            efficiency=0.9,
        )
        for name, capacity, soc, minutes in (("ev1", 75.0, 0.30, 0), ("ev2", 60.0, 0.20, 30))
    )


def test_a_night_on_a_shared_line_is_planned_in_few_solves() -> None:
    """An evening of sun, a night valley of noisy prices: before the cuts, some 400 solves."""
    start = datetime(2025, 7, 26, 18, tzinfo=UTC)
    n = 13 * 4 + 2
    hours = (np.arange(n) / 4 + 18) % 24
    rng = np.random.default_rng(0)
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.8 * noise[t - 1] + 0.012 * rng.standard_normal()
    night = (hours < 5) | (hours >= 23)
    price = 0.25 - 0.05 * night + 0.14 * np.exp(-((hours - 19.0) ** 2) / 3.0) + noise
    solar = np.clip(5 * np.sin(np.pi * (hours - 5) / 16), 0, None)
    load = 0.4 + 0.1 * rng.random(n)
    request = PlanRequest(
        now=start,
        cars=two_cars_one_line(start),
        tariff=DynamicTariff.of(start, price.tolist()),
        feed_in=FixedTariff(0.08),
        forecast=SiteForecast(SlotSeries.of(start, solar.tolist()), SlotSeries.of(start, load.tolist())),
    )
    plan = make_plan(request)
    assert plan.shortfall_kwh == 0.0
    both = np.array([c.power_kw for c in plan.cars])
    assert np.all(both.sum(axis=0) <= 11.04 + 1e-6)
    for row in both:
        assert np.all((row <= 1e-6) | (row >= 4.14 - 1e-6))
    full = int(np.sum(both.sum(axis=0) >= 11.04 - 1e-6))
    print(f"shared line: {full} full slots, {plan.solves} linear programs")
    assert full >= 10
    assert plan.solves <= 60
