"""A simulated home wallbox (single phase, 220 V, up to 32 A ≈ 7 kW).

It follows the car's plug: ``available`` with no car, ``preparing`` for the few seconds
of the plug-in handshake, then ``charging`` while the car draws power, ``suspended_ev``
while the car holds back (full, or told to stop) and ``suspended_evse`` while the
wallbox itself was told to stop. It offers the car its current limit and meters the
session's energy.
"""

from __future__ import annotations

from typing import Any, Protocol

from carhome.errors import DeviceRefused
from carhome.sim.charging import GRID_VOLTAGE, ChargePoint
from carhome.sim.device import SimBase

_HANDSHAKE_S = 5.0


class PluggableCar(Protocol):
    """What the wallbox sees of a car: its plug and what it draws."""

    charge_point: ChargePoint | None
    charging_ac_w: float

    def release_cable(self) -> None: ...


class SimWallbox(SimBase):
    type = "wallbox"

    def __init__(self, *, current_limit: int = 32) -> None:
        super().__init__()
        self.car: PluggableCar | None = None
        self.current_limit = current_limit
        self.enabled = True
        self.energy_kwh = 0.0
        self._connected = False
        self._handshake = 0.0
        self.setters = {"current_limit": self._set_limit}
        self.actions = {
            "start_charging": self._start,
            "stop_charging": self._stop,
            "unlock_connector": self._unlock,
        }

    def attach(self, car: PluggableCar) -> None:
        """The car whose cable reaches this wallbox."""
        self.car = car

    @property
    def connected(self) -> bool:
        return self.car is not None and self.car.charge_point is self

    def offered_power_w(self) -> float:
        if not self.connected or not self.enabled or self._handshake > 0:
            return 0.0
        return self.current_limit * GRID_VOLTAGE

    def power_w(self) -> float:
        return self.car.charging_ac_w if self.car is not None and self.connected else 0.0

    def status(self) -> str:
        if not self.connected:
            return "available"
        if self._handshake > 0:
            return "preparing"
        if not self.enabled:
            return "suspended_evse"
        return "charging" if self.power_w() > 0 else "suspended_ev"

    def state(self) -> dict[str, Any]:
        return {
            "status": self.status(),
            "power": round(self.power_w(), -1) + 0.0,
            "energy": round(self.energy_kwh, 2),
            "current_limit": self.current_limit,
            "phases": 1,
        }

    def advance(self, dt: float) -> None:
        connected = self.connected
        if connected != self._connected:
            self._connected = connected
            self.emit("plugged", plugged=connected)
            if connected:
                # a new session: fresh meter, charging allowed, handshake first
                self.energy_kwh = 0.0
                self.enabled = True
                self._handshake = _HANDSHAKE_S
                return
            self._handshake = 0.0
        if self._handshake > 0:
            self._handshake = max(0.0, self._handshake - dt)
        self.energy_kwh += self.power_w() * dt / 3.6e6

    def _set_limit(self, value: Any) -> None:
        self.current_limit = int(value)

    def _start(self, _: dict[str, Any]) -> None:
        if not self.connected:
            raise DeviceRefused("no car is plugged in; plug the cable in first")
        self.enabled = True

    def _stop(self, _: dict[str, Any]) -> None:
        if not self.connected:
            raise DeviceRefused("no car is plugged in, so there is no session to stop")
        self.enabled = False

    def _unlock(self, _: dict[str, Any]) -> None:
        if self.car is None or not self.connected:
            raise DeviceRefused("no cable is plugged in")
        if self.power_w() > 0:
            raise DeviceRefused("the car is charging; stop charging before releasing the cable")
        self.car.release_cable()
