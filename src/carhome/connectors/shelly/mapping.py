"""Shelly Gen2 components to carhome specs, as data: one table per component kind.

A Shelly reports its state per component, keyed ``kind:id`` (``em:0``, ``switch:1``); a
meter's energy counters sit in a companion component (``emdata:0`` beside ``em:0``,
``em1data:N`` beside ``em1:N``). Each kind here is one carhome device type:

- ``em`` (Pro 3EM, triphase profile) is a three-phase ``grid_meter``;
- ``em1`` (Pro EM, Pro 3EM in monophase profile) and ``pm1`` (PM Mini) are single-phase
  ``grid_meter`` s: their one channel is phase L1;
- ``switch`` (Plus 1PM, Pro 4PM …) is a ``relay``.

Shelly counts energy in Wh, carhome in kWh. A meter's active power is import positive
(with its current transformers facing the grid, as Shelly mounts them) in both; currents
are magnitudes in both. A field the table names but the payload lacks or sets to null is
not reported; a value of the wrong type is handed on for the hub to reject and count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from carhome.spec import SPECS

Kind = str
COMPONENT: Final = re.compile(r"(em|em1|pm1|switch):(\d{1,3})")


def _kwh(wh: Any) -> Any:
    if isinstance(wh, int | float) and not isinstance(wh, bool):
        return wh / 1000.0
    return wh  # not a number: the hub rejects it with its type


@dataclass(frozen=True, slots=True)
class Field:
    """One carhome property from one field of a component's status (a path into it)."""

    prop: str
    path: tuple[str, ...]
    convert: Callable[[Any], Any] | None = None

    def read(self, status: Mapping[str, Any]) -> Any:
        """The field's value, converted, or ``None`` if the status does not carry it."""
        value: Any = status
        for key in self.path:
            if not isinstance(value, Mapping):
                return value  # a leaf where an object was due: handed on, the hub rejects it
            value = value.get(key)
            if value is None:
                return None
        return value if self.convert is None else self.convert(value)


def _f(prop: str, *path: str, convert: Callable[[Any], Any] | None = None) -> Field:
    return Field(prop, path, convert)


@dataclass(frozen=True, slots=True)
class KindMap:
    """What one component kind is in carhome: its device type, the fields of its own
    status and of its data companion (``emdata`` …), if it has one."""

    kind: Kind
    device_type: str
    fields: tuple[Field, ...]
    data_kind: Kind | None = None
    data_fields: tuple[Field, ...] = ()


EM: Final = KindMap(
    "em",
    "grid_meter",
    (
        _f("power", "total_act_power"),
        *(_f(f"power_l{n}", f"{p}_act_power") for n, p in ((1, "a"), (2, "b"), (3, "c"))),
        *(_f(f"current_l{n}", f"{p}_current") for n, p in ((1, "a"), (2, "b"), (3, "c"))),
        *(_f(f"voltage_l{n}", f"{p}_voltage") for n, p in ((1, "a"), (2, "b"), (3, "c"))),
        _f("frequency", "a_freq"),
    ),
    "emdata",
    (_f("import_energy", "total_act", convert=_kwh), _f("export_energy", "total_act_ret", convert=_kwh)),
)

EM1: Final = KindMap(
    "em1",
    "grid_meter",
    (
        _f("power", "act_power"),
        _f("power_l1", "act_power"),
        _f("current_l1", "current"),
        _f("voltage_l1", "voltage"),
        _f("frequency", "freq"),
    ),
    "em1data",
    (
        _f("import_energy", "total_act_energy", convert=_kwh),
        _f("export_energy", "total_act_ret_energy", convert=_kwh),
    ),
)

PM1: Final = KindMap(
    "pm1",
    "grid_meter",
    (
        _f("power", "apower"),
        _f("power_l1", "apower"),
        _f("current_l1", "current"),
        _f("voltage_l1", "voltage"),
        _f("frequency", "freq"),
        _f("import_energy", "aenergy", "total", convert=_kwh),
        _f("export_energy", "ret_aenergy", "total", convert=_kwh),
    ),
)

SWITCH: Final = KindMap(
    "switch",
    "relay",
    (
        _f("on", "output"),
        _f("power", "apower"),
        _f("current", "current"),
        _f("voltage", "voltage"),
        _f("energy", "aenergy", "total", convert=_kwh),
        _f("temperature", "temperature", "tC"),
    ),
)

KINDS: Final[Mapping[Kind, KindMap]] = {k.kind: k for k in (EM, EM1, PM1, SWITCH)}


@dataclass(frozen=True, slots=True)
class Component:
    """A configured component: ``em:0`` and where its energy counters are (``emdata:0``)."""

    kind: KindMap
    id: int

    @classmethod
    def parse(cls, text: str) -> Component:
        """``ValueError`` naming the kinds carhome maps if ``text`` is not one of them."""
        match = COMPONENT.fullmatch(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not a Shelly component carhome maps; use {', '.join(k + ':N' for k in KINDS)}"
            )
        return cls(KINDS[match.group(1)], int(match.group(2)))

    @property
    def key(self) -> str:
        return f"{self.kind.kind}:{self.id}"

    @property
    def data_key(self) -> str | None:
        return None if self.kind.data_kind is None else f"{self.kind.data_kind}:{self.id}"

    def values(self, status: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """carhome values from a status object keyed by component (a notification's params,
        a ``Shelly.GetStatus`` result), and what was wrong with it; components it lacks
        give nothing."""
        out: dict[str, Any] = {}
        wrong: list[str] = []
        for key, fields in ((self.key, self.kind.fields), (self.data_key, self.kind.data_fields)):
            if key is None or key not in status:
                continue
            own = status[key]
            if not isinstance(own, Mapping):
                wrong.append(f"{key} is {type(own).__name__}, not an object")
                continue
            for field in fields:
                value = field.read(own)
                if value is not None:
                    out[field.prop] = value
        return out, wrong


def _check_tables() -> None:
    for kind in KINDS.values():
        props = SPECS[kind.device_type].properties
        for field in (*kind.fields, *kind.data_fields):
            if field.prop not in props:
                raise ValueError(f"Shelly map {kind.kind}: {kind.device_type} has no property {field.prop!r}")


_check_tables()
