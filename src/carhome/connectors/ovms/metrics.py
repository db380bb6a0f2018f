"""OVMS metrics to VSS signals, as data: the table, and the decoding of one metric's value.

An OVMS v3 module publishes each metric on its own topic, its value as text: a float as C++
streams print it (``85.5``, ``1.23457e+06``), an integer, or a boolean as ``yes``/``no``
(``OvmsMetric*::AsString``). ``METRICS`` names, for each metric carhome maps, how OVMS
writes it, the unit OVMS keeps it in (``metrics_standard.cpp``) and the VSS signals it
sets, each with what to do on the way (OVMS counts battery power positive out of the
battery, VSS into it; a charge limit of 0 means none is set). ``CarMetrics`` compiles the
table for one car — its units, and which side its driver sits on — and decodes a payload
into VSS values in the signals' units; a value OVMS could not have written is a
``MetricError`` with its reason. Metrics the table does not name are not carhome's to read.

The table is written for a left-hand-drive car, where OVMS's left doors are the driver's;
for a right-hand-drive car the doors are mirrored.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from typing import Any, Final

from carhome.connectors.ovms.units import CONVERSIONS, Distance, Temperature, Unit, in_units
from carhome.drivers.signals import SKIP, Adapter, Bound, Target, bind, keep, moving, values
from carhome.errors import CarhomeError
from carhome.spec import vss


class Kind(enum.StrEnum):
    """How OVMS writes a metric's value (its metric class's ``AsString``)."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"


def _negate(value: float) -> float:
    return -value


def _set_limit(value: float) -> Any:
    return SKIP if value == 0 else value


@dataclass(frozen=True, slots=True)
class MetricMap:
    """One OVMS metric: how it is written, the unit OVMS keeps it in, the signals it sets."""

    metric: str
    kind: Kind
    targets: tuple[Target, ...]
    unit: Unit | None = None

    @property
    def topic(self) -> str:
        """The metric's path under ``<prefix>metric/`` (OVMS's ``mqtt_topic``: dots to slashes)."""
        return self.metric.replace(".", "/")


def _doors(adapt: Adapter = keep) -> tuple[Target, ...]:
    return tuple(Target(p, adapt) for p in vss.DOOR_LOCKED)


_ROW1_LEFT, _ROW1_RIGHT, _ROW2_LEFT, _ROW2_RIGHT = vss.DOOR_OPEN

CONNECTED: Final = "s.v3.connected"
"""The metric the module's MQTT server keeps: ``yes`` while connected, ``no`` by its last will."""

METRICS: Final[tuple[MetricMap, ...]] = (
    MetricMap("v.b.soc", Kind.FLOAT, (Target(vss.SOC),), Unit.PERCENT),
    MetricMap("v.b.capacity", Kind.FLOAT, (Target(vss.NET_CAPACITY),), Unit.KWH),
    MetricMap("v.b.power", Kind.FLOAT, (Target(vss.BATTERY_POWER, _negate),), Unit.KW),
    MetricMap("v.b.range.est", Kind.FLOAT, (Target(vss.RANGE),), Unit.KM),
    MetricMap("v.c.charging", Kind.BOOL, (Target(vss.IS_CHARGING),)),
    MetricMap("v.c.limit.soc", Kind.FLOAT, (Target(vss.CHARGE_LIMIT, _set_limit),), Unit.PERCENT),
    MetricMap("v.c.current", Kind.FLOAT, (Target(vss.CHARGE_CURRENT),), Unit.AMPS),
    MetricMap("v.c.duration.soc", Kind.INT, (Target(vss.TIME_TO_COMPLETE),), Unit.MINUTES),
    MetricMap("v.c.pilot", Kind.BOOL, (Target(vss.CABLE_CONNECTED),)),
    MetricMap("v.d.cp", Kind.BOOL, (Target(vss.PORT_FLAP_OPEN),)),
    MetricMap("v.d.fl", Kind.BOOL, (Target(_ROW1_LEFT),)),
    MetricMap("v.d.fr", Kind.BOOL, (Target(_ROW1_RIGHT),)),
    MetricMap("v.d.rl", Kind.BOOL, (Target(_ROW2_LEFT),)),
    MetricMap("v.d.rr", Kind.BOOL, (Target(_ROW2_RIGHT),)),
    MetricMap("v.d.trunk", Kind.BOOL, (Target(vss.TRUNK_OPEN),)),
    MetricMap("v.e.locked", Kind.BOOL, _doors()),
    MetricMap("v.e.cabintemp", Kind.FLOAT, (Target(vss.CABIN_TEMPERATURE),), Unit.CELSIUS),
    MetricMap("v.e.temp", Kind.FLOAT, (Target(vss.OUTSIDE_TEMPERATURE),), Unit.CELSIUS),
    MetricMap("v.e.hvac", Kind.BOOL, (Target(vss.AC_ACTIVE),)),
    MetricMap("v.e.cabinsetpoint", Kind.FLOAT, (Target(vss.HVAC_SET_POINT),), Unit.CELSIUS),
    MetricMap("v.p.latitude", Kind.FLOAT, (Target(vss.LATITUDE),)),
    MetricMap("v.p.longitude", Kind.FLOAT, (Target(vss.LONGITUDE),)),
    MetricMap("v.p.direction", Kind.FLOAT, (Target(vss.HEADING),), Unit.DEGREES),
    MetricMap("v.p.speed", Kind.FLOAT, (Target(vss.SPEED), Target(vss.IS_MOVING, moving)), Unit.KPH),
    MetricMap("v.p.odometer", Kind.FLOAT, (Target(vss.ODOMETER),), Unit.KM),
)
"""The metrics carhome maps (names and units from OVMS's ``metrics_standard``)."""


