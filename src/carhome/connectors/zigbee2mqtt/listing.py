"""The bridge's device list, read: which devices come into the hub, and as what.

Every device with a definition becomes a hub device (``names``: its id from its IEEE
address, its name and room from its friendly name) with the spec its exposes make
(``mapping``). Not brought: the coordinator, a disabled device, one still being
interviewed, one without a definition or exposing nothing carhome maps. A malformed entry,
one without a readable IEEE address, an address listed twice and a malformed expose are
problems, each said alone; the rest of the list still counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

from carhome.connectors.zigbee2mqtt.mapping import DeviceMap, map_device
from carhome.connectors.zigbee2mqtt.names import device_id, device_type, name_and_room
from carhome.connectors.zigbee2mqtt.payloads import DeviceEntry, decode_devices, decode_exposes
from carhome.hub import Device
from carhome.mqtt.malformed import MalformedMessage

log: Final = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Known:
    """A device of the bridge brought into the hub."""

    friendly_name: str
    ieee: str
    device: Device
    map: DeviceMap


@dataclass(frozen=True, slots=True)
class Problem:
    """Something of the list refused: the hub device it concerns (``None``: the list's own),
    a reason code and the reason."""

    device: str | None
    code: str
    reason: str


@dataclass(slots=True)
class Listing:
    listed: dict[str, Known] = field(default_factory=dict)
    """The devices to bring, by friendly name."""
    not_brought: set[str] = field(default_factory=set)
    """Friendly names of the devices not to bring: their messages are no unknown devices'."""
    problems: list[Problem] = field(default_factory=list)


def read_list(payload: bytes, *, home: str, connector: str) -> Listing:
    """The devices of a ``bridge/devices`` payload, for ``home``; ``MalformedMessage`` if the
    payload is no list at all."""
    out = Listing()
    ids: set[str] = set()
    for entry in decode_devices(payload):
        if isinstance(entry, MalformedMessage):
            out.problems.append(Problem(None, entry.code, entry.reason))
            continue
        known = _known_of(entry, home, connector, out)
        if known is None:
            out.not_brought.add(entry.friendly_name)
        elif known.device.id in ids:
            out.problems.append(Problem(None, "bad_device", f"{entry.ieee_address} is listed twice"))
        else:
            ids.add(known.device.id)
            out.listed[entry.friendly_name] = known
    return out


def _known_of(entry: DeviceEntry, home: str, connector: str, out: Listing) -> Known | None:
    definition = entry.definition
    if entry.type == "Coordinator" or entry.disabled or not entry.interview_completed or definition is None:
        return None
    name = entry.friendly_name[:80]
    ident = device_id(entry.ieee_address)
    if ident is None:
        reason = f"{name!r} has no IEEE address carhome can read: {entry.ieee_address[:40]!r}"
        out.problems.append(Problem(None, "bad_device", reason))
        return None
    exposes, bad = decode_exposes(definition)
    out.problems += [Problem(ident, p.code, f"{name}: {p.reason}") for p in bad]
    mapped = map_device(
        exposes, model=definition.model, vendor=definition.vendor, description=definition.description
    )
    if not mapped.spec.properties and not mapped.spec.actions:
        log.info("Zigbee device %s exposes nothing carhome maps; not brought", name)
        return None
    label, room = name_and_room(entry.friendly_name)
    device = Device(
        home=home, id=ident, type=device_type(definition.model), name=label, room=room, connector=connector
    )
    return Known(entry.friendly_name, entry.ieee_address.lower(), device, mapped)
