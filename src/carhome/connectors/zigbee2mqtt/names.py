"""A Zigbee2MQTT device's identity in carhome: its id from its IEEE address, its name and
room from its friendly name.

Zigbee2MQTT users group devices into rooms with slashes in friendly names
(``living_room/lamp``): the last part is the device's name, what comes before it its room.
The id comes from the IEEE address, not the name, so it stays the same when the device is
renamed or moved to another room (and automations, grants and history keep pointing at it).
"""

from __future__ import annotations

from typing import Final

from carhome.connectors.zigbee2mqtt.config import IEEE

ID_PREFIX: Final = "zigbee-"
TYPE_PREFIX: Final = "zigbee:"
"""Device types of Zigbee devices: ``zigbee:<model>``, which no built-in spec has."""


def device_id(ieee_address: str) -> str | None:
    """``0x00158D0001A2B3C4`` → ``zigbee-00158d0001a2b3c4``; ``None`` if it is no IEEE address."""
    if not IEEE.fullmatch(ieee_address):
        return None
    return ID_PREFIX + ieee_address[2:].lower()


def name_and_room(friendly_name: str) -> tuple[str, str | None]:
    """``living_room/lamp`` → (``lamp``, ``living_room``); ``lamp`` → (``lamp``, ``None``)."""
    parts = [part.strip() for part in friendly_name.split("/") if part.strip()]
    if not parts:
        return friendly_name, None
    room = "/".join(parts[:-1])
    return parts[-1], room or None


def device_type(model: str) -> str:
    return TYPE_PREFIX + model
