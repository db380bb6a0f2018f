"""Routes: real-world distances, limits, corners, reversal, and driving them."""

from __future__ import annotations

import random

import pytest

from carhome.hub.places import distance_m
from carhome.sim import Drive, Driver, Point, Route, RouteBook
from carhome.sim.routes import YIZHUANG_HOME, bearing

BOOK = RouteBook.yizhuang()


@pytest.mark.parametrize("destination", ["work", "supermarket"])
def test_destinations_are_3_to_15_km_from_home(destination: str) -> None:
    route = BOOK.route("home", destination)
    end = route.points[-1]
    straight = distance_m(*YIZHUANG_HOME, end.lat, end.lon)
    assert 3_000 < straight < 15_000
    assert straight < route.length_m < 2 * straight  # streets, not a beeline
    assert (route.points[0].lat, route.points[0].lon) == YIZHUANG_HOME


def test_places_are_geofences_at_the_route_ends() -> None:
    places = {p.name: p for p in BOOK.places()}
    assert set(places) == {"work", "supermarket"}
    end = BOOK.route("home", "work").points[-1]
    assert distance_m(places["work"].lat, places["work"].lon, end.lat, end.lon) < 1


def test_reversed_route_has_the_same_streets_backwards() -> None:
    there = BOOK.route("home", "work")
    back = BOOK.route("work", "home")
    assert back.length_m == pytest.approx(there.length_m)
    assert [s.street for s in back.segments] == [s.street for s in reversed(there.segments)]
    assert [s.limit_ms for s in back.segments] == [s.limit_ms for s in reversed(there.segments)]
    assert back.points[-1][:2] == there.points[0][:2]


def test_unknown_route_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="home→work"):
        BOOK.route("work", "supermarket")


def test_corners_are_slower_than_the_limit() -> None:
    route = BOOK.route("home", "work")
    assert route.junctions  # the grid has right-angle turns
    limits = dict(route.constraints)
    for at in route.junctions:
        assert limits[at] <= 25 / 3.6
    assert route.constraints[-1] == (route.length_m, 0.0)


def test_bearing_points_the_right_way() -> None:
    assert bearing(39.0, 116.0, 39.1, 116.0) == pytest.approx(0.0, abs=0.01)
    assert bearing(39.0, 116.0, 39.0, 116.1) == pytest.approx(90.0, abs=0.1)
    assert bearing(39.0, 116.0, 38.9, 116.0) == pytest.approx(180.0, abs=0.01)


def test_route_needs_two_points() -> None:
    with pytest.raises(ValueError, match="two points"):
        Route("x", "a", "b", (Point(39.0, 116.0),))


def test_shifted_routes_start_at_another_home() -> None:
    book = RouteBook.yizhuang(31.2304, 121.4737)  # a home in Shanghai
    route = book.route("home", "work")
    assert route.points[0][:2] == pytest.approx((31.2304, 121.4737))
    assert route.length_m == pytest.approx(BOOK.route("home", "work").length_m, rel=0.05)


def _drive(drive: Drive, h: float = 0.5) -> list[tuple[float, float]]:
    """(time, speed) samples until the end of the route."""
    t, samples = 0.0, []
    while not drive.done:
        drive.advance(h)
        t += h
        samples.append((t, drive.v))
        assert t < 3600
    return samples


def test_speed_profile_respects_limits_and_accelerates_gently() -> None:
    route = BOOK.route("home", "supermarket")
    drive = Drive(route)
    top = max(s.limit_ms for s in route.segments)
    previous = 0.0
    for _, v in _drive(drive):
        assert v <= top + 1e-9
        assert v - previous <= Driver().accel * 0.5 + 1e-9
        previous = v
    assert drive.s == route.length_m
    assert drive.v == 0.0
    assert max(v for _, v in _drive(Drive(route))) == pytest.approx(80 / 3.6)


def test_red_lights_stop_the_car_and_lengthen_the_trip() -> None:
    route = BOOK.route("home", "work")
    green = _drive(Drive(route))
    red = _drive(Drive(route, Driver(red_chance=1.0), random.Random(3)))
    assert red[-1][0] > green[-1][0] + 10 * len(route.junctions)
    stopped = [t for t, v in red[:-1] if v == 0.0]
    assert len(stopped) > 20 * len(route.junctions)  # half-second samples standing at the lights