class MetricError(CarhomeError, ValueError):
    """A metric's payload is not a value OVMS writes (``code`` for counting, ``reason``)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


_BOOLS: Final = {"yes": True, "no": False}
_INTEGER: Final = re.compile(r"-?[0-9]{1,19}")
_NUMBER: Final = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,4})?")


def parse(kind: Kind, text: str) -> float | int | bool:
    """The value of a metric of ``kind`` written as ``text``; ``MetricError`` if OVMS could
    not have written it."""
    if kind is Kind.BOOL:
        found = _BOOLS.get(text)
        if found is None:
            raise MetricError("bad_value", f"{_show(text)} is not a boolean; OVMS writes yes or no")
        return found
    # Python's int() and float() also take spaces, '_' and other scripts' digits: OVMS
    # writes none of them
    if kind is Kind.INT:
        if not _INTEGER.fullmatch(text):
            raise MetricError("bad_value", f"{_show(text)} is not an integer")
        return int(text)
    if not _NUMBER.fullmatch(text):
        raise MetricError("bad_value", f"{_show(text)} is not a number")
    number = float(text)
    if not math.isfinite(number):  # 1e999
        raise MetricError("bad_value", f"{_show(text)} is not a finite number")
    return number


def _show(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def mirrored(path: str) -> str:
    """A door signal's path on the other side of the car (for right-hand drive)."""
    if ".DriverSide." in path:
        return path.replace(".DriverSide.", ".PassengerSide.")
    return path.replace(".PassengerSide.", ".DriverSide.")


_SIDED: Final = frozenset((*vss.DOOR_OPEN, *vss.DOOR_LOCKED))


class CarMetrics:
    """The table compiled for one car: its units and the side its driver sits on."""

    def __init__(
        self,
        *,
        distance: Distance = "km",
        temperature: Temperature = "celsius",
        right_hand_drive: bool = False,
        table: tuple[MetricMap, ...] = METRICS,
    ) -> None:
        self._rows: dict[str, tuple[MetricMap, tuple[Bound, ...]]] = {}
        for row in table:
            unit = None if row.unit is None else in_units(row.unit, distance, temperature)
            targets = tuple(self._target(row, target, unit, right_hand_drive) for target in row.targets)
            self._rows[row.topic] = (row, targets)

    @staticmethod
    def _target(row: MetricMap, target: Target, unit: Unit | None, right_hand_drive: bool) -> Bound:
        path = mirrored(target.path) if right_hand_drive and target.path in _SIDED else target.path
        return bind(f"OVMS metric {row.metric}", path, target.adapt, unit, CONVERSIONS)

    def find(self, topic: str) -> MetricMap | None:
        """The mapped metric on ``<prefix>metric/<topic>``, or ``None``."""
        found = self._rows.get(topic)
        return None if found is None else found[0]

    def decode(self, topic: str, text: str) -> dict[str, Any]:
        """The VSS values one metric's payload sets (empty for a metric not mapped);
        ``MetricError`` if the payload is not a value OVMS writes."""
        found = self._rows.get(topic)
        if found is None:
            return {}
        row, targets = found
        return values(targets, parse(row.kind, text))
