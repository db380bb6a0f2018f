"""The bridge's topics: Home Assistant's discovery and status, and carhome's ``…/ha/…``.

A device's Home Assistant topics sit under its carhome topic one level deeper
(``carhome/{home}/{device}/ha/state``), so the MQTT connector's four-level filters
(``carhome/+/+/state`` …) never see them. The bridge's own status lives outside
``carhome/`` for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from carhome.hub.model import check_name
from carhome.mqtt.topics import ROOT

COMMAND_FILTER: Final = f"{ROOT}/+/+/ha/cmd/+/+"


def node_id(bridge: str, home: str, device: str) -> str:
    """The discovery node id of a device: unique per bridge, home and device."""
    return f"{bridge}_{home}_{device}"


def config_topic(prefix: str, node: str) -> str:
    return f"{prefix}/device/{node}/config"


def config_filter(prefix: str) -> str:
    return f"{prefix}/device/+/config"


def ha_status_topic(prefix: str) -> str:
    """Where Home Assistant says ``online`` when it (re)starts (its MQTT birth message)."""
    return f"{prefix}/status"


def bridge_status_topic(bridge: str) -> str:
    check_name("bridge", bridge)
    return f"carhome-ha/{bridge}/status"


def state_topic(home: str, device: str) -> str:
    return f"{ROOT}/{home}/{device}/ha/state"


def availability_topic(home: str, device: str) -> str:
    return f"{ROOT}/{home}/{device}/ha/availability"


LOCATION: Final = "location"
"""A tracker's location name (``home``, ``not_home``, a place), read raw by Home Assistant."""
RESULT: Final = "result"
"""What became of a command from Home Assistant, for its ``command_result`` event entity."""
OWN_LEAVES: Final = (LOCATION, RESULT)
"""Every topic an entity may have of its own; the MQTT access table lets the bridge write
them and Home Assistant read them."""


def own_topic(home: str, device: str, leaf: str) -> str:
    """A topic of one entity's own (one of ``OWN_LEAVES``)."""
    if leaf not in OWN_LEAVES:
        raise ValueError(f"{leaf!r} is not a Home Assistant topic of carhome's; add it to OWN_LEAVES")
    return f"{ROOT}/{home}/{device}/ha/{leaf}"


def command_topic(home: str, device: str, key: str, option: str) -> str:
    """The topic for one command option (``command_topic``, ``mode_command_topic`` …)."""
    facet = option.removesuffix("command_topic").rstrip("_") or "set"
    return f"{ROOT}/{home}/{device}/ha/cmd/{key}/{facet}"


@dataclass(frozen=True, slots=True)
class CommandTopic:
    """``carhome/{home}/{device}/ha/cmd/{key}/{facet}``, parsed."""

    home: str
    device: str
    key: str
    option: str

    @staticmethod
    def parse(raw: str) -> CommandTopic | None:
        parts = raw.split("/")
        if len(parts) != 7 or parts[0] != ROOT or parts[3:5] != ["ha", "cmd"]:
            return None
        facet = parts[6]
        option = "command_topic" if facet == "set" else f"{facet}_command_topic"
        return CommandTopic(parts[1], parts[2], parts[5], option)
