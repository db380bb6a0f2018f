"""Price and forecast files decoded at the edge into ``SlotSeries``.

Two formats, one meaning: a list of slots, each with a start (ISO 8601 with an offset),
optionally an end, and a value.

CSV — a header naming the columns, then one slot a line; ``#`` starts a comment::

    start,value
    2025-01-06T00:00:00+01:00,0.231
    2025-01-06T00:15:00+01:00,0.224

JSON — a list of slot objects, or an object ``{"unit": "EUR/kWh", "slots": [...]}``::

    {"unit": "EUR/kWh", "slots": [{"start": "2025-01-06T00:00:00+01:00", "value": 0.231}]}

Without an ``end``, the slot length is the shortest step between starts (15 minutes for
a single slot). A slot that does not begin where the previous one ended is a gap or an
overlap; it, a bad timestamp, a bad value or an unknown key is refused as a ``ConfigError``
naming the file, the line and the reason.
"""

from __future__ import annotations

import itertools
import json
import json.decoder
import json.scanner
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from carhome.energy.series import QUARTER_HOUR, SlotSeries
from carhome.errors import ConfigError


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    start: datetime
    end: datetime | None
    value: float


def load_series(
    path: str | Path, *, non_negative: bool = False, slot: timedelta = QUARTER_HOUR
) -> SlotSeries:
    """Read a ``.csv`` or ``.json`` series file; ``non_negative`` for power forecasts."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the series file: {exc}", file=str(file)) from exc
    parse = parse_json if file.suffix.lower() == ".json" else parse_csv
    return parse(text, source=str(file), non_negative=non_negative, slot=slot)


def parse_csv(
    text: str, *, source: str = "<csv>", non_negative: bool = False, slot: timedelta = QUARTER_HOUR
) -> SlotSeries:
    """Decode CSV text (see the module docstring)."""
    header: list[str] | None = None
    rows: list[_Row] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.split(",")]
        if header is None:
            header = cells
            if header not in (["start", "value"], ["start", "end", "value"]):
                raise ConfigError(
                    f"the header must be 'start,value' or 'start,end,value', got {line!r}",
                    file=source,
                    line=number,
                )
            continue
        if len(cells) != len(header):
            raise ConfigError(
                f"expected {len(header)} columns ({','.join(header)}), got {len(cells)}",
                file=source,
                line=number,
            )
        cell = dict(zip(header, cells, strict=True))
        rows.append(
            _Row(
                line=number,
                start=_timestamp(cell["start"], source, number),
                end=_timestamp(cell["end"], source, number) if "end" in cell else None,
                value=_value(cell["value"], source, number, non_negative=non_negative),
            )
        )
    if header is None:
        raise ConfigError("the file is empty; expected a header 'start,value' and slots", file=source)
    return _series(rows, source, slot, unit="")


def parse_json(
    text: str, *, source: str = "<json>", non_negative: bool = False, slot: timedelta = QUARTER_HOUR
) -> SlotSeries:
    """Decode JSON text (see the module docstring)."""
    document, line_of = _decode_with_lines(text, source)
    unit = ""
    slots: Any = document
    if isinstance(document, dict):
        unknown = sorted(set(document) - {"unit", "slots"})
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r}; allowed: 'unit', 'slots'", file=source, line=line_of(document)
            )
        if "slots" not in document:
            raise ConfigError("missing key 'slots'", file=source, line=line_of(document))
        unit_value = document.get("unit", "")
        if not isinstance(unit_value, str):
            raise ConfigError("'unit' must be a string", file=source, line=line_of(document))
        unit, slots = unit_value, document["slots"]
    if not isinstance(slots, list):
        raise ConfigError("expected a list of slots", file=source, line=1)
    rows: list[_Row] = []
    for item in slots:
        if not isinstance(item, dict):
            raise ConfigError(
                f"a slot must be an object, got {item!r}", file=source, line=rows[-1].line if rows else 1
            )
        number = line_of(item)
        unknown = sorted(set(item) - {"start", "end", "value"})
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r}; allowed: 'start', 'end', 'value'", file=source, line=number
            )
        for key in ("start", "value"):
            if key not in item:
                raise ConfigError(f"missing key {key!r}", file=source, line=number)
        value = item["value"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"a value must be a number, got {value!r}", file=source, line=number)
        rows.append(
            _Row(
                line=number,
                start=_timestamp(item["start"], source, number),
                end=_timestamp(item["end"], source, number) if "end" in item else None,
                value=_value(repr(value), source, number, non_negative=non_negative),
            )
        )
    return _series(rows, source, slot, unit=unit)


def _series(rows: list[_Row], source: str, default_slot: timedelta, *, unit: str) -> SlotSeries:
    if not rows:
        raise ConfigError("the file holds no slots", file=source)
    first = rows[0]
    if first.end is not None:
        slot = first.end - first.start
    else:
        # the shortest step between starts: a missing slot then shows as a gap, not a new length
        steps = [b.start - a.start for a, b in itertools.pairwise(rows)]
        slot = min((s for s in steps if s > timedelta(0)), default=default_slot)
    if slot <= timedelta(0):
        raise ConfigError("a slot must end after it starts", file=source, line=first.line)
    expected = first.start
    for row in rows:
        if row.start > expected:
            raise ConfigError(
                f"gap: the previous slot ends at {expected.isoformat()} "
                f"but this one starts at {row.start.isoformat()}",
                file=source,
                line=row.line,
            )
        if row.start < expected:
            raise ConfigError(
                f"overlap: this slot starts at {row.start.isoformat()}, before the "
                f"previous one ends at {expected.isoformat()}",
                file=source,
                line=row.line,
            )
        if row.end is not None and row.end - row.start != slot:
            raise ConfigError(
                f"every slot must last {slot}, this one lasts {row.end - row.start}",
                file=source,
                line=row.line,
            )
        expected = row.start + slot
    return SlotSeries(first.start, slot, tuple(r.value for r in rows), unit)


def _timestamp(raw: object, source: str, line: int) -> datetime:
    if not isinstance(raw, str):
        raise ConfigError(f"a time must be an ISO 8601 string, got {raw!r}", file=source, line=line)
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"not an ISO 8601 time: {raw!r}", file=source, line=line) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ConfigError(f"the time {raw!r} needs an offset such as +01:00 or Z", file=source, line=line)
    return when


def _value(raw: str, source: str, line: int, *, non_negative: bool) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"not a number: {raw!r}", file=source, line=line) from None
    if not math.isfinite(value):
        raise ConfigError(f"not a finite number: {raw!r}", file=source, line=line)
    if non_negative and value < 0:
        raise ConfigError(f"a power cannot be negative: {raw!r}", file=source, line=line)
    return value


_py_make_scanner: Callable[[Any], Any] = json.scanner.py_make_scanner  # type: ignore[attr-defined]


def _decode_with_lines(text: str, source: str) -> tuple[Any, Callable[[object], int]]:
    """Decode JSON and remember the line where each object starts.

    The C scanner keeps no positions, so this uses the standard library's pure-Python
    scanner with its object parser wrapped to record where each object began.
    """
    starts: dict[int, int] = {}
    keep: list[object] = []
    decoder: Any = json.JSONDecoder()
    json_object: Callable[..., tuple[Any, int]] = json.decoder.JSONObject  # type: ignore[attr-defined]

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
        s, end = s_and_end
        obj, after = json_object(s_and_end, *args)
        starts[id(obj)] = s.count("\n", 0, end) + 1
        keep.append(obj)
        return obj, after

    decoder.parse_object = parse_object
    decoder.scan_once = _py_make_scanner(decoder)
    try:
        document = decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg}", file=source, line=exc.lineno) from exc
    except RecursionError as exc:
        raise ConfigError("the JSON is nested too deeply", file=source) from exc

    def line_of(obj: object) -> int:
        return starts.get(id(obj), 1)

    return document, line_of
