"""Hand-built telemetry at the edges: missing samples, a restart mid-trip, replayed and
duplicated reports, red lights, a car that only crept, charges without a charger or cable,
prices nobody published."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from history_server import HOME  # Yizhuang, with the place ``work``

from carhome.energy import DynamicTariff, FixedTariff, TimeOfUseTariff, TouWindow
from carhome.history import (
    History,
    HistoryStore,
    MemoryHistoryStore,
    PostgresHistoryStore,
    Query,
    SqliteHistoryStore,
)
from carhome.hub import Device, Hub
from carhome.spec import vss
from carhome.store import MemoryStore
from carhome.store.sqlite import SqliteStore
from carhome.testing import FakeClock
from pgcluster import own_database

AT_HOME = {vss.LATITUDE: HOME.lat, vss.LONGITUDE: HOME.lon}
AT_WORK = {vss.LATITUDE: 39.7850, vss.LONGITUDE: 116.5500}
ON_THE_WAY = {vss.LATITUDE: 39.7900, vss.LONGITUDE: 116.5300}
# 2026-01-05 20:00 in Beijing: the evening price until 22:00, the night price after
EVENING = datetime(2026, 1, 5, 20, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
TOU = TimeOfUseTariff(
    (TouWindow(time(22, 0), time(6, 0), 0.3), TouWindow(time(6, 0), time(22, 0), 1.0)),
    ZoneInfo("Asia/Shanghai"),
)


def parked(odometer: float = 100.0, energy: float = 50.0, **more: Any) -> dict[str, Any]:
    return {
        vss.SPEED: 0.0,
        vss.ODOMETER: odometer,
        vss.ENERGY: energy,
        vss.SOC: energy / 0.75,
        **AT_HOME,
        **more,
    }


@pytest.fixture
async def home_hub(clock: FakeClock) -> AsyncIterator[Hub]:
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        await hub.add_home(HOME)
        await hub.add_device(Device(home="h1", id="car", type="car"))
        yield hub


def report(hub: Hub, values: dict[str, Any], device: str = "car") -> None:
    assert not hub.report("h1", device, values).rejected


async def drive(hub: Hub, clock: FakeClock, km: float, minutes: int, *, from_odometer: float = 100.0) -> None:
    """Drive ``km`` in ``minutes`` one-minute reports, ending at work, standing."""
    for minute in range(1, minutes + 1):
        await clock.advance(60)
        odometer = round(from_odometer + km * minute / minutes, 1)
        report(hub, {vss.SPEED: 40.0 + minute % 3, vss.ODOMETER: odometer, **ON_THE_WAY})
    report(hub, {vss.SPEED: 0.0, **AT_WORK})


async def test_a_trip_from_speed_to_standstill(home_hub: Hub, clock: FakeClock) -> None:
    async with History(home_hub) as history:
        report(home_hub, parked())
        t0 = clock.time()
        await drive(home_hub, clock, 6.0, 10)
        report(home_hub, {vss.ENERGY: 49.1})
        arrived = clock.time()
        await clock.advance(170)
        assert await history.trips() == []  # a red light is shorter: not over yet
        await clock.advance(30)
        [trip] = await history.trips()
    assert (trip.start, trip.end) == (t0 + 60, arrived)
    assert (trip.start_place, trip.end_place) == ("home", "work")
    assert (trip.distance_km, trip.energy_kwh, trip.wh_per_km) == (6.0, 0.9, 150.0)
    assert trip.max_speed_kmh == 42.0
    assert not trip.gaps


async def test_a_red_light_does_not_split_a_trip(home_hub: Hub, clock: FakeClock) -> None:
    async with History(home_hub) as history:
        report(home_hub, parked())
        await drive(home_hub, clock, 2.0, 3)
        report(home_hub, ON_THE_WAY)
        await clock.advance(90)  # waiting at the light
        await drive(home_hub, clock, 2.0, 3, from_odometer=102.0)
        await clock.advance(600)
        trips = await history.trips()
    assert [t.distance_km for t in trips] == [4.0]


async def test_missing_samples_make_a_trip_flagged_with_gaps(home_hub: Hub, clock: FakeClock) -> None:
    async with History(home_hub) as history:
        report(home_hub, parked())
        last_heard = clock.time()
        await clock.advance(7200)
        # the next thing heard: the car already stands at work, 6.8 km on
        report(home_hub, {**AT_WORK, vss.ODOMETER: 106.8, vss.ENERGY: 48.9})
        arrived = clock.time()
        await clock.advance(600)
        [trip] = await history.trips()
    assert trip.gaps
    assert (trip.start, trip.end) == (last_heard, arrived)
    assert (trip.start_place, trip.end_place) == ("home", "work")
    assert (trip.start_lat, trip.start_lon) == (HOME.lat, HOME.lon)
    assert (trip.distance_km, trip.energy_kwh) == (6.8, 1.1)


async def test_a_car_that_only_crept_made_no_trip(home_hub: Hub, clock: FakeClock) -> None:
    async with History(home_hub) as history:
        report(home_hub, parked())
        await clock.advance(3600)
        report(home_hub, {vss.SPEED: 5.0})  # moved in the garage
        await clock.advance(20)
        report(home_hub, {vss.SPEED: 0.0, vss.ODOMETER: 100.0})
        await clock.advance(600)
        await drive(home_hub, clock, 3.0, 5)
        await clock.advance(600)
        trips = await history.trips()
        spells = await history.parked()
    assert [t.distance_km for t in trips] == [3.0]
    [spell] = spells  # the creep did not cut the parked spell in two
    assert spell.end == trips[0].start


async def test_replayed_and_duplicated_reports_change_nothing(home_hub: Hub, clock: FakeClock) -> None:
    async with History(home_hub) as history:
        report(home_hub, parked())
        start = clock.time()
        await drive(home_hub, clock, 5.0, 5)
        end = clock.time()
        # the same standstill again (a duplicate), then an old report replayed late
        report(home_hub, {vss.SPEED: 0.0, **AT_WORK})
        assert not home_hub.report(
            "h1", "car", {vss.SPEED: 41.0, vss.ODOMETER: 102.0}, ts=start + 120
        ).rejected
        await clock.advance(600)
        [trip] = await history.trips()
        tracker = history.tracker("h1", "car")
        assert tracker is not None
        assert tracker.stale == 2
    assert (trip.end, trip.distance_km) == (end, 5.0)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def history_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], HistoryStore]]:
    """A new store on one place for each start of a hub: beside its SQLite file, or in
    PostgreSQL (a schema of the test's own)."""
    if request.param == "sqlite":
        yield lambda: SqliteHistoryStore.beside(tmp_path / "carhome.db")
        return
    async with own_database(request) as database:
        yield lambda: PostgresHistoryStore(database)


async def test_a_restart_mid_trip_finishes_the_trip_it_started(
    tmp_path: Path, history_store: Callable[[], HistoryStore]
) -> None:
    clock = FakeClock()
    db = tmp_path / "carhome.db"
    async with Hub(store=SqliteStore(db), clock=clock) as hub:
        await hub.add_home(HOME)
        await hub.add_device(Device(home="h1", id="car", type="car"))
        async with History(hub, history_store()) as history:
            report(hub, parked())
            left = clock.time() + 60
            await drive(hub, clock, 2.0, 4)
            report(hub, {vss.SPEED: 50.0})  # still on the way when the hub stops
            assert await history.trips() == []
    store = history_store()
    await store.open()
    [saved] = await store.open_states()
    await store.close()
    assert saved.trip is not None
    assert saved.trip.start.odometer_km == 100.0

    await clock.advance(300)  # the hub is down for five minutes; the car drives on
    async with (
        Hub(store=SqliteStore(db), clock=clock) as hub,
        History(hub, history_store()) as history,
    ):
        await drive(hub, clock, 4.0, 4, from_odometer=104.0)
        report(hub, {vss.ENERGY: 48.8})
        await clock.advance(600)
        [trip] = await history.trips()
    assert trip.start == left
    assert (trip.start_place, trip.end_place) == ("home", "work")
    assert (trip.distance_km, trip.energy_kwh) == (8.0, 1.2)
    assert trip.gaps  # five minutes of it were never heard
    assert trip.max_speed_kmh == 50.0  # the progress saved before the stop


async def test_charging_ends_a_trip_at_once_and_is_costed_from_the_battery_without_a_charger(
    home_hub: Hub, clock: FakeClock
) -> None:
    clock.set(EVENING - 180)  # it plugs in at 20:00 sharp
    async with History(home_hub, tariff=TOU) as history:
        report(home_hub, parked(energy=40.0, **{vss.CABLE_CONNECTED: False}))
        await drive(home_hub, clock, 1.0, 2)
        report(home_hub, {**AT_HOME, vss.ENERGY: 39.8})
        await clock.advance(60)
        report(home_hub, {vss.CABLE_CONNECTED: True})
        report(home_hub, {vss.IS_CHARGING: True, vss.BATTERY_POWER: 6400.0})
        assert len(await history.trips()) == 1  # no wait for the rest to run out
        # 6.4 kW into the battery, reported every quarter hour from 20:00 to 22:30
        energy = 39.8
        for _ in range(10):
            await clock.advance(900)
            energy = round(energy + 1.6, 1)
            report(home_hub, {vss.ENERGY: energy})
        report(home_hub, {vss.IS_CHARGING: False, vss.BATTERY_POWER: 0.0})
        stopped = clock.time()
        await clock.advance(3600)
        assert await history.charges() == []  # plugged in: the session is still open
        report(home_hub, {vss.CABLE_CONNECTED: False})
        [charge] = await history.charges()
    assert charge.end == stopped
    assert charge.added_kwh == pytest.approx(16.0)
    assert (charge.grid_kwh, charge.loss_kwh, charge.charger) == (None, None, None)
    assert charge.cost_basis == "battery"
    # by hand: 8 quarter hours at 1.0 before 22:00, 2 at 0.3 after
    assert charge.cost == pytest.approx(8 * 1.6 * 1.0 + 2 * 1.6 * 0.3)
    assert charge.peak_kw == 6.4


async def test_a_wallbox_meters_the_session_and_its_meter_restarts(home_hub: Hub, clock: FakeClock) -> None:
    await home_hub.add_device(Device(home="h1", id="wallbox", type="wallbox"))
    async with History(home_hub, tariffs={"h1": FixedTariff(0.5)}) as history:
        report(home_hub, parked(energy=30.0))
        report(home_hub, {"status": "available", "energy": 12.3, "power": 0.0}, "wallbox")  # last session's
        for session in range(2):
            await clock.advance(600)
            report(home_hub, {"status": "preparing", "energy": 0.0}, "wallbox")
            await clock.advance(5)
            report(home_hub, {vss.IS_CHARGING: True})
            report(home_hub, {"status": "charging", "power": 7040.0}, "wallbox")
            for step in range(1, 5):
                await clock.advance(900)
                report(home_hub, {vss.ENERGY: 30.0 + session * 6.4 + step * 1.6}, "car")
                report(home_hub, {"energy": round(step * 1.76, 2)}, "wallbox")
            report(home_hub, {vss.IS_CHARGING: False})
            report(home_hub, {"status": "suspended_ev", "power": 0.0}, "wallbox")
            await clock.advance(600)
            report(home_hub, {"status": "available"}, "wallbox")
        charges = await history.charges()
    assert len(charges) == 2
    for charge in charges:
        assert charge.charger == "wallbox"
        assert charge.grid_kwh == pytest.approx(7.04)
        assert charge.added_kwh == pytest.approx(6.4)
        assert charge.loss_kwh == pytest.approx(0.64)
        assert charge.cost == pytest.approx(7.04 * 0.5)
        assert charge.cost_basis == "grid"
        assert charge.peak_kw == 7.04


async def test_without_a_cable_signal_a_charge_ends_after_a_quiet_gap(
    home_hub: Hub, clock: FakeClock
) -> None:
    async with History(home_hub) as history:
        report(home_hub, parked(energy=20.0))
        await clock.advance(60)
        report(home_hub, {vss.IS_CHARGING: True})
        await clock.advance(1800)
        report(home_hub, {vss.ENERGY: 23.0})
        report(home_hub, {vss.IS_CHARGING: False})
        stopped = clock.time()
        await clock.advance(600)
        assert await history.charges() == []
        await clock.advance(600)
        [charge] = await history.charges()
    assert (charge.end, charge.added_kwh, charge.cost) == (stopped, 3.0, None)


async def test_driving_off_while_charging_ends_the_charge(home_hub: Hub, clock: FakeClock) -> None:
    async with History(home_hub) as history:
        report(home_hub, parked(energy=20.0, **{vss.CABLE_CONNECTED: True}))
        report(home_hub, {vss.IS_CHARGING: True})
        await clock.advance(1800)
        report(home_hub, {vss.ENERGY: 23.0})
        left = clock.time() + 60
        await drive(home_hub, clock, 2.0, 2)
        await clock.advance(600)
        [charge] = await history.charges()
        [trip] = await history.trips()
    assert charge.end == left
    assert trip.start == left


async def test_prices_nobody_published_leave_the_cost_unknown(home_hub: Hub, clock: FakeClock) -> None:
    start = datetime.fromtimestamp(clock.time(), UTC)
    prices = DynamicTariff.of(start, [0.2] * 4, slot=timedelta(minutes=15))  # one hour known
    async with History(home_hub, tariff=prices) as history:
        report(home_hub, parked(energy=20.0))
        report(home_hub, {vss.IS_CHARGING: True})
        for _ in range(8):  # two hours
            await clock.advance(900)
            report(home_hub, {vss.ENERGY: round(home_hub.value("h1", "car", vss.ENERGY) + 1.0, 1)})
        report(home_hub, {vss.IS_CHARGING: False})
        await clock.advance(3600)
        [charge] = await history.charges()
        [day] = await history.summaries("day")
    assert charge.added_kwh == 8.0
    assert (charge.cost, charge.cost_basis) == (None, None)
    assert (day.charges, day.uncosted_charges, day.cost) == (1, 1, 0.0)


async def test_a_second_car_and_its_own_history(home_hub: Hub, clock: FakeClock) -> None:
    await home_hub.add_device(Device(home="h1", id="van", type="car"))
    async with History(home_hub, MemoryHistoryStore()) as history:
        report(home_hub, parked())
        report(home_hub, parked(odometer=5000.0), "van")
        await drive(home_hub, clock, 3.0, 3)
        await clock.advance(600)
        assert [t.car for t in await history.trips()] == ["car"]
        assert await history.trips(Query(car="van")) == []
