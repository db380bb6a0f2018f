"""From a sentence to what it asks of the home: pure, with no hub and no I/O.

``understand(text, things)`` matches the sentence with hassil against the templates of its
language (``carhome.say.grammar``), the slots filled from the home's vocabulary
(``carhome.say.vocabulary``), and resolves each match against the devices' specs: which
devices the words may mean, and which of them can do what was asked. A verb becomes the
first operation of its list the device's spec offers (``turn on`` is the ``turn_on``
action where there is one, else writing ``on``), a number the one writable property it
fits, a question the property it names. When several matches of the sentence resolve,
the one naming the fewest devices wins; one device is a command or a question, several
are candidates to choose from, none is an answer saying why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

from hassil import recognize_all
from hassil.expression import TextChunk
from hassil.intents import SlotList, TextSlotList, TextSlotValue
from hassil.recognize import RecognizeResult

from carhome.say.grammar import STATES, UNITS, intents
from carhome.say.lexicon import Language, has_cjk
from carhome.say.vocabulary import Thing, Vocabulary, normal
from carhome.spec import DeviceSpec, Format, InvalidValue, vss

Outcome = Literal["command", "question", "ambiguous", "not_understood"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class Operation:
    """A command to make: write a property or run an action."""

    kind: Literal["set", "action"]
    target: str
    args: Mapping[str, Any]


# What each verb does, in order of preference: (kind, target, args); a ``set`` writes "value".
VERBS: Final[dict[str, tuple[tuple[Literal["set", "action"], str, Mapping[str, Any]], ...]]] = {
    "turn_on": (
        ("action", "turn_on", {}),
        ("set", "on", {"value": True}),
        ("action", "climate_on", {}),
        ("action", "start", {}),
        ("action", "open", {}),
    ),
    "turn_off": (
        ("action", "turn_off", {}),
        ("set", "on", {"value": False}),
        ("action", "climate_off", {}),
        ("action", "close", {}),
        ("action", "stop", {}),
    ),
    "open": (
        ("action", "open", {}),
        ("action", "turn_on", {}),
        ("set", "on", {"value": True}),
        ("action", "unlock", {}),
    ),
    "close": (("action", "close", {}), ("action", "turn_off", {}), ("set", "on", {"value": False})),
    "lock": (("action", "lock", {}),),
    "unlock": (("action", "unlock", {}),),
    "start": (
        ("action", "start", {}),
        ("action", "turn_on", {}),
        ("set", "on", {"value": True}),
        ("action", "start_charging", {}),
    ),
    "stop": (
        ("action", "stop", {}),
        ("action", "cancel", {}),
        ("action", "pause", {}),
        ("action", "turn_off", {}),
        ("set", "on", {"value": False}),
        ("action", "stop_charging", {}),
    ),
    "start_charging": (("action", "start_charging", {}),),
    "stop_charging": (("action", "stop_charging", {}),),
}

# Questions answered yes or no: the state asked about, and the state it is the opposite of.
OPPOSITE: Final = {
    "open": "closed",
    "closed": "open",
    "on": "off",
    "off": "on",
    "locked": "unlocked",
    "unlocked": "locked",
}

_PUNCTUATION: Final = "?？!！。.,，、;；~～ "


@dataclass(frozen=True)
class Understanding:
    """What a sentence asks: a command for one device, a question about one, candidates
    when it may mean several, or why it was not understood (``reason``)."""

    language: Language
    outcome: Outcome
    intent: str | None = None
    devices: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    operation: Operation | None = None
    prop: str | None = None
    state: str | None = None
    reason: str | None = None
    """for ``not_understood``: ``no_match``, ``unknown_device``, ``cannot`` or ``invalid_value``"""
    detail: str = ""
    """what the reason is about: the device phrase, or what values are allowed"""
    vocabulary: Vocabulary | None = None

    @property
    def rank(self) -> tuple[int, int]:
        """Smaller is better: resolved, then fewest candidates, then a reason."""
        order = {"command": 0, "question": 0, "ambiguous": 1, "not_understood": 2}[self.outcome]
        return order, len(self.candidates)


def language_of(text: str, language: Language | None = None) -> Language:
    """The language asked for, or the one the text is written in."""
    if language is not None:
        return language
    return "zh" if has_cjk(text) else "en"


def understand(
    text: str, things: Iterable[Thing], language: Language | None = None, here: str | None = None
) -> Understanding:
    """What ``text`` asks of the home whose devices are ``things``; ``here`` is the device or
    room the request comes from (the cabin view sends its car): when several devices fit,
    the one there is meant — "把空调调到24度" in the car is the car's climate, as a voice
    assistant in a room prefers that room's light."""
    lang = language_of(text, language)
    vocab = Vocabulary.build(things, lang)
    cleaned = " ".join(text.strip().strip(_PUNCTUATION).split())
    best: Understanding | None = None
    if cleaned:
        for result in recognize_all(cleaned, intents(lang), slot_lists=_slots(vocab)):
            found = _Match(result, vocab, here).resolve()
            if best is None or found.rank < best.rank:
                best = found
    if best is None:
        return Understanding(lang, "not_understood", reason="no_match", detail=text, vocabulary=vocab)
    return best


