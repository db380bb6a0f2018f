"""Current state: one value, timestamp and source per (home, device, property), and
whether each device is reachable.

``State`` and ``Change`` are the only per-change objects on the ingest path; both are
msgspec structs without garbage-collector tracking. ``Availability`` is what the hub
publishes when a connector says a device went online or offline.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

import msgspec

AVAILABILITY: Final = "availability"
"""The name an ``Availability`` record has on the bus (its key is (home, device, this))."""


class State(msgspec.Struct, gc=False, frozen=True):
    """A property's current value, when it was measured, and who reported it."""

    value: Any
    ts: float
    source: str


class Change(msgspec.Struct, gc=False, frozen=True):
    """One property of one device took a new value. Its key on the bus is (home, device, prop)."""

    home: str
    device: str
    prop: str
    value: Any
    old: Any
    ts: float
    source: str


class Availability(msgspec.Struct, gc=False, frozen=True):
    """A device went online or offline (its connector saw it), at ``ts``."""

    home: str
    device: str
    online: bool
    ts: float
    name: ClassVar[str] = AVAILABILITY
