"""A device event heard over MQTT reaches an automation's event trigger through the hub's
bus: the connector reports it to the hub, the trigger subscribes on the hub, and nothing in
between wires one to the other."""

from __future__ import annotations

import asyncio

from carhome.automations import Engine, Notification
from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Hub
from carhome.mqtt import MqttDeviceClient

from .conftest import TIMEOUT, RawClient, Recorder

ON_GLASS = """
home: h1
automations:
  - id: glass
    mode: parallel
    triggers:
      - trigger: event
        device: car
        event: alarm
        fields: {reason: glass broken}
    actions:
      - action: notify
        member: owner
        message: "{trigger.prop} at {trigger.ts}"
"""


async def test_a_device_event_over_mqtt_fires_an_automation_with_no_wiring(
    hub: Hub, broker_url: str, recorder: Recorder
) -> None:
    fired: asyncio.Future[Notification] = asyncio.get_running_loop().create_future()
    async with (
        Engine(hub) as engine,
        MqttConnector(hub, broker_url),
        MqttDeviceClient("h1", "car", broker_url, recorder, clock=hub.clock) as car,
    ):
        assert engine.load_text(ON_GLASS) == []
        engine.notifications.listen(lambda note: fired.done() or fired.set_result(note))
        # one client, one topic, QoS 1: the broker keeps their order, so by the time the
        # second has fired the automation, the first was heard (and did not match)
        await car.publish_event("alarm", {"reason": "tilt"}, ts=hub.clock.time() - 2)
        await car.publish_event("alarm", {"reason": "glass broken"}, ts=hub.clock.time() - 1)
        note = await asyncio.wait_for(fired, TIMEOUT)
        await engine.idle()
    assert note.message == f"alarm at {hub.clock.time() - 1}"
    assert [n.message for n in engine.notifications.list()] == [note.message]


async def test_a_bad_event_over_mqtt_fires_nothing_and_its_neighbours_still_do(
    hub: Hub, broker_url: str, connector: MqttConnector
) -> None:
    fired: asyncio.Future[Notification] = asyncio.get_running_loop().create_future()
    async with Engine(hub) as engine, RawClient(broker_url) as raw:
        assert engine.load_text(ON_GLASS) == []
        engine.notifications.listen(lambda note: fired.done() or fired.set_result(note))
        for payload in (
            b'{"name": "alarm", "fields": {"reason": 7}}',  # wrong type
            b'{"name": "alarm", "fields": {"reason": "glass broken", "by": "me"}}',  # unknown field
            b'{"name": "glass broken"}',  # no such event
            b'{"name": "alarm", "fields": {"reason": "glass broken"}}',
        ):
            raw.publish("carhome/h1/car/event", payload, qos=1)
        await asyncio.wait_for(fired, TIMEOUT)
        await engine.idle()
    assert len(engine.notifications.list()) == 1
    assert dict(hub.rejections.counts) == {"wrong_type": 1, "unknown_field": 1, "unknown_event": 1}
    assert connector.stats.rejected == 3