def _slots(vocab: Vocabulary) -> dict[str, SlotList]:
    def listing(name: str, phrases: Iterable[tuple[str, str]]) -> TextSlotList:
        return TextSlotList(name=name, values=[TextSlotValue(TextChunk(p), v) for p, v in phrases])

    lang = vocab.language
    return {
        "device": listing("device", ((p, p) for p in vocab.devices)),
        "area": listing("area", ((p, p) for p in vocab.areas)),
        "property": listing("property", ((p, p) for p in vocab.properties)),
        "state": listing("state", STATES[lang].items()),
        "unit": listing("unit", UNITS[lang].items()),
    }


class _Match:
    """One hassil match of a sentence, resolved against the home's devices and specs."""

    def __init__(self, result: RecognizeResult, vocab: Vocabulary, here: str | None = None) -> None:
        self.here = here
        self.entities = {name: e.value for name, e in result.entities.items()}
        self.intent = result.intent.name
        self.vocab = vocab

    def answer(self, outcome: Outcome, **kw: Any) -> Understanding:
        return Understanding(self.vocab.language, outcome, self.intent, vocabulary=self.vocab, **kw)

    def resolve(self) -> Understanding:
        vocab, entities = self.vocab, self.entities
        phrase = entities.get("device")
        devices = sorted(vocab.devices.get(normal(str(phrase)), ())) if phrase else sorted(vocab.things)
        area = entities.get("area")
        if area:
            rooms = vocab.areas.get(normal(str(area)), set())
            devices = [d for d in devices if vocab.things[d].device.room in rooms]
            if not devices:
                where = f"{area} {phrase or ''}".strip()
                return self.answer("not_understood", reason="unknown_device", detail=where)
        self.devices = devices
        self.things = {d: vocab.things[d] for d in devices}
        named = entities.get("property")
        self.props = vocab.properties.get(normal(str(named)), set()) if named else None
        if self.intent in VERBS:
            return self.verb()
        return {"set": self.set, "query": self.query, "is": self.is_}[self.intent]()

    def pick(self, found: Mapping[str, Any], kind: Outcome, field: str) -> Understanding:
        """One device found: ``kind``; several: candidates; none: it cannot be done."""
        found = self.narrow(found)
        if len(found) == 1:
            ((device, what),) = found.items()
            return self.answer(kind, devices=(device,), **{field: what})
        if found:
            return self.answer("ambiguous", candidates=tuple(sorted(found)))
        return self.answer("not_understood", devices=tuple(self.devices), reason="cannot")

    def narrow(self, found: Mapping[str, _T]) -> Mapping[str, _T]:
        """Of several devices that fit, the one ``here`` is (or the one in the room ``here``
        names), when exactly one is; else all of them."""
        if len(found) < 2 or self.here is None:
            return found
        there = {d: v for d, v in found.items() if d == self.here or self.things[d].device.room == self.here}
        return there if len(there) == 1 else found

    def verb(self) -> Understanding:
        ops = {d: op for d, t in self.things.items() if (op := _operation(self.intent, t.spec)) is not None}
        return self.pick(ops, "command", "operation")

    def set(self) -> Understanding:
        value, unit = self.entities.get("value"), self.entities.get("unit")
        targets: Mapping[str, str] = {
            d: name
            for d, t in self.things.items()
            if (name := _settable(t.spec, self.props, unit)) is not None
        }
        targets = self.narrow(targets)
        if not isinstance(value, (int, float)) or len(targets) != 1:
            return self.pick(targets, "command", "prop")
        number: float = int(value) if float(value).is_integer() else float(value)
        ((device, prop),) = targets.items()
        try:
            checked = self.things[device].spec.check_set(prop, number)
        except InvalidValue as exc:
            return self.answer(
                "not_understood",
                devices=(device,),
                prop=prop,
                reason="invalid_value",
                detail=exc.allowed or exc.reason,
            )
        op = Operation("set", prop, {"value": checked})
        return self.answer("command", devices=(device,), operation=op, prop=prop)

    def query(self) -> Understanding:
        props = self.props
        if props is None:  # "how warm is it in the living room"
            props = self.vocab.properties.get("temperature", set()) | self.vocab.properties.get("温度", set())
        asked = {d: name for d, t in self.things.items() if (name := _readable(t.spec, props)) is not None}
        return self.pick(asked, "question", "prop")

    def is_(self) -> Understanding:
        asked = str(self.entities.get("state", ""))
        checked = {d: state for d, t in self.things.items() if (state := _state_for(t.spec, asked))}
        return self.pick(checked, "question", "state")


