"""Zigbee2MQTT exposes to a carhome spec, generically: no table per model.

Every generic expose becomes one carhome property, named by its ``property`` (a composite's
features by ``composite.feature``, e.g. ``color.x``, since their values sit in a nested
object): ``binary`` → bool (its ``value_on``/``value_off`` become true/false), ``numeric`` →
int when its step is whole, else float, with its range and unit; ``enum`` → string of its
values; ``text`` → string. The access bits give read/write/notify: 1 (published) → read and
notify, 2 (settable) → write, 4 (readable on request) → read.

Specific exposes decompose into their features and add actions where Zigbee2MQTT has them:
a light's, switch's or fan's ``state`` → ``turn_on``/``turn_off``/``toggle``; a cover's
``state`` → ``open``/``close``/``stop``; a lock's ``state`` → ``lock``/``unlock`` in the
``home_lock`` domain. An endpoint's suffix goes with them (``state_left`` → ``turn_on_left``).
A button's ``action`` is a property and an event (pressing twice is two events, one value).

Safety: on a device with a lock, nothing is writable but through ``lock``/``unlock`` (a PIN
code or an auto-relock time opens a door as surely as ``unlock`` does), and the lock's state
itself is read-only, so no plain property write goes around the ``home_lock`` domain. A
device that names a garage door is read-only: carhome cannot tell its opener from a switch,
and the garage domain takes signed commands only.

What cannot be held is said per value (``Note``): a list (carhome properties hold one
value), a numeric's named presets that are no number in its range, an unknown expose type.
A definition maps fully, partly, or not at all (``Coverage``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from carhome.connectors.zigbee2mqtt.exposes import GENERIC, GET, SET, SPECIFIC, STATE, Expose
from carhome.connectors.zigbee2mqtt.names import device_type
from carhome.connectors.zigbee2mqtt.values import (
    CLEARED,
    BoolCodec,
    Codec,
    EnumCodec,
    PlainCodec,
    ZigbeeValueError,
    same,
    show,
)
from carhome.spec import Access, ActionSpec, DeviceSpec, EventSpec, Format, PropertySpec
from carhome.spec.devices import HOME_LOCK

UNITS: Final = {
    "°C": "celsius",
    "%": "percent",
    "µg/m³": "ug/m3",
    "μg/m³": "ug/m3",
    "°": "degrees",
    "minutes": "min",
    "seconds": "s",
}
"""Zigbee2MQTT's unit words that carhome spells otherwise; the rest are kept as they are."""

EVENTS: Final = frozenset({"action"})
"""Properties that are also events: a button pressed twice reports the same value twice."""


class Coverage(enum.StrEnum):
    FULL = "full"
    PARTLY = "partly"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Note:
    """How one exposed value was mapped, and what was left out."""

    what: str
    coverage: Coverage
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Leaf:
    """One value in Zigbee2MQTT's JSON mapped to one carhome property."""

    name: str
    path: tuple[str, ...]
    prop: PropertySpec
    codec: Codec


