"""The car's cabin air and its climate control.

The cabin exchanges heat with the outside through its shell (``ua``, W/K) and holds heat
in its air and trim (``capacity``, J/K). With climate on, the HVAC (a heat pump) supplies
what the shell loses at the set point plus a proportional push toward it, up to its
heating or cooling capacity; its electrical draw is that heat over its COP, plus the
blower. With climate off the cabin drifts toward the outside temperature.
"""

from __future__ import annotations

from dataclasses import dataclass

from carhome.sim.device import approach

_SUBSTEP = 5.0  # s; the control loop is stable for steps well under 2 minutes


@dataclass
class Cabin:
    temperature: float = 20.0
    climate_on: bool = False
    set_point: float = 21.0
    ua: float = 100.0
    capacity: float = 60_000.0
    gain: float = 400.0  # W per K of error
    max_heat_w: float = 5_000.0
    max_cool_w: float = 4_000.0
    cop_heat: float = 2.0
    cop_cool: float = 2.5
    blower_w: float = 150.0

    def step(self, dt: float, outside: float) -> float:
        """Advance ``dt`` seconds; return the mean electrical power of the HVAC (W)."""
        energy, left = 0.0, dt
        while left > 0:
            h = min(left, _SUBSTEP)
            left -= h
            heat = 0.0
            if self.climate_on:
                heat = self.ua * (self.set_point - outside) + self.gain * (self.set_point - self.temperature)
                heat = max(-self.max_cool_w, min(self.max_heat_w, heat))
                cop = self.cop_heat if heat >= 0 else self.cop_cool
                energy += (abs(heat) / cop + self.blower_w) * h
            # with the heat input held over the sub-step the cabin relaxes exactly
            self.temperature = approach(
                self.temperature, outside + heat / self.ua, self.ua / self.capacity, h
            )
        return energy / dt if dt > 0 else 0.0
