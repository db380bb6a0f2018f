"""Tesla telemetry fields to VSS signals, as data: the table, and the decoding of one value.

fleet-telemetry's MQTT datastore publishes each field of a vehicle's record on its own
topic, its value JSON-encoded (``datastore/mqtt/mqtt_payload.go``): a number, a string, a
boolean, ``{"latitude": …, "longitude": …}`` for a location, an object of six booleans for
the doors, an enum's value name (``DetailedChargeStateCharging``), and ``null`` when the car
says the signal is invalid now. Which type a field comes in is the car's choice and changes
with its software: a number may come as ``12.3`` or as ``"12.3"``, a boolean as ``true`` or
``"true"``. ``FIELDS`` names, for each field carhome maps, how it is encoded, the unit Tesla
sends it in (``units``) and the VSS signals it sets; ``decode`` turns a payload into VSS
values in the signals' units, ``None`` for an invalid value, or a ``FieldError`` with the
reason for a value no car sends. Fields the table does not name are not carhome's to read.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from carhome.connectors.tesla.units import CONVERSIONS, Unit
from carhome.drivers.signals import SKIP, Adapter, Bound, Target, bind, moving, values
from carhome.errors import CarhomeError
from carhome.spec import vss


class Encoding(enum.StrEnum):
    NUMBER = "number"
    BOOL = "bool"
    ENUM = "enum"
    LOCATION = "location"
    DOORS = "doors"


def _words(meanings: Mapping[str, Any]) -> Adapter:
    """An enum value name → the signal's value (``SKIP`` for a name not listed)."""

    def meaning(word: str) -> Any:
        return meanings.get(word, SKIP)

    return meaning


def _item(key: str) -> Adapter:
    def item(value: Mapping[str, Any]) -> Any:
        return value[key]

    return item


@dataclass(frozen=True, slots=True)
class FieldMap:
    """One telemetry field: how it is encoded, the unit it comes in, the signals it sets.

    An enum field names its proto enum's value prefix and every value name after it."""

    field: str
    encoding: Encoding
    targets: tuple[Target, ...]
    unit: Unit | None = None
    enum: str = ""
    values: tuple[str, ...] = ()


_CHARGING: Final = {
    "Charging": True,
    **dict.fromkeys(("Disconnected", "NoPower", "Starting", "Complete", "Stopped"), False),
}
_PLUGGED: Final = {
    "Disconnected": False,
    **dict.fromkeys(("NoPower", "Starting", "Charging", "Complete", "Stopped"), True),
}
_DOOR_KEYS: Final = ("DriverFront", "PassengerFront", "DriverRear", "PassengerRear")
_ROW1_DRIVER, _ROW1_PASSENGER, _ROW2_DRIVER, _ROW2_PASSENGER = vss.DOOR_OPEN

FIELDS: Final[tuple[FieldMap, ...]] = (
    FieldMap("Soc", Encoding.NUMBER, (Target(vss.SOC),), Unit.PERCENT),
    FieldMap("BatteryLevel", Encoding.NUMBER, (Target(vss.SOC_DISPLAYED),), Unit.PERCENT),
    FieldMap("EnergyRemaining", Encoding.NUMBER, (Target(vss.ENERGY),), Unit.KWH),
    FieldMap("EstBatteryRange", Encoding.NUMBER, (Target(vss.RANGE),), Unit.MILES),
    FieldMap("VehicleSpeed", Encoding.NUMBER, (Target(vss.SPEED), Target(vss.IS_MOVING, moving)), Unit.MPH),
    FieldMap("Odometer", Encoding.NUMBER, (Target(vss.ODOMETER),), Unit.MILES),
    FieldMap(
        "Location",
        Encoding.LOCATION,
        (Target(vss.LATITUDE, _item("latitude")), Target(vss.LONGITUDE, _item("longitude"))),
    ),
    FieldMap("GpsHeading", Encoding.NUMBER, (Target(vss.HEADING),), Unit.DEGREES),
    FieldMap("InsideTemp", Encoding.NUMBER, (Target(vss.CABIN_TEMPERATURE),), Unit.CELSIUS),
    FieldMap("OutsideTemp", Encoding.NUMBER, (Target(vss.OUTSIDE_TEMPERATURE),), Unit.CELSIUS),
    FieldMap("HvacLeftTemperatureRequest", Encoding.NUMBER, (Target(vss.HVAC_SET_POINT),), Unit.CELSIUS),
    FieldMap(
        "HvacPower",
        Encoding.ENUM,
        (
            Target(
                vss.AC_ACTIVE,
                _words({"Off": False, "On": True, "Precondition": True, "OverheatProtect": True}),
            ),
        ),
        enum="HvacPowerState",
        values=("Unknown", "Off", "On", "Precondition", "OverheatProtect"),
    ),
    FieldMap("ChargeLimitSoc", Encoding.NUMBER, (Target(vss.CHARGE_LIMIT),), Unit.PERCENT),
    FieldMap("ChargeAmps", Encoding.NUMBER, (Target(vss.CHARGE_CURRENT),), Unit.AMPS),
    FieldMap("ChargeRateMilePerHour", Encoding.NUMBER, (Target(vss.CHARGE_RATE),), Unit.MPH),
    FieldMap("TimeToFullCharge", Encoding.NUMBER, (Target(vss.TIME_TO_COMPLETE),), Unit.HOURS),
    FieldMap(
        "DetailedChargeState",
        Encoding.ENUM,
        (Target(vss.IS_CHARGING, _words(_CHARGING)), Target(vss.CABLE_CONNECTED, _words(_PLUGGED))),
        enum="DetailedChargeState",
        values=("Unknown", "Disconnected", "NoPower", "Starting", "Charging", "Complete", "Stopped"),
    ),
    FieldMap("ChargePortDoorOpen", Encoding.BOOL, (Target(vss.PORT_FLAP_OPEN),)),
    FieldMap(
        "ChargePortLatch",
        Encoding.ENUM,
        (Target(vss.CABLE_LOCKED, _words({"Engaged": True, "Disengaged": False})),),
        enum="ChargePortLatch",
        values=("Unknown", "SNA", "Disengaged", "Engaged", "Blocking"),
    ),
    FieldMap("Locked", Encoding.BOOL, tuple(Target(p) for p in vss.DOOR_LOCKED)),
    FieldMap(
        "DoorState",
        Encoding.DOORS,
        (
            Target(_ROW1_DRIVER, _item("DriverFront")),
            Target(_ROW1_PASSENGER, _item("PassengerFront")),
            Target(_ROW2_DRIVER, _item("DriverRear")),
            Target(_ROW2_PASSENGER, _item("PassengerRear")),
            Target(vss.TRUNK_OPEN, _item("TrunkRear")),
        ),
    ),
)
"""The fields carhome maps (names from fleet-telemetry's ``vehicle_data.proto``)."""


