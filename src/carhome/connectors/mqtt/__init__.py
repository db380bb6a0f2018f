"""carhome's MQTT connector, the hub side: devices' states, events and acks in, commands out.

The MQTT library it stands on (link, topics, payloads, the device client, the broker) is
``carhome.mqtt``, shared with every other part that speaks MQTT.
"""

from carhome.connectors.mqtt.connector import MqttConnector, MqttStats

__all__ = ["MqttConnector", "MqttStats"]
