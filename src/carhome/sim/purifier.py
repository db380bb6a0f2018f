"""A simulated air purifier in one room: PM2.5 falls while it runs, creeps back when off.

Room PM2.5 follows a well-mixed box model: outside air leaks in (about half the room's
volume an hour) and the purifier removes particles at its clean-air delivery rate (CADR)
divided by the room volume. In ``auto`` mode it picks its fan level from the PM2.5 it
measures; in ``favorite`` it keeps the level it was given; ``sleep`` runs it quietly.
"""

from __future__ import annotations

from typing import Any

from carhome.errors import DeviceRefused
from carhome.sim.device import SimSwitch, approach, substeps
from carhome.sim.weather import Outdoor

_CADR_M3H = {1: 150.0, 2: 300.0, 3: 450.0}
_SLEEP_CADR_M3H = 60.0
_LEAK_PER_H = 0.5  # air changes an hour with the windows shut
_FILTER_HOURS = 3_000.0  # filter life at full fan


class SimAirPurifier(SimSwitch):
    type = "air_purifier"

    def __init__(
        self,
        outdoor: Outdoor,
        *,
        room_m3: float = 110.0,
        pm25: float = 60.0,
        humidity: float = 40.0,
        filter_life: float = 80.0,
    ) -> None:
        super().__init__()
        self.outdoor = outdoor
        self.room_m3 = room_m3
        self.pm25 = pm25
        self.humidity = humidity
        self.filter_life = filter_life
        self.mode = "auto"
        self.favorite_level = 2
        self.setters.update(mode=self._set_mode, fan_level=self._set_fan_level)

    @property
    def fan_level(self) -> int:
        if self.mode == "auto":
            return 3 if self.pm25 > 75 else 2 if self.pm25 > 35 else 1
        if self.mode == "sleep":
            return 1
        return self.favorite_level

    def cadr_m3h(self) -> float:
        if not self.on:
            return 0.0
        return _SLEEP_CADR_M3H if self.mode == "sleep" else _CADR_M3H[self.fan_level]

    def state(self) -> dict[str, Any]:
        return {
            "on": self.on,
            "mode": self.mode,
            "fan_level": self.fan_level,
            "pm25": min(999, round(self.pm25)),
            "humidity": round(self.humidity),
            "filter_life": max(0, round(self.filter_life)),
        }

    def advance(self, dt: float) -> None:
        # sub-steps of a minute: auto mode changes its fan level as the air clears
        for h in substeps(dt, 60.0):
            leak = _LEAK_PER_H / 3600.0
            clean = self.cadr_m3h() / self.room_m3 / 3600.0
            # dC/dt = leak·(C_out − C) − clean·C, solved exactly over the sub-step
            rate = leak + clean
            self.pm25 = approach(self.pm25, leak * self.outdoor.pm25 / rate, rate, h)
            if self.on:
                wear = self.cadr_m3h() / _CADR_M3H[3]
                self.filter_life = max(0.0, self.filter_life - 100.0 * wear * h / (_FILTER_HOURS * 3600))

    def _set_on(self, on: Any) -> None:
        if on and self.filter_life <= 0:
            raise DeviceRefused("the filter is used up; replace it before running the purifier")
        self.on = bool(on)

    def _set_mode(self, mode: Any) -> None:
        self.mode = str(mode)

    def _set_fan_level(self, level: Any) -> None:
        # a fan level only holds in manual (favorite) mode, so setting one switches to it
        self.favorite_level = int(level)
        self.mode = "favorite"
