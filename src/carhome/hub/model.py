"""The records of a home: the home itself, its places and its devices.

Every record carries its home id. Ids are checked when made, by ``carhome.names``: lower-case
letters, digits, ``-`` and ``_``, so they are safe in MQTT topics, URLs and file names.
"""

from __future__ import annotations

import msgspec

from carhome.errors import InvalidName
from carhome.names import check_name

# The parts check their own ids (topics, credentials, members) by the records' rule.
__all__ = ["Device", "Home", "Place", "check_name"]


class Place(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A named circle on the map (home, work, a charger) that cars enter and leave."""

    name: str
    lat: float
    lon: float
    radius_m: float = 150.0

    def __post_init__(self) -> None:
        check_name("place", self.name)
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise InvalidName(f"place {self.name!r}: latitude/longitude out of range")
        if self.radius_m <= 0:
            raise InvalidName(f"place {self.name!r}: radius_m must be positive")


class Home(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The tenant: a place on the map, a timezone, and further named places."""

    id: str
    name: str
    lat: float
    lon: float
    radius_m: float = 200.0
    timezone: str = "UTC"
    places: tuple[Place, ...] = ()

    def __post_init__(self) -> None:
        check_name("home", self.id)

    @property
    def home_place(self) -> Place:
        return Place("home", self.lat, self.lon, self.radius_m)

    def all_places(self) -> tuple[Place, ...]:
        """The home itself first, then the other places."""
        return (self.home_place, *(p for p in self.places if p.name != "home"))


class Device(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Anything that reports state or takes commands, bound to a spec type and a connector."""

    home: str
    id: str
    type: str
    name: str = ""
    room: str | None = None
    connector: str = "mqtt"

    def __post_init__(self) -> None:
        check_name("home", self.home)
        check_name("device", self.id)

    @property
    def label(self) -> str:
        return self.name or self.id
