"""carhome's miIO/MIoT connector: Xiaomi devices on the LAN, built on python-miio's codec.

``MiioConnector`` polls each configured device's MIoT properties into the hub and runs the
hub's commands on it with ``set_properties`` and ``action``; ``mapping`` holds the
per-model tables from MIoT siid/piid/aiid to carhome properties and actions; ``discover``
finds devices with the hello handshake. Tokens cannot be discovered on current firmware.
"""

from carhome.connectors.miio.client import (
    PORT,
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
