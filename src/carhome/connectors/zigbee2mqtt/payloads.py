"""Zigbee2MQTT's topics and payloads, decoded into typed values at the edge.

::

    <base>/bridge/state                  {"state": "online"|"offline"}  (retained; before 2.0: online)
    <base>/bridge/devices                [{ieee_address, friendly_name, type, definition: {model,
                                          vendor, description, exposes}, …}, …]  (retained)
    <base>/bridge/groups                 [{friendly_name, …}, …]  (retained)
    <base>/<friendly_name>               {"<property>": <value>, …}  a device's state
    <base>/<friendly_name>/availability  {"state": "online"|"offline"}  (retained; before 2.0: online)
    <base>/<friendly_name>/set           {"<property>": <value>}  carhome → Zigbee2MQTT

A friendly name may hold slashes (``living_room/lamp``). Each ``decode_*`` raises
``MalformedMessage`` naming what was wrong, and nothing else, whatever the bytes. The device
list is decoded one device at a time, and each device's exposes one expose at a time: one
bad entry is refused alone, and the rest of the list still counts.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import msgspec

from carhome.connectors.zigbee2mqtt.exposes import Expose
from carhome.mqtt.malformed import MalformedMessage
from carhome.mqtt.payloads import decode_json

MAX_PAYLOAD: Final = 64 * 1024
"""The largest state, availability or group message decoded, in bytes."""
MAX_DEVICES_PAYLOAD: Final = 16 * 1024 * 1024
"""The largest device list decoded, in bytes: a few hundred devices with their exposes."""


class Kind(enum.Enum):
    BRIDGE_STATE = "bridge/state"
    DEVICES = "bridge/devices"
    GROUPS = "bridge/groups"
    STATE = "state"
    AVAILABILITY = "availability"


@dataclass(frozen=True, slots=True)
class Route:
    kind: Kind
    name: str = ""
    """The friendly name, for a device's topics."""


_BRIDGE: Final = {"state": Kind.BRIDGE_STATE, "devices": Kind.DEVICES, "groups": Kind.GROUPS}
_REQUESTS: Final = frozenset({"set", "get"})
_AVAILABILITY: Final = "/availability"


def route(base: str, topic: str) -> Route | None:
    """What a message on ``topic`` is, or ``None`` when carhome has no use for it (the
    bridge's logs and responses, requests to devices — carhome's own ``/set`` among them)."""
    if not topic.startswith(base + "/"):
        return None
    rest = topic[len(base) + 1 :]
    if rest.startswith("bridge/"):
        kind = _BRIDGE.get(rest[len("bridge/") :])
        return None if kind is None else Route(kind)
    parts = rest.split("/")
    if not rest or parts[-1] in _REQUESTS or (len(parts) > 1 and parts[-2] in _REQUESTS):
        return None
    if rest.endswith(_AVAILABILITY) and len(rest) > len(_AVAILABILITY):
        return Route(Kind.AVAILABILITY, rest[: -len(_AVAILABILITY)])
    return Route(Kind.STATE, rest)


# -- the device list ----------------------------------------------------------------------


class Definition(msgspec.Struct, frozen=True):
    model: str
    vendor: str = ""
    description: str = ""
    exposes: tuple[msgspec.Raw, ...] = ()


class DeviceEntry(msgspec.Struct, frozen=True):
    """One device of ``bridge/devices``, its exposes still raw (decoded one by one)."""

    ieee_address: str
    friendly_name: str
    type: str = ""
    supported: bool = True
    disabled: bool = False
    interview_completed: bool = True
    definition: Definition | None = None


_T = TypeVar("_T")

_list_decoder: Final = msgspec.json.Decoder(list[msgspec.Raw])
_entry_decoder: Final = msgspec.json.Decoder(DeviceEntry)
_expose_decoder: Final = msgspec.json.Decoder(Expose)


def decode_devices(payload: bytes) -> list[DeviceEntry | MalformedMessage]:
    """Each device of the list, or why that one entry was refused."""
    raws = decode_json(
        _list_decoder,
        payload,
        code="malformed_payload",
        invalid=lambda _: "bridge/devices must be a JSON array of devices",
    )
    return _each(_entry_decoder, raws, code="bad_device", where=lambda i: f"device {i} of bridge/devices")


def decode_exposes(definition: Definition) -> tuple[list[Expose], list[MalformedMessage]]:
    """A definition's exposes, and the refusals of those that are malformed."""
    model = definition.model[:80]
    decoded = _each(
        _expose_decoder, definition.exposes, code="bad_expose", where=lambda i: f"expose {i} of {model}"
    )
    good = [e for e in decoded if not isinstance(e, MalformedMessage)]
    return good, [e for e in decoded if isinstance(e, MalformedMessage)]


def _each(
    decoder: msgspec.json.Decoder[_T], raws: Iterable[msgspec.Raw], *, code: str, where: Callable[[int], str]
) -> list[_T | MalformedMessage]:
    """Each of ``raws`` decoded alone, or why it was refused (``where`` names it by its index)."""
    out: list[_T | MalformedMessage] = []
    for index, raw in enumerate(raws):
        try:
            out.append(decode_json(decoder, bytes(raw), code=code, invalid=_saying(where(index))))
        except MalformedMessage as exc:
            out.append(exc)
    return out


def _saying(where: str) -> Callable[[str], str]:
    return lambda reason: f"{where}: {reason}"


class GroupEntry(msgspec.Struct, frozen=True):
    friendly_name: str


_groups_decoder: Final = msgspec.json.Decoder(list[GroupEntry])


def decode_groups(payload: bytes) -> list[str]:
    """The friendly names of the bridge's groups (their state topics are not devices')."""
    groups = decode_json(
        _groups_decoder,
        payload,
        code="malformed_payload",
        invalid=lambda reason: f"bridge/groups must be a JSON array of groups: {reason}",
    )
    return [g.friendly_name for g in groups]


# -- states and availability --------------------------------------------------------------

_state_decoder: Final = msgspec.json.Decoder(dict[str, Any])


def decode_state(payload: bytes) -> dict[str, Any]:
    """A device's state message: property → value, as JSON gives them."""
    return decode_json(
        _state_decoder,
        payload,
        code="malformed_payload",
        invalid=lambda _: "a device's state must be a JSON object of property → value",
    )


class _Online(msgspec.Struct, frozen=True):
    state: str


_online_decoder: Final = msgspec.json.Decoder(_Online)
_WORDS: Final = {"online": True, "offline": False}


def decode_online(payload: bytes) -> bool | None:
    """``{"state": "online"}`` or the pre-2.0 ``online`` → ``True`` (``offline`` → ``False``);
    an empty payload (a retained message cleared) → ``None``."""
    text = payload.strip()
    if not text:
        return None
    word: str | None
    try:
        word = text.decode("ascii")
    except UnicodeDecodeError:
        word = None
    if word not in _WORDS:
        word = decode_json(
            _online_decoder,
            payload,
            code="bad_availability",
            invalid=lambda _: 'expected {"state": "online"} or {"state": "offline"}',
        ).state
    found = _WORDS.get(word)
    if found is None:
        raise MalformedMessage("bad_availability", f"state {word[:40]!r} is neither 'online' nor 'offline'")
    return found
