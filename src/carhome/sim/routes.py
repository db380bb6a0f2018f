"""Where the simulated car can go: routes as polylines of waypoints with speed limits.

The standard routes run on the street grid of Beijing's Economic-Technological
Development Area (Yizhuang), whose streets run at about 45° to north, along and across
the Jingjintang Expressway: home near 39.7953 N 116.5060 E, work at the Kechuang 11th
Street office campus (~4.8 km east-south-east), a hypermarket near Jiugong (~3.7 km
north-west, by the expressway). Coordinates are WGS 84 and follow the real street
directions and lengths to within some tens of metres; they are not survey data.

A ``Route`` knows its length, the speed limit of each segment, the speed at which a car
can take each corner (its junctions, where traffic lights stand), and the position and
heading at any distance along it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import NamedTuple

from carhome.hub.model import Place
from carhome.hub.places import distance_m

_SHARP_TURN_KMH = 20.0  # how fast a car takes a 90° corner at a city junction
_GENTLE_TURN_DEG = 10.0  # below this a bend needs no slowing


class Point(NamedTuple):
    """A waypoint; ``limit_kmh`` and ``street`` describe the segment that ends here."""

    lat: float
    lon: float
    limit_kmh: float = 50.0
    street: str = ""


@dataclass(frozen=True)
class Segment:
    """A straight piece of road between two waypoints."""

    lat1: float
    lon1: float
    lat2: float
    lon2: float
    limit_ms: float
    street: str
    length_m: float = field(init=False)
    heading: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "length_m", distance_m(self.lat1, self.lon1, self.lat2, self.lon2))
        object.__setattr__(self, "heading", bearing(self.lat1, self.lon1, self.lat2, self.lon2))


def bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from point 1 to point 2, degrees in [0, 360)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


class Route:
    """A polyline from one place to another that a car can drive."""

    def __init__(self, name: str, origin: str, destination: str, points: tuple[Point, ...]) -> None:
        if len(points) < 2:
            raise ValueError(f"route {name!r} needs at least two points")
        self.name = name
        self.origin = origin
        self.destination = destination
        self.points = points
        self.segments = tuple(
            Segment(a.lat, a.lon, b.lat, b.lon, b.limit_kmh / 3.6, b.street)
            for a, b in itertools.pairwise(points)
        )
        starts = [0.0]
        for seg in self.segments:
            starts.append(starts[-1] + seg.length_m)
        self.starts = tuple(starts)
        self.length_m = starts[-1]
        self.junctions: tuple[float, ...] = ()
        self.constraints = self._constraints()

    def _constraints(self) -> tuple[tuple[float, float], ...]:
        """(distance, highest speed in m/s) points the car must respect ahead of it."""
        out: list[tuple[float, float]] = []
        junctions: list[float] = []
        for i in range(1, len(self.segments)):
            before, after = self.segments[i - 1], self.segments[i]
            turn = abs((after.heading - before.heading + 180.0) % 360.0 - 180.0)
            limit = min(before.limit_ms, after.limit_ms)
            if turn > _GENTLE_TURN_DEG:
                # a 90° junction is taken at about 20 km/h, a slight bend nearly at the limit
                corner = _SHARP_TURN_KMH / 3.6 + (limit - _SHARP_TURN_KMH / 3.6) * max(0.0, 1.0 - turn / 90.0)
                limit = min(limit, corner)
                junctions.append(self.starts[i])
            out.append((self.starts[i], limit))
        out.append((self.length_m, 0.0))
        self.junctions = tuple(junctions)
        return tuple(out)

    def segment_at(self, s: float) -> int:
        """Index of the segment holding distance ``s`` (clamped to the route)."""
        for i in range(len(self.segments) - 1, -1, -1):
            if s >= self.starts[i]:
                return i
        return 0

    def position(self, s: float) -> tuple[float, float, float]:
        """(latitude, longitude, heading) at ``s`` metres along the route."""
        s = min(max(s, 0.0), self.length_m)
        i = self.segment_at(s)
        seg = self.segments[i]
        f = 0.0 if seg.length_m == 0 else (s - self.starts[i]) / seg.length_m
        # segments are at most a few km, so linear interpolation is within centimetres
        return (seg.lat1 + (seg.lat2 - seg.lat1) * f, seg.lon1 + (seg.lon2 - seg.lon1) * f, seg.heading)

    def reversed(self, name: str | None = None) -> Route:
        """The same streets driven the other way."""
        pts = self.points
        # the segment that ended at point i now ends at point i - 1
        back = [Point(pts[-1].lat, pts[-1].lon)]
        back += [
            Point(pts[i - 1].lat, pts[i - 1].lon, pts[i].limit_kmh, pts[i].street)
            for i in range(len(pts) - 1, 0, -1)
        ]
        return Route(name or f"{self.destination}-{self.origin}", self.destination, self.origin, tuple(back))

    def moved_to(self, lat: float, lon: float) -> Route:
        """The same shape, in metres east and north, starting at (``lat``, ``lon``).

        For a home that is not in Yizhuang: the streets are then only a plausible shape.
        """
        lat0, lon0 = self.points[0].lat, self.points[0].lon
        east0, east1 = math.cos(math.radians(lat0)), math.cos(math.radians(lat))
        pts = tuple(
            p._replace(lat=lat + (p.lat - lat0), lon=lon + (p.lon - lon0) * east0 / east1)
            for p in self.points
        )
        return Route(self.name, self.origin, self.destination, pts)


YIZHUANG_HOME = (39.7953, 116.5060)

HOME_TO_WORK = Route(
    "home-work",
    "home",
    "work",
    (
        Point(39.795300, 116.506000),
        Point(39.797208, 116.508483, 30, "residential lane"),
        Point(39.794028, 116.512621, 60, "Hongda North Road"),
        Point(39.790849, 116.516759, 60, "Hongda North Road"),
        Point(39.787669, 116.520897, 60, "Hongda North Road"),
        Point(39.784489, 116.525035, 60, "Hongda North Road"),
        Point(39.788114, 116.529752, 60, "Kechuang 6th Street"),
        Point(39.791739, 116.534469, 60, "Kechuang 6th Street"),
        Point(39.795364, 116.539187, 60, "Kechuang 6th Street"),
        Point(39.798988, 116.543905, 60, "Kechuang 6th Street"),
        Point(39.795697, 116.548188, 60, "Jinghai Road"),
        Point(39.792407, 116.552471, 60, "Jinghai Road"),
        Point(39.789116, 116.556753, 60, "Jinghai Road"),
        Point(39.785825, 116.561036, 60, "Jinghai Road"),
        Point(39.786588, 116.562029, 20, "campus car park"),
    ),
)

HOME_TO_SUPERMARKET = Route(
    "home-supermarket",
    "home",
    "supermarket",
    (
        Point(39.795300, 116.506000),
        Point(39.793774, 116.504014, 30, "residential lane"),
        Point(39.797589, 116.499048, 60, "Rongjing Street"),
        Point(39.801405, 116.494081, 60, "Rongjing Street"),
        Point(39.804966, 116.489446, 80, "Jingjintang Expressway"),
        Point(39.808527, 116.484810, 80, "Jingjintang Expressway"),
        Point(39.812088, 116.480174, 80, "Jingjintang Expressway"),
        Point(39.815649, 116.475538, 80, "Jingjintang Expressway"),
        Point(39.819210, 116.470901, 80, "Jingjintang Expressway"),
        Point(39.821245, 116.468252, 50, "service road"),
        Point(39.823280, 116.465602, 50, "service road"),
        Point(39.822008, 116.463946, 20, "car park"),
    ),
)


class RouteBook:
    """The routes between a home's places, keyed by (origin, destination)."""

    def __init__(self, routes: tuple[Route, ...]) -> None:
        self._routes: dict[tuple[str, str], Route] = {}
        for route in routes:
            self._routes[(route.origin, route.destination)] = route
            self._routes.setdefault((route.destination, route.origin), route.reversed())

    def route(self, origin: str, destination: str) -> Route:
        try:
            return self._routes[(origin, destination)]
        except KeyError:
            known = ", ".join(f"{a}→{b}" for a, b in sorted(self._routes))
            raise KeyError(f"no route from {origin!r} to {destination!r}; known: {known}") from None

    def places(self) -> tuple[Place, ...]:
        """Every destination other than home, as a geofence around its end point."""
        seen: dict[str, Place] = {}
        for (_, dest), route in self._routes.items():
            if dest != "home" and dest not in seen:
                end = route.points[-1]
                seen[dest] = Place(dest, round(end.lat, 6), round(end.lon, 6), 150.0)
        return tuple(seen.values())

    @classmethod
    def yizhuang(cls, home_lat: float = YIZHUANG_HOME[0], home_lon: float = YIZHUANG_HOME[1]) -> RouteBook:
        """The standard routes, moved so that they start at the given home."""
        routes: tuple[Route, ...] = (HOME_TO_WORK, HOME_TO_SUPERMARKET)
        if (home_lat, home_lon) != YIZHUANG_HOME:
            routes = tuple(r.moved_to(home_lat, home_lon) for r in routes)
        return cls(routes)
