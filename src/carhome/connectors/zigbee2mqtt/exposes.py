"""Zigbee2MQTT's exposes, decoded: what a device definition says a device offers.

An expose is generic (``binary``, ``numeric``, ``enum``, ``text``, ``composite``, ``list``)
or specific (``light``, ``switch``, ``lock``, ``climate``, ``cover``, ``fan``): a specific
one groups generic features. Each generic expose names the key of its value in the device's
state messages (``property``), its ``access`` bits (1: published in the state, 2: can be set,
4: can be read on request), and what values it takes.

One struct holds every kind, its fields optional: Zigbee2MQTT adds fields over time, and a
kind carhome does not know must not stop the others from being read (it is reported as not
mapped, not refused).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

STATE: Final = 1
SET: Final = 2
GET: Final = 4

GENERIC: Final = frozenset({"binary", "numeric", "enum", "text"})
SPECIFIC: Final = frozenset({"light", "switch", "lock", "climate", "cover", "fan"})


class Preset(msgspec.Struct, frozen=True):
    """A named value of a numeric expose (``previous``, ``coolest`` …)."""

    name: str
    value: Any = None
    description: str = ""


class Expose(msgspec.Struct, frozen=True, kw_only=True):
    """One expose as Zigbee2MQTT publishes it in ``bridge/devices``."""

    type: str
    name: str | None = None
    prop: str | None = msgspec.field(default=None, name="property")
    """The key of its value in state messages (``property`` on the wire)."""
    label: str | None = None
    description: str | None = None
    access: int = STATE
    endpoint: str | None = None
    category: str | None = None
    unit: str | None = None
    value_min: float | None = None
    value_max: float | None = None
    value_step: float | None = None
    presets: tuple[Preset, ...] = ()
    values: tuple[Any, ...] = ()
    value_on: Any = None
    value_off: Any = None
    value_toggle: Any = None
    features: tuple[Expose, ...] = ()
    item_type: Expose | None = None

    @property
    def words(self) -> str:
        """What people call it: its description, else its label, else its name."""
        return self.description or self.label or self.name or self.prop or self.type
