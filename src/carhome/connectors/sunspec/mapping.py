"""SunSpec points to carhome properties, as data: one table per role a device plays.

A SunSpec device holds up to three of the things carhome models, each in models of its
own: an inverter (101–103 with scale factors, 111–113 in floats; 123 its immediate
controls), a meter (201–204, 211–214) and a battery (802, 124, 713). The tables say which
point of those models is which property of carhome's ``solar_inverter``, ``grid_meter``
and ``battery``, and how the value converts: SunSpec counts energy in Wh, carhome in kWh;
its status enumerations become carhome's words. Point names are the SunSpec Alliance's
(the same in the integer and float models of one kind).

Where SunSpec and carhome count differently the table says so: a grid meter's per-phase
currents are magnitudes in carhome (what a fuse sees); a meter's power is import positive
in both; a battery's (model 802) is discharge positive in both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from carhome.errors import CarhomeError
from carhome.spec import SPECS

Role = Literal["inverter", "meter", "battery"]
ROLES: Final[tuple[Role, ...]] = ("inverter", "meter", "battery")

DEVICE_TYPES: Final[Mapping[Role, str]] = {
    "inverter": "solar_inverter",
    "meter": "grid_meter",
    "battery": "battery",
}

INVERTER_MODELS: Final = (101, 102, 103, 111, 112, 113)
METER_MODELS: Final = (201, 202, 203, 204, 211, 212, 213, 214)
# In the order a battery's values are taken: a point the first model has wins.
BATTERY_MODELS: Final = (802, 124, 713)
CONTROLS_MODEL: Final = 123
COMMON_MODEL: Final = 1

MODELS: Final[Mapping[Role, tuple[int, ...]]] = {
    "inverter": INVERTER_MODELS,
    "meter": METER_MODELS,
    "battery": BATTERY_MODELS,
}
READ_MODELS: Final = frozenset(
    (COMMON_MODEL, CONTROLS_MODEL, *INVERTER_MODELS, *METER_MODELS, *BATTERY_MODELS)
)
"""Every model carhome reads; others in a device's chain are skipped (and named once)."""


class NotMapped(CarhomeError, ValueError):
    """A value that has no carhome counterpart (an enumeration value carhome has no word for)."""

    def __init__(self, reason: str, allowed: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.allowed = allowed


def _kwh(wh: Any) -> Any:
    return wh / 1000.0 if isinstance(wh, int | float) else wh


def _magnitude(amps: Any) -> Any:
    return abs(amps) if isinstance(amps, int | float) else amps


def _words(table: Mapping[int, str]) -> Callable[[Any], str]:
    def word(value: Any) -> str:
        found = table.get(value) if isinstance(value, int) else None
        if found is None:
            allowed = ", ".join(f"{k} ({w})" for k, w in table.items())
            raise NotMapped(f"SunSpec value {value!r} has no carhome word", allowed)
        return found

    return word


@dataclass(frozen=True, slots=True)
class PointMap:
    """One carhome property from one SunSpec point (scaled), converted by ``convert``."""

    prop: str
    point: str
    convert: Callable[[Any], Any] | None = None


# SunSpec's inverter operating states (model 10x/11x point St).
INVERTER_STATES: Final = {
    1: "off",
    2: "sleeping",
    3: "starting",
    4: "producing",  # MPPT: tracking the panels' maximum power point
    5: "throttled",
    6: "shutting_down",
    7: "fault",
    8: "standby",
}
# SunSpec's storage charge status (models 124 and 802, point ChaSt).
CHARGE_STATES: Final = {
    1: "off",
    2: "empty",
    3: "discharging",
    4: "charging",
    5: "full",
    6: "holding",
    7: "testing",
}

INVERTER: Final = (
    PointMap("power", "W"),
    PointMap("dc_power", "DCW"),
    PointMap("energy_total", "WH", _kwh),
    PointMap("status", "St", _words(INVERTER_STATES)),
)

METER: Final = (
    PointMap("power", "W"),
    PointMap("import_energy", "TotWhImp", _kwh),
    PointMap("export_energy", "TotWhExp", _kwh),
    PointMap("power_l1", "WphA"),
    PointMap("power_l2", "WphB"),
    PointMap("power_l3", "WphC"),
    PointMap("current_l1", "AphA", _magnitude),
    PointMap("current_l2", "AphB", _magnitude),
    PointMap("current_l3", "AphC", _magnitude),
    PointMap("voltage_l1", "PhVphA"),
    PointMap("voltage_l2", "PhVphB"),
    PointMap("voltage_l3", "PhVphC"),
    PointMap("frequency", "Hz"),
)
# Meter points whose sign says the direction: flipped for a meter mounted the other way.
METER_SIGNED: Final = frozenset({"power", "power_l1", "power_l2", "power_l3"})
METER_SWAPPED: Final = {"import_energy": "export_energy", "export_energy": "import_energy"}

BATTERY: Final[Mapping[int, tuple[PointMap, ...]]] = {
    802: (
        PointMap("state_of_charge", "SoC"),
        PointMap("power", "W"),
        PointMap("status", "ChaSt", _words(CHARGE_STATES)),
        PointMap("capacity", "WHRtg", _kwh),
    ),
    124: (
        PointMap("state_of_charge", "ChaState"),
        PointMap("status", "ChaSt", _words(CHARGE_STATES)),
    ),
    713: (
        PointMap("state_of_charge", "SoC"),
        PointMap("capacity", "WHRtg", _kwh),
    ),
}

# Model 123's throttle: WMaxLimPct (percent of WMax) while WMaxLim_Ena is 1 (ENABLED).
POWER_LIMIT: Final = "power_limit"
LIMIT_POINT: Final = "WMaxLimPct"
LIMIT_ENABLE: Final = "WMaxLim_Ena"
ENABLED: Final = 1


def _check_tables() -> None:
    """Every table names properties its carhome type has (checked on import)."""
    tables: list[tuple[str, tuple[PointMap, ...]]] = [("solar_inverter", INVERTER), ("grid_meter", METER)]
    tables += [("battery", t) for t in BATTERY.values()]
    for type_, table in tables:
        for pmap in table:
            if pmap.prop not in SPECS[type_].properties:
                raise ValueError(f"SunSpec map: {type_} has no property {pmap.prop!r}")


_check_tables()
