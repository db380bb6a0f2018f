"""The Zigbee2MQTT connector as a part of the hub: the ``zigbee2mqtt:`` section's bridge and its devices.

A Zigbee lock's trust holds while the owner who gave it is one (the access seam says).
The connector tells the hub's health whether the bridge's broker is heard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from carhome.connectors.zigbee2mqtt.config import Zigbee2MqttConfig
from carhome.parts import Context, SectionPart

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager


def _start(context: Context, section: Zigbee2MqttConfig) -> AbstractAsyncContextManager[object] | None:
    from carhome.connectors.zigbee2mqtt import Zigbee2MqttConnector  # noqa: PLC0415 - loads only when used

    access = context.access

    def owns(home: str, member: str) -> bool:
        return access is not None and access.owns(home, member)

    connector = Zigbee2MqttConnector(context.hub, section, owners=owns, clock=context.clock)
    context.health.append(connector.deafness)
    return connector


PART: Final = SectionPart("zigbee2mqtt", Zigbee2MqttConfig, _start)
