"""carhome's Shelly connector: Gen2 meters and relays over MQTT, JSON-RPC for commands.

``ShellyConnector`` listens to each configured Shelly's ``online``, ``events/rpc`` and
``status/<component>`` topics, maps its components onto carhome's ``grid_meter`` and
``relay`` (``mapping``), asks ``Shelly.GetStatus`` when one comes online, and runs a
relay's commands as ``Switch.Set`` / ``Switch.Toggle``; ``config`` is its section of the
configuration file.
"""

# Importing this package stays light (the configuration loads it): the MQTT client the
# connector uses is imported on first use of a name that needs it.
from typing import TYPE_CHECKING

from carhome.lazy import exports

_WHERE = {
    "CONNECTOR": "carhome.connectors.shelly.config",
    "KINDS": "carhome.connectors.shelly.mapping",
    "MAX_PAYLOAD": "carhome.connectors.shelly.connector",
    "Component": "carhome.connectors.shelly.mapping",
    "KindMap": "carhome.connectors.shelly.mapping",
    "ShellyConfig": "carhome.connectors.shelly.config",
    "ShellyConnector": "carhome.connectors.shelly.connector",
    "ShellyDeviceConfig": "carhome.connectors.shelly.config",
    "ShellyError": "carhome.connectors.shelly.connector",
    "ShellyRefused": "carhome.connectors.shelly.connector",
    "ShellyStats": "carhome.connectors.shelly.connector",
    "ShellyTimeout": "carhome.connectors.shelly.connector",
}

__all__ = [
    "CONNECTOR",
    "KINDS",
    "MAX_PAYLOAD",
    "Component",
    "KindMap",
    "ShellyConfig",
    "ShellyConnector",
    "ShellyDeviceConfig",
    "ShellyError",
    "ShellyRefused",
    "ShellyStats",
    "ShellyTimeout",
]

__getattr__ = exports(__name__, _WHERE)

if TYPE_CHECKING:
    from carhome.connectors.shelly.config import CONNECTOR, ShellyConfig, ShellyDeviceConfig
    from carhome.connectors.shelly.connector import (
        MAX_PAYLOAD,
        ShellyConnector,
        ShellyError,
        ShellyRefused,
        ShellyStats,
        ShellyTimeout,
    )
    from carhome.connectors.shelly.mapping import KINDS, Component, KindMap
