"""What a charger's meter values say: its energy register (Wh) and active power (W).

Both OCPP versions send a meter value as a timestamp and a list of sampled values, each a
number with an optional measurand, phase, location and unit. The rules, and why:

- Only what leaves the outlet counts (``location`` absent or ``Outlet``): a reading at the
  car's inlet or of the charger's own body is not the energy sold.
- A total (no ``phase``) wins; without one, the per-phase values (``L1``/``L1-N`` …) are
  added up, one per line — a three-phase charger reporting 3,680 W on each line delivers
  11,040 W, not the last line read. Line-to-line and neutral values are no share of it.
- Units: 1.6 names ``Wh``/``kWh``/``W``/``kW`` in ``unit``; 2.0.1 puts the unit in
  ``unitOfMeasure`` with a power-of-ten ``multiplier`` (``11.04`` kW may come as ``11.04``
  ``W`` with multiplier 3). Both are applied.
- ``Transaction.Begin`` context marks the reading a transaction started at (2.0.1 sends the
  begin register only this way).

Payloads reach this module snake_cased by the ``ocpp`` library and checked against the
version's schema; it raises the library's ``PropertyConstraintViolationError`` for a value
that is no number, which the edge answers as such.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any, Final

from carhome.ocpp.messages import Sample
from ocpp import exceptions as oe  # type: ignore[import-untyped]

ENERGY: Final = "Energy.Active.Import.Register"
POWER: Final = "Power.Active.Import"
BEGIN: Final = "Transaction.Begin"
MAX_MULTIPLIER: Final = 9  # 10⁹: GWh and GW; beyond that a value is no meter reading
_SCALE: Final = {"Wh": 1.0, "kWh": 1000.0, "W": 1.0, "kW": 1000.0}
_DEFAULT_UNIT: Final = {ENERGY: "Wh", POWER: "W"}
# per-phase values that are a line's share of the total (not line-to-line, not neutral)
_LINE: Final = {"L1": "L1", "L2": "L2", "L3": "L3", "L1-N": "L1", "L2-N": "L2", "L3-N": "L3"}


def epoch(text: str) -> float:
    """An OCPP timestamp as seconds since the epoch."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise oe.PropertyConstraintViolationError(details={"cause": f"bad timestamp {text!r}"}) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)  # OCPP times are UTC
    return when.timestamp()


class _Measure:
    """One measurand of one meter value: its total, or its lines' shares."""

    __slots__ = ("lines", "total")

    def __init__(self) -> None:
        self.total: float | None = None
        self.lines: dict[str, float] = {}

    def add(self, phase: str | None, value: float) -> None:
        if phase is None:
            self.total = value
        elif phase in _LINE:
            self.lines[_LINE[phase]] = value

    def value(self) -> float | None:
        if self.total is not None:
            return self.total
        return sum(self.lines.values()) if self.lines else None


def _number(sv: dict[str, Any]) -> float:
    raw = sv.get("value")
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise oe.PropertyConstraintViolationError(
            details={"cause": f"meter value {raw!r} is not a number"}
        ) from exc
    if not math.isfinite(value):
        raise oe.PropertyConstraintViolationError(details={"cause": f"meter value {raw!r} is not finite"})
    return value


def _scale(sv: dict[str, Any], measurand: str) -> float | None:
    """The factor to Wh or W, or ``None`` for a unit that is neither (then the value is skipped)."""
    unit_of_measure = sv.get("unit_of_measure") or {}
    unit = sv.get("unit") or unit_of_measure.get("unit") or _DEFAULT_UNIT[measurand]
    factor = _SCALE.get(unit)
    if factor is None:
        return None
    multiplier = unit_of_measure.get("multiplier", 0)
    if not isinstance(multiplier, int) or abs(multiplier) > MAX_MULTIPLIER:
        raise oe.PropertyConstraintViolationError(
            details={"cause": f"unit multiplier {multiplier!r} is outside ±{MAX_MULTIPLIER}"}
        )
    return factor * 10.0**multiplier if multiplier else factor


def sample(meter_value: dict[str, Any]) -> tuple[Sample, bool]:
    """One meter value → its sample, and whether it is a transaction's begin reading."""
    measures = {ENERGY: _Measure(), POWER: _Measure()}
    begin = False
    for sv in meter_value.get("sampled_value", ()):
        measurand = sv.get("measurand") or ENERGY
        value = _number(sv)
        measure = measures.get(measurand)
        if measure is None or (sv.get("location") or "Outlet") != "Outlet":
            continue
        factor = _scale(sv, measurand)
        if factor is None:
            continue
        scaled = value * factor
        if not math.isfinite(scaled):
            raise oe.PropertyConstraintViolationError(
                details={"cause": f"meter value {value!r} is out of range"}
            )
        measure.add(sv.get("phase"), scaled)
        begin = begin or (measurand == ENERGY and sv.get("context") == BEGIN)
    ts = epoch(meter_value["timestamp"])
    return Sample(ts, measures[ENERGY].value(), measures[POWER].value()), begin


def samples(meter_values: Iterable[dict[str, Any]] | None) -> list[Sample]:
    """Meter values (snake_case, either version) → samples of energy (Wh) and power (W)."""
    return [sample(mv)[0] for mv in meter_values or ()]


def begin_register(meter_values: Iterable[dict[str, Any]] | None) -> float | None:
    """The register a transaction began at, if these meter values carry it."""
    for mv in meter_values or ():
        found, begin = sample(mv)
        if begin and found.energy_wh is not None:
            return found.energy_wh
    return None
