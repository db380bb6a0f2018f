"""Triggers: what starts an automation.

Every trigger kind is a tagged struct (``trigger: threshold``) decoded from the YAML, and
implements one protocol, ``Trigger``: ``arm`` subscribes on the hub's bus for exactly the
keys it watches — (home, device, property) for changes, (home, device, event) for device
events, (home, device, target) for command results — or sets a timer for times, and
returns what it registered. The bus calls the trigger synchronously inside ``Hub.report``
(or ``Hub.event``, or as a command's result is published), so a value that crosses and
comes back before the event loop turns is still seen; each evaluation is a few comparisons
on state the trigger keeps itself (O(1), whatever else is configured).

Time-based kinds (``time``, ``cron``, ``sun``) live in ``schedules``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

import msgspec

from carhome.automations.binding import Binder, BindError, Path
from carhome.automations.durations import seconds
from carhome.automations.firing import Armed, Fire
from carhome.automations.hold import Hold
from carhome.automations.schedules import Cron, Sun, TimeOfDay
from carhome.hub import Change, Event, Result
from carhome.spec import Format, vss
from carhome.spec.devices import DISTANCE_TO_HOME, PLACE
from carhome.wire.automations import TriggerEvent

__all__ = ["Armed", "Fire", "Trigger", "TriggerConfig", "TriggerEvent"]


class Trigger(Protocol):
    """One trigger kind: registers what it watches and calls ``fire`` when it fires."""

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Armed]: ...


Scalar = str | int | float | bool


def _numeric(binder: Binder, home: str, device: str, name: str, path: Path) -> str:
    spec = binder.prop(home, device, name, (*path, "property"))
    if spec.format not in (Format.INT, Format.FLOAT):
        raise BindError(
            (*path, "property"), f"{spec.name} is a {spec.format}, not a number: use 'trigger: state'"
        )
    return spec.name


def _hold(binder: Binder, path: Path, duration: float | str | None, fire: Fire) -> Hold | None:
    if duration is None:
        return None
    return Hold(binder, path, seconds(duration, (*path, "for")), fire)


class Threshold(
    msgspec.Struct, tag_field="trigger", tag="threshold", forbid_unknown_fields=True, kw_only=True
):
    """A number crosses into a range: below ``below``, above ``above``, or between both.

    Fires once on entering (or, with ``for``, once it has stayed in range that long;
    leaving the range first cancels); re-arms only when the value has left the range by
    more than ``hysteresis`` (so noise around the threshold does not fire again).
    """

    device: str
    property: str
    above: float | None = None
    below: float | None = None
    hysteresis: float = 0.0
    for_: float | str | None = msgspec.field(default=None, name="for")

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Armed]:
        if self.above is None and self.below is None:
            raise BindError(path, "a threshold trigger needs 'above', 'below' or both")
        if self.hysteresis < 0:
            raise BindError((*path, "hysteresis"), "hysteresis must be 0 or more")
        home, device = binder.device(self.device, (*path, "device"))
        prop = _numeric(binder, home, device, self.property, path)
        lo = -float("inf") if self.above is None else self.above
        hi = float("inf") if self.below is None else self.below
        current = binder.hub.value(home, device, prop)
        in_range = isinstance(current, int | float) and lo < current < hi
        crossing = _Crossing(index, home, device, prop, lo, hi, self.hysteresis, fire)
        # Armed unless the value is already in range: a state that is true at start-up has
        # not "become" true.
        crossing.armed = not in_range
        hold = _hold(binder, path, self.for_, crossing.held)
        crossing.hold = hold
        if hold is not None and hold.resume(in_range):
            crossing.armed = True
        sub = binder.hub.bus.subscribe(crossing.on_change, home=home, device=device, name=prop)
        return [sub] if hold is None else [sub, hold]


class _Crossing:
    """A threshold trigger's watch on its property: the range, whether it is armed, and
    what fires. One object with slots, not a closure over a dozen cells: the bus calls it
    on every change of the property, so what it reads sits together."""

    __slots__ = ("armed", "device", "fire", "hi", "hi_out", "hold", "home", "index", "lo", "lo_out", "prop")

    def __init__(  # noqa: PLR0917 - made in one place, from the trigger's own fields
        self, index: int, home: str, device: str, prop: str, lo: float, hi: float, hyst: float, fire: Fire
    ) -> None:
        self.index, self.home, self.device, self.prop = index, home, device, prop
        self.lo, self.hi = lo, hi
        self.lo_out, self.hi_out = lo - hyst, hi + hyst
        self.fire = fire
        self.armed = True
        self.hold: Hold | None = None

    def held(self, event: TriggerEvent) -> None:
        self.armed = False
        self.fire(event)

    def on_change(self, change: Change) -> None:
        value = change.value
        if self.lo < value < self.hi:
            if self.armed:
                event = TriggerEvent(
                    self.index, "threshold", self.home, self.device, self.prop, value, change.old, change.ts
                )
                hold = self.hold
                if hold is None:
                    self.armed = False
                    self.fire(event)
                else:
                    hold.start(event)
            return
        hold = self.hold
        if hold is not None and hold.running:
            hold.stop()  # left the range before the time was up: nothing fired
        if not self.armed and (value <= self.lo_out or value >= self.hi_out):
            self.armed = True


def _matcher(spec: Scalar | list[Scalar] | None) -> Callable[[Any], bool] | None:
    if spec is None:
        return None
    options = frozenset(spec) if isinstance(spec, list) else frozenset((spec,))
    return options.__contains__


class StateChange(msgspec.Struct, tag_field="trigger", tag="state", forbid_unknown_fields=True, kw_only=True):
    """A property changes, optionally from one value (or any of several) to another.

    With ``for``, fires once the property has stayed at ``to`` that long (without ``to``:
    once it has not changed for that long).
    """

    device: str
    property: str
    from_: Scalar | list[Scalar] | None = msgspec.field(default=None, name="from")
    to: Scalar | list[Scalar] | None = None
    for_: float | str | None = msgspec.field(default=None, name="for")

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Armed]:
        home, device = binder.device(self.device, (*path, "device"))
        prop = binder.prop(home, device, self.property, (*path, "property")).name
        was, now = _matcher(self.from_), _matcher(self.to)
        hold = _hold(binder, path, self.for_, fire)
        if hold is not None:
            current = binder.hub.value(home, device, prop)
            hold.resume(current is not None and (now is None or now(current)))

        def on_change(change: Change) -> None:
            if hold is not None and now is not None and not now(change.value):
                hold.stop()
                return
            if (was is None or was(change.old)) and (now is None or now(change.value)):
                event = TriggerEvent(index, "state", home, device, prop, change.value, change.old, change.ts)
                if hold is None:
                    fire(event)
                elif now is None:
                    hold.restart(event)
                else:
                    hold.start(event)

        sub = binder.hub.bus.subscribe(on_change, home=home, device=device, name=prop)
        return [sub] if hold is None else [sub, hold]


class PlaceTrigger(
    msgspec.Struct, tag_field="trigger", tag="place", forbid_unknown_fields=True, kw_only=True
):
    """A car enters or leaves a place (its hub-derived ``place`` property)."""

    device: str
    event: str = "enter"
    place: str = "home"

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Armed]:
        if self.event not in ("enter", "leave"):
            raise BindError((*path, "event"), f"event {self.event!r}: expected 'enter' or 'leave'")
        home, device = binder.device(self.device, (*path, "device"))
        if PLACE not in binder.hub.spec(home, device).properties:
            raise BindError((*path, "device"), f"{home}/{device} has no place: expected a car")
        place, entering, kind = self.place, self.event == "enter", f"place.{self.event}"

        def on_change(change: Change) -> None:
            # A car's first known place is where it is, not a place it entered or left.
            if change.old is None:
                return
            inside, was_inside = change.value == place, change.old == place
            if inside != was_inside and inside == entering:
                fire(TriggerEvent(index, kind, home, device, PLACE, change.value, change.old, change.ts))

        return [binder.hub.bus.subscribe(on_change, home=home, device=device, name=PLACE)]


class EventTrigger(
    msgspec.Struct, tag_field="trigger", tag="event", forbid_unknown_fields=True, kw_only=True
):
    """A device reports an event (``doorbell``, ``charging_complete`` …), optionally only
    with the given field values."""

    device: str
    event: str
    fields: dict[str, Scalar] = msgspec.field(default_factory=dict)

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Armed]:
        home, device = binder.device(self.device, (*path, "device"))
        events = binder.hub.spec(home, device).events
        spec = events.get(self.event)
        if spec is None:
            raise BindError(
                (*path, "event"),
                f"{home}/{device} has no event {self.event!r};"
                f" expected one of {', '.join(sorted(events)) or 'none'}",
            )
        known = {f.name for f in spec.fields}
        for name in self.fields:
            if name not in known:
                raise BindError(
                    (*path, "fields", name),
                    f"event {self.event!r} has no field {name!r};"
                    f" expected {', '.join(sorted(known)) or 'none'}",
                )
        want, name = tuple(self.fields.items()), self.event

        def on_event(event: Event) -> None:
            if all(event.fields.get(k) == v for k, v in want):
                fire(TriggerEvent(index, "event", home, device, name, dict(event.fields), None, event.ts))

        return [binder.hub.bus.subscribe(on_event, kind=Event, home=home, device=device, name=name)]


CommandOutcome = Literal["acked", "failed", "expired"]


class CommandTrigger(
    msgspec.Struct, tag_field="trigger", tag="command", forbid_unknown_fields=True, kw_only=True
):
    """A command to a device ends: ``target`` is the action or property it ran or wrote,
    ``status`` the outcome(s) that fire (any by default). The event's value is the status,
    its ``old`` the device's error, if any."""

    device: str
    target: str
    status: CommandOutcome | list[CommandOutcome] = msgspec.field(
        default_factory=lambda: ["acked", "failed", "expired"]
    )

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Armed]:
        home, device = binder.device(self.device, (*path, "device"))
        spec = binder.hub.spec(home, device)
        target = self.target
        if target not in spec.actions:
            target = binder.prop(home, device, target, (*path, "target")).name
        wanted = frozenset([self.status] if isinstance(self.status, str) else self.status)

        def on_result(result: Result) -> None:
            status = str(result.status)
            if status in wanted:  # final statuses only: a command sent is not an outcome
                command = result.command
                ts = command.done_at or binder.hub.clock.time()
                fire(TriggerEvent(index, "command", home, device, target, status, command.error, ts))

        return [binder.hub.bus.subscribe(on_result, kind=Result, home=home, device=device, name=target)]


