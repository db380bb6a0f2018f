"""How one value goes between Zigbee2MQTT's JSON and carhome's: a codec per kind of expose.

A binary's two values (``"ON"``/``"OFF"``, ``"LOCK"``/``"UNLOCK"``, ``true``/``false`` …)
become carhome's booleans; an enum's values carhome's words (numbers too: ``2`` → ``"2"``,
and back); numbers and text pass as they are, for the hub to check against the spec. A
value of the wrong JSON type is not taken for another (``1`` is not ``true``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from carhome.errors import CarhomeError


class ZigbeeValueError(CarhomeError):
    """A value from Zigbee2MQTT that its property's codec cannot turn into carhome's."""

    def __init__(self, code: str, reason: str, allowed: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.allowed = allowed


CLEARED: Final = object()
"""What a codec answers for a value Zigbee2MQTT sends to clear one (an empty ``action``):
nothing to report."""


class Codec(Protocol):
    """How one value goes between Zigbee2MQTT's JSON and carhome's."""

    def from_wire(self, raw: Any) -> Any: ...

    def to_wire(self, value: Any) -> Any: ...


def same(a: Any, b: Any) -> bool:
    """Equal and of one JSON type (``True`` is not ``1`` here)."""
    return type(a) is type(b) and a == b


@dataclass(frozen=True, slots=True)
class BoolCodec:
    on: Any
    off: Any

    def from_wire(self, raw: Any) -> bool:
        if same(raw, self.on):
            return True
        if same(raw, self.off):
            return False
        raise ZigbeeValueError("not_allowed", f"{show(raw)} is neither {self.on!r} nor {self.off!r}")

    def to_wire(self, value: Any) -> Any:
        return self.on if value else self.off


@dataclass(frozen=True, slots=True)
class EnumCodec:
    wire: Mapping[str, Any]
    """carhome's word for each value → the value on the wire."""

    def from_wire(self, raw: Any) -> Any:
        for word, value in self.wire.items():
            if same(raw, value):
                return word
        if raw == "" and "" not in self.wire:
            return CLEARED
        raise ZigbeeValueError("not_allowed", f"{show(raw)} is not one of its values", listed(self.wire))

    def to_wire(self, value: Any) -> Any:
        return self.wire[value]


@dataclass(frozen=True, slots=True)
class PlainCodec:
    """Numbers and text as they are; the hub checks them. ``presets`` are named values the
    device may report that carhome's property cannot hold."""

    presets: frozenset[str] = frozenset()

    def from_wire(self, raw: Any) -> Any:
        if isinstance(raw, str) and raw in self.presets:
            raise ZigbeeValueError(
                "not_mapped", f"{show(raw)} is a named preset of this value, which carhome does not hold"
            )
        return raw

    def to_wire(self, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)  # 254, not 254.0: what Zigbee2MQTT's own frontend sends
        return value


def show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def listed(words: Iterable[str], most: int = 12) -> str:
    listed = [repr(w) for w in words]
    return ", ".join(listed[:most]) + (f" … ({len(listed)} in all)" if len(listed) > most else "")