class FieldError(CarhomeError, ValueError):
    """A field's payload is not a value a car sends (``code`` for counting, ``reason``)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Location(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    latitude: float
    longitude: float


class _Doors(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="pascal"):
    driver_front: bool
    passenger_front: bool
    driver_rear: bool
    passenger_rear: bool
    trunk_front: bool
    trunk_rear: bool


_DECODERS: Final[Mapping[Encoding, msgspec.json.Decoder[Any]]] = {
    Encoding.NUMBER: msgspec.json.Decoder(float | str | None),
    Encoding.BOOL: msgspec.json.Decoder(bool | str | None),
    Encoding.ENUM: msgspec.json.Decoder(str | None),
    Encoding.LOCATION: msgspec.json.Decoder(_Location | None),
    Encoding.DOORS: msgspec.json.Decoder(_Doors | None),
}
_EXPECTED: Final = {
    Encoding.NUMBER: "a number (or one written as a string)",
    Encoding.BOOL: "true or false",
    Encoding.ENUM: "an enum value name",
    Encoding.LOCATION: 'an object {"latitude": …, "longitude": …}',
    Encoding.DOORS: "an object of the six doors' booleans",
}
_BOOL_WORDS: Final = {"true": True, "false": False}


class Fields:
    """The table compiled: ``decode`` a field's payload into VSS values."""

    def __init__(self, table: tuple[FieldMap, ...] = FIELDS) -> None:
        self._rows: dict[str, tuple[FieldMap, tuple[Bound, ...]]] = {}
        for row in table:
            self._rows[row.field] = (row, tuple(self._target(row, t) for t in row.targets))

    @staticmethod
    def _target(row: FieldMap, target: Target) -> Bound:
        return bind(f"Tesla field {row.field}", target.path, target.adapt, row.unit, CONVERSIONS)

    def find(self, field: str) -> FieldMap | None:
        found = self._rows.get(field)
        return None if found is None else found[0]

    def decode(self, field: str, payload: bytes) -> dict[str, Any] | None:
        """The VSS values of one field's payload (empty for a field not mapped), ``None`` when
        the car says the value is invalid now; ``FieldError`` for a value no car sends."""
        found = self._rows.get(field)
        if found is None:
            return {}
        row, targets = found
        try:
            raw = _DECODERS[row.encoding].decode(payload)
        except msgspec.ValidationError:  # JSON, of the wrong type (a subclass: caught first)
            raise FieldError("bad_value", f"field {field}: expected {_EXPECTED[row.encoding]}") from None
        except msgspec.DecodeError:
            raise FieldError("bad_json", f"field {field}: the value is not JSON") from None
        if raw is None:
            return None
        return values(targets, _value(row, raw))


def _value(row: FieldMap, raw: Any) -> Any:
    """``raw`` (as decoded) as the value the targets take; ``FieldError`` if no car sends it."""
    if row.encoding is Encoding.NUMBER:
        if isinstance(raw, str):
            try:
                raw = float(raw)
            except ValueError:
                raise FieldError("bad_value", f"field {row.field}: {_show(raw)} is not a number") from None
        if not math.isfinite(raw):
            raise FieldError("bad_value", f"field {row.field}: {_show(str(raw))} is not a finite number")
        return raw
    if row.encoding is Encoding.BOOL:
        if isinstance(raw, str):
            found = _BOOL_WORDS.get(raw.lower())
            if found is None:
                raise FieldError("bad_value", f"field {row.field}: {_show(raw)} is not true or false")
            return found
        return raw
    if row.encoding is Encoding.ENUM:
        word = raw.removeprefix(row.enum)
        if word not in row.values:
            raise FieldError(
                "bad_value",
                f"field {row.field}: {_show(raw)} is not a {row.enum} value; known: {', '.join(row.values)}",
            )
        return word
    if row.encoding is Encoding.LOCATION:
        return {"latitude": raw.latitude, "longitude": raw.longitude}
    return {key: getattr(raw, _snake(key)) for key in (*_DOOR_KEYS, "TrunkFront", "TrunkRear")}


def _snake(pascal: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in pascal).lstrip("_")


def _show(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")
