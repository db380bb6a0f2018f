"""carhome's MQTT library: the link, topics, payload codecs, the device client and the broker.

Wire convention (``carhome/{home}/{device}/…``): ``state`` and ``event`` flow device →
hub, ``cmd`` hub → device at QoS 1, ``ack`` device → hub at QoS 1, ``status``
(``online``/``offline``) is retained and is each client's last will. The hub announces
itself on ``carhome-hub/{hub_id}/status`` the same way.

Everything that speaks MQTT stands on this package: the hub-side connector
(``carhome.connectors.mqtt``), the Home Assistant bridge, the Zigbee2MQTT, Shelly, OVMS and
Tesla connectors, the simulator's devices, and the built-in broker with its logins and ACLs.
It imports no part.
"""

from carhome.backoff import Backoff
from carhome.mqtt.broker import EmbeddedBroker
from carhome.mqtt.device import CommandHandler, DeviceStats, MqttDeviceClient
from carhome.mqtt.link import BrokerUrl, MqttVersion
from carhome.mqtt.malformed import MalformedMessage
from carhome.mqtt.payloads import CommandMessage, EventMessage
from carhome.mqtt.topics import Kind, Topic, hub_status_topic

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
    "MqttDeviceClient",
    "MqttVersion",
    "Topic",
    "hub_status_topic",
]
