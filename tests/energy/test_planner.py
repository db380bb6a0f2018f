"""The smart plan, one constraint at a time, each on numbers checked by hand.

Slots are one hour, chargers 1 phase at 100 V (10 A = 1 kW), so kW and kWh read alike.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from carhome.energy import (
    Connection,
    DynamicTariff,
    FixedTariff,
    PlanRequest,
    SiteForecast,
    SlotSeries,
    TaperCurve,
    make_plan,
)
from carhome.energy.cars import Car

from .builders import HOUR, T0, car, charger


def request(
    cars: tuple[Car, ...],
    prices: list[float],
    *,
    solar: list[float] | None = None,
    load: list[float] | None = None,
    feed_in: float = 0.0,
    now_offset: timedelta = timedelta(0),
) -> PlanRequest:
    forecast = SiteForecast(
        SlotSeries.of(T0, solar, slot=HOUR) if solar else None,
        SlotSeries.of(T0, load, slot=HOUR) if load else None,
    )
    return PlanRequest(
        T0 + now_offset,
        cars,
        DynamicTariff.of(T0, prices, slot=HOUR),
        feed_in=FixedTariff(feed_in),
        forecast=forecast,
        slot=HOUR,
    )


def powers(plan_request: PlanRequest, index: int = 0) -> list[float]:
    return [round(p, 6) for p in make_plan(plan_request).cars[index].power_kw]


def test_charges_in_the_cheapest_slots() -> None:
    plan = make_plan(request((car(target=0.5),), [0.3, 0.1, 0.2, 0.4]))  # 2 kWh wanted
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [0, 1, 1, 0]
    assert plan.charging_cost == pytest.approx(0.3)
    assert plan.cars[0].soc[-1] == pytest.approx(0.5)
    assert plan.shortfall_kwh == 0


def test_losses_make_it_draw_more() -> None:
    # 2 kWh into the battery at 80 % is 2.5 kWh drawn: 1 + 1 in the cheap slots, 0.5 at 0.3
    plan = make_plan(request((car(target=0.5, efficiency=0.8),), [0.3, 0.1, 0.2, 0.4]))
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [0.5, 1, 1, 0]
    assert plan.charging_cost == pytest.approx(0.45)


def test_minimum_current_makes_charging_on_or_off() -> None:
    # 2.2 kWh; the LP would draw 1, 1, 0.2 (0.36); with a 0.6 kW minimum the best is
    # 1, 0.6, 0.6 (0.1 + 0.12 + 0.18 = 0.40)
    ev = car(target=0.55, wallbox=charger(min_a=6.0))
    plan = make_plan(request((ev,), [0.1, 0.2, 0.3, 0.4]))
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [1, 0.6, 0.6, 0]
    assert plan.charging_cost == pytest.approx(0.40)


def test_without_a_minimum_the_same_case_is_the_lp() -> None:
    plan = make_plan(request((car(target=0.55),), [0.1, 0.2, 0.3, 0.4]))
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [1, 1, 0.2, 0]
    assert plan.charging_cost == pytest.approx(0.36)


TAPER = TaperCurve(((0.0, 1.0), (0.5, 1.0), (1.0, 0.0)))  # above 50 %: at most 2·(1 − SoC) kW


def test_taper_bounds_power_by_the_soc_at_the_slot_end() -> None:
    # from 2 kWh of 4: p ≤ 2·(1 − (2 + p)/4) gives p = 2/3; then p ≤ 2·(1 − (8/3 + p)/4) gives 4/9
    ev = car(soc=0.5, target=1.0, hours=2, taper=TAPER)
    plan = make_plan(request((ev,), [0.1, 0.1]))
    assert plan.cars[0].power_kw == pytest.approx([2 / 3, 4 / 9])


def test_an_unreachable_target_gives_the_best_plan_and_the_shortfall() -> None:
    ev = car(soc=0.5, target=0.75, hours=1, taper=TAPER)  # 1 kWh wanted, 2/3 reachable
    plan = make_plan(request((ev,), [0.1]))
    assert plan.cars[0].power_kw == pytest.approx([2 / 3])
    assert plan.cars[0].shortfall_kwh == pytest.approx(1 / 3)
    assert not plan.cars[0].reaches_target


def test_shortfall_plan_is_the_cheapest_of_the_fullest() -> None:
    # 3 kWh wanted in 2 hours at 1 kW: 1 kWh short whatever; every slot is used
    plan = make_plan(request((car(target=0.75, hours=2),), [0.5, 0.1]))
    assert plan.shortfall_kwh == pytest.approx(1.0)
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [1, 1]


def test_cars_share_a_connection_limit() -> None:
    line = Connection("line", max_current=15.0, phases=1, voltage=100.0)  # 1.5 kW
    a = car(target=0.25, hours=2, name="a", wallbox=charger(connection=line))
    b = car(target=0.25, hours=2, name="b", wallbox=charger(connection=line))
    plan = make_plan(request((a, b), [0.1, 0.5]))
    first = plan.cars[0].power_kw[0] + plan.cars[1].power_kw[0]
    assert first == pytest.approx(1.5)
    assert plan.charging_cost == pytest.approx(0.15 + 0.25)


def test_solar_surplus_goes_first() -> None:
    plan = make_plan(request((car(target=0.25),), [0.3] * 4, solar=[0, 0, 1, 0]))
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [0, 0, 1, 0]
    assert plan.charging_cost == pytest.approx(0.0)
    assert plan.energy_from_solar_kwh == pytest.approx(1.0)
    assert plan.energy_from_grid_kwh == pytest.approx(0.0)


def test_surplus_is_what_the_house_leaves() -> None:
    # solar 1, house 0.6: 0.4 free, 0.6 from the grid at 0.3
    plan = make_plan(request((car(target=0.25),), [0.3] * 4, solar=[0, 0, 1, 0], load=[0.6] * 4))
    assert plan.charging_cost == pytest.approx(0.18)
    assert plan.energy_from_solar_kwh == pytest.approx(0.4)


def test_feed_in_is_the_price_of_using_own_solar() -> None:
    # export would pay 0.25; the grid costs 0.3 (or 0.2 in slot 0): charge in slot 0
    plan = make_plan(request((car(target=0.25),), [0.2, 0.3, 0.3, 0.3], solar=[0, 0, 1, 0], feed_in=0.25))
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [1, 0, 0, 0]
    assert plan.charging_cost == pytest.approx(0.2)


def test_plans_only_as_far_as_prices_are_known() -> None:
    # 2 hours of prices, departure in 4: the 2 kWh wanted fit after the horizon, so nothing now
    plan = make_plan(request((car(target=0.5, hours=4),), [0.1, 0.2]))
    assert len(plan.starts) == 2
    assert plan.cars[0].power_kw == (0.0, 0.0)
    # 3 kWh wanted: 2 can come later, 1 must come now, in the cheaper slot
    plan = make_plan(request((car(target=0.75, hours=4),), [0.2, 0.1]))
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [0, 1]


def test_a_plan_made_mid_slot_has_a_short_first_slot() -> None:
    plan = make_plan(request((car(target=0.5, hours=2),), [0.1, 0.1], now_offset=timedelta(minutes=30)))
    assert plan.hours == (0.5, 1.0)
    assert plan.cars[0].shortfall_kwh == pytest.approx(0.5)


def test_limit_lets_free_energy_in_beyond_the_target() -> None:
    ev = car(target=0.25, limit=0.5)
    plan = make_plan(request((ev,), [0.3, 0.3, -0.1, 0.3]))  # paid to use power in slot 2
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [0, 0, 1, 0]
    ev = car(target=0.25, limit=0.75)
    plan = make_plan(request((ev,), [-0.1, 0.3, -0.1, 0.3]))
    assert [round(p, 6) for p in plan.cars[0].power_kw] == [1, 0, 1, 0]
