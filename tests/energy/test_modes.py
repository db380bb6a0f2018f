"""The rule modes (now, solar, solar + minimum, off), hand-checked."""

from __future__ import annotations

import pytest

from carhome.energy import Connection, Mode, make_plan

from .builders import car, charger
from .test_planner import request


def test_off_does_not_charge() -> None:
    plan = make_plan(request((car(mode=Mode.OFF),), [0.1] * 4))
    assert sum(plan.cars[0].power_kw) == 0
    assert plan.charging_cost == 0
    assert plan.cars[0].shortfall_kwh == 0


def test_now_charges_at_full_power_until_the_target() -> None:
    plan = make_plan(request((car(target=0.625, mode=Mode.NOW),), [0.9, 0.1, 0.1, 0.1]))
    assert plan.cars[0].power_kw == pytest.approx([1, 1, 0.5, 0])
    assert plan.charging_cost == pytest.approx(0.9 + 0.1 + 0.05)


def test_now_charges_now_even_when_the_departure_is_past_the_horizon() -> None:
    # a Friday evening: the next weekday departure is Monday, past the prices' horizon
    plan = make_plan(request((car(target=0.625, mode=Mode.NOW, hours=72),), [0.9, 0.1, 0.1, 0.1]))
    assert plan.cars[0].power_kw == pytest.approx([1, 1, 0.5, 0])


def test_solar_charges_only_from_surplus_above_the_minimum() -> None:
    ev = car(target=1.0, mode=Mode.SOLAR, wallbox=charger(min_a=6.0))
    plan = make_plan(request((ev,), [0.3] * 4, solar=[0, 0.5, 2, 0.8]))
    assert plan.cars[0].power_kw == pytest.approx([0, 0, 1, 0.8])
    assert plan.charging_cost == pytest.approx(0.0)


def test_solar_min_keeps_the_minimum_and_adds_surplus() -> None:
    ev = car(target=0.5, mode=Mode.SOLAR_MIN, wallbox=charger(min_a=6.0))
    plan = make_plan(request((ev,), [0.3] * 4, solar=[0, 0.9, 0, 0]))
    assert plan.cars[0].power_kw == pytest.approx([0.6, 0.9, 0.5, 0])


def test_smart_cars_plan_around_rule_cars() -> None:
    line = Connection("line", max_current=15.0, phases=1, voltage=100.0)
    now_car = car(target=0.5, name="now", mode=Mode.NOW, wallbox=charger(connection=line))
    smart = car(target=0.25, name="smart", wallbox=charger(connection=line))
    plan = make_plan(request((now_car, smart), [0.1, 0.2, 0.3, 0.4]))
    assert plan.cars[0].power_kw == pytest.approx([1, 1, 0, 0])
    assert plan.cars[1].power_kw == pytest.approx([0.5, 0.5, 0, 0])
