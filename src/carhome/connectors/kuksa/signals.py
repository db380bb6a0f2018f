"""The car's VSS signals as KUKSA sees them: ids, metadata, paths, values on the wire.

A ``SignalTree`` is built once per served car from carhome's VSS catalog and the car's
device spec: every catalog signal the spec has becomes a KUKSA signal with a stable id (its
place in the catalog, from 1, since 0 is protobuf's "not set"), its VSS datatype and entry
type, unit, range and allowed values. The range and allowed values served are the ones
the hub enforces: the standard's, narrowed where the car's spec narrows them (VSS gives the
HVAC set point none; the car takes 15 to 28 °C), so an app learns from the metadata what
an actuation will be refused for. The hub's derived properties (place, distance to home)
are not VSS signals and are not served.

Values cross the wire in one field of a protobuf oneof chosen by the datatype (``uint8``
travels as ``uint32``, ``float`` as ``float`` …). Decoding accepts any field of the right
family (any integer field for an integer signal, ``float`` or ``double`` for a floating one)
and leaves range checks to the device spec, so the reason for a bad value is the one every
other face gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import grpc

from carhome.connectors.kuksa.errors import SignalError
from carhome.spec import DeviceSpec, InvalidValue, PropertySpec
from carhome.spec.vss import CATALOG, Signal

# The oneof field a value of each VSS datatype travels in (v1 Datapoint and v2 Value alike).
WIRE_FIELD: Final[dict[str, str]] = {
    "boolean": "bool",
    "string": "string",
    "float": "float",
    "double": "double",
    "uint8": "uint32",
    "uint16": "uint32",
    "uint32": "uint32",
    "int8": "int32",
    "int16": "int32",
    "int32": "int32",
}
_INT_FIELDS: Final = frozenset({"int32", "int64", "uint32", "uint64"})
_FLOAT_FIELDS: Final = frozenset({"float", "double"})
# Which incoming fields each datatype accepts (the spec then checks the range).
_ACCEPTS: Final[dict[str, frozenset[str]]] = {
    datatype: _INT_FIELDS
    if field in _INT_FIELDS
    else _FLOAT_FIELDS
    if field in _FLOAT_FIELDS
    else frozenset({field})
    for datatype, field in WIRE_FIELD.items()
}


@dataclass(frozen=True, slots=True)
class KuksaSignal:
    """One served signal: its VSS definition, its KUKSA id and the car property behind it."""

    id: int
    signal: Signal
    prop: PropertySpec

    @property
    def path(self) -> str:
        return self.signal.path

    @property
    def entry_type(self) -> str:
        """``sensor``, ``actuator`` or ``attribute`` (VSS's word)."""
        return self.signal.kind

    @property
    def wire_field(self) -> str:
        return WIRE_FIELD[self.signal.datatype]

    @property
    def minimum(self) -> float | None:
        """The least value the hub takes: the spec's where it narrows the standard's."""
        return self._bound(self.prop.minimum, self.signal.minimum, self.signal.as_property().minimum)

    @property
    def maximum(self) -> float | None:
        """The greatest value the hub takes: the spec's where it narrows the standard's."""
        return self._bound(self.prop.maximum, self.signal.maximum, self.signal.as_property().maximum)

    @property
    def allowed(self) -> tuple[str, ...] | None:
        return self.prop.allowed

    @staticmethod
    def _bound(spec: float | None, standard: float | None, implied: float | None) -> float | None:
        # A spec bound that is only the datatype's own limit (uint8: 0..255) adds nothing
        # a KUKSA client does not know from the datatype; the databroker leaves it out too.
        return standard if spec == implied else spec

    def check(self, value: Any) -> Any:
        """``value`` as the car's spec takes it; ``SignalError(INVALID_ARGUMENT)`` saying why not."""
        try:
            return self.prop.check(value)
        except InvalidValue as exc:
            tail = f"; allowed: {exc.allowed}" if exc.allowed else ""
            raise SignalError(grpc.StatusCode.INVALID_ARGUMENT, f"{self.path}: {exc.reason}{tail}") from None

    def decode(self, message: Any, oneof: str) -> Any:
        """The Python value in ``message`` (a v2 ``Value`` or v1 ``Datapoint``), type-checked.

        Raises ``SignalError(INVALID_ARGUMENT)`` when the message holds no value or a value
        of another type; ``oneof`` names the message's value oneof.
        """
        field = message.WhichOneof(oneof)
        if field is None:
            raise SignalError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{self.path}: no value given; send a {self.signal.datatype} in the {self.wire_field} field",
            )
        if field not in _ACCEPTS[self.signal.datatype]:
            raise SignalError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{self.path} is a {self.signal.datatype}; got a {field} value"
                f" (send it in the {self.wire_field} field)",
            )
        value = getattr(message, field)
        if field == "float":
            # A 32-bit float carries about 7 significant digits; 21.3 arrives as
            # 21.299999237060547 and would be stored so. Keep what the sender meant.
            value = float(f"{value:.7g}")
        return value

    def encode(self, value: Any, message: Any) -> None:
        """Put ``value`` into ``message`` (a v2 ``Value`` or v1 ``Datapoint``)."""
        setattr(message, self.wire_field, value)


