"""A simulated garage door: a motor that takes about 12 s to travel, with an obstacle
sensor.

``open`` and ``close`` set the door moving (reversing it if it was going the other
way); it reports ``opening``/``closing`` and its position until it reaches the end.
An obstacle in the doorway makes a closing door reverse and report ``obstructed``.
"""

from __future__ import annotations

from typing import Any

from carhome.errors import DeviceRefused
from carhome.sim.device import SimBase


class SimGarageDoor(SimBase):
    type = "garage_door"
    verifies = True

    def __init__(self, *, travel_s: float = 12.0, open_: bool = False) -> None:
        super().__init__()
        self.travel_s = travel_s
        self.position = 100.0 if open_ else 0.0
        self.motion = 0  # +1 opening, −1 closing, 0 still
        self.stopped_midway = False
        self.obstacle = False
        self.actions = {
            "open": lambda _: self.open(),
            "close": lambda _: self.close(),
            "stop": lambda _: self.stop(),
        }

    @property
    def state_word(self) -> str:
        if self.motion > 0:
            return "opening"
        if self.motion < 0:
            return "closing"
        if self.position >= 100.0:
            return "open"
        if self.position <= 0.0:
            return "closed"
        return "stopped"

    def state(self) -> dict[str, Any]:
        # a door between the stops reports at least 1 % open: "closed" only at 0
        pos = round(self.position)
        if 0 < self.position < 100:
            pos = min(99, max(1, pos))
        return {"state": self.state_word, "position": pos}

    def advance(self, dt: float) -> None:
        if self.motion == 0:
            return
        if self.motion < 0 and self.obstacle:
            self.motion = 1
            self.emit("obstructed")
        self.position += self.motion * 100.0 * dt / self.travel_s
        # the end stops are switches: within a hair of one, the door is there
        if self.position >= 100.0 - 1e-6 or self.position <= 1e-6:
            self.position = 100.0 if self.motion > 0 else 0.0
            self.motion = 0

    def open(self) -> None:
        """Set the door opening (the wall button, the remote, or a command)."""
        if self.position < 100.0:
            self.motion = 1

    def close(self) -> None:
        if self.obstacle:
            raise DeviceRefused("something is in the doorway; clear it before closing")
        if self.position > 0.0:
            self.motion = -1

    def stop(self) -> None:
        self.motion = 0
