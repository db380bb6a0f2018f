"""A recorded simulated week: the derived trips and charges against the simulator's truth.

The week (Monday to Sunday, January, Beijing) holds the routine's fourteen trips — the
weekday commute, shopping on Wednesday evening and Saturday morning — and the charges the
household makes when the car comes home below 70 %. Reported energy is rounded to 0.1 kWh
and the odometer to 0.1 km, as a real car's telematics do: the tolerances are those steps.
"""

from __future__ import annotations

import sqlite3

import pytest
from history_rig import Week, at, price_by_hand

ENERGY_STEP = 0.1  # kWh: the car reports its battery energy to 0.1 kWh
KM_STEP = 0.1


def test_every_trip_is_found_once_with_its_places(week: Week) -> None:
    assert len(week.true_trips) == 14
    assert len(week.trips) == len(week.true_trips)
    for derived, truth in zip(week.trips, week.true_trips, strict=True):
        assert (derived.start_place, derived.end_place) == (truth.origin, truth.destination)
        assert derived.start == truth.start
        assert derived.end == truth.end
        assert not derived.gaps
    routes = [(t.start_place, t.end_place) for t in week.trips]
    assert routes.count(("home", "work")) == 5
    assert routes.count(("home", "supermarket")) == 2


def test_distances_and_energy_match_the_truth_to_the_reporting_step(week: Week) -> None:
    for derived, truth in zip(week.trips, week.true_trips, strict=True):
        assert derived.distance_km == pytest.approx(truth.km, abs=KM_STEP + 1e-9)
        assert derived.energy_kwh == pytest.approx(truth.kwh, abs=ENERGY_STEP + 1e-9)
        assert derived.wh_per_km is not None
        assert 100 < derived.wh_per_km < 200
        assert derived.max_speed_kmh is not None
        assert 40 <= derived.max_speed_kmh <= 90
    total_km = sum(t.distance_km or 0.0 for t in week.trips)
    assert total_km == pytest.approx(sum(t.km for t in week.true_trips), abs=0.3)
    total_kwh = sum(t.energy_kwh or 0.0 for t in week.trips)
    assert total_kwh == pytest.approx(sum(t.kwh for t in week.true_trips), abs=0.5)


def test_charges_match_the_truth_and_cost_what_the_hand_computed_tariff_says(week: Week) -> None:
    assert len(week.true_charges) >= 2
    assert len(week.charges) == len(week.true_charges)
    for derived, truth in zip(week.charges, week.true_charges, strict=True):
        assert derived.start == truth.start
        assert derived.end == truth.end
        assert derived.place == "home"
        assert derived.charger == "wallbox"
        assert derived.added_kwh == pytest.approx(truth.added, abs=ENERGY_STEP)
        assert derived.grid_kwh == pytest.approx(truth.grid, abs=0.02)  # the meter's 0.01 kWh step
        assert derived.loss_kwh is not None
        assert derived.loss_kwh == pytest.approx(truth.grid - truth.added, abs=ENERGY_STEP + 0.02)
        assert derived.cost_basis == "grid"
        assert derived.cost == pytest.approx(truth.cost, rel=0.01)
        assert derived.peak_kw == pytest.approx(7.04)  # 32 A at 220 V
        assert derived.soc_end == pytest.approx(80.0, abs=0.2)
    # the first charge runs in the night valley; Wednesday's starts in the evening peak
    first = week.charges[0]
    assert first.cost == pytest.approx((first.grid_kwh or 0) * price_by_hand(first.start), rel=0.01)


def test_losses_parked_close_the_battery_balance(week: Week) -> None:
    """Energy in (charges) − out (trips) − lost parked = the battery's change, end to end."""
    first, last = week.charges[0], week.trips[-1]
    first_truth = week.true_charges[0]
    last_truth = week.true_trips[-1]
    spells = [p for p in week.parked if p.start >= first.start and p.end <= last.end]
    assert all(p.lost_kwh is not None for p in spells)
    balance = (
        sum(c.added_kwh or 0.0 for c in week.charges)
        - sum(t.energy_kwh or 0.0 for t in week.trips)
        - sum(p.lost_kwh or 0.0 for p in spells)
    )
    assert balance == pytest.approx(last_truth.energy1 - first_truth.energy0, abs=0.3)
    # a January week: standby plus the cabin warmed before each cold departure
    lost = sum(p.lost_kwh or 0.0 for p in spells)
    assert 2.0 < lost < 12.0


def test_daily_and_monthly_totals_in_beijing_time(week: Week) -> None:
    by_day = {s.key: s for s in week.days}
    assert set(by_day) >= {f"2026-01-{d:02d}" for d in range(5, 11)}
    assert by_day["2026-01-07"].trips == 4  # Wednesday: commute and shopping
    assert by_day["2026-01-10"].trips == 2  # Saturday: shopping only
    assert by_day.get("2026-01-11") is None or by_day["2026-01-11"].trips == 0
    assert sum(s.trips for s in week.days) == 14
    [month] = week.months
    assert month.key == "2026-01"
    assert month.distance_km == pytest.approx(sum(t.distance_km or 0 for t in week.trips), abs=0.05)
    assert month.cost == pytest.approx(sum(c.cost or 0 for c in week.charges), abs=0.02)
    assert month.charges == len(week.charges)
    assert month.wh_per_km is not None
    assert 120 < month.wh_per_km < 160
    # local days: the Monday 08:10 commute is Monday's, although it is Monday 00:10 UTC
    monday = by_day["2026-01-05"]
    assert monday.trips == 2
    assert week.trips[0].start >= at("2026-01-05 07:59")


def test_the_history_is_kept_beside_the_hub_database(week: Week) -> None:
    kept = week.database.with_name("carhome.history.db")
    assert kept.exists()
    with sqlite3.connect(kept) as conn:
        kinds = dict(conn.execute("SELECT kind, count(*) FROM records GROUP BY kind").fetchall())
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    assert kinds["trip"] == 14
    assert kinds["charge"] == len(week.charges)
    assert version == 1
    assert week.stale == 0
