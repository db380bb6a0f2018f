"""Device events: what a device reports that is not state (a doorbell, a cable plugged in).

An event is checked against its device's spec as a value is — its name must be one of the
spec's events, its fields exactly the event's fields, each of its type — and then published
on the bus as an ``Event`` keyed by (home, device, event name). The hub keeps no value for
it. ``Hub.event`` is the one way in, whatever connector heard it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from carhome.spec import DeviceSpec, InvalidValue


class Event(msgspec.Struct, gc=False, frozen=True):
    """A device reported event ``name`` with ``fields`` (checked and normalised by the spec)."""

    home: str
    device: str
    name: str
    fields: dict[str, Any]
    ts: float
    source: str


def check_event(spec: DeviceSpec, name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The event's fields, checked and normalised; ``InvalidValue`` naming the culprit if not."""
    event = spec.events.get(name)
    if event is None:
        raise InvalidValue(
            "unknown_event", f"{spec.type} has no such event", ", ".join(sorted(spec.events)) or "none"
        )
    known = {f.name: f for f in event.fields}
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise InvalidValue("unknown_field", f"unknown field {unknown[0]!r}", ", ".join(known) or "none")
    checked: dict[str, Any] = {}
    for field_name, field in known.items():
        if field_name not in fields:
            raise InvalidValue("missing_field", f"missing field {field_name!r}", field.describe_allowed())
        try:
            checked[field_name] = field.check(fields[field_name])
        except InvalidValue as exc:
            raise InvalidValue(exc.code, f"field {field_name!r}: {exc.reason}", exc.allowed) from None
    return checked
