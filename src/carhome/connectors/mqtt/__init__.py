"""carhome's MQTT connector: the hub side, the device side and the built-in broker.

Wire convention (``carhome/{home}/{device}/…``): ``state`` and ``event`` flow device →
hub, ``cmd`` hub → device at QoS 1, ``ack`` device → hub at QoS 1, ``status``
(``online``/``offline``) is retained and is each client's last will. The hub announces
itself on ``carhome-hub/{hub_id}/status`` the same way.
"""

from carhome.backoff import Backoff
from carhome.connectors.mqtt.broker import EmbeddedBroker
from carhome.connectors.mqtt.connector import MqttConnector, MqttStats
from carhome.connectors.mqtt.device import CommandHandler, DeviceStats, MqttDeviceClient
from carhome.connectors.mqtt.link import BrokerUrl, MqttVersion
from carhome.connectors.mqtt.malformed import MalformedMessage
from carhome.connectors.mqtt.payloads import CommandMessage, EventMessage
from carhome.connectors.mqtt.topics import Kind, Topic, hub_status_topic

__all__ = [
    "Backoff",
    "BrokerUrl",
    "CommandHandler",
    "CommandMessage",
    "DeviceStats",
    "EmbeddedBroker",
    "EventMessage",
    "Kind",
    "MalformedMessage",
    "MqttConnector",
    "MqttDeviceClient",
    "MqttStats",
    "MqttVersion",
    "Topic",
    "hub_status_topic",
]
