"""The constraints the first tests left implicit, each on numbers checked by hand.

Chargers are 1 phase at 100 V unless a test says otherwise (10 A = 1 kW), slots an hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from carhome.energy import (
    Car,
    Charger,
    Connection,
    Energy,
    FixedTariff,
    PlanRequest,
    Soc,
    TimeOfUseTariff,
    TouWindow,
    WeeklyDeparture,
    make_plan,
)

from .builders import HOUR, T0, car, charger
from .test_planner import request


def test_a_fixed_price_costs_the_energy_times_the_price() -> None:
    # 2 kWh at 90 %: 2/0.9 kWh drawn at 0.25, whenever it is drawn
    plan = make_plan(PlanRequest(T0, (car(target=0.5, efficiency=0.9),), FixedTariff(0.25), slot=HOUR))
    assert plan.charging_cost == pytest.approx(0.25 * 2 / 0.9)
    assert plan.cars[0].soc[-1] == pytest.approx(0.5)


def test_time_of_use_prices_steer_charging_into_the_cheap_window() -> None:
    # UTC: 0.4 until 02:00, 0.1 from 02:00; 2 kWh by 04:00 → slots 2 and 3
    tariff = TimeOfUseTariff(
        (TouWindow(time(2), time(0), 0.1), TouWindow(time(0), time(2), 0.4)), ZoneInfo("UTC")
    )
    plan = make_plan(PlanRequest(T0, (car(target=0.5),), tariff, slot=HOUR))
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [0, 0, 1, 1]
    assert plan.charging_cost == pytest.approx(0.2)


def test_a_weekly_departure_ends_the_plan_at_the_next_one() -> None:
    # Monday 00:00 UTC; leaves Mondays at 03:00: 3 slots, the cheapest two used
    weekly = WeeklyDeparture(((0, time(3)),), ZoneInfo("UTC"))
    ev = Car("ev", Energy(4.0), Soc(0.0), Soc(0.5), weekly, charger(), efficiency=1.0)
    plan = make_plan(request((ev,), [0.3, 0.1, 0.2, 0.05, 0.05]))
    assert T0.weekday() == 0
    assert plan.cars[0].departure == T0 + 3 * HOUR
    assert len(plan.starts) == 3
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [0, 1, 1]


def test_phases_multiply_the_power_of_a_current() -> None:
    # 10 A on 3 phases at 100 V is 3 kW: 3 kWh in one hour
    three = Charger("wb3", max_current=10.0, min_current=0.0, phases=3, voltage=100.0)
    plan = make_plan(request((car(target=0.75, hours=1, wallbox=three),), [0.1]))
    assert plan.cars[0].power_kw == pytest.approx([3.0])
    assert plan.shortfall_kwh == pytest.approx(0.0)
    # the same current on one phase reaches only 1 kWh: 2 short
    one = Charger("wb1", max_current=10.0, min_current=0.0, phases=1, voltage=100.0)
    plan = make_plan(request((car(target=0.75, hours=1, wallbox=one),), [0.1]))
    assert plan.cars[0].shortfall_kwh == pytest.approx(2.0)


def test_two_cars_with_minimums_share_a_connection() -> None:
    # line 1.5 kW; each car 0 or 0.6–1 kW and exactly 2 kWh by 03:00; prices 0.1, 0.2, 0.3.
    # Without minimums: 1.5 + 1.5 + 1 = 0.75. But a slot above 1 kW needs both cars on,
    # each ≥ 0.6: with both in slots 0 and 1, 1 kWh alone in slot 2 leaves one car with
    # 1.2 + 1 > 2. Best: slot 2 at 1.2 (both at the minimum), slot 1 at 1.3, slot 0 at 1.5:
    # 0.15 + 0.26 + 0.36 = 0.77.
    line = Connection("line", max_current=15.0, phases=1, voltage=100.0)
    a = car(target=0.5, hours=3, name="a", wallbox=charger(min_a=6.0, connection=line))
    b = car(target=0.5, hours=3, name="b", wallbox=charger(min_a=6.0, connection=line))
    plan = make_plan(request((a, b), [0.1, 0.2, 0.3]))
    assert plan.charging_cost == pytest.approx(0.77)
    for t in range(3):
        drawn = [cp.power_kw[t] for cp in plan.cars]
        assert sum(drawn) <= 1.5 + 1e-9
        assert all(p < 1e-9 or p >= 0.6 - 1e-9 for p in drawn), drawn
    assert all(cp.soc[-1] == pytest.approx(0.5) for cp in plan.cars)


def test_surplus_below_the_minimum_is_topped_up_from_the_grid_or_left() -> None:
    # 1 kWh wanted by 03:00 (and no more), minimum 0.6 kW, feed-in 0.05, 0.3 kW surplus in
    # slot 1. Two slots would be 0.6 + 0.4, and 0.4 is below the minimum: it is one slot at
    # 1 kW. Slot 0: 0.2. Slot 1: 0.3·0.05 forgone + 0.7·0.3 = 0.225. Slot 0 wins.
    plan = make_plan(
        request(
            (car(target=0.25, hours=3, wallbox=charger(min_a=6.0)),),
            [0.2, 0.3, 0.4],
            solar=[0.0, 0.3, 0.0],
            feed_in=0.05,
        )
    )
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [1, 0, 0]
    assert plan.charging_cost == pytest.approx(0.2)
    # with 0.5 kW of surplus, slot 1 costs 0.5·0.05 + 0.5·0.3 = 0.175 < 0.2: slot 1 wins
    plan = make_plan(
        request(
            (car(target=0.25, hours=3, wallbox=charger(min_a=6.0)),),
            [0.2, 0.3, 0.4],
            solar=[0.0, 0.5, 0.0],
            feed_in=0.05,
        )
    )
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [0, 1, 0]
    assert plan.charging_cost == pytest.approx(0.175)


def test_plans_only_as_far_as_prices_are_known_with_an_aware_clock() -> None:
    start = datetime(2025, 1, 6, tzinfo=UTC)
    assert start == T0
    plan = make_plan(request((car(target=0.5, hours=10),), [0.2] * 3))
    assert plan.end == T0 + timedelta(hours=3)
