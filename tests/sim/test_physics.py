"""The car's physics as pure functions of explicit dt: road load, regen, charging, cabin."""

from __future__ import annotations

import pytest

from carhome.sim import ChargingCurve, Powertrain
from carhome.sim.cabin import Cabin

PT = Powertrain()


def test_consumption_grows_with_speed() -> None:
    city, road, motorway = (PT.consumption_wh_per_km(v) for v in (50, 90, 120))
    assert city < road < motorway
    # plausible for a mid-size EV at steady speed, without 12 V or HVAC loads
    assert 65 < city < 110
    assert 160 < motorway < 230


def test_cold_air_is_denser_and_costs_more() -> None:
    assert PT.consumption_wh_per_km(100, outside_c=-10) > PT.consumption_wh_per_km(100, outside_c=30)


def test_other_loads_cost_most_at_low_speed() -> None:
    extra_slow = PT.consumption_wh_per_km(20, other_loads_w=2000) - PT.consumption_wh_per_km(20)
    extra_fast = PT.consumption_wh_per_km(100, other_loads_w=2000) - PT.consumption_wh_per_km(100)
    assert extra_slow == pytest.approx(100.0)  # 2 kW for 3 minutes per km
    assert extra_fast == pytest.approx(20.0)


def test_consumption_needs_a_speed() -> None:
    with pytest.raises(ValueError, match="positive speed"):
        PT.consumption_wh_per_km(0)


def test_accelerating_costs_more_than_cruising() -> None:
    assert PT.battery_power_w(15, 1.5) > PT.battery_power_w(15, 0.0) > 0
    assert PT.battery_power_w(0, 0.0) == 0.0


def test_regen_recovers_part_of_the_kinetic_energy_when_braking() -> None:
    v, dt, decel = 60 / 3.6, 0.1, 2.0
    kinetic = 0.5 * PT.mass_kg * v * v
    recovered = 0.0
    while v > 0:
        v1 = max(0.0, v - decel * dt)
        power = PT.battery_power_w((v + v1) / 2, -decel)
        assert power < 0  # energy flows into the battery while braking
        recovered -= power * dt
        v = v1
    assert 0.4 * kinetic < recovered < PT.regen_efficiency * kinetic


def test_hard_braking_is_capped_by_the_regen_limit() -> None:
    assert PT.battery_power_w(30, -9.0) == -PT.max_regen_w


def test_charging_runs_at_full_power_to_80_then_tapers() -> None:
    curve = ChargingCurve(max_ac_w=11_000, trickle_w=1_200)
    assert curve.max_power_w(20) == curve.max_power_w(80) == 11_000
    assert curve.max_power_w(90) == pytest.approx(6_100)
    assert curve.max_power_w(95) < curve.max_power_w(90)
    assert curve.max_power_w(100) == 0
    assert curve.ac_power_w(50, offered_w=7_040) == 7_040  # the charge point is the limit
    assert curve.ac_power_w(99, offered_w=7_040) < 7_040


def test_time_to_charge_grows_in_the_taper() -> None:
    curve = ChargingCurve()
    low = curve.seconds_to(60, 70, 75, 11_000)
    high = curve.seconds_to(85, 95, 75, 11_000)
    assert low == pytest.approx(7.5 / (11 * 0.91) * 3600, rel=1e-6)
    assert high > 1.5 * low
    assert curve.seconds_to(50, 60, 75, 0) == float("inf")


def test_cabin_reaches_the_set_point_in_the_cold_and_draws_more_power() -> None:
    cold = Cabin(temperature=-10.0, climate_on=True, set_point=22.0)
    mild = Cabin(temperature=15.0, climate_on=True, set_point=22.0)
    for _ in range(60):  # 30 minutes
        cold_w = cold.step(30.0, outside=-10.0)
        mild_w = mild.step(30.0, outside=15.0)
    assert cold.temperature == pytest.approx(22.0, abs=0.3)
    assert mild.temperature == pytest.approx(22.0, abs=0.3)
    assert cold_w > 3 * mild_w  # holding 32 K against the cold costs far more than 7 K
    assert 1_000 < cold_w < 3_000


def test_cabin_warms_up_at_its_heating_capacity_first() -> None:
    cabin = Cabin(temperature=-10.0, climate_on=True, set_point=22.0)
    watts = cabin.step(60.0, outside=-10.0)
    assert watts == pytest.approx(cabin.max_heat_w / cabin.cop_heat + cabin.blower_w)
    assert -10.0 < cabin.temperature < 0.0


def test_cabin_drifts_toward_outside_when_off() -> None:
    cabin = Cabin(temperature=22.0)
    assert cabin.step(3600.0, outside=0.0) == 0.0
    assert cabin.temperature < 1.0


def test_cabin_cools_in_summer() -> None:
    cabin = Cabin(temperature=45.0, climate_on=True, set_point=22.0)
    watts = cabin.step(1800.0, outside=35.0)
    assert cabin.temperature == pytest.approx(22.0, abs=0.5)
    assert watts > cabin.blower_w