_SEGMENT: Final = re.compile(r"[A-Za-z0-9_]+")


class SignalTree:
    """The served signals of one car, by path and by id, with branch and wildcard lookups."""

    def __init__(self, spec: DeviceSpec, catalog: Iterable[Signal] = CATALOG) -> None:
        signals = [
            KuksaSignal(index, sig, spec.properties[sig.path])
            for index, sig in enumerate(catalog, start=1)
            if sig.path in spec.properties
        ]
        self.by_path: dict[str, KuksaSignal] = {s.path: s for s in signals}
        self.by_id: dict[int, KuksaSignal] = {s.id: s for s in signals}

    def __iter__(self) -> Iterator[KuksaSignal]:
        return iter(self.by_path.values())

    def get(self, path: str) -> KuksaSignal:
        """The signal at ``path``; ``SignalError(NOT_FOUND)`` naming the nearest branch if none."""
        found = self.by_path.get(path)
        if found is None:
            raise SignalError(grpc.StatusCode.NOT_FOUND, self._not_found(path))
        return found

    def get_id(self, signal_id: int) -> KuksaSignal:
        found = self.by_id.get(signal_id)
        if found is None:
            raise SignalError(
                grpc.StatusCode.NOT_FOUND,
                f"no signal with id {signal_id}; ids run from 1 to {max(self.by_id, default=0)}"
                " (ListMetadata gives each signal's id)",
            )
        return found

    def resolve(self, signal_id: Any) -> KuksaSignal:
        """The signal a v2 ``SignalID`` names, by path or by id."""
        which = signal_id.WhichOneof("signal")
        if which == "path":
            return self.get(signal_id.path)
        if which == "id":
            return self.get_id(signal_id.id)
        raise SignalError(grpc.StatusCode.INVALID_ARGUMENT, "the SignalID gives neither a path nor an id")

    def match(self, pattern: str) -> list[KuksaSignal]:
        """Every signal under ``pattern``: a leaf, a branch, or a glob (``*`` one level, ``**`` any).

        An empty pattern means the whole tree. ``SignalError(NOT_FOUND)`` if nothing matches,
        ``INVALID_ARGUMENT`` if the pattern is not a path.
        """
        if pattern in ("", "*", "**"):
            return list(self.by_path.values())
        leaf = self.by_path.get(pattern)
        if leaf is not None:
            return [leaf]
        parts = pattern.split(".")
        if not all(p in ("*", "**") or _SEGMENT.fullmatch(p) for p in parts):
            raise SignalError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{pattern!r} is not a VSS path or pattern: use dot-separated names,"
                " '*' for one level and '**' for any number of levels",
            )
        regex = re.compile(_glob(parts))
        found = [s for s in self.by_path.values() if regex.fullmatch(s.path)]
        if not found:
            raise SignalError(grpc.StatusCode.NOT_FOUND, self._not_found(pattern))
        return found

    def _not_found(self, path: str) -> str:
        branch = path
        while "." in branch:
            branch = branch.rsplit(".", 1)[0]
            under = sorted(p for p in self.by_path if p.startswith(branch + "."))
            if under:
                shown = ", ".join(under[:8]) + (f" … ({len(under)} in all)" if len(under) > 8 else "")
                return f"no signal {path!r} on this car; under {branch}: {shown}"
        return f"no signal {path!r} on this car; its signals are under Vehicle (ListMetadata lists them)"


def _glob(parts: list[str]) -> str:
    """A regex for a dotted pattern; a name alone also matches everything under it."""
    out: list[str] = []
    for index, part in enumerate(parts):
        sep = r"\." if index else ""
        if part == "**":
            out.append(r"(?:\.[^.]+)*" if index else r"[^.]+(?:\.[^.]+)*")
        else:
            out.append(sep + (r"[^.]+" if part == "*" else re.escape(part)))
    if parts[-1] not in ("*", "**"):
        out.append(r"(?:\.[^.]+)*")  # a branch: every signal below it
    return "".join(out)
