"""Current state: one value, timestamp and source per (home, device, property).

``State`` and ``Change`` are the only per-change objects on the ingest path; both are
msgspec structs without garbage-collector tracking.
"""

from __future__ import annotations

from typing import Any

import msgspec


class State(msgspec.Struct, gc=False, frozen=True):
    """A property's current value, when it was measured, and who reported it."""

    value: Any
    ts: float
    source: str


class Change(msgspec.Struct, gc=False, frozen=True):
    """One property of one device took a new value. The unit of the event bus."""

    home: str
    device: str
    prop: str
    value: Any
    old: Any
    ts: float
    source: str
