"""A simulated robot vacuum: cleaning covers floor and drains the battery; it goes back
to its dock when the floor is done (``finished``) or its battery runs low, and charges
there.
"""

from __future__ import annotations

from typing import Any

from carhome.errors import DeviceRefused
from carhome.sim.device import SimBase

_AREA_PER_S = 0.02  # m² a second, about 1.2 m² a minute
_DRAIN_PER_S = 100.0 / (120 * 60)  # a full battery cleans for two hours
_CHARGE_PER_S = 100.0 / (180 * 60)  # and takes three hours to refill
_RETURN_S = 60.0  # time to drive back to the dock
_LOW = 15.0  # percent at which it gives up and goes home
_START_MIN = 20.0


class SimRobotVacuum(SimBase):
    type = "robot_vacuum"

    def __init__(self, *, floor_m2: float = 85.0, battery: float = 100.0) -> None:
        super().__init__()
        self.floor_m2 = floor_m2
        self.battery = battery
        self.status = "docked"
        self.cleaned = 0.0
        self._homing = 0.0  # s left on the way back
        self.actions = {"start": self._start, "pause": self._pause, "return_home": self._return_home}

    def state(self) -> dict[str, Any]:
        return {"status": self.status, "battery": round(self.battery), "cleaned_area": round(self.cleaned, 1)}

    def advance(self, dt: float) -> None:
        left = dt
        while left > 0:
            h = min(left, 10.0)
            left -= h
            if self.status == "cleaning":
                self.cleaned = min(self.floor_m2, self.cleaned + _AREA_PER_S * h)
                self.battery = max(0.0, self.battery - _DRAIN_PER_S * h)
                if self.cleaned >= self.floor_m2:
                    self.emit("finished")
                    self._go_home()
                elif self.battery <= _LOW:
                    self._go_home()
            elif self.status == "returning":
                self.battery = max(0.0, self.battery - _DRAIN_PER_S * h)
                self._homing -= h
                if self._homing <= 0:
                    self.status = "docked"
            elif self.status == "docked":
                self.battery = min(100.0, self.battery + _CHARGE_PER_S * h)

    def _go_home(self) -> None:
        self.status = "returning"
        self._homing = _RETURN_S

    def _start(self, _: dict[str, Any]) -> None:
        if self.battery < _START_MIN:
            raise DeviceRefused(
                f"battery at {round(self.battery)} %; let it charge to {_START_MIN:.0f} % before cleaning"
            )
        if self.status == "docked":
            self.cleaned = 0.0  # a new run; from paused or returning it carries on
        self.status = "cleaning"

    def _pause(self, _: dict[str, Any]) -> None:
        if self.status != "cleaning":
            raise DeviceRefused(f"the vacuum is {self.status}, not cleaning; nothing to pause")
        self.status = "paused"

    def _return_home(self, _: dict[str, Any]) -> None:
        if self.status in ("docked", "returning"):
            raise DeviceRefused(f"the vacuum is already {self.status}")
        self._go_home()
