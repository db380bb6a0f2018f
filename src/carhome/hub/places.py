"""Where a car is: great-circle distance, geofences, and the car's derived place.

``PlaceDeriver`` turns a car's reported latitude and longitude into two properties the hub
owns: ``place`` (the name of the place it is in, or ``away``) and ``distance_to_home``
(km). The hub runs it once per report that moved the car.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from carhome.hub.model import Home, Place
from carhome.hub.states import State
from carhome.spec import vss
from carhome.spec.devices import AWAY, DISTANCE_TO_HOME, PLACE

EARTH_RADIUS_M: Final = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def place_at(places: tuple[Place, ...], lat: float, lon: float) -> str:
    """The name of the nearest place whose circle holds the point, or ``away``."""
    best, best_d = AWAY, math.inf
    for place in places:
        d = distance_m(lat, lon, place.lat, place.lon)
        if d <= place.radius_m and d < best_d:
            best, best_d = place.name, d
    return best


class PlaceDeriver:
    """Derives a car's ``place`` and ``distance_to_home`` from its location."""

    inputs: Final = frozenset({vss.LATITUDE, vss.LONGITUDE})

    def derive(self, home: Home, states: Mapping[str, State]) -> dict[str, Any]:
        lat, lon = states.get(vss.LATITUDE), states.get(vss.LONGITUDE)
        if lat is None or lon is None:
            return {}
        km = distance_m(lat.value, lon.value, home.lat, home.lon) / 1000.0
        return {
            PLACE: place_at(home.all_places(), lat.value, lon.value),
            DISTANCE_TO_HOME: round(km, 3),
        }
