"""A simulated air conditioner and the room it conditions.

The room loses heat to the outside through its walls and windows (``ua``) and stores it
in its air, walls and furniture (``capacity``), so with the unit off it drifts toward the
outside temperature over hours. With the unit on, a heat pump moves heat toward the
target at a capacity set by the fan speed, in the directions its mode allows (``cool``
only cools, ``heat`` only heats, ``auto`` both, ``dry`` cools gently, ``fan`` only moves
air).
"""

from __future__ import annotations

from typing import Any

from carhome.sim.device import SimSwitch, approach, substeps
from carhome.sim.weather import Outdoor

_CAPACITY_W = {"low": 1_500.0, "medium": 2_500.0, "high": 3_500.0, "auto": 3_500.0}
_DRY_W = 600.0
_SUBSTEP = 30.0  # s


class SimAirConditioner(SimSwitch):
    type = "air_conditioner"

    def __init__(
        self,
        outdoor: Outdoor,
        *,
        temperature: float = 22.0,
        ua: float = 60.0,
        capacity: float = 1.0e6,
        gain: float = 1_500.0,
    ) -> None:
        super().__init__()
        self.outdoor = outdoor
        self.temperature = temperature
        self.ua = ua
        self.capacity = capacity
        self.gain = gain  # W per K between room and target
        self.mode = "auto"
        self.target = 24.0
        self.fan_speed = "auto"
        self.setters.update(
            mode=self._set_mode, target_temperature=self._set_target, fan_speed=self._set_fan_speed
        )

    def _set_mode(self, value: Any) -> None:
        self.mode = str(value)

    def _set_target(self, value: Any) -> None:
        self.target = float(value)

    def _set_fan_speed(self, value: Any) -> None:
        self.fan_speed = str(value)

    def state(self) -> dict[str, Any]:
        return {
            "on": self.on,
            "mode": self.mode,
            "target_temperature": self.target,
            "temperature": round(self.temperature, 1),
            "fan_speed": self.fan_speed,
        }

    def heat_w(self) -> float:
        """Heat the unit puts into the room now (negative when cooling)."""
        if not self.on or self.mode == "fan":
            return 0.0
        # hold the room's loss at the target, plus a push proportional to the error
        want = self.ua * (self.target - self.outdoor.temperature) + self.gain * (
            self.target - self.temperature
        )
        cap = _DRY_W if self.mode == "dry" else _CAPACITY_W[self.fan_speed]
        low = 0.0 if self.mode == "heat" else -cap
        high = 0.0 if self.mode in ("cool", "dry") else cap
        return max(low, min(high, want))

    def advance(self, dt: float) -> None:
        for h in substeps(dt, _SUBSTEP):
            heat = self.heat_w()
            self.temperature = approach(
                self.temperature, self.outdoor.temperature + heat / self.ua, self.ua / self.capacity, h
            )
