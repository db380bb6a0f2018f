"""The units Tesla's telemetry fields come in, and how each becomes the unit of a VSS signal.

The car streams distances and speeds in miles and mph whatever its display is set to
(``Odometer``, ``EstBatteryRange``, ``VehicleSpeed``, ``ChargeRateMilePerHour``), and
temperatures in °C (``InsideTemp``, ``OutsideTemp``, ``HvacLeftTemperatureRequest``);
``TimeToFullCharge`` is in hours, ``EnergyRemaining`` in kWh. Its ``SettingDistanceUnit``
and ``SettingTemperatureUnit`` fields say what the driver sees, not what is sent.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from carhome.drivers.signals import KM_PER_MILE, Conversion, same, scale


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


CONVERSIONS: Final[Mapping[tuple[Unit, str], Conversion]] = {
    (Unit.MILES, "km"): scale(KM_PER_MILE),
    (Unit.MILES, "m"): scale(KM_PER_MILE * 1000.0),
    (Unit.MPH, "km/h"): scale(KM_PER_MILE),
    (Unit.CELSIUS, "celsius"): same,
    (Unit.PERCENT, "percent"): same,
    (Unit.KWH, "kWh"): same,
    (Unit.HOURS, "s"): scale(3600.0),
    (Unit.DEGREES, "degrees"): same,
    (Unit.AMPS, "A"): same,
}
"""(Tesla unit, VSS unit) → the conversion; a pair missing here is a mapping error."""
