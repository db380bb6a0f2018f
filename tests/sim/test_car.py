"""The simulated car: driving, energy, charging, cabin, body, commands and its reports."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from carhome.errors import DeviceRefused
from carhome.hub.places import distance_m
from carhome.sim import Outdoor, RouteBook, SimCar
from carhome.sim.routes import YIZHUANG_HOME
from carhome.spec import vss

from .conftest import check_against_spec, run

BOOK = RouteBook.yizhuang()


class Socket:
    """A charge point that always offers the same power."""

    def __init__(self, watts: float) -> None:
        self.watts = watts

    def offered_power_w(self) -> float:
        return self.watts


def make_car(outside: float = 20.0, **kwargs: Any) -> SimCar:
    return SimCar(Outdoor(fixed_temperature=outside), lat=YIZHUANG_HOME[0], lon=YIZHUANG_HOME[1], **kwargs)


def drive_to_end(car: SimCar, dt: float = 1.0) -> list[dict[str, Any]]:
    reports = []
    for _ in range(7200):
        reports.append(car.step(dt))
        check_against_spec("car", reports[-1])
        if not car.driving:
            return reports
    raise AssertionError("the car never arrived")


def test_first_step_reports_every_signal_and_all_pass_the_spec() -> None:
    car = make_car()
    first = car.step(0.0)
    check_against_spec("car", first)
    assert set(first) == {s.path for s in vss.CATALOG}
    assert car.step(0.0) == {}  # nothing changed, nothing reported


def test_a_parked_car_does_not_stream_jitter() -> None:
    car = make_car()
    car.step(0.0)
    reports = run(car, 600, dt=1.0)
    assert sum(len(r) for r in reports) <= 2  # at most energy and power settling


def test_drive_ends_at_the_destination_with_odometer_and_gps() -> None:
    route = BOOK.route("home", "work")
    car = make_car()
    odometer = car.odometer_km
    car.drive(route)
    reports = drive_to_end(car)
    assert car.place == "work"
    end = route.points[-1]
    assert distance_m(car.lat, car.lon, end.lat, end.lon) < 1
    assert car.odometer_km - odometer == pytest.approx(route.length_m / 1000, rel=0.01)
    fixes = [(r[vss.LATITUDE], r[vss.LONGITUDE]) for r in reports if vss.LATITUDE in r]
    assert len(fixes) > 100
    for (lat1, lon1), (lat2, lon2) in itertools.pairwise(fixes):
        assert distance_m(lat1, lon1, lat2, lon2) < 80 / 3.6 + 1  # a second's drive apart
    speeds = [r[vss.SPEED] for r in reports if vss.SPEED in r]
    assert max(speeds) == 60.0
    assert speeds[-1] == 0.0
    assert {r[vss.IS_MOVING] for r in reports if vss.IS_MOVING in r} == {True, False}
    headings = {r[vss.HEADING] for r in reports if vss.HEADING in r}
    assert {45.0, 135.0} <= headings  # the grid's two street directions
    # city driving in mild weather: 0.1-0.2 kWh/km
    used = 0.75 * (70.0 - car.soc)
    assert 0.1 < used / (route.length_m / 1000) < 0.2


def test_hvac_in_the_cold_costs_range() -> None:
    route = BOOK.route("home", "supermarket")
    warm_car, cold_car = make_car(outside=-10.0), make_car(outside=-10.0)
    cold_car.set_climate(True)
    for car in (warm_car, cold_car):
        car.drive(route)
        drive_to_end(car)
    assert 70.0 - cold_car.soc > 1.3 * (70.0 - warm_car.soc)


def test_regen_charges_the_battery_while_slowing() -> None:
    car = make_car()
    car.drive(BOOK.route("home", "work"))
    powers = [r[vss.BATTERY_POWER] for r in drive_to_end(car, dt=0.5) if vss.BATTERY_POWER in r]
    assert min(powers) < -20_000  # accelerating draws
    assert max(powers) > 5_000  # braking for corners feeds back


def test_cabin_approaches_the_set_point_and_drifts_back() -> None:
    car = make_car(outside=-5.0)
    car.step(0)
    assert car.state()[vss.CABIN_TEMPERATURE] == -5.0
    car.set_climate(True)
    run(car, 1200, dt=10.0)
    assert car.state()[vss.CABIN_TEMPERATURE] == pytest.approx(21.0, abs=0.5)
    car.set_climate(False)
    run(car, 3600, dt=10.0)
    assert car.state()[vss.CABIN_TEMPERATURE] < 0


def test_charging_tapers_above_80_and_stops_at_the_limit() -> None:
    car = make_car(soc=70.0, charge_limit=90)
    car.plug_in(Socket(11_000))
    car.step(1.0)
    assert car.charging_ac_w == 11_000
    state = car.state()
    assert state[vss.IS_CHARGING] is True
    assert state[vss.CHARGE_CURRENT] == 50.0
    assert 0 < state[vss.TIME_TO_COMPLETE] < 3 * 3600
    assert state[vss.BATTERY_POWER] > 9_000
    taper = []
    for _ in range(4 * 3600 // 60):
        check_against_spec("car", car.step(60.0))
        taper.append((car.soc, car.charging_ac_w))
        if not car.charging:
            break
    assert not car.charging
    assert car.soc == pytest.approx(90.0, abs=0.1)
    at_85 = next(w for soc, w in taper if soc >= 85)
    assert at_85 < 0.8 * 11_000
    assert [e.name for e in car.drain_events()] == ["charging_complete"]
    # topped up: the standby drain does not restart charging at once
    run(car, 3600, dt=60.0)
    assert not car.charging
    assert car.state()[vss.IS_CHARGING] is False


def test_charging_needs_the_cable_and_respects_stop() -> None:
    car = make_car(soc=50.0)
    run(car, 60)
    assert not car.charging
    car.plug_in(Socket(7_040))
    run(car, 60)
    assert car.charging_ac_w == 7_040
    car.charge_requested = False
    run(car, 60)
    assert not car.charging
    car.unplug()
    assert car.state()[vss.CABLE_CONNECTED] is False


async def test_commands_lock_unlock_and_climate() -> None:
    car = make_car()
    car.step(0)
    await car.execute("action", "unlock", {})
    changed = car.step(0)
    assert all(changed[p] is False for p in vss.DOOR_LOCKED)
    await car.execute("action", "lock", {})
    changed = car.step(0)
    assert all(changed[p] is True for p in vss.DOOR_LOCKED)
    assert changed[vss.TRUNK_LOCKED] is True
    await car.execute("action", "climate_on", {"temperature": 23.5})
    assert car.step(0) == {vss.AC_ACTIVE: True, vss.HVAC_SET_POINT: 23.5}
    result = await car.execute("set", vss.CHARGE_LIMIT, {"value": 90})
    assert result == {vss.CHARGE_LIMIT: 90}
    await car.execute("set", vss.WINDOW_POSITION[0], {"value": 30})
    assert car.state()[vss.WINDOW_POSITION[0]] == 30


async def test_start_charging_refused_unless_plugged_in() -> None:
    car = make_car(soc=50.0)
    with pytest.raises(DeviceRefused, match="not plugged in"):
        await car.execute("action", "start_charging", {})
    car.plug_in(Socket(7_040))
    await car.execute("action", "stop_charging", {})
    run(car, 10)
    assert not car.charging
    await car.execute("set", vss.START_STOP_CHARGING, {"value": "START"})
    run(car, 10)
    assert car.charging


async def test_start_charging_refused_at_the_limit() -> None:
    car = make_car(soc=85.0, charge_limit=80)
    car.plug_in(Socket(7_040))
    with pytest.raises(DeviceRefused, match="charge limit of 80"):
        await car.execute("action", "start_charging", {})


async def test_open_trunk_refused_while_driving() -> None:
    car = make_car()
    car.drive(BOOK.route("home", "work"))
    with pytest.raises(DeviceRefused, match="while the car is driving"):
        await car.execute("action", "open_trunk", {})
    drive_to_end(car)
    await car.execute("action", "open_trunk", {})
    assert car.state()[vss.TRUNK_OPEN] is True
    with pytest.raises(DeviceRefused, match="trunk is open"):
        await car.execute("action", "lock", {})


async def test_close_trunk_then_lock_and_never_while_driving() -> None:
    car = make_car()
    car.drive(BOOK.route("home", "work"))
    with pytest.raises(DeviceRefused, match="close the trunk while the car is driving"):
        await car.execute("action", "close_trunk", {})
    drive_to_end(car)
    await car.execute("action", "open_trunk", {})
    assert car.state()[vss.TRUNK_OPEN] is True
    await car.execute("action", "close_trunk", {})
    assert car.state()[vss.TRUNK_OPEN] is False
    await car.execute("action", "lock", {})
    assert car.state()[vss.TRUNK_LOCKED] is True


async def test_lock_refused_with_a_door_open() -> None:
    car = make_car()
    await car.execute("action", "unlock", {})
    car.open_door(2)
    with pytest.raises(DeviceRefused, match=r"Row2\.DriverSide"):
        await car.execute("action", "lock", {})
    car.close_door(2)
    await car.execute("action", "lock", {})


def test_opening_a_locked_door_sounds_the_alarm() -> None:
    car = make_car()
    car.open_door(0)
    [event] = car.drain_events()
    assert event.name == "alarm"
    assert "Row1.DriverSide" in event.fields["reason"]


def test_cannot_drive_off_plugged_in() -> None:
    car = make_car()
    car.plug_in(Socket(7_040))
    with pytest.raises(DeviceRefused, match="unplug it first"):
        car.drive(BOOK.route("home", "work"))


@pytest.mark.parametrize(
    ("kind", "target", "args", "reason"),
    [
        ("set", vss.CHARGE_LIMIT, {"value": 30}, "50 to 100"),
        ("set", vss.CHARGE_LIMIT, {"value": "full"}, "expected int"),
        ("set", vss.SPEED, {"value": 10.0}, "read-only"),
        ("set", vss.HVAC_SET_POINT, {"value": 40.0}, "15 to 28"),
        ("set", vss.HVAC_SET_POINT, {"v": 20.0}, "exactly one argument"),
        ("action", "climate_on", {"temperature": 40.0}, "out of range"),
        ("action", "fly", {}, "no action 'fly'"),
        ("action", "lock", {"force": True}, "unknown argument"),
        ("reboot", "lock", {}, "unknown command kind"),
    ],
)
async def test_bad_commands_are_refused_with_a_reason(
    kind: str, target: str, args: dict[str, Any], reason: str
) -> None:
    with pytest.raises(DeviceRefused, match=reason):
        await make_car().execute(kind, target, args)


async def test_port_flap_stays_open_while_plugged() -> None:
    car = make_car()
    car.plug_in(Socket(7_040))
    with pytest.raises(DeviceRefused, match="cable plugged in"):
        await car.execute("set", vss.PORT_FLAP_OPEN, {"value": False})


async def test_climate_refused_on_an_empty_battery() -> None:
    car = make_car(soc=3.0)
    with pytest.raises(DeviceRefused, match="too low"):
        await car.execute("action", "climate_on", {})


def test_a_flat_battery_strands_the_car() -> None:
    car = make_car(soc=0.05)
    car.drive(BOOK.route("home", "work"))
    run(car, 600)
    assert not car.driving
    assert car.place is None
    assert car.state()[vss.SOC] == 0.0
    with pytest.raises(DeviceRefused, match="empty"):
        car.drive(BOOK.route("home", "work"))
