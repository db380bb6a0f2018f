"""A simulated dimmable, tunable-white light: it does what it is told, at once."""

from __future__ import annotations

from typing import Any

from carhome.sim.device import SimSwitch


class SimLight(SimSwitch):
    type = "light"

    def __init__(self, *, brightness: int = 80, color_temperature: int = 4000) -> None:
        super().__init__()
        self.brightness = brightness
        self.color_temperature = color_temperature
        self.setters.update(brightness=self._set_brightness, color_temperature=self._set_color_temperature)

    def _set_color_temperature(self, value: Any) -> None:
        self.color_temperature = int(value)

    def _set_brightness(self, value: Any) -> None:
        # like most smart bulbs, setting a brightness also switches the light on
        self.brightness = int(value)
        self.on = True

    def state(self) -> dict[str, Any]:
        return {"on": self.on, "brightness": self.brightness, "color_temperature": self.color_temperature}

    def advance(self, dt: float) -> None:
        """A light has no dynamics worth simulating."""
