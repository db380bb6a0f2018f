"""Conditions: what must hold, when a trigger fires, for the actions to run.

Each kind is a tagged struct (``condition: numeric``) implementing one protocol,
``Condition``: ``bind`` resolves its names against the hub once and returns a plain
function that reads the current state, so checking costs a dict lookup or two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import msgspec

from carhome.automations.binding import Binder, BindError, Path

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


ConditionConfig = StateIs | Numeric | AllOf | AnyOf | Not


def bind_all(conditions: list[ConditionConfig], binder: Binder, path: Path) -> list[Check]:
    return [c.bind(binder, (*path, i)) for i, c in enumerate(conditions)]
