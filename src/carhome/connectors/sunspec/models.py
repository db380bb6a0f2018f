"""SunSpec models as register layouts, compiled from the SunSpec Alliance's definitions.

A SunSpec device lays out its data as a chain of models in holding registers: the marker
``SunS`` at a base address (40000, 50000 or 0), then per model its id, its length and that
many registers, until the id 0xFFFF. What each register means — a point's offset, type,
size and scale factor — is not typed in here: it comes from pysunspec2's JSON model
definitions (``sunspec2.device.get_model_def``), which the Alliance publishes with it.

``layout(model_id)`` turns a definition into offsets once; ``Layout.decode`` reads one
model's registers into ``Decoded`` values. A point a device does not implement carries
SunSpec's marker for "not implemented" (0x8000 for int16, 0xFFFF for uint16 and enums,
NaN for floats, 0 for accumulators …): it decodes to nothing, which is not an error. A
scale factor outside -10…10 is one: the points it scales are then left out and named in
``Decoded.bad``.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sunspec2.device as sunspec_device
import sunspec2.mdef as sunspec_mdef

SUNS: Final = (0x5375, 0x6E53)  # "SunS"
BASES: Final = (40000, 50000, 0)
END: Final = 0xFFFF

# Register counts of fixed-size types (strings carry their own size).
_SIZES: Final[Mapping[str, int]] = {
    "int16": 1,
    "uint16": 1,
    "count": 1,
    "acc16": 1,
    "enum16": 1,
    "bitfield16": 1,
    "pad": 1,
    "sunssf": 1,
    "int32": 2,
    "uint32": 2,
    "acc32": 2,
    "enum32": 2,
    "bitfield32": 2,
    "ipaddr": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "acc64": 4,
    "float64": 4,
    "eui48": 4,
    "ipv6addr": 8,
}
# struct formats of the numeric types, and each one's "not implemented" marker.
_FORMATS: Final[Mapping[str, tuple[str, int | None]]] = {
    "int16": (">h", -0x8000),
    "uint16": (">H", 0xFFFF),
    "count": (">H", 0xFFFF),
    "acc16": (">H", 0),
    "enum16": (">H", 0xFFFF),
    "bitfield16": (">H", 0xFFFF),
    "sunssf": (">h", -0x8000),
    "int32": (">i", -0x80000000),
    "uint32": (">I", 0xFFFFFFFF),
    "acc32": (">I", 0),
    "enum32": (">I", 0xFFFFFFFF),
    "bitfield32": (">I", 0xFFFFFFFF),
    "int64": (">q", -0x8000000000000000),
    "uint64": (">Q", 0xFFFFFFFFFFFFFFFF),
    "acc64": (">Q", 0),
    "float32": (">f", None),
    "float64": (">d", None),
}
SCALE_LIMIT: Final = 10  # the SunSpec information model allows scale factors -10 … 10


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a model: where it is (registers from the model's ID register), its
    type, size, scale factor (a point name or a constant) and unit."""

    name: str
    offset: int
    type: str
    size: int
    sf: str | int | None = None
    units: str | None = None
    symbols: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Layout:
    """A model's fixed points by name, from its definition; ``length`` counts the
    registers after ID and L that the definition lays out."""

    model_id: int
    name: str
    label: str
    points: Mapping[str, Point]
    length: int

    def decode(self, registers: Sequence[int]) -> Decoded:
        """The values of one model's registers (``registers[0]`` is its ID register)."""
        raw: dict[str, Any] = {}
        for point in self.points.values():
            chunk = registers[point.offset : point.offset + point.size]
            if len(chunk) < point.size:
                continue  # a model shorter than its definition: the rest is not there
            value = _decode(point, chunk)
            if value is not None:
                raw[point.name] = value
        return Decoded(self, raw)


@dataclass(frozen=True, slots=True)
class Decoded:
    """One model's implemented points, raw; ``value`` applies scale factors."""

    layout: Layout
    raw: Mapping[str, Any]

    def value(self, name: str) -> Any:
        """The point's value with its scale factor applied, or ``None`` if the device does
        not implement it (or its scale factor)."""
        point = self.layout.points.get(name)
        value = self.raw.get(name)
        if point is None or value is None:
            return None
        sf = self.scale_of(point)
        if point.sf is not None and sf is None:
            return None
        if not sf or not isinstance(value, int | float):
            return value
        return round(value * 10.0**sf, max(0, -sf))

    def scale_of(self, point: Point) -> int | None:
        """The point's scale factor exponent, ``None`` if it has one that is missing or bad."""
        if point.sf is None:
            return 0
        if isinstance(point.sf, int):
            return point.sf
        sf = self.raw.get(point.sf)
        if not isinstance(sf, int) or not -SCALE_LIMIT <= sf <= SCALE_LIMIT:
            return None
        return sf

    @property
    def bad(self) -> list[tuple[str, str]]:
        """Points whose scale factor is out of range, with the reason."""
        out = []
        for point in self.layout.points.values():
            if isinstance(point.sf, str) and point.name in self.raw:
                sf = self.raw.get(point.sf)
                if isinstance(sf, int) and not -SCALE_LIMIT <= sf <= SCALE_LIMIT:
                    out.append((point.name, f"scale factor {point.sf} is {sf}, outside -10 … 10"))
        return out


def _decode(point: Point, chunk: Sequence[int]) -> Any:
    data = b"".join(r.to_bytes(2, "big") for r in chunk)
    if point.type == "string":
        text = data.split(b"\0", 1)[0].decode("utf-8", errors="replace").strip()
        return text or None
    spec = _FORMATS.get(point.type)
    if spec is None:  # pad, addresses: nothing carhome reads
        return None
    fmt, unimplemented = spec
    (value,) = struct.unpack(fmt, data)
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return None if value == unimplemented else value


@functools.cache
def layout(model_id: int) -> Layout | None:
    """The layout of ``model_id`` from pysunspec2's definitions, or ``None`` if the SunSpec
    Alliance defines no such model (a vendor's own, for one)."""
    try:
        definition = sunspec_device.get_model_def(model_id)
    except sunspec_mdef.ModelDefinitionError:
        return None
    group = definition["group"]
    points: dict[str, Point] = {}
    offset = 0
    for pdef in group.get("points", ()):
        kind = str(pdef["type"])
        size = int(pdef["size"]) if kind == "string" else _SIZES.get(kind, int(pdef.get("size", 1)))
        sf = pdef.get("sf")
        if isinstance(sf, str) and sf.lstrip("-").isdigit():
            sf = int(sf)  # a constant written as text; otherwise the name of a sunssf point
        symbols = {int(s["value"]): str(s["name"]) for s in pdef.get("symbols", ()) or ()}
        points[str(pdef["name"])] = Point(
            name=str(pdef["name"]),
            offset=offset,
            type=kind,
            size=size,
            sf=sf,
            units=pdef.get("units"),
            symbols=symbols,
        )
        offset += size
    return Layout(
        model_id=model_id,
        name=str(group.get("name", model_id)),
        label=str(group.get("label", "")),
        points=points,
        length=offset - 2,
    )
