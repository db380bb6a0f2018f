"""The standard simulated home and its routine, stepped by hand with explicit time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from carhome.hub import Device, Home
from carhome.hub.places import distance_m
from carhome.sim import Outdoor, SimHome
from carhome.spec import SPECS, vss

from .conftest import check_against_spec

BEIJING = ZoneInfo("Asia/Shanghai")
HOME = Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060, timezone="Asia/Shanghai")


def at(text: str) -> float:
    """Seconds since the epoch of a local Beijing time like ``2026-01-07 06:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING).timestamp()


def simulate(
    home: SimHome, start: float, end: float, dt: float = 20.0
) -> dict[str, list[tuple[float, dict]]]:
    """Step the home from ``start`` to ``end``; check every report and event on the way."""
    reports: dict[str, list[tuple[float, dict]]] = {d: [] for d in home.devices}
    now = start
    home.update(now)
    for device in home.devices.values():
        device.step(0.0)
    while now < end:
        now += dt
        home.update(now)
        for device_id, device in home.devices.items():
            changed = device.step(dt)
            check_against_spec(device.type, changed)
            for event in device.drain_events():
                spec = SPECS[device.type].events[event.name]
                assert set(event.fields) == {f.name for f in spec.fields}
                for field in spec.fields:
                    field.check(event.fields[field.name])
            if changed:
                reports[device_id].append((now, changed))
    return reports


def test_records_name_every_device_for_the_hub() -> None:
    home = SimHome(HOME)
    records = {d.id: d for d in home.records()}
    assert set(records) == {
        "car",
        "living_room_purifier",
        "living_room_ac",
        "bedroom_ac",
        "living_room_light",
        "front_door",
        "rice_cooker",
        "garage_door",
        "vacuum",
        "wallbox",
        "phone",
    }
    assert records["bedroom_ac"] == Device(
        home="h1", id="bedroom_ac", type="air_conditioner", name="Bedroom air conditioner", room="bedroom"
    )
    assert all(r.type in SPECS for r in records.values())


def test_places_lie_around_the_home() -> None:
    places = {p.name: p for p in SimHome(HOME).places()}
    assert set(places) == {"work", "supermarket"}
    for place in places.values():
        assert 3_000 < distance_m(HOME.lat, HOME.lon, place.lat, place.lon) < 15_000


def test_a_winter_wednesday_commute_shop_and_charge() -> None:
    home = SimHome(HOME, outdoor=Outdoor(timezone="Asia/Shanghai", fixed_temperature=-6.0), soc=75.0)
    car, scenario = home.car, home.scenario
    assert scenario is not None
    leave = scenario.departure(datetime(2026, 1, 7, tzinfo=BEIJING), 0)
    simulate(home, at("2026-01-07 06:00"), leave - 120)
    assert car.place == "home"
    assert car.cabin.climate_on  # preconditioning for the cold morning
    assert car.cabin.temperature > 15
    assert not car.plugged  # 75 % is above the plug-in threshold
    simulate(home, leave - 120, leave - 10)
    assert home.garage.state()["state"] in ("opening", "open")

    simulate(home, leave - 10, leave + 120)
    assert car.driving
    assert home.phone.state()["present"] is False
    assert home.garage.state()["state"] in ("closing", "closed")
    simulate(home, at("2026-01-07 08:25"), at("2026-01-07 12:00"))
    assert car.place == "work"
    assert home.phone.state()["present"] is False
    assert not car.cabin.climate_on

    evening = simulate(home, at("2026-01-07 12:00"), at("2026-01-07 22:00"))
    assert car.place == "home"
    places = [(t, r[vss.LATITUDE], r[vss.LONGITUDE]) for t, r in evening["car"] if vss.LATITUDE in r]
    far = max(distance_m(HOME.lat, HOME.lon, lat, lon) for _, lat, lon in places)
    assert far > 3_000  # it went to the supermarket and back as well
    assert home.phone.state()["present"] is True
    assert home.garage.state()["state"] == "closed"
    # four trips of 5-7 km in the cold: below the 70 % threshold, so plugged in on arrival
    assert car.plugged
    assert home.wallbox.status() == "charging"

    simulate(home, at("2026-01-07 22:00"), at("2026-01-08 06:00"), dt=30.0)
    assert car.soc == pytest.approx(80.0, abs=0.5)
    assert home.wallbox.status() == "suspended_ev"
    assert home.wallbox.state()["energy"] > 5.0


def test_a_saturday_has_no_commute() -> None:
    home = SimHome(HOME, outdoor=Outdoor(timezone="Asia/Shanghai", fixed_temperature=20.0))
    reports = simulate(home, at("2026-01-10 06:00"), at("2026-01-10 09:55"), dt=30.0)
    assert home.car.place == "home"
    assert not any(vss.SPEED in r for _, r in reports["car"][1:])
    simulate(home, at("2026-01-10 09:55"), at("2026-01-10 10:40"))
    assert home.car.place == "supermarket"
    assert not home.car.cabin.climate_on  # mild day: no preconditioning


def test_without_a_routine_the_car_stays_put() -> None:
    home = SimHome(HOME, routine=False)
    simulate(home, at("2026-01-07 07:00"), at("2026-01-07 10:00"), dt=60.0)
    assert home.car.place == "home"
    assert home.scenario is None


def test_departures_vary_by_day_but_not_by_run() -> None:
    a = SimHome(HOME, seed=1).scenario
    b = SimHome(HOME, seed=1).scenario
    assert a is not None
    assert b is not None
    monday, tuesday = datetime(2026, 1, 5, tzinfo=BEIJING), datetime(2026, 1, 6, tzinfo=BEIJING)
    assert a.departure(monday, 0) == b.departure(monday, 0)
    assert a.departure(monday, 0) % 86_400 != a.departure(tuesday, 0) % 86_400
    assert abs(a.departure(monday, 0) - at("2026-01-05 08:10")) <= 600
