"""Discovery and state payloads: a device and its entity descriptions, rendered for Home Assistant.

``device_config`` renders one device-level discovery message (``dev``, ``o``, ``cmps``)
from the descriptions of ``entities``; ``state_payload`` renders the state JSON their
templates read, and ``own_payloads`` the topics some entities have of their own. None
knows MQTT beyond topic names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

import msgspec

from carhome import __version__
from carhome.connectors.homeassistant.entities import EntityDescription
from carhome.hub import Device, State
from carhome.mqtt import discovery_topics as topics
from carhome.spec import DeviceSpec

ORIGIN: Final = {"name": "carhome", "sw": __version__, "url": "https://github.com/carhome/carhome"}
QOS: Final = 1
"""The QoS Home Assistant subscribes to states and publishes commands with.

It goes in every component: Home Assistant (2025.4) accepts ``qos`` at the device level
of a device payload but does not hand it down to the components (only availability and
the state and command topics are shared), so a device-level ``qos`` alone left every
entity at QoS 0 and a command could be lost on a link that drops."""
ONLINE: Final = "online"
OFFLINE: Final = "offline"


def _topic_option(template_option: str) -> str:
    """The topic option a template option reads (``position_template`` → ``position_topic``)."""
    if template_option == "value_template":
        return "state_topic"
    return template_option.removesuffix("_template") + "_topic"


def component(entity: EntityDescription, node: str, device: Device) -> dict[str, Any]:
    """One entry of ``cmps``: the entity's options, with its topics filled in."""
    state = topics.state_topic(device.home, device.id)
    out: dict[str, Any] = {
        "p": entity.platform.value,
        "unique_id": f"{node}_{entity.key}",
        "name": entity.name,
        "qos": QOS,
    }
    given = {
        "device_class": entity.device_class,
        "unit_of_measurement": entity.unit,
        "state_class": entity.state_class,
        "entity_category": entity.entity_category,
    }
    out.update({option: v for option, v in given.items() if v is not None})
    if not entity.enabled_by_default:
        out["enabled_by_default"] = False
    for option, template in entity.templates.items():
        out[_topic_option(option)] = state
        out[option] = template
    for option, own in entity.own.items():
        out[option] = topics.own_topic(device.home, device.id, own.leaf)
    for option in entity.commands:
        out[option] = topics.command_topic(device.home, device.id, entity.key, option)
    out.update(entity.options)
    return out


def device_config(
    device: Device,
    spec: DeviceSpec,
    entities: Mapping[str, EntityDescription],
    *,
    node: str,
    bridge_status: str,
) -> bytes:
    """The retained message for ``{prefix}/device/{node}/config``."""
    dev: dict[str, Any] = {
        "identifiers": [node],
        "name": device.label,
        "manufacturer": "carhome",
        "model": spec.title,
    }
    if device.room:
        dev["suggested_area"] = device.room.replace("_", " ").capitalize()
    payload = {
        "dev": dev,
        "o": ORIGIN,
        "cmps": {key: component(entity, node, device) for key, entity in entities.items()},
        "availability": [
            {"topic": bridge_status},
            {"topic": topics.availability_topic(device.home, device.id)},
        ],
        "availability_mode": "all",
    }
    return msgspec.json.encode(payload)


def values(spec: DeviceSpec, states: Mapping[str, State]) -> dict[str, Any]:
    """Every property of the spec with its current value, ``None`` until reported."""
    return {name: (None if (st := states.get(name)) is None else st.value) for name in spec.properties}


def state_payload(spec: DeviceSpec, states: Mapping[str, State]) -> bytes:
    """The state JSON: every property of the spec with its current value, ``null`` until reported."""
    return msgspec.json.encode(values(spec, states))


def own_payloads(
    entities: Mapping[str, EntityDescription], current: Mapping[str, Any]
) -> Iterator[tuple[str, bytes]]:
    """(leaf, payload) of every topic an entity has of its own and the bridge renders."""
    for entity in entities.values():
        for own in entity.own.values():
            if own.render is not None:
                yield own.leaf, own.render(current).encode()
