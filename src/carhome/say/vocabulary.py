"""What a home's things are called right now: phrases for its devices, rooms and
properties, built from the live model (device names, rooms, spec types and properties).

A device is known by its own name, by its type's words and by its room's words with its
type's words; the matcher (``carhome.say.matcher``) turns a phrase back into the devices it
may mean, so "light" in a home with two lights means two candidates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from carhome.hub.model import Device
from carhome.say.lexicon import Language, has_cjk, property_words, room_words, type_words
from carhome.spec import DeviceSpec, vss


@dataclass(frozen=True)
class Thing:
    """One device of the home as the say feature sees it."""

    device: Device
    spec: DeviceSpec

    @property
    def id(self) -> str:
        return self.device.id


def normal(phrase: str) -> str:
    """The form phrases are compared in: lower case, single spaces."""
    return " ".join(phrase.lower().split())


def _climate(thing: Thing, language: Language) -> tuple[str, ...]:
    """A car's climate answers to the air conditioner's words too ("把空调调到24度" in the
    car): a device that is no air conditioner but has a settable HVAC set point."""
    prop = thing.spec.properties.get(vss.HVAC_SET_POINT)
    if thing.device.type == "air_conditioner" or prop is None or not prop.writable:
        return ()
    return type_words("air_conditioner", language)


@dataclass
class Vocabulary:
    """Phrase → what it may mean, for one language of one home."""

    language: Language
    things: dict[str, Thing]
    devices: dict[str, set[str]] = field(default_factory=dict)
    """phrase → device ids (a device's name, its type's words)"""
    areas: dict[str, set[str]] = field(default_factory=dict)
    """phrase → room ids"""
    properties: dict[str, set[str]] = field(default_factory=dict)
    """phrase → property names (of any device in the home)"""

    @classmethod
    def build(cls, things: Iterable[Thing], language: Language) -> Vocabulary:
        vocab = cls(language, {t.id: t for t in things})
        for thing in vocab.things.values():
            device = thing.device
            names = [device.name] if device.name else []
            if device.name and (language == "zh") != has_cjk(device.name):
                names = []  # an English name is no Chinese word, and the reverse
            for phrase in (*names, *type_words(device.type, language), *_climate(thing, language)):
                vocab.devices.setdefault(normal(phrase), set()).add(device.id)
            if device.room:
                for phrase in room_words(device.room, language):
                    vocab.areas.setdefault(normal(phrase), set()).add(device.room)
            for prop in thing.spec.properties:
                for phrase in property_words(prop, language):
                    vocab.properties.setdefault(normal(phrase), set()).add(prop)
        return vocab

    def display(self, thing_id: str) -> str:
        """What an answer calls a device: its own name, or in Chinese its room and type."""
        device = self.things[thing_id].device
        if self.language == "en" or (device.name and has_cjk(device.name)):
            return device.label
        room = room_words(device.room, "zh") if device.room else ()
        kind = type_words(device.type, "zh")
        if not kind:
            return device.label
        return (room[0] if room else "") + kind[0]
