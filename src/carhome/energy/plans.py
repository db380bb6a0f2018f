"""A charging plan: slots with power per car, the SoC path, cost, energy sources, shortfall.

Costs are counted the way a meter counts them: in each slot the site imports what the
house and the cars use beyond the solar production, at the tariff's price, and exports
the rest at the feed-in price. ``charging_cost`` is what the cars add to the bill: the
site's cost with the plan minus its cost without any charging.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from carhome.energy.highs import FloatArray
from carhome.energy.modes import Mode


def site_cost(hours: FloatArray, price: FloatArray, feed_in: FloatArray, net_kw: FloatArray) -> float:
    """Σ hours·(price·import − feed_in·export) for a net site power (+ import, − export)."""
    imported, exported = np.maximum(net_kw, 0.0), np.maximum(-net_kw, 0.0)
    return float(np.sum(hours * (price * imported - feed_in * exported)))


@dataclass(frozen=True, slots=True)
class CarPlan:
    """One car's part of a plan. ``soc[0]`` is now; ``soc[t+1]`` is at the end of slot t."""

    car_id: str
    mode: Mode
    power_kw: tuple[float, ...]
    soc: tuple[float, ...]
    target_soc: float
    departure: datetime
    energy_kwh: float  # drawn from the supply over the plan
    shortfall_kwh: float  # battery energy missing at departure (or at the horizon)

    @property
    def reaches_target(self) -> bool:
        return self.shortfall_kwh <= 1e-3


@dataclass(frozen=True, slots=True)
class Plan:
    """The plan for every car at a site from ``made_at`` to ``end``."""

    made_at: datetime
    starts: tuple[datetime, ...]
    end: datetime
    hours: tuple[float, ...]
    price: tuple[float, ...]
    feed_in: tuple[float, ...]
    solar_kw: tuple[float, ...]
    load_kw: tuple[float, ...]
    cars: tuple[CarPlan, ...]
    grid_kw: tuple[float, ...]  # net site power per slot: + import, − export
    cost: float  # the site's net cost over the plan
    charging_cost: float  # what the charging adds to it
    energy_from_grid_kwh: float  # the cars' energy that came from the grid
    energy_from_solar_kwh: float  # the cars' energy that came from solar surplus
    solves: int = 0  # linear programs the smart plan took (0 without smart cars)

    @property
    def shortfall_kwh(self) -> float:
        return sum(c.shortfall_kwh for c in self.cars)

    def car(self, car_id: str) -> CarPlan:
        for c in self.cars:
            if c.car_id == car_id:
                return c
        raise KeyError(car_id)

    def power_at(self, car_id: str, when: datetime) -> float:
        """The power planned for a car at ``when`` (0 outside the plan)."""
        plan = self.car(car_id)
        for t, start in enumerate(self.starts):
            nxt = self.starts[t + 1] if t + 1 < len(self.starts) else self.end
            if start <= when < nxt:
                return plan.power_kw[t]
        return 0.0
