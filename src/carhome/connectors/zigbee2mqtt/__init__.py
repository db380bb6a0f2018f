"""carhome's Zigbee2MQTT connector: the Zigbee devices people own, through their bridge.

``Zigbee2MqttConnector`` reads the bridge's device list, makes each device's spec from its
exposes (``mapping``, generic: no table per model), brings states and availability into the
hub and sends the hub's commands to ``<friendly_name>/set``. ``Zigbee2MqttConfig`` is its
configuration section.
"""

# Importing this package stays light (the configuration loads it): the connector, which
# needs the MQTT client, is imported on first use of a name that needs it.
from typing import TYPE_CHECKING

from carhome.lazy import exports

_WHERE = {
    "CONNECTOR": "carhome.connectors.zigbee2mqtt.connector",
    "Coverage": "carhome.connectors.zigbee2mqtt.mapping",
    "DeviceMap": "carhome.connectors.zigbee2mqtt.mapping",
    "Expose": "carhome.connectors.zigbee2mqtt.exposes",
    "TrustedLock": "carhome.connectors.zigbee2mqtt.config",
    "Zigbee2MqttConfig": "carhome.connectors.zigbee2mqtt.config",
    "Zigbee2MqttConnector": "carhome.connectors.zigbee2mqtt.connector",
    "Zigbee2MqttStats": "carhome.connectors.zigbee2mqtt.connector",
    "map_device": "carhome.connectors.zigbee2mqtt.mapping",
}

__all__ = [
    "CONNECTOR",
    "Coverage",
    "DeviceMap",
    "Expose",
    "TrustedLock",
    "Zigbee2MqttConfig",
    "Zigbee2MqttConnector",
    "Zigbee2MqttStats",
    "map_device",
]

__getattr__ = exports(__name__, _WHERE)

if TYPE_CHECKING:
    from carhome.connectors.zigbee2mqtt.config import TrustedLock, Zigbee2MqttConfig
    from carhome.connectors.zigbee2mqtt.connector import CONNECTOR, Zigbee2MqttConnector, Zigbee2MqttStats
    from carhome.connectors.zigbee2mqtt.exposes import Expose
    from carhome.connectors.zigbee2mqtt.mapping import Coverage, DeviceMap, map_device
