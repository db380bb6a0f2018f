"""The units OVMS metrics come in, and how each becomes the unit of a VSS signal.

OVMS keeps every metric in the unit it was defined with (``metrics_standard.cpp``: range
and odometer in km, speed in kph, temperatures in °C, power in kW, durations in minutes)
and its MQTT server publishes that value as it is (``OvmsMetricFloat::AsString`` with no
unit asked for): the unit choices a user makes on the module (``vehicle units.distance``)
change what its apps and the v2 protocol show, not the MQTT metrics. A car whose vehicle
module publishes distances in miles or temperatures in °F is configured so
(``ovms.cars[].units``); ``in_units`` then swaps the table's units for those.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Final, Literal

KM_PER_MILE: Final = 1.609344


class Unit(enum.StrEnum):
    """A unit an OVMS metric is kept in (``metric_unit_t``), by its OVMS name."""

    KM = "km"
    MILES = "miles"
    KPH = "kph"
    MPH = "mph"
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"
    KW = "kW"
    KWH = "kWh"
    PERCENT = "percent"
    MINUTES = "minutes"
    DEGREES = "degrees"
    AMPS = "amps"


def _same(value: float) -> float:
    return value


def _scale(factor: float) -> Callable[[float], float]:
    def scaled(value: float) -> float:
        return value * factor

    return scaled


def _fahrenheit_to_celsius(value: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


CONVERSIONS: Final[Mapping[tuple[Unit, str], Callable[[float], float]]] = {
    (Unit.KM, "km"): _same,
    (Unit.KM, "m"): _scale(1000.0),
    (Unit.MILES, "km"): _scale(KM_PER_MILE),
    (Unit.MILES, "m"): _scale(KM_PER_MILE * 1000.0),
    (Unit.KPH, "km/h"): _same,
    (Unit.MPH, "km/h"): _scale(KM_PER_MILE),
    (Unit.CELSIUS, "celsius"): _same,
    (Unit.FAHRENHEIT, "celsius"): _fahrenheit_to_celsius,
    (Unit.KW, "W"): _scale(1000.0),
    (Unit.KWH, "kWh"): _same,
    (Unit.PERCENT, "percent"): _same,
    (Unit.MINUTES, "s"): _scale(60.0),
    (Unit.DEGREES, "degrees"): _same,
    (Unit.AMPS, "A"): _same,
}
"""(OVMS unit, VSS unit) → the conversion; a pair missing here is a mapping error."""

Distance = Literal["km", "miles"]
Temperature = Literal["celsius", "fahrenheit"]

_IMPERIAL_DISTANCE: Final = {Unit.KM: Unit.MILES, Unit.KPH: Unit.MPH}
_FAHRENHEIT: Final = {Unit.CELSIUS: Unit.FAHRENHEIT}


def in_units(unit: Unit, distance: Distance, temperature: Temperature) -> Unit:
    """``unit`` as a module publishing ``distance`` and ``temperature`` units keeps it."""
    if distance == "miles":
        unit = _IMPERIAL_DISTANCE.get(unit, unit)
    if temperature == "fahrenheit":
        unit = _FAHRENHEIT.get(unit, unit)
    return unit


def converter(source: Unit, target: str | None) -> Callable[[float], float]:
    """The conversion from ``source`` to the VSS unit ``target``; ``KeyError`` if none."""
    return CONVERSIONS[(source, target or "")]
