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
from collections.abc import Mapping
from typing import Final, Literal

from carhome.drivers.signals import KM_PER_MILE, Conversion, same, scale


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


def _fahrenheit_to_celsius(value: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


CONVERSIONS: Final[Mapping[tuple[Unit, str], Conversion]] = {
    (Unit.KM, "km"): same,
    (Unit.KM, "m"): scale(1000.0),
    (Unit.MILES, "km"): scale(KM_PER_MILE),
    (Unit.MILES, "m"): scale(KM_PER_MILE * 1000.0),
    (Unit.KPH, "km/h"): same,
    (Unit.MPH, "km/h"): scale(KM_PER_MILE),
    (Unit.CELSIUS, "celsius"): same,
    (Unit.FAHRENHEIT, "celsius"): _fahrenheit_to_celsius,
    (Unit.KW, "W"): scale(1000.0),
    (Unit.KWH, "kWh"): same,
    (Unit.PERCENT, "percent"): same,
    (Unit.MINUTES, "s"): scale(60.0),
    (Unit.DEGREES, "degrees"): same,
    (Unit.AMPS, "A"): same,
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
