"""Power, energy and state of charge as value objects, checked when made.

The planner does its arithmetic on plain floats (kW, kWh, fractions); these types are what
people and the other parts of carhome hand it, so a negative power or a state of charge of
130 % is refused at the door with a message that names the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from carhome.errors import ConfigError


def _finite(value: float, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{what} must be a finite number, got {value!r}")
    return number


def _amount(value: float, what: str, unit: str) -> float:
    """``value`` as a finite, non-negative float (an error naming ``what`` in ``unit`` if not)."""
    number = _finite(value, what)
    if number < 0:
        raise ConfigError(f"{what} cannot be negative, got {number} {unit}")
    return number


@dataclass(frozen=True, slots=True, order=True)
class Power:
    """A non-negative power in kilowatts."""

    kw: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "kw", _amount(self.kw, "a power", "kW"))

    @classmethod
    def of_current(cls, amps: float, *, phases: int, volts: float) -> Power:
        """The power of ``amps`` on each of ``phases`` phases at ``volts`` phase-to-neutral."""
        if phases not in (1, 2, 3):
            raise ConfigError(f"phases must be 1, 2 or 3, got {phases}")
        return cls(_finite(amps, "a current") * phases * _finite(volts, "a voltage") / 1000.0)

    def __str__(self) -> str:
        return f"{self.kw:g} kW"


@dataclass(frozen=True, slots=True, order=True)
class Energy:
    """A non-negative energy in kilowatt-hours."""

    kwh: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "kwh", _amount(self.kwh, "an energy", "kWh"))

    def __str__(self) -> str:
        return f"{self.kwh:g} kWh"


@dataclass(frozen=True, slots=True, order=True)
class Soc:
    """A battery's state of charge as a fraction from 0 to 1."""

    fraction: float

    def __post_init__(self) -> None:
        fraction = _finite(self.fraction, "a state of charge")
        if not 0.0 <= fraction <= 1.0:
            raise ConfigError(f"a state of charge must be from 0 to 100 %, got {fraction * 100:g} %")
        object.__setattr__(self, "fraction", fraction)

    @classmethod
    def percent(cls, value: float) -> Soc:
        return cls(_finite(value, "a state of charge") / 100.0)

    def __str__(self) -> str:
        return f"{self.fraction * 100:g} %"
