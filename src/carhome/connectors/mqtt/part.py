"""The ``mqtt`` part: the hub's broker (built in, or an external one by URL) and the MQTT
connector on it.

It provides the broker's URL and logins (``carhome.parts.keys.BROKER``) to every part that
speaks MQTT after it — the Home Assistant bridge, the simulator. Each device, the hub and the
bridge (``MQTT_BRIDGE``, when Home Assistant is configured) get an identity of their own,
kept beside the hub's database; the built-in broker enforces them, and its refusals count as
the hub's rejections. The connector relays key asks to MQTT devices (``KEY_RELAY``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Final

from carhome.connectors.mqtt.config import MqttConfig
from carhome.connectors.mqtt.connector import MqttConnector
from carhome.errors import ConfigError
from carhome.mqtt import EmbeddedBroker
from carhome.mqtt.credentials import CREDENTIALS_FILE, Credentials, HomeAssistantAccess
from carhome.parts import Context, DefaultedPart
from carhome.parts.keys import BROKER, KEY_RELAY, MQTT_BRIDGE, BrokerLogins, Login


@contextlib.asynccontextmanager
async def _running(context: Context, section: MqttConfig) -> AsyncIterator[MqttConnector]:
    hub = context.hub
    bridge = context.want(MQTT_BRIDGE)
    identities = None if context.data is None else context.data / CREDENTIALS_FILE
    credentials = None
    if identities is not None:
        devices = [(d.home, d.id) for d in hub.devices() if d.connector == "mqtt"]
        ha = None if bridge is None else HomeAssistantAccess(bridge.bridge_id, bridge.discovery_prefix)
        # fsynced: off the loop
        credentials = await asyncio.to_thread(Credentials.ensure, identities, devices, home_assistant=ha)
    watched: list[Callable[[], str | None]] = []
    async with contextlib.AsyncExitStack() as stack:
        builtin = section.url is None
        if section.url is not None:
            url = section.url
            hub_login: Login = (section.username, section.password)
            bridge_login = None if bridge is None else bridge.login
        else:
            if context.data is None or credentials is None:
                raise ConfigError("the built-in MQTT broker keeps its files in the data directory; give one")
            address = section.broker
            broker = await stack.enter_async_context(
                EmbeddedBroker(
                    address.host,
                    address.port,
                    data_dir=context.data,
                    credentials=credentials,
                    on_refusal=lambda refusal: hub.rejections.record(refusal.rejection()),
                    clock=hub.clock,
                    threads=address.threads,
                )
            )
            watched.append(broker.trouble)
            url = broker.url
            hub_login = (credentials.hub().username, credentials.hub().password)
            bridge_login = None
            if bridge is not None:
                identity = credentials.bridge()
                bridge_login = (identity.username, identity.password)
        context.provide(BROKER, BrokerLogins(url, hub_login, bridge_login, identities=identities))
        connector = await stack.enter_async_context(
            MqttConnector(
                hub,
                url,
                username=hub_login[0],
                password=hub_login[1],
                max_payload=section.max_payload,
                # the NATS server: every report with one QoS 1 subscription, or ingest stalls
                one_subscription=builtin,
            )
        )
        context.health.extend((connector.deafness, *watched))
        relay = context.want(KEY_RELAY)
        if relay is not None:
            relay.add("mqtt", connector)  # key sessions reach an MQTT device through it
        yield connector


PART: Final = DefaultedPart("mqtt", MqttConfig, _running)
