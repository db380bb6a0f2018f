"""Where a car is: distances, geofences, and the place the hub derives for it."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carhome.errors import InvalidName
from carhome.hub import Change, Device, Home, Hub, Place
from carhome.hub.places import EARTH_RADIUS_M, distance_m, place_at
from carhome.spec import vss
from carhome.spec.devices import AWAY, DISTANCE_TO_HOME, PLACE

ONE_DEGREE_M = math.pi * EARTH_RADIUS_M / 180  # 111,195 m on a great circle


@pytest.mark.parametrize(
    ("a", "b", "metres"),
    [
        ((0, 0), (0, 1), ONE_DEGREE_M),
        ((0, 0), (1, 0), ONE_DEGREE_M),
        ((10, 20), (10, 20), 0.0),
        ((0, 0), (0, 90), math.pi * EARTH_RADIUS_M / 2),
        ((90, 0), (-90, 0), math.pi * EARTH_RADIUS_M),
        ((0, 0), (0, 180), math.pi * EARTH_RADIUS_M),  # antipodes: asin clamp at 1
        ((0, 179.5), (0, -179.5), ONE_DEGREE_M),  # across the date line
        ((60, 0), (60, 1), ONE_DEGREE_M * 0.49999),  # parallels shrink with cos(lat) (≈ 0.5)
    ],
)
def test_distance_against_known_geometry(
    a: tuple[float, float], b: tuple[float, float], metres: float
) -> None:
    assert distance_m(*a, *b) == pytest.approx(metres, rel=1e-4, abs=1e-6)


def test_distance_between_real_cities() -> None:
    # London (Charing Cross) to Paris (Notre-Dame): 343.5 km great-circle.
    assert distance_m(51.5074, -0.1278, 48.8530, 2.3499) / 1000 == pytest.approx(343.5, rel=5e-3)
    # Beijing (Tiananmen) to Shanghai (People's Square): about 1,067 km.
    assert distance_m(39.9087, 116.3975, 31.2304, 121.4737) / 1000 == pytest.approx(1067, rel=5e-3)


lats = st.floats(-90, 90)
lons = st.floats(-180, 180)


@given(lat1=lats, lon1=lons, lat2=lats, lon2=lons, lat3=lats, lon3=lons)
def test_distance_is_a_metric_on_the_sphere(
    lat1: float, lon1: float, lat2: float, lon2: float, lat3: float, lon3: float
) -> None:
    d12 = distance_m(lat1, lon1, lat2, lon2)
    assert 0 <= d12 <= math.pi * EARTH_RADIUS_M + 1e-6
    assert d12 == pytest.approx(distance_m(lat2, lon2, lat1, lon1), abs=1e-6)
    assert distance_m(lat1, lon1, lat1, lon1) == 0
    assert d12 <= distance_m(lat1, lon1, lat3, lon3) + distance_m(lat3, lon3, lat2, lon2) + 1e-3


HOME = Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060, radius_m=200)


def north_of(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat + metres / ONE_DEGREE_M, lon


def test_place_at_inside_outside_and_on_the_edge() -> None:
    places = HOME.all_places()
    assert place_at(places, HOME.lat, HOME.lon) == "home"
    assert place_at(places, *north_of(HOME.lat, HOME.lon, 199)) == "home"
    assert place_at(places, *north_of(HOME.lat, HOME.lon, 201)) == AWAY
    assert place_at((), HOME.lat, HOME.lon) == AWAY


def test_the_nearest_of_overlapping_places_wins() -> None:
    a = Place("mall", 39.80, 116.50, radius_m=1000)
    b = Place("charger", *north_of(39.80, 116.50, 600), radius_m=1000)
    assert place_at((a, b), *north_of(39.80, 116.50, 250)) == "mall"
    assert place_at((a, b), *north_of(39.80, 116.50, 350)) == "charger"
    assert place_at((b, a), *north_of(39.80, 116.50, 250)) == "mall"  # order does not matter


def test_home_comes_first_and_a_place_named_home_does_not_shadow_it() -> None:
    home = Home(id="h1", name="x", lat=1, lon=2, places=(Place("home", 5, 5), Place("work", 3, 3)))
    assert [p.name for p in home.all_places()] == ["home", "work"]
    assert home.all_places()[0] == Place("home", 1, 2, 200.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Work", "lat": 0, "lon": 0}, "place id 'Work' is not valid"),
        ({"name": "w", "lat": 91, "lon": 0}, "latitude/longitude out of range"),
        ({"name": "w", "lat": 0, "lon": -181}, "latitude/longitude out of range"),
        ({"name": "w", "lat": 0, "lon": 0, "radius_m": 0}, "radius_m must be positive"),
    ],
)
def test_bad_places_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidName, match=message):
        Place(**kwargs)  # type: ignore[arg-type]


async def test_a_car_driving_home_and_away_derives_place_and_distance(hub: Hub) -> None:
    home = hub.home("h1")
    places: list[Change] = []
    hub.bus.subscribe(places.append, home="h1", device="car", name=PLACE)

    def drive(metres_north: float) -> None:
        lat, lon = north_of(home.lat, home.lon, metres_north)
        report = hub.report("h1", "car", {vss.LATITUDE: lat, vss.LONGITUDE: lon})
        assert report.rejected == []

    drive(5_000)
    assert hub.value("h1", "car", PLACE) == AWAY
    assert hub.value("h1", "car", DISTANCE_TO_HOME) == pytest.approx(5.0, abs=1e-3)
    drive(1_500)
    assert hub.value("h1", "car", DISTANCE_TO_HOME) == pytest.approx(1.5, abs=1e-3)
    drive(50)
    assert hub.value("h1", "car", PLACE) == "home"
    assert hub.value("h1", "car", DISTANCE_TO_HOME) == 0.05
    drive(10)
    drive(3_000)
    assert [(c.old, c.value, c.source) for c in places] == [
        (None, AWAY, "hub"),
        (AWAY, "home", "hub"),
        ("home", AWAY, "hub"),
    ]


async def test_nothing_is_derived_without_both_coordinates_or_from_other_signals(hub: Hub) -> None:
    hub.report("h1", "car", {vss.LATITUDE: HOME.lat})
    assert hub.value("h1", "car", PLACE) is None
    hub.report("h1", "car", {vss.SPEED: 10.0})
    assert hub.value("h1", "car", PLACE) is None
    hub.report("h1", "car", {vss.LONGITUDE: HOME.lon})
    assert hub.value("h1", "car", PLACE) == "home"


async def test_a_car_at_another_place_of_its_home_is_there(hub: Hub) -> None:
    work = Place("work", 39.9087, 116.3975, radius_m=300)
    await hub.add_home(Home(id="h2", name="Two", lat=HOME.lat, lon=HOME.lon, places=(work,)))
    await hub.add_device(Device(home="h2", id="car", type="car"))
    hub.report("h2", "car", {vss.LATITUDE: work.lat, vss.LONGITUDE: work.lon})
    assert hub.value("h2", "car", PLACE) == "work"
    km = distance_m(work.lat, work.lon, HOME.lat, HOME.lon) / 1000
    assert hub.value("h2", "car", DISTANCE_TO_HOME) == round(km, 3)
    assert hub.value("h1", "car", PLACE) is None
