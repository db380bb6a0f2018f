"""Home Assistant: a hub's homes, cars and devices in Home Assistant through MQTT discovery.

``HomeAssistantBridge`` publishes one device-level discovery message per device, derived
from the device's spec by the entity descriptions in ``entities`` and cut by ``offer`` to
the commands the access policy lets Home Assistant send; states and availability follow
the hub, Home Assistant's commands go through the hub's access checks, and what did not
succeed is reported back to it as an event.
"""

from carhome.connectors.homeassistant.bridge import FACE, BridgeStats, HomeAssistantBridge
from carhome.connectors.homeassistant.entities import EntityDescription, Platform, Request, describe
from carhome.connectors.homeassistant.offer import HA_SCOPES, RESULTS, offered
from carhome.connectors.homeassistant.schema import (
    DeviceDiscovery,
    DiscoveryInvalid,
    check_config,
    check_unique,
)

__all__ = [
    "FACE",
    "HA_SCOPES",
    "RESULTS",
    "BridgeStats",
    "DeviceDiscovery",
    "DiscoveryInvalid",
    "EntityDescription",
    "HomeAssistantBridge",
    "Platform",
    "Request",
    "check_config",
    "check_unique",
    "describe",
    "offered",
]
