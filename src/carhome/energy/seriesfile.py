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

A series holds at most ``MAX_CHARS`` characters (a year of quarter-hour slots fits) and
its JSON nests no deeper than a slot's object; anything bigger or deeper is refused before
it is decoded. ``past_warning`` says when a file decodes but holds no price from now on.
JSON is decoded by msgspec; where each object starts (for an error's line) is
worked out only when there is an error to report.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import msgspec

from carhome.errors import ConfigError
from carhome.prices.series import QUARTER_HOUR, SlotSeries

MAX_CHARS: Final = 4 * 1024 * 1024
"""The longest series text, in characters."""
_ECHO: Final = 60
"""How much of a bad value an error message repeats."""


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
        with file.open(encoding="utf-8") as stream:
            text = stream.read(MAX_CHARS + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the series file: {exc}", file=str(file)) from exc
    parse = parse_json if file.suffix.lower() == ".json" else parse_csv
    return parse(text, source=str(file), non_negative=non_negative, slot=slot)


def past_warning(series: SlotSeries, now: datetime, *, source: str = "the price file") -> str | None:
    """A warning when every slot of ``series`` is over by ``now`` (a January file loaded in
    March): it decodes, but gives the planner no price for the hours ahead."""
    if series.end > now:
        return None
    zone = series.start.tzinfo
    return (
        f"every price in {source} is in the past ({series.start:%Y-%m-%d %H:%M} to"
        f" {series.end.astimezone(zone):%Y-%m-%d %H:%M}, now is {now.astimezone(zone):%Y-%m-%d %H:%M}):"
        " the plans have no price ahead and charge at once; load the prices of the coming hours"
    )


def parse_csv(
    text: str, *, source: str = "<csv>", non_negative: bool = False, slot: timedelta = QUARTER_HOUR
) -> SlotSeries:
    """Decode CSV text (see the module docstring)."""
    _check_size(text, source)
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
    _check_size(text, source)
    lines = _SlotLines(text)
    try:
        document = _json_decoder.decode(text)
    except msgspec.ValidationError as exc:
        raise _refusal(exc, source, lines) from None
    except msgspec.DecodeError as exc:
        found = _BYTE.search(str(exc))
        line = None if found is None else text.encode()[: int(found.group(1))].count(b"\n") + 1
        raise ConfigError(f"not valid JSON: {exc}", file=source, line=line) from None
    except RecursionError:
        raise ConfigError("the JSON is nested too deeply; a series is a list of slots", file=source) from None
    unit, slots = ("", document) if isinstance(document, list) else (document.unit, document.slots)
    lines.first = 0 if isinstance(document, list) else 1
    rows: list[_Row] = []
    for i, item in enumerate(slots):
        try:  # a row's line is its index until an error asks where that slot is written
            rows.append(
                _Row(
                    line=i,
                    start=_timestamp(item.start, source, i),
                    end=None if item.end is None else _timestamp(item.end, source, i),
                    value=_number(item.value, source, i, non_negative=non_negative),
                )
            )
        except ConfigError as exc:
            raise ConfigError(exc.reason, file=source, line=lines.of(i)) from None
    return _series(rows, source, slot, unit=unit, line_of=lines.of)


class _JsonSlot(msgspec.Struct, forbid_unknown_fields=True):
    start: str
    value: float
    end: str | None = None


class _JsonSeries(msgspec.Struct, forbid_unknown_fields=True):
    slots: list[_JsonSlot]
    unit: str = ""


# typed, so nothing the format has no place for is ever built, however deep or wide it is
_json_decoder: Final = msgspec.json.Decoder(list[_JsonSlot] | _JsonSeries)
_BYTE: Final = re.compile(r"\(byte (\d+)\)")
_AT_SLOT: Final = re.compile(r"^(.*) - at `\$(?:\.slots)?\[(\d+)\](?:\.(\w+))?`$", re.DOTALL)
_FIELD: Final = re.compile(r"field `(\w+)`")
_ALLOWED: Final = {False: "'unit', 'slots'", True: "'start', 'end', 'value'"}


def _refusal(exc: msgspec.ValidationError, source: str, lines: _SlotLines) -> ConfigError:
    """A validation error in words of the format, at the line of the slot it is in."""
    message = str(exc)
    at = _AT_SLOT.match(message)
    lines.first = 1 if "$.slots" in message else 0
    reason, index, key = (at.group(1), int(at.group(2)), at.group(3)) if at else (message, None, None)
    named = _FIELD.search(reason)
    field = None if named is None else named.group(1)
    if reason.startswith("Object contains unknown") and field:
        words = f"unknown key {field!r}; allowed: {_ALLOWED[index is not None]}"
    elif reason.startswith("Object missing required") and field:
        words = f"missing key {field!r}"
    elif key == "value":
        words = f"a value must be a number ({reason})"
    elif key in ("start", "end"):
        words = f"a time must be an ISO 8601 string ({reason})"
    elif index is not None:
        words = f"a slot must be an object ({reason})"
    elif message.endswith("`$.unit`"):
        words = "'unit' must be a string"
    else:
        words = f"expected a list of slots, or an object with 'slots' ({message})"
    return ConfigError(words, file=source, line=1 if index is None else lines.of(index))


class _SlotLines:
    """The line where each slot's object opens, found only when an error needs one: the
    n-th ``{`` outside strings opens the n-th object (after the document's own, if any)."""

    _TOKEN: Final = re.compile(r'"(?:[^"\\]|\\.)*"|\{')

    def __init__(self, text: str) -> None:
        self._text = text
        self._opens: list[int] = []
        self._tokens = self._TOKEN.finditer(text)
        self.first = 0
        """How many objects open before the first slot's (the document's own)."""

    def of(self, index: int) -> int:
        wanted = index + self.first
        for token in self._tokens:
            if len(self._opens) > wanted:
                break
            if token.group() == "{":
                self._opens.append(token.start())
        if wanted >= len(self._opens):
            return 1
        return self._text.count("\n", 0, self._opens[wanted]) + 1


def _series(
    rows: list[_Row],
    source: str,
    default_slot: timedelta,
    *,
    unit: str,
    line_of: Callable[[int], int] = int,
) -> SlotSeries:
    """The series of ``rows``; ``line_of`` turns a row's ``line`` into its line in the text
    (for JSON, a row's ``line`` is its slot's index)."""
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
        raise ConfigError("a slot must end after it starts", file=source, line=line_of(first.line))
    expected = first.start
    for row in rows:
        if row.start > expected:
            raise ConfigError(
                f"gap: the previous slot ends at {expected.isoformat()} "
                f"but this one starts at {row.start.isoformat()}",
                file=source,
                line=line_of(row.line),
            )
        if row.start < expected:
            raise ConfigError(
                f"overlap: this slot starts at {row.start.isoformat()}, before the "
                f"previous one ends at {expected.isoformat()}",
                file=source,
                line=line_of(row.line),
            )
        if row.end is not None and row.end - row.start != slot:
            raise ConfigError(
                f"every slot must last {slot}, this one lasts {row.end - row.start}",
                file=source,
                line=line_of(row.line),
            )
        expected = row.start + slot
    return SlotSeries(first.start, slot, tuple(r.value for r in rows), unit)


def _timestamp(raw: object, source: str, line: int) -> datetime:
    if not isinstance(raw, str):
        raise ConfigError(f"a time must be an ISO 8601 string, got {_echo(raw)}", file=source, line=line)
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"not an ISO 8601 time: {_echo(raw)}", file=source, line=line) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ConfigError(
            f"the time {_echo(raw)} needs an offset such as +01:00 or Z", file=source, line=line
        )
    return when


def _value(raw: str, source: str, line: int, *, non_negative: bool) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"not a number: {_echo(raw)}", file=source, line=line) from None
    return _number(value, source, line, non_negative=non_negative, written=raw)


def _number(value: float, source: str, line: int, *, non_negative: bool, written: object = None) -> float:
    shown = _echo(value if written is None else written)
    if not math.isfinite(value):
        raise ConfigError(f"not a finite number: {shown}", file=source, line=line)
    if non_negative and value < 0:
        raise ConfigError(f"a power cannot be negative: {shown}", file=source, line=line)
    return value


def _check_size(text: str, source: str) -> None:
    if len(text) > MAX_CHARS:
        raise ConfigError(
            f"the series is longer than {MAX_CHARS} characters; send fewer slots (a day or a week)",
            file=source,
        )


def _echo(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= _ECHO else shown[: _ECHO - 1] + "…"
