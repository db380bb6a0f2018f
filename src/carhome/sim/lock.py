"""A simulated smart door lock: a motorised bolt, a door sensor and a battery.

The bolt cannot be thrown while the door stands open. Each throw costs the batteries a
little; a flat lock refuses to move. A person at the door (scenario code) opens and
closes it, unlocks it with a key or fingerprint, and rings the bell.
"""

from __future__ import annotations

from typing import Any

from carhome.errors import DeviceRefused
from carhome.sim.device import SimBase

_PER_THROW = 0.02  # percent of battery per bolt movement
_STANDBY_PER_DAY = 0.1  # percent a day (four AA cells last about a year)


class SimDoorLock(SimBase):
    type = "door_lock"
    verifies = True

    def __init__(self, *, battery: float = 87.0) -> None:
        super().__init__()
        self.locked = True
        self.door_open = False
        self.battery = battery
        self.actions = {"lock": self._lock, "unlock": self._unlock}

    def state(self) -> dict[str, Any]:
        return {"locked": self.locked, "door_open": self.door_open, "battery": round(self.battery)}

    def advance(self, dt: float) -> None:
        self.battery = max(0.0, self.battery - _STANDBY_PER_DAY * dt / 86_400)

    def _move(self) -> None:
        if self.battery <= 0:
            raise DeviceRefused("the lock's batteries are flat; replace them")
        self.battery = max(0.0, self.battery - _PER_THROW)

    def _lock(self, _: dict[str, Any]) -> None:
        if self.door_open:
            raise DeviceRefused("the door is open; close it before locking")
        if not self.locked:
            self._move()
        self.locked = True

    def _unlock(self, _: dict[str, Any]) -> None:
        self.unlock_by("remote")

    def unlock_by(self, method: str) -> None:
        """Draw the bolt (``key``, ``fingerprint``, ``code`` or ``remote``)."""
        if self.locked:
            self._move()
            self.locked = False
            self.emit("unlocked_by", method=method)

    def open_door(self) -> None:
        if self.locked:
            raise DeviceRefused("the door is locked")
        self.door_open = True

    def close_door(self) -> None:
        self.door_open = False

    def ring(self) -> None:
        self.emit("doorbell")
