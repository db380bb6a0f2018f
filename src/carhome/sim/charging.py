"""Charging: what the car's battery accepts, and what a charge point offers it.

AC charging runs at the full power the charge point offers (up to the on-board
charger's limit) until 80 % state of charge, then falls linearly to a trickle at 100 %,
as the battery management protects the cells. Some of the grid power is lost in the
charger and the battery; ``efficiency`` is what arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

GRID_VOLTAGE = 220.0  # V, single phase in China


class ChargePoint(Protocol):
    """The far end of the charging cable (a wallbox)."""

    def offered_power_w(self) -> float:
        """The AC power the car may draw now (0 while the charge point holds back)."""
        ...


@dataclass(frozen=True)
class ChargingCurve:
    """The on-board charger and the battery's taper."""

    max_ac_w: float = 11_000.0
    taper_from: float = 80.0  # percent
    trickle_w: float = 1_200.0  # AC power at 100 %
    efficiency: float = 0.91  # grid → battery

    def max_power_w(self, soc: float) -> float:
        """The AC power the car accepts at ``soc`` percent."""
        if soc <= self.taper_from:
            return self.max_ac_w
        if soc >= 100.0:
            return 0.0
        f = (soc - self.taper_from) / (100.0 - self.taper_from)
        return self.max_ac_w + (self.trickle_w - self.max_ac_w) * f

    def ac_power_w(self, soc: float, offered_w: float) -> float:
        return max(0.0, min(offered_w, self.max_power_w(soc)))

    def seconds_to(self, soc: float, limit: float, capacity_kwh: float, offered_w: float) -> float:
        """Time to charge from ``soc`` to ``limit`` percent at ``offered_w`` (inf if never)."""
        seconds, step = 0.0, 0.5
        while soc < limit:
            power = self.ac_power_w(soc, offered_w) * self.efficiency
            if power <= 0:
                return float("inf")
            chunk = min(step, limit - soc)
            seconds += chunk / 100.0 * capacity_kwh * 3.6e6 / power
            soc += chunk
        return seconds
