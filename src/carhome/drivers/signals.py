"""A device's telemetry to VSS signals, as data: targets, unit conversions, the binding.

A connector reading a car (OVMS metrics, Tesla fields) keeps a table whose rows name the
VSS signals each of its values sets (``Target``: a path and what to do on the way) and the
unit the value comes in. ``bind`` checks a target against carhome's catalog when the table
is compiled — the signal exists, and the table has a conversion from the value's unit to
the signal's — and ``values`` turns one decoded value into the signals' values. The
conversions themselves are tables of ``same`` and ``scale`` (and what else a unit needs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from carhome.errors import SpecError
from carhome.spec import vss

KM_PER_MILE: Final = 1.609344

Conversion = Callable[[float], float]
Adapter = Callable[[Any], Any]

SKIP: Final = object()
"""What an adapter returns when a value has nothing to report."""


def same(value: float) -> float:
    """The conversion between a unit and itself."""
    return value


def scale(factor: float) -> Conversion:
    """The conversion that multiplies by ``factor``."""

    def scaled(value: float) -> float:
        return value * factor

    return scaled


def keep(value: Any) -> Any:
    """The adapter that passes the value on as it is."""
    return value


def moving(speed: float) -> bool:
    """Whether a speed says the car moves (``IsMoving`` from a speed)."""
    return speed > 0


@dataclass(frozen=True, slots=True)
class Target:
    """One VSS signal a value sets, and how the value (in the signal's unit) is adapted."""

    path: str
    adapt: Adapter = keep


@dataclass(frozen=True, slots=True)
class Bound:
    """A target checked against the catalog: its conversion from the value's unit, and
    whether the signal is an integer (a float value is then rounded)."""

    path: str
    convert: Conversion | None
    adapt: Adapter
    integer: bool


def bind(
    what: str,
    path: str,
    adapt: Adapter,
    unit: str | None,
    conversions: Mapping[tuple[Any, str], Conversion],
) -> Bound:
    """``path`` bound for a value of ``what`` (named so in errors) that comes in ``unit``;
    ``SpecError`` if the catalog has no such signal or ``conversions`` no way to its unit."""
    signal = vss.BY_PATH.get(path)
    if signal is None:
        raise SpecError(f"{what} maps to {path}, which carhome's catalog has not")
    convert = None
    # a signal without a unit (IsMoving from a speed) takes the value as it came
    if unit is not None and signal.unit is not None:
        convert = conversions.get((unit, signal.unit))
        if convert is None:
            raise SpecError(f"{what} is in {unit}, and carhome has no conversion to {signal.unit} for {path}")
    return Bound(path, convert, adapt, signal.datatype.startswith(("int", "uint")))


def values(targets: Iterable[Bound], value: Any) -> dict[str, Any]:
    """What one decoded ``value`` sets: each target's signal, converted and adapted
    (a target whose adapter says ``SKIP`` sets nothing)."""
    out: dict[str, Any] = {}
    for target in targets:
        converted = value if target.convert is None else target.convert(value)
        adapted = target.adapt(converted)
        if adapted is SKIP:
            continue
        out[target.path] = round(adapted) if target.integer and isinstance(adapted, float) else adapted
    return out