def _operation(verb: str, spec: DeviceSpec) -> Operation | None:
    for kind, target, args in VERBS[verb]:
        if kind == "action" and target in spec.actions:
            return Operation(kind, target, args)
        if kind == "set" and target in spec.properties and spec.properties[target].writable:
            return Operation(kind, target, args)
    return None


_NUMERIC: Final = (Format.INT, Format.FLOAT)


def _settable(spec: DeviceSpec, props: set[str] | None, unit: Any) -> str | None:
    """The one writable number property of ``spec`` the words and unit point at."""
    fits = [
        name
        for name, p in spec.properties.items()
        if p.writable
        and p.format in _NUMERIC
        and (props is None or name in props)
        and (not unit or p.unit == unit)
    ]
    return fits[0] if len(fits) == 1 else None


def _readable(spec: DeviceSpec, props: set[str]) -> str | None:
    """The property of ``spec`` a question names, a measured one before a set point."""
    fits = sorted((p.writable, name) for name, p in spec.properties.items() if name in props)
    return fits[0][1] if fits else None


def _state_for(spec: DeviceSpec, asked: str) -> str | None:
    """The state a question asks of a device of ``spec``: "开着" (open) of a light is "on"."""
    if state_props(spec, asked):
        return asked
    switched = {"open": "on", "closed": "off"}.get(asked)
    return switched if switched is not None and state_props(spec, switched) else None


def state_props(spec: DeviceSpec, state: str) -> tuple[str, ...]:
    """The properties that tell whether a device of ``spec`` is in ``state``."""
    props = spec.properties
    if state in ("open", "closed"):
        named = [
            n
            for n, p in props.items()
            if (p.allowed is not None and "open" in p.allowed and "closed" in p.allowed)
        ]
        return tuple(named) or tuple(
            n
            for n, p in props.items()
            if p.format is Format.BOOL and (n == "door_open" or n in vss.DOOR_OPEN or n == vss.TRUNK_OPEN)
        )
    if state in ("on", "off"):
        return tuple(n for n, p in props.items() if n in ("on", vss.AC_ACTIVE))
    if state in ("locked", "unlocked"):
        return tuple(n for n, p in props.items() if n == "locked" or n in vss.DOOR_LOCKED)
    return ()