@dataclass(frozen=True, slots=True)
class ActionMap:
    """An action: the value it writes to a property, and what confirms it was done.

    ``expect`` is the property's carhome value once done; ``None`` when any report of the
    property confirms it (``toggle``, a cover's ``stop``). ``progress`` is a property and a
    direction (+1 up, -1 down) in which a report moving away from its value when the
    command was sent confirms it as well (a cover on its way).
    """

    name: str
    leaf: str
    wire: Any
    expect: Any = None
    unlocks: bool = False
    progress: tuple[str, int] | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Decoded:
    """A state message in carhome's terms: values, what could not be converted, and how
    many keys it carried that the device does not expose (``last_seen``, ``color_mode`` …)."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, ZigbeeValueError]] = field(default_factory=list)
    ignored: int = 0


@dataclass(frozen=True, slots=True)
class DeviceMap:
    """One device's spec and how each of its values and actions goes on the wire."""

    spec: DeviceSpec
    leaves: Mapping[str, Leaf]
    tree: Mapping[str, Any]
    """Keys of a state message → a ``Leaf``, or a nested mapping for a composite's object."""
    actions: Mapping[str, ActionMap]
    notes: tuple[Note, ...]

    @property
    def coverage(self) -> Coverage:
        return coverage_of(self.notes)

    def decode(self, message: Mapping[str, Any]) -> Decoded:
        """The message's values converted, each failure on its own."""
        out = Decoded()
        ignored = self._walk(self.tree, message, (), out)
        return replace(out, ignored=ignored)

    def _walk(
        self, tree: Mapping[str, Any], obj: Mapping[str, Any], at: tuple[str, ...], out: Decoded
    ) -> int:
        ignored = 0
        for key, raw in obj.items():
            target = tree.get(key)
            if target is None:
                ignored += 1
            elif isinstance(target, Leaf):
                try:
                    value = target.codec.from_wire(raw)
                except ZigbeeValueError as exc:
                    out.problems.append((target.name, exc))
                    continue
                if value is not CLEARED:
                    out.values[target.name] = value
            elif isinstance(raw, dict):
                ignored += self._walk(target, raw, (*at, key), out)
            else:
                out.problems.append(
                    (
                        ".".join((*at, key)),
                        ZigbeeValueError("wrong_type", f"expected an object, got {show(raw)}"),
                    )
                )
        return ignored

    def encode_set(self, prop: str, value: Any) -> dict[str, Any]:
        """The ``/set`` payload that writes ``value`` (carhome's) to ``prop``."""
        leaf = self.leaves[prop]
        return _nest(leaf.path, leaf.codec.to_wire(value))

    def encode_action(self, name: str) -> dict[str, Any]:
        action = self.actions[name]
        return _nest(self.leaves[action.leaf].path, action.wire)

    def events_in(self, values: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The events a message's converted values carry (name, fields)."""
        return [(name, {name: values[name]}) for name in self.spec.events if name in values]


def coverage_of(notes: Iterable[Note]) -> Coverage:
    kinds = {n.coverage for n in notes}
    if not kinds or kinds == {Coverage.NONE}:
        return Coverage.NONE
    if kinds == {Coverage.FULL}:
        return Coverage.FULL
    return Coverage.PARTLY


def map_device(
    exposes: Sequence[Expose], *, model: str, vendor: str = "", description: str = ""
) -> DeviceMap:
    """The spec and wire maps of a device with these exposes (its definition's)."""
    builder = _Builder()
    for expose in exposes:
        builder.expose(expose, None, ())
    named = " ".join(w for w in (description, model, *(n for n in builder.leaves)) if w)
    return builder.finish(
        type=device_type(model),
        title=description or f"{vendor} {model}".strip(),
        description=f"{vendor} {model} through Zigbee2MQTT".strip(),
        garage="garage" in named.lower(),
    )


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    result: dict[str, Any] = out
    return result


def _access(bits: int) -> Access:
    access = Access(0)
    if bits & STATE:
        access |= Access.READ | Access.NOTIFY
    if bits & GET:
        access |= Access.READ
    if bits & SET:
        access |= Access.WRITE
    return access


def _unit(unit: str | None) -> str | None:
    return None if unit is None else UNITS.get(unit, unit)


def _suffix(feature: Expose) -> str:
    """What tells a feature from its namesakes: ``state_left`` of a feature named ``state``
    → ``_left``, ``fan_state`` → ``_fan``."""
    prop, name = feature.prop or "", feature.name or ""
    if prop == name:
        return ""
    if name and prop.startswith(name + "_"):
        return prop[len(name) :]
    if name and prop.endswith("_" + name):
        return "_" + prop[: -len(name) - 1]
    return "_" + prop


class _Builder:
    """Walks a definition's exposes once, collecting leaves, actions and notes."""

    def __init__(self) -> None:
        self.leaves: dict[str, Leaf] = {}
        self.tree: dict[str, Any] = {}
        self.actions: dict[str, ActionMap] = {}
        self.notes: dict[str, Note] = {}
        self.locks: set[str] = set()
        self._unnamed = 0

    def note(self, what: str, coverage: Coverage, reason: str = "") -> None:
        if what in self.notes:
            self._unnamed += 1
            what = f"{what}#{self._unnamed}"
        self.notes[what] = Note(what, coverage, reason)

    def expose(self, expose: Expose, parent: str | None, prefix: tuple[str, ...]) -> None:
        kind = expose.type
        what = ".".join((*prefix, expose.prop or expose.name or kind))
        if kind in SPECIFIC:
            if not expose.features:
                self.note(what, Coverage.NONE, f"a {kind} without features")
            for feature in expose.features:
                self.expose(feature, kind, prefix)
            self._actions_of(kind, expose)
        elif kind == "composite":
            if not expose.prop or not expose.features:
                self.note(what, Coverage.NONE, "a composite without a property or features")
                return
            for feature in expose.features:
                self.expose(feature, parent, (*prefix, expose.prop))
        elif kind == "list":
            self.note(what, Coverage.NONE, "a list: a carhome property holds one value")
        elif kind in GENERIC:
            self._leaf(expose, prefix, what)
        else:
            self.note(what, Coverage.NONE, f"unknown expose type {kind!r}")

    def _leaf(self, expose: Expose, prefix: tuple[str, ...], what: str) -> None:
        if not expose.prop:
            self.note(what, Coverage.NONE, "no property names its value")
            return
        path = (*prefix, expose.prop)
        name = ".".join(path)
        access = _access(expose.access)
        if name in self.leaves:
            self.note(what, Coverage.NONE, "exposed twice; the first is kept")
            return
        if not access:
            self.note(what, Coverage.NONE, f"access {expose.access}: neither published nor settable")
            return
        if not self._room_in_tree(path):
            self.note(what, Coverage.NONE, "its key is both a value and an object")
            return
        made = self._spec_and_codec(expose, name, access)
        if made is None:
            self.note(what, Coverage.NONE, "a binary needs two different values")
            return
        prop, codec, reason = made
        leaf = Leaf(name, path, prop, codec)
        self.leaves[name] = leaf
        node = self.tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = leaf
        self.note(name, Coverage.PARTLY if reason else Coverage.FULL, reason)

    def _room_in_tree(self, path: tuple[str, ...]) -> bool:
        node: Any = self.tree
        for key in path[:-1]:
            node = node.get(key, {})
            if isinstance(node, Leaf):
                return False
        return not isinstance(node.get(path[-1]), dict)

    def _spec_and_codec(
        self, expose: Expose, name: str, access: Access
    ) -> tuple[PropertySpec, Codec, str] | None:
        words = expose.words
        kind = expose.type
        if kind == "binary":
            on, off = expose.value_on, expose.value_off
            if on is None or off is None or same(on, off):
                return None
            return PropertySpec(name, Format.BOOL, access=access, description=words), BoolCodec(on, off), ""
        if kind == "numeric":
            step = expose.value_step
            fmt = Format.INT if step is not None and step >= 1 and float(step).is_integer() else Format.FLOAT
            lo, hi = expose.value_min, expose.value_max
            unheld = sorted(
                p.name
                for p in expose.presets
                if not isinstance(p.value, int | float)
                or isinstance(p.value, bool)
                or (lo is not None and p.value < lo)
                or (hi is not None and p.value > hi)
            )
            reason = f"its named presets {', '.join(unheld)} are no number in its range" if unheld else ""
            names = frozenset(p.name for p in expose.presets if isinstance(p.value, str))
            prop = PropertySpec(name, fmt, _unit(expose.unit), lo, hi, access=access, description=words)
            return prop, PlainCodec(names), reason
        if kind == "enum":
            wire = {str(v): v for v in expose.values}
            allowed = tuple(wire) if wire else None
            prop = PropertySpec(name, Format.STRING, allowed=allowed, access=access, description=words)
            return prop, EnumCodec(wire), ""
        return PropertySpec(name, Format.STRING, access=access, description=words), PlainCodec(), ""

    def _actions_of(self, kind: str, expose: Expose) -> None:
        for feature in expose.features:
            leaf = self.leaves.get(feature.prop or "")
            if feature.name != "state" or leaf is None:
                continue
            sfx = _suffix(feature)
            which = f" ({sfx[1:]})" if sfx else ""
            if (
                kind in ("light", "switch", "fan")
                and isinstance(leaf.codec, BoolCodec)
                and leaf.prop.writable
            ):
                on, off = leaf.codec.on, leaf.codec.off
                self._action(
                    ActionMap(f"turn_on{sfx}", leaf.name, on, True, description=f"Turn it on{which}.")
                )
                self._action(
                    ActionMap(f"turn_off{sfx}", leaf.name, off, False, description=f"Turn it off{which}.")
                )
                if feature.value_toggle is not None:
                    toggle = f"Switch it over{which}."
                    self._action(
                        ActionMap(f"toggle{sfx}", leaf.name, feature.value_toggle, description=toggle)
                    )
            elif kind == "cover" and isinstance(leaf.codec, EnumCodec) and leaf.prop.writable:
                position = self._sibling(expose, "position", sfx)
                for word, value in leaf.codec.wire.items():
                    upper = word.upper()
                    if upper in ("OPEN", "CLOSE"):
                        up = 1 if upper == "OPEN" else -1
                        self._action(
                            ActionMap(
                                f"{upper.lower()}{sfx}",
                                leaf.name,
                                value,
                                word,
                                progress=None if position is None else (position, up),
                                description=f"{upper.capitalize()} it{which}.",
                            )
                        )
                    elif upper == "STOP":
                        self._action(
                            ActionMap(f"stop{sfx}", leaf.name, value, description=f"Stop it{which}.")
                        )
            elif kind == "lock" and isinstance(leaf.codec, BoolCodec):
                self.locks.add(leaf.name)
                on, off = leaf.codec.on, leaf.codec.off
                self._action(ActionMap(f"lock{sfx}", leaf.name, on, True, description=f"Lock it{which}."))
                self._action(
                    ActionMap(
                        f"unlock{sfx}", leaf.name, off, False, unlocks=True, description=f"Unlock it{which}."
                    )
                )

    def _sibling(self, expose: Expose, name: str, sfx: str) -> str | None:
        for feature in expose.features:
            if feature.name == name and _suffix(feature) == sfx and (feature.prop or "") in self.leaves:
                return feature.prop
        return None

    def _action(self, action: ActionMap) -> None:
        self.actions.setdefault(action.name, action)

    def finish(self, *, type: str, title: str, description: str, garage: bool) -> DeviceMap:  # noqa: A002
        leaves = dict(self.leaves)
        if self.locks or garage:
            why = (
                "not writable on a lock but through lock/unlock (a PIN code or a relock time opens a door)"
                if self.locks
                else "not writable: a garage door opener takes signed commands only"
            )
            for name, leaf in list(leaves.items()):
                if not leaf.prop.writable:
                    continue
                access = leaf.prop.access & ~Access.WRITE
                if name in self.locks:
                    leaves[name] = replace(leaf, prop=replace(leaf.prop, access=access))
                elif access:
                    leaves[name] = replace(leaf, prop=replace(leaf.prop, access=access))
                    self.notes[name] = Note(name, Coverage.PARTLY, why)
                else:
                    del leaves[name]
                    self.notes[name] = Note(name, Coverage.NONE, why)
            if garage:
                self.actions.clear()
        tree = _prune(self.tree, leaves)
        actions = {
            a.name: ActionSpec(
                a.name,
                description=a.description,
                domain=HOME_LOCK if a.leaf in self.locks else None,
                sets=(a.leaf,),
            )
            for a in self.actions.values()
        }
        events = {
            name: EventSpec(
                name, (replace(leaves[name].prop, access=Access.RN),), leaves[name].prop.description
            )
            for name in EVENTS
            if name in leaves and leaves[name].prop.access & Access.NOTIFY
        }
        spec = DeviceSpec(
            type=type,
            title=title,
            category="home",
            properties={n: leaf.prop for n, leaf in leaves.items()},
            actions=actions,
            events=events,
            description=description,
        )
        return DeviceMap(spec, leaves, tree, dict(self.actions), tuple(self.notes.values()))


def _prune(tree: Mapping[str, Any], leaves: Mapping[str, Leaf]) -> dict[str, Any]:
    """``tree`` with the leaves that were dropped taken out (and the new leaf records in)."""
    out: dict[str, Any] = {}
    for key, node in tree.items():
        if isinstance(node, Leaf):
            if node.name in leaves:
                out[key] = leaves[node.name]
        else:
            sub = _prune(node, leaves)
            if sub:
                out[key] = sub
    return out
