"""Triggers: what starts an automation.

Every trigger kind is a tagged struct (``trigger: threshold``) decoded from the YAML, and
implements one protocol, ``Trigger``: ``arm`` subscribes on the hub's bus for exactly the
(home, device, property) keys it watches and returns the subscriptions. The bus calls the
trigger synchronously inside ``Hub.report``, so a value that crosses and comes back before
the event loop turns is still seen; each evaluation is a few comparisons on state the
trigger keeps itself (O(1), whatever else is configured).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from carhome.automations.binding import Binder, BindError, Path
from carhome.hub import Change, Subscription
from carhome.spec import Format
from carhome.spec.devices import PLACE


class TriggerEvent(msgspec.Struct, frozen=True, gc=False):
    """What fired: the trigger's index and kind, and the change that did it."""

    index: int
    kind: str
    home: str
    device: str
    prop: str
    value: Any
    old: Any
    ts: float


Fire = Callable[[TriggerEvent], None]


class Trigger(Protocol):
    """One trigger kind: subscribes on the bus and calls ``fire`` when it fires."""

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Subscription]: ...


Scalar = str | int | float | bool


def _numeric(binder: Binder, home: str, device: str, name: str, path: Path) -> str:
    spec = binder.prop(home, device, name, (*path, "property"))
    if spec.format not in (Format.INT, Format.FLOAT):
        raise BindError(
            (*path, "property"), f"{spec.name} is a {spec.format}, not a number: use 'trigger: state'"
        )
    return spec.name


class Threshold(
    msgspec.Struct, tag_field="trigger", tag="threshold", forbid_unknown_fields=True, kw_only=True
):
    """A number crosses into a range: below ``below``, above ``above``, or between both.

    Fires once on entering; re-arms only when the value has left the range by more than
    ``hysteresis`` (so noise around the threshold does not fire again).
    """

    device: str
    property: str
    above: float | None = None
    below: float | None = None
    hysteresis: float = 0.0

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Subscription]:
        if self.above is None and self.below is None:
            raise BindError(path, "a threshold trigger needs 'above', 'below' or both")
        if self.hysteresis < 0:
            raise BindError((*path, "hysteresis"), "hysteresis must be 0 or more")
        home, device = binder.device(self.device, (*path, "device"))
        prop = _numeric(binder, home, device, self.property, path)
        lo = -float("inf") if self.above is None else self.above
        hi = float("inf") if self.below is None else self.below
        hyst = self.hysteresis
        lo_out, hi_out = lo - hyst, hi + hyst
        current = binder.hub.value(home, device, prop)
        # Armed unless the value is already in range: a state that is true at start-up has
        # not "become" true.
        armed = [not (isinstance(current, int | float) and lo < current < hi)]

        def on_change(change: Change) -> None:
            value = change.value
            if lo < value < hi:
                if armed[0]:
                    armed[0] = False
                    fire(TriggerEvent(index, "threshold", home, device, prop, value, change.old, change.ts))
            elif not armed[0] and (value <= lo_out or value >= hi_out):
                armed[0] = True

        return [binder.hub.bus.subscribe(on_change, home=home, device=device, prop=prop)]


def _matcher(spec: Scalar | list[Scalar] | None) -> Callable[[Any], bool] | None:
    if spec is None:
        return None
    options = frozenset(spec) if isinstance(spec, list) else frozenset((spec,))
    return options.__contains__


class StateChange(msgspec.Struct, tag_field="trigger", tag="state", forbid_unknown_fields=True, kw_only=True):
    """A property changes, optionally from one value (or any of several) to another."""

    device: str
    property: str
    from_: Scalar | list[Scalar] | None = msgspec.field(default=None, name="from")
    to: Scalar | list[Scalar] | None = None

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Subscription]:
        home, device = binder.device(self.device, (*path, "device"))
        prop = binder.prop(home, device, self.property, (*path, "property")).name
        was, now = _matcher(self.from_), _matcher(self.to)

        def on_change(change: Change) -> None:
            if (was is None or was(change.old)) and (now is None or now(change.value)):
                fire(TriggerEvent(index, "state", home, device, prop, change.value, change.old, change.ts))

        return [binder.hub.bus.subscribe(on_change, home=home, device=device, prop=prop)]


class PlaceTrigger(
    msgspec.Struct, tag_field="trigger", tag="place", forbid_unknown_fields=True, kw_only=True
):
    """A car enters or leaves a place (its hub-derived ``place`` property)."""

    device: str
    event: str = "enter"
    place: str = "home"

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Subscription]:
        if self.event not in ("enter", "leave"):
            raise BindError((*path, "event"), f"event {self.event!r}: expected 'enter' or 'leave'")
        home, device = binder.device(self.device, (*path, "device"))
        if PLACE not in binder.hub.spec(home, device).properties:
            raise BindError((*path, "device"), f"{home}/{device} has no place: expected a car")
        place, entering, kind = self.place, self.event == "enter", f"place.{self.event}"

        def on_change(change: Change) -> None:
            inside, was_inside = change.value == place, change.old == place
            if inside != was_inside and inside == entering:
                fire(TriggerEvent(index, kind, home, device, PLACE, change.value, change.old, change.ts))

        return [binder.hub.bus.subscribe(on_change, home=home, device=device, prop=PLACE)]


TriggerConfig = Threshold | StateChange | PlaceTrigger
