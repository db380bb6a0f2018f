"""Chargers and the connections they share, as currents that become powers.

A charger charges between a minimum and a maximum current on its phases; below its
minimum it cannot charge at all, which makes "off or at least the minimum" a yes/no choice
for the planner. Several chargers may hang on one connection (a 16 A three-phase line,
say) whose limit they share.
"""

from __future__ import annotations

from dataclasses import dataclass

from carhome.energy.units import Power
from carhome.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Connection:
    """A supply line shared by chargers, limited to ``max_current`` per phase."""

    id: str
    max_current: float
    phases: int = 3
    voltage: float = 230.0

    def __post_init__(self) -> None:
        if not self.max_current > 0:
            raise ConfigError(f"connection {self.id!r}: max current must be positive, got {self.max_current}")

    @property
    def max_power(self) -> Power:
        return Power.of_current(self.max_current, phases=self.phases, volts=self.voltage)


@dataclass(frozen=True, slots=True)
class Charger:
    """A charging point: ``min_current`` to ``max_current`` amps on ``phases`` at ``voltage``."""

    id: str
    max_current: float = 16.0
    min_current: float = 6.0
    phases: int = 3
    voltage: float = 230.0
    connection: Connection | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.min_current <= self.max_current or self.max_current <= 0:
            raise ConfigError(
                f"charger {self.id!r}: need 0 ≤ min current ≤ max current and max > 0, "
                f"got {self.min_current} A and {self.max_current} A"
            )
        if self.connection is not None and self.connection.phases < self.phases:
            raise ConfigError(
                f"charger {self.id!r} uses {self.phases} phases but its connection "
                f"{self.connection.id!r} has only {self.connection.phases}"
            )
        Power.of_current(self.max_current, phases=self.phases, volts=self.voltage)

    @property
    def max_power(self) -> Power:
        return Power.of_current(self.max_current, phases=self.phases, volts=self.voltage)

    @property
    def min_power(self) -> Power:
        return Power.of_current(self.min_current, phases=self.phases, volts=self.voltage)
