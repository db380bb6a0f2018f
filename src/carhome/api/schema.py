"""The wire shapes of the local API, shared by the server and the CLI's client.

Requests are decoded into these structs at the edge (unknown keys rejected); responses are
built from them, so the JSON a client sees is typed on both sides. Devices are rendered
from their spec as data, so any client can show any device without code per type.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec

from carhome.hub import Command, Device, Home, Place, State
from carhome.hub.commands import DEFAULT_TTL
from carhome.spec import ActionSpec, DeviceSpec, EventSpec, PropertySpec
from carhome.spec.properties import Access

# A request may hold the connection this long waiting for a command's result; longer
# waits are the client's job (it asks again), so a slow device never pins a worker.
MAX_WAIT: Final = 60.0
MAX_LIMIT: Final = 1000


# -- requests --------------------------------------------------------------------------


class CommandRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/devices/{home}/{device}/commands``."""

    kind: Literal["set", "action"]
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    args: dict[str, Any] = msgspec.field(default_factory=dict)
    ttl: Annotated[float, msgspec.Meta(gt=0)] = DEFAULT_TTL
    wait: Annotated[float, msgspec.Meta(ge=0, le=MAX_WAIT)] | None = None


class CommandsQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Query of ``GET /api/commands``."""

    home: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_LIMIT)] = 50


class DevicesQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Query of ``GET /api/devices``."""

    home: str | None = None


class WaitQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Query of ``GET /api/commands/{id}``: optionally wait for the final result."""

    wait: Annotated[float, msgspec.Meta(ge=0, le=MAX_WAIT)] | None = None


# -- responses -------------------------------------------------------------------------


class Health(msgspec.Struct, kw_only=True):
    status: str
    """``ok``, or ``degraded`` when the hub cannot do its work (``problems`` says why)."""
    time: float
    homes: int
    devices: int
    pending_commands: int
    problems: tuple[str, ...] = ()
    """What is wrong, in words: e.g. the hub hears no device (its MQTT link is down, or
    its own heartbeat did not come back through the broker)."""


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


class RejectionOut(msgspec.Struct, kw_only=True):
    home: str
    device: str
    property: str | None
    code: str
    reason: str
    allowed: str | None
    message: str


class Rejections(msgspec.Struct, kw_only=True):
    total: int
    counts: dict[str, int]
    last: tuple[RejectionOut, ...]


class CommandList(msgspec.Struct, kw_only=True):
    """Recent commands, newest first (``now`` is hub time, for ages)."""

    commands: tuple[Command, ...]
    now: float


# -- rendering -------------------------------------------------------------------------

_ACCESS_WORDS: Final = ((Access.READ, "read"), (Access.WRITE, "write"), (Access.NOTIFY, "notify"))


def render_home(home: Home, devices: int) -> HomeOut:
    return HomeOut(
        id=home.id,
        name=home.name,
        lat=home.lat,
        lon=home.lon,
        radius_m=home.radius_m,
        timezone=home.timezone,
        places=home.places,
        devices=devices,
    )


def render_device(device: Device, online: bool | None) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        home=device.home,
        type=device.type,
        name=device.name,
        room=device.room,
        connector=device.connector,
        online=online,
    )


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
