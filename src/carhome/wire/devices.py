"""Homes and devices on the wire, each device rendered from its spec as data.

Any client can show any device without code per type: a device comes with what it offers
(properties with their format, unit, range or allowed values and access; actions with
their arguments; events) and what it reports now. ``render_*`` make these structs from the
hub's records.
"""

from __future__ import annotations

from typing import Final

import msgspec

from carhome.hub import Device, Home, Place, State
from carhome.spec import ActionSpec, DeviceSpec, EventSpec, PropertySpec
from carhome.spec.properties import Access


class DevicesQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Query of ``GET /api/devices``."""

    home: str | None = None


class HomeOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    lat: float
    lon: float
    radius_m: float
    timezone: str
    places: tuple[Place, ...]
    devices: int


class DeviceOut(msgspec.Struct, kw_only=True):
    id: str
    home: str
    type: str
    name: str
    room: str | None
    connector: str
    online: bool | None


class PropertyOut(msgspec.Struct, kw_only=True):
    name: str
    format: str
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] | None = None
    access: tuple[str, ...] = ()
    description: str = ""
    derived: bool = False


class ActionOut(msgspec.Struct, kw_only=True):
    name: str
    description: str
    args: tuple[PropertyOut, ...]
    optional: tuple[str, ...]
    domain: str | None
    sets: tuple[str, ...]


class EventOut(msgspec.Struct, kw_only=True):
    name: str
    description: str
    fields: tuple[PropertyOut, ...]


class SpecOut(msgspec.Struct, kw_only=True):
    type: str
    title: str
    category: str
    description: str
    properties: tuple[PropertyOut, ...]
    actions: tuple[ActionOut, ...]
    events: tuple[EventOut, ...]


class DeviceDetail(msgspec.Struct, kw_only=True):
    """One device: what it is, what it offers, and what it reports now (``now`` is hub time)."""

    device: DeviceOut
    spec: SpecOut
    state: dict[str, State]
    now: float


_ACCESS_WORDS: Final = ((Access.READ, "read"), (Access.WRITE, "write"), (Access.NOTIFY, "notify"))


def render_home(home: Home, devices: int) -> HomeOut:
    return HomeOut(**msgspec.structs.asdict(home), devices=devices)


def render_device(device: Device, online: bool | None) -> DeviceOut:
    return DeviceOut(**msgspec.structs.asdict(device), online=online)


def render_property(prop: PropertySpec) -> PropertyOut:
    return PropertyOut(
        name=prop.name,
        format=str(prop.format),
        unit=prop.unit,
        minimum=prop.minimum,
        maximum=prop.maximum,
        allowed=prop.allowed,
        access=tuple(word for flag, word in _ACCESS_WORDS if prop.access & flag),
        description=prop.description,
        derived=prop.derived,
    )


def render_action(action: ActionSpec) -> ActionOut:
    return ActionOut(
        name=action.name,
        description=action.description,
        args=tuple(render_property(a) for a in action.args),
        optional=tuple(sorted(action.optional)),
        domain=action.domain,
        sets=action.sets,
    )


def render_event(event: EventSpec) -> EventOut:
    return EventOut(
        name=event.name, description=event.description, fields=tuple(render_property(f) for f in event.fields)
    )


def render_spec(spec: DeviceSpec) -> SpecOut:
    return SpecOut(
        type=spec.type,
        title=spec.title,
        category=spec.category,
        description=spec.description,
        properties=tuple(render_property(p) for p in spec.properties.values()),
        actions=tuple(render_action(a) for a in spec.actions.values()),
        events=tuple(render_event(e) for e in spec.events.values()),
    )
