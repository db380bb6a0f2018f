"""Conditions: what must hold, when a trigger fires, for the actions to run.

Each kind is a tagged struct (``condition: numeric``) implementing one protocol,
``Condition``: ``bind`` resolves its names against the hub once and returns a plain
function that reads the current state, so checking costs a dict lookup or two.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal, Protocol

import msgspec

from carhome.automations.binding import Binder, BindError, Path
from carhome.automations.schedules import clock_time
from carhome.spec.devices import PLACE

Check = Callable[[], bool]
Scalar = str | int | float | bool


class Condition(Protocol):
    """One condition kind: bound once, checked many times."""

    def bind(self, binder: Binder, path: Path) -> Check: ...


class StateIs(msgspec.Struct, tag_field="condition", tag="state", forbid_unknown_fields=True, kw_only=True):
    """A property has a value (or one of several)."""

    device: str
    property: str
    state: Scalar | list[Scalar]

    def bind(self, binder: Binder, path: Path) -> Check:
        home, device = binder.device(self.device, (*path, "device"))
        prop = binder.prop(home, device, self.property, (*path, "property")).name
        options = frozenset(self.state) if isinstance(self.state, list) else frozenset((self.state,))
        value = binder.hub.value
        return lambda: value(home, device, prop) in options


class Numeric(msgspec.Struct, tag_field="condition", tag="numeric", forbid_unknown_fields=True, kw_only=True):
    """A number is above ``above`` and/or below ``below`` (false while unknown)."""

    device: str
    property: str
    above: float | None = None
    below: float | None = None

    def bind(self, binder: Binder, path: Path) -> Check:
        if self.above is None and self.below is None:
            raise BindError(path, "a numeric condition needs 'above', 'below' or both")
        home, device = binder.device(self.device, (*path, "device"))
        prop = binder.prop(home, device, self.property, (*path, "property")).name
        lo = -float("inf") if self.above is None else self.above
        hi = float("inf") if self.below is None else self.below
        value = binder.hub.value

        def check() -> bool:
            v = value(home, device, prop)
            return isinstance(v, int | float) and not isinstance(v, bool) and lo < v < hi

        return check


class AllOf(msgspec.Struct, tag_field="condition", tag="and", forbid_unknown_fields=True):
    """Every one of ``conditions`` holds."""

    conditions: list[ConditionConfig]

    def bind(self, binder: Binder, path: Path) -> Check:
        checks = bind_all(self.conditions, binder, (*path, "conditions"))
        return lambda: all(c() for c in checks)


class AnyOf(msgspec.Struct, tag_field="condition", tag="or", forbid_unknown_fields=True):
    """At least one of ``conditions`` holds."""

    conditions: list[ConditionConfig]

    def bind(self, binder: Binder, path: Path) -> Check:
        checks = bind_all(self.conditions, binder, (*path, "conditions"))
        return lambda: any(c() for c in checks)


class Not(msgspec.Struct, tag_field="condition", tag="not", forbid_unknown_fields=True):
    """None of ``conditions`` holds."""

    conditions: list[ConditionConfig]

    def bind(self, binder: Binder, path: Path) -> Check:
        checks = bind_all(self.conditions, binder, (*path, "conditions"))
        return lambda: not any(c() for c in checks)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TimeWindow(msgspec.Struct, tag_field="condition", tag="time", forbid_unknown_fields=True, kw_only=True):
    """The home's clock is at or after ``after`` and before ``before`` (a window such as
    22:00–06:00 wraps midnight), on one of ``weekdays`` (all by default)."""

    after: str | None = None
    before: str | None = None
    weekdays: list[Weekday] | None = None
    home: str | None = None

    def bind(self, binder: Binder, path: Path) -> Check:
        if self.after is None and self.before is None and self.weekdays is None:
            raise BindError(path, "a time condition needs 'after', 'before' or 'weekdays'")
        tz = binder.timezone(self.home, (*path, "home"))
        start = None if self.after is None else clock_time(self.after, (*path, "after"))
        end = None if self.before is None else clock_time(self.before, (*path, "before"))
        days = None if self.weekdays is None else frozenset(_WEEKDAYS.index(d) for d in self.weekdays)
        clock = binder.hub.clock

        def check() -> bool:
            now = datetime.fromtimestamp(clock.time(), tz)
            t, day = now.time(), now.weekday()
            if start is not None and end is not None and end <= start:
                # Wraps midnight: the part after midnight belongs to the day it started.
                if t < end:
                    day = (day - 1) % 7
                    inside = True
                else:
                    inside = t >= start
            else:
                inside = (start is None or t >= start) and (end is None or t < end)
            return inside and (days is None or day in days)

        return check


class InPlace(msgspec.Struct, tag_field="condition", tag="place", forbid_unknown_fields=True, kw_only=True):
    """A car is in a place (or one of several; ``away`` when in none)."""

    device: str
    place: str | list[str] = "home"

    def bind(self, binder: Binder, path: Path) -> Check:
        home, device = binder.device(self.device, (*path, "device"))
        if PLACE not in binder.hub.spec(home, device).properties:
            raise BindError((*path, "device"), f"{home}/{device} has no place: expected a car")
        places = frozenset([self.place] if isinstance(self.place, str) else self.place)
        value = binder.hub.value
        return lambda: value(home, device, PLACE) in places


class Present(
    msgspec.Struct, tag_field="condition", tag="presence", forbid_unknown_fields=True, kw_only=True
):
    """With ``present: true`` (the default) someone of ``device`` (phones) is home; with
    ``present: false``, none of them is."""

    device: str | list[str]
    present: bool = True

    def bind(self, binder: Binder, path: Path) -> Check:
        refs = [self.device] if isinstance(self.device, str) else self.device
        phones: list[tuple[str, str]] = []
        for i, ref in enumerate(refs):
            where = (*path, "device", i) if isinstance(self.device, list) else (*path, "device")
            home, device = binder.device(ref, where)
            if "present" not in binder.hub.spec(home, device).properties:
                raise BindError(where, f"{home}/{device} has no 'present': expected a phone")
            phones.append((home, device))
        value, want = binder.hub.value, self.present
        return lambda: any(value(h, d, "present") is True for h, d in phones) is want


ConditionConfig = StateIs | Numeric | AllOf | AnyOf | Not | TimeWindow | InPlace | Present


def bind_all(conditions: list[ConditionConfig], binder: Binder, path: Path) -> list[Check]:
    return [c.bind(binder, (*path, i)) for i, c in enumerate(conditions)]
