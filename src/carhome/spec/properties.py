"""What a device type offers, as data: properties, actions with typed arguments, events.

A ``DeviceSpec`` is plain data that every face can render. Checking a value against a
property is done by a checker compiled once per property (``PropertySpec.check``), so the
ingest path costs one call and a few comparisons per change.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from carhome.errors import CarhomeError


class Format(enum.StrEnum):
    """The type of a property or argument value on the wire (JSON)."""

    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    STRING = "string"


class Access(enum.IntFlag):
    """Whether a property can be read, written by a command, and is reported on change."""

    READ = 1
    WRITE = 2
    NOTIFY = 4
    RN = READ | NOTIFY
    RWN = READ | WRITE | NOTIFY


class InvalidValue(CarhomeError, ValueError):
    """A value breaks a property's format, range or allowed values (no device attached yet)."""

    def __init__(self, code: str, reason: str, allowed: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.allowed = allowed


Checker = Callable[[Any], Any]

Intake = tuple[float, float, Checker]
"""How ingest takes one property's value with no call in the common case: a float in
[low, high] that is finite is taken as it came (what the checker would return); anything
else goes to the checker. A property that is not a float has bounds no float is in."""

_NO_FLOAT = (math.inf, -math.inf)  # low > high: every float goes to the checker


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One property (or one action argument): its format, unit, range and access."""

    name: str
    format: Format
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] | None = None
    access: Access = Access.RN
    description: str = ""
    derived: bool = False
    check: Checker = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "check", _compile(self))

    @property
    def writable(self) -> bool:
        return bool(self.access & Access.WRITE)

    def describe_allowed(self) -> str:
        """What values this property takes, in words for error messages."""
        if self.allowed is not None:
            return "one of " + ", ".join(repr(a) for a in self.allowed)
        unit = f" {self.unit}" if self.unit else ""
        if self.minimum is not None and self.maximum is not None:
            return f"{self.format} from {_num(self.minimum)} to {_num(self.maximum)}{unit}"
        if self.minimum is not None:
            return f"{self.format} at least {_num(self.minimum)}{unit}"
        if self.maximum is not None:
            return f"{self.format} at most {_num(self.maximum)}{unit}"
        return f"a {self.format}{unit}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _show(value: object) -> str:
    """``repr(value)`` cut to a readable length, for messages about values from outside."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than sys.get_int_max_str_digits()
        return f"<{type(value).__name__} too large to show>"
    return text if len(text) <= 80 else f"{text[:77]}..."


def _float_bounds(spec: PropertySpec) -> tuple[float, float]:
    """The range in which a float of ``spec`` passes its checker unchanged (if finite)."""
    if spec.format is not Format.FLOAT:
        return _NO_FLOAT
    return (
        -math.inf if spec.minimum is None else spec.minimum,
        math.inf if spec.maximum is None else spec.maximum,
    )


def _compile(spec: PropertySpec) -> Checker:
    """Build the one function that checks and normalises a value for ``spec``."""
    lo, hi, fmt = spec.minimum, spec.maximum, spec.format
    allowed_words = spec.describe_allowed

    def out_of_range(value: float) -> InvalidValue:
        return InvalidValue("out_of_range", f"{_show(value)} is out of range", allowed_words())

    def wrong_type(value: object) -> InvalidValue:
        kind = type(value).__name__
        return InvalidValue("wrong_type", f"expected {fmt}, got {kind} {_show(value)}", allowed_words())

    if fmt is Format.BOOL:

        def check_bool(value: Any) -> bool:
            if value is True or value is False:
                return value
            raise wrong_type(value)

        return check_bool

    if fmt is Format.STRING:
        options = frozenset(spec.allowed) if spec.allowed is not None else None

        def check_string(value: Any) -> str:
            if type(value) is not str:
                raise wrong_type(value)
            if options is not None and value not in options:
                raise InvalidValue("not_allowed", f"{_show(value)} is not allowed", allowed_words())
            return value

        return check_string

    if fmt is Format.INT:

        def check_int(value: Any) -> int:
            kind = type(value)
            if kind is float and value.is_integer():
                value = int(value)
            elif kind is not int:
                raise wrong_type(value)
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise out_of_range(value)
            return int(value)

        return check_int

    # The common case first: a float already, finite and in range, is returned as it came
    # (a NaN fails every comparison, an infinity the bounds or the finiteness test, and
    # both fall to the full check below, which says why).
    low = -math.inf if lo is None else lo
    high = math.inf if hi is None else hi
    isfinite = math.isfinite

    def check_float(value: Any) -> float:
        if type(value) is float and low <= value <= high and isfinite(value):
            return value
        return check_any_float(value)

    def check_bounded_float(value: Any) -> float:  # finite bounds: in them is finite
        if type(value) is float and low <= value <= high:
            return value
        return check_any_float(value)

    def check_any_float(value: Any) -> float:
        kind = type(value)
        if kind is int:
            try:
                value = float(value)
            except OverflowError:  # beyond any float: certainly out of range
                raise out_of_range(value) from None
        elif kind is not float:
            raise wrong_type(value)
        if not math.isfinite(value):
            raise InvalidValue("wrong_type", f"{_show(value)} is not a finite number", allowed_words())
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise out_of_range(value)
        return float(value)

    if lo is not None and hi is not None and isfinite(lo) and isfinite(hi):
        return check_bounded_float
    return check_float


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """An action a device runs on command, with typed arguments.

    ``domain`` names a safety-critical domain (car doors, home locks, charging …) whose
    commands must later carry an end-to-end signature; ``None`` for ordinary actions.
    ``sets`` documents which properties the action is expected to change.
    """

    name: str
    args: tuple[PropertySpec, ...] = ()
    optional: frozenset[str] = frozenset()
    description: str = ""
    domain: str | None = None
    sets: tuple[str, ...] = ()

    def check_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Return the arguments normalised, or raise ``InvalidValue`` naming the culprit."""
        if not args and not self.args:  # most actions (turn_on, lock …): nothing to check
            return {}
        known = {a.name: a for a in self.args}
        unknown = sorted(set(args) - set(known))
        if unknown:
            words = ", ".join(known) or "none"
            raise InvalidValue("unknown_argument", f"unknown argument {unknown[0]!r}", words)
        out: dict[str, Any] = {}
        for spec in self.args:
            if spec.name not in args:
                if spec.name in self.optional:
                    continue
                raise InvalidValue(
                    "missing_argument", f"missing argument {spec.name!r}", spec.describe_allowed()
                )
            try:
                out[spec.name] = spec.check(args[spec.name])
            except InvalidValue as exc:
                raise InvalidValue(exc.code, f"argument {spec.name!r}: {exc.reason}", exc.allowed) from None
        return out


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event a device reports, with typed fields."""

    name: str
    fields: tuple[PropertySpec, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """Everything a device type offers. Pure data: faces render any device from it."""

    type: str
    title: str
    category: str
    properties: Mapping[str, PropertySpec]
    actions: Mapping[str, ActionSpec] = field(default_factory=dict)
    events: Mapping[str, EventSpec] = field(default_factory=dict)
    description: str = ""
    # The checker of every property a device may report (``reported``: the derived ones
    # left out) and of every property (``checkers``: what the hub itself may set), built
    # once per spec so that ingest finds a change's checker with one lookup.
    reported: Mapping[str, Checker] = field(init=False, repr=False, compare=False)
    checkers: Mapping[str, Checker] = field(init=False, repr=False, compare=False)
    # The same two, as ``Intake`` rows for the one-value ingest (``Hub.report_one``).
    intake_reported: Mapping[str, Intake] = field(init=False, repr=False, compare=False)
    intake: Mapping[str, Intake] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        checkers = {name: prop.check for name, prop in self.properties.items()}
        reported = {name: check for name, check in checkers.items() if not self.properties[name].derived}
        object.__setattr__(self, "checkers", checkers)
        object.__setattr__(self, "reported", reported)
        intake = {name: (*_float_bounds(prop), prop.check) for name, prop in self.properties.items()}
        object.__setattr__(self, "intake", intake)
        object.__setattr__(self, "intake_reported", {name: intake[name] for name in reported})

    def property(self, name: str) -> PropertySpec:
        """The property ``name``, or ``InvalidValue('unknown_property')`` listing the known ones."""
        try:
            return self.properties[name]
        except KeyError:
            raise InvalidValue(
                "unknown_property",
                f"{self.type} has no property {name!r}",
                _some(self.properties),
            ) from None

    def action(self, name: str) -> ActionSpec:
        """The action ``name``, or ``InvalidValue('unknown_action')`` listing the known ones."""
        try:
            return self.actions[name]
        except KeyError:
            raise InvalidValue(
                "unknown_action", f"{self.type} has no action {name!r}", _some(self.actions)
            ) from None

    def check_set(self, name: str, value: Any) -> Any:
        """Check a command that writes ``name`` (the property must be writable)."""
        prop = self.property(name)
        if not prop.writable:
            writable = [p for p, s in self.properties.items() if s.writable]
            raise InvalidValue("read_only", f"property {name!r} is read-only", _some(writable))
        return prop.check(value)


def _some(names: Mapping[str, object] | list[str], most: int = 12) -> str:
    listed = sorted(names)
    head = ", ".join(listed[:most])
    return head + (f" … ({len(listed)} in all)" if len(listed) > most else "")
