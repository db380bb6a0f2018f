"""carhome's miIO/MIoT connector: Xiaomi devices on the LAN, built on python-miio's codec.

``MiioConnector`` polls each configured device's MIoT properties into the hub and runs the
hub's commands on it with ``set_properties`` and ``action``; ``mapping`` holds the
per-model tables from MIoT siid/piid/aiid to carhome properties and actions; ``discover``
finds devices with the hello handshake. Tokens cannot be discovered on current firmware.
"""

# Importing this package stays light (the configuration loads it): python-miio, which
# the client and connector use, is imported on first use of a name that needs it.
from typing import TYPE_CHECKING

from carhome.lazy import exports

_WHERE = {
    "ActionMap": "carhome.connectors.miio.mapping",
    "CONNECTOR": "carhome.connectors.miio.connector",
    "ConversionError": "carhome.connectors.miio.mapping",
    "DeviceInfo": "carhome.connectors.miio.discovery",
    "Hello": "carhome.connectors.miio.client",
    "MAPPINGS": "carhome.connectors.miio.mapping",
    "MiioClient": "carhome.connectors.miio.client",
    "MiioConfig": "carhome.connectors.miio.config",
    "MiioConnector": "carhome.connectors.miio.connector",
    "MiioDevice": "carhome.connectors.miio.connector",
    "MiioDeviceConfig": "carhome.connectors.miio.config",
    "MiioDeviceError": "carhome.connectors.miio.client",
    "MiioError": "carhome.connectors.miio.client",
    "MiioExpired": "carhome.connectors.miio.client",
    "MiioStats": "carhome.connectors.miio.connector",
    "MiioTokenRejected": "carhome.connectors.miio.client",
    "MiioUnreachable": "carhome.connectors.miio.client",
    "ModelMap": "carhome.connectors.miio.mapping",
    "PORT": "carhome.connectors.miio.tokens",
    "PropertyMap": "carhome.connectors.miio.mapping",
    "discover": "carhome.connectors.miio.discovery",
    "identify": "carhome.connectors.miio.discovery",
}

__all__ = [
    "CONNECTOR",
    "MAPPINGS",
    "PORT",
    "ActionMap",
    "ConversionError",
    "DeviceInfo",
    "Hello",
    "MiioClient",
    "MiioConfig",
    "MiioConnector",
    "MiioDevice",
    "MiioDeviceConfig",
    "MiioDeviceError",
    "MiioError",
    "MiioExpired",
    "MiioStats",
    "MiioTokenRejected",
    "MiioUnreachable",
    "ModelMap",
    "PropertyMap",
    "discover",
    "identify",
]


__getattr__ = exports(__name__, _WHERE)


if TYPE_CHECKING:
    from carhome.connectors.miio.client import (
        Hello,
        MiioClient,
        MiioDeviceError,
        MiioError,
        MiioExpired,
        MiioTokenRejected,
        MiioUnreachable,
    )
    from carhome.connectors.miio.config import MiioConfig, MiioDeviceConfig
    from carhome.connectors.miio.connector import CONNECTOR, MiioConnector, MiioDevice, MiioStats
    from carhome.connectors.miio.discovery import DeviceInfo, discover, identify
    from carhome.connectors.miio.mapping import MAPPINGS, ActionMap, ConversionError, ModelMap, PropertyMap
    from carhome.connectors.miio.tokens import PORT
