"""A simulated rice cooker: a program heats, boils and steams for its duration, then the
cooker keeps the rice warm and says ``finished``.

The pot heats toward boiling, holds there, and lets the temperature sink to steaming
for the last part of the program; keeping warm holds it near 70 °C; idle, it cools to
the room.
"""

from __future__ import annotations

import math
from typing import Any

from carhome.errors import DeviceRefused
from carhome.sim.device import SimBase, approach

PROGRAM_MINUTES = {"white_rice": 45, "quick": 25, "porridge": 90, "brown_rice": 70}
_STEAM_FRACTION = 0.2  # the last fifth of a program is resting and steaming
_KEEP_WARM_LIMIT = 12 * 3600.0  # s, then it switches itself off
_ROOM = 22.0


class SimRiceCooker(SimBase):
    type = "rice_cooker"

    def __init__(self) -> None:
        super().__init__()
        self.status = "idle"
        self.program = "white_rice"
        self.remaining = 0.0  # s
        self.warm_for = 0.0  # s
        self.temperature = _ROOM
        self.actions = {"start": self._start, "cancel": self._cancel}

    def state(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "program": self.program,
            "remaining": math.ceil(self.remaining / 60.0),
            "temperature": round(self.temperature * 2.0) / 2.0,
        }

    def _pot_target(self) -> tuple[float, float]:
        """(temperature the pot heads for, rate 1/s) in the present phase."""
        if self.status == "cooking":
            total = PROGRAM_MINUTES[self.program] * 60.0
            if self.remaining > total * _STEAM_FRACTION:
                return 102.0, 1 / 300.0
            return 97.0, 1 / 300.0
        if self.status == "keeping_warm":
            return 70.0, 1 / 600.0
        return _ROOM, 1 / 1800.0

    def advance(self, dt: float) -> None:
        left = dt
        while left > 0:
            h = min(left, 30.0)
            if self.status == "cooking":
                h = min(h, self.remaining)
            left -= h
            target, rate = self._pot_target()
            self.temperature = approach(self.temperature, target, rate, h)
            if self.status == "cooking":
                self.remaining -= h
                if self.remaining <= 0:
                    self.remaining = 0.0
                    self.status = "keeping_warm"
                    self.warm_for = 0.0
                    self.emit("finished")
            elif self.status == "keeping_warm":
                self.warm_for += h
                if self.warm_for >= _KEEP_WARM_LIMIT:
                    self.status = "idle"

    def _start(self, args: dict[str, Any]) -> None:
        if self.status == "cooking":
            raise DeviceRefused(f"already cooking {self.program}; cancel it first")
        self.program = args["program"]
        self.remaining = PROGRAM_MINUTES[self.program] * 60.0
        self.status = "cooking"

    def _cancel(self, _: dict[str, Any]) -> None:
        if self.status == "idle":
            raise DeviceRefused("the cooker is idle; there is nothing to cancel")
        self.status = "idle"
        self.remaining = 0.0
