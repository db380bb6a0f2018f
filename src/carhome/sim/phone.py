"""A member's simulated phone: where it is, whether it is at home, its battery.

Scenario code moves it (it usually rides in the car); it reports itself present within
the home's radius. Its battery drains through the day and is charged when it runs low.
"""

from __future__ import annotations

from typing import Any

from carhome.errors import DeviceRefused
from carhome.hub.places import distance_m
from carhome.sim.device import SimBase

_DRAIN_PER_S = 4.0 / 3600  # percent an hour in use
_CHARGE_PER_S = 1.0 / 60  # percent a minute on the charger
_LOW, _FULL = 20.0, 100.0


class SimPhone(SimBase):
    type = "phone"

    def __init__(
        self, *, home_lat: float, home_lon: float, home_radius_m: float = 200.0, battery: float = 75.0
    ) -> None:
        super().__init__()
        self.home = (home_lat, home_lon)
        self.radius_m = home_radius_m
        self.lat, self.lon = home_lat, home_lon
        self.battery = battery
        self.on_charger = False
        self.actions = {"ring": self._ring}

    @property
    def present(self) -> bool:
        return distance_m(self.lat, self.lon, *self.home) <= self.radius_m

    def move_to(self, lat: float, lon: float) -> None:
        self.lat, self.lon = lat, lon

    def state(self) -> dict[str, Any]:
        # phones share a coarse position (about a metre), not every GPS fix
        return {
            "present": self.present,
            "latitude": round(self.lat, 5),
            "longitude": round(self.lon, 5),
            "battery": round(self.battery),
        }

    def advance(self, dt: float) -> None:
        if self.on_charger:
            self.battery = min(_FULL, self.battery + _CHARGE_PER_S * dt)
            self.on_charger = self.battery < _FULL
        else:
            self.battery = max(0.0, self.battery - _DRAIN_PER_S * dt)
            self.on_charger = self.battery <= _LOW

    def _ring(self, _: dict[str, Any]) -> dict[str, Any]:
        if self.battery <= 0:
            raise DeviceRefused("the phone's battery is flat")
        return {"ringing": True}
