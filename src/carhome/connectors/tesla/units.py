"""The units Tesla's telemetry fields come in, and how each becomes the unit of a VSS signal.

The car streams distances and speeds in miles and mph whatever its display is set to
(``Odometer``, ``EstBatteryRange``, ``VehicleSpeed``, ``ChargeRateMilePerHour``), and
temperatures in °C (``InsideTemp``, ``OutsideTemp``, ``HvacLeftTemperatureRequest``);
``TimeToFullCharge`` is in hours, ``EnergyRemaining`` in kWh. Its ``SettingDistanceUnit``
and ``SettingTemperatureUnit`` fields say what the driver sees, not what is sent.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Final

KM_PER_MILE: Final = 1.609344


class Unit(enum.StrEnum):
    """A unit a Tesla field is sent in."""

    MILES = "miles"
    MPH = "mph"
    CELSIUS = "celsius"
    PERCENT = "percent"
    KWH = "kWh"
    HOURS = "hours"
    DEGREES = "degrees"
    AMPS = "amps"


def _same(value: float) -> float:
    return value


def _scale(factor: float) -> Callable[[float], float]:
    def scaled(value: float) -> float:
        return value * factor

    return scaled


CONVERSIONS: Final[Mapping[tuple[Unit, str], Callable[[float], float]]] = {
    (Unit.MILES, "km"): _scale(KM_PER_MILE),
    (Unit.MILES, "m"): _scale(KM_PER_MILE * 1000.0),
    (Unit.MPH, "km/h"): _scale(KM_PER_MILE),
    (Unit.CELSIUS, "celsius"): _same,
    (Unit.PERCENT, "percent"): _same,
    (Unit.KWH, "kWh"): _same,
    (Unit.HOURS, "s"): _scale(3600.0),
    (Unit.DEGREES, "degrees"): _same,
    (Unit.AMPS, "A"): _same,
}
"""(Tesla unit, VSS unit) → the conversion; a pair missing here is a mapping error."""


def converter(source: Unit, target: str | None) -> Callable[[float], float]:
    """The conversion from ``source`` to the VSS unit ``target``; ``KeyError`` if none."""
    return CONVERSIONS[(source, target or "")]