class Presence(msgspec.Struct, tag_field="trigger", tag="presence", forbid_unknown_fields=True, kw_only=True):
    """A member arrives or leaves: their phone's ``present`` becomes true or false."""

    device: str | list[str]
    event: Literal["arrive", "leave"] = "arrive"

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Armed]:
        refs = [self.device] if isinstance(self.device, str) else self.device
        arriving, kind = self.event == "arrive", f"presence.{self.event}"

        def on_change(change: Change) -> None:
            # Unknown -> away is not a departure; unknown -> home is an arrival.
            if change.value is arriving and (change.old is not True if arriving else change.old is True):
                fire(
                    TriggerEvent(
                        index,
                        kind,
                        change.home,
                        change.device,
                        "present",
                        change.value,
                        change.old,
                        change.ts,
                    )
                )

        subs: list[Armed] = []
        for i, ref in enumerate(refs):
            where = (*path, "device", i) if isinstance(self.device, list) else (*path, "device")
            home, device = binder.device(ref, where)
            if "present" not in binder.hub.spec(home, device).properties:
                raise BindError(where, f"{home}/{device} has no 'present': expected a phone")
            subs.append(binder.hub.bus.subscribe(on_change, home=home, device=device, name="present"))
        return subs


class ExpectedHome(msgspec.Struct, tag_field="trigger", tag="eta", forbid_unknown_fields=True, kw_only=True):
    """A car is expected home within ``minutes``: its distance to home over its speed, while
    it is getting closer. Fires once per approach; re-arms when the car is home or has moved
    ``rearm_km`` further away than the closest it came since."""

    device: str
    minutes: float
    rearm_km: float = 1.0

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Armed]:
        if self.minutes <= 0:
            raise BindError((*path, "minutes"), "minutes must be more than 0")
        home, device = binder.device(self.device, (*path, "device"))
        props = binder.hub.spec(home, device).properties
        if DISTANCE_TO_HOME not in props or vss.SPEED not in props:
            raise BindError((*path, "device"), f"{home}/{device} is not a car")
        value, minutes, rearm_km = binder.hub.value, self.minutes, self.rearm_km
        fired_at: list[float | None] = [None]

        def on_distance(change: Change) -> None:
            km, old = change.value, change.old
            if fired_at[0] is not None:
                # Re-arm once the car heads away: rearm_km past the closest it came.
                if km > fired_at[0] + rearm_km:
                    fired_at[0] = None
                else:
                    fired_at[0] = min(fired_at[0], km)
                return
            if old is None or km >= old or value(home, device, PLACE) == "home":
                return
            speed = value(home, device, vss.SPEED)
            if not isinstance(speed, int | float) or speed <= 0:
                return
            eta = km / speed * 60.0
            if eta < minutes:
                fired_at[0] = km
                fire(TriggerEvent(index, "eta", home, device, DISTANCE_TO_HOME, round(eta, 1), km, change.ts))

        def on_place(change: Change) -> None:
            if change.value == "home":
                fired_at[0] = None

        bus = binder.hub.bus
        return [
            bus.subscribe(on_distance, home=home, device=device, name=DISTANCE_TO_HOME),
            bus.subscribe(on_place, home=home, device=device, name=PLACE),
        ]


TriggerConfig = (
    Threshold
    | StateChange
    | PlaceTrigger
    | EventTrigger
    | CommandTrigger
    | Presence
    | ExpectedHome
    | TimeOfDay
    | Cron
    | Sun
)
