"""What a command published on core NATS is worth to a device subscribed by MQTT.

The worker publishes a partition hub's commands on ``carhome.<home>.<device>.cmd``
(``carhome.fleet.commands``). These tests measure, on a 3-server cluster, at which QoS a
device subscribed at QoS 1 receives it, and whether a device offline at that moment gets it
later (it does not: carhome sends pending commands again, see ``test_worker_commands``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import gmqtt
from gmqtt.mqtt.constants import MQTTv311

from carhome.fleet.commands import command_subject

from .nats_rig import BOUND, fleet
from .nats_rig import _Gmqtt as Gmqtt

CMD = "carhome/h1/car/cmd"


class Session:
    """An MQTT session of one login (gmqtt), keeping what reaches it with the QoS it came at."""

    def __init__(self, port: int, login: tuple[str, str], client_id: str, *, clean: bool) -> None:
        self.port = port
        self.client = Gmqtt(client_id, clean_session=clean)
        self.client.set_auth_credentials(*login)
        self.received: asyncio.Queue[tuple[bytes, int]] = asyncio.Queue()
        self.subacks: asyncio.Queue[tuple[int, ...]] = asyncio.Queue()
        self.client.on_subscribe = lambda _c, _mid, granted, *_: self.subacks.put_nowait(tuple(granted))

        def on_message(_c: object, _topic: str, payload: bytes, qos: int, _p: object) -> int:
            self.received.put_nowait((payload, qos))
            return 0

        self.client.on_message = on_message

    async def __aenter__(self) -> Session:
        await asyncio.wait_for(self.client.connect("127.0.0.1", self.port, version=MQTTv311), BOUND)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.wait_for(self.client.disconnect(), BOUND)

    async def subscribe(self, topic: str) -> int:
        self.client.subscribe([gmqtt.Subscription(topic, qos=1)])
        (code,) = await asyncio.wait_for(self.subacks.get(), BOUND)
        return code


async def test_a_core_nats_publish_reaches_a_qos_1_subscriber_at_qos_0_and_never_an_offline_one(
    tmp_path: Path,
) -> None:
    async with fleet(tmp_path, ["h1"]) as f:
        car = f.credentials.device("h1", "car")
        hub = f.credentials.hub()
        login = (car.username, car.password)
        port = f.cluster.mqtt_port(1)
        async with Session(port, login, "h1-car-live", clean=True) as live:
            assert await live.subscribe(CMD) == 1  # granted QoS 1
            await f.worker.publish(command_subject("h1", "car"), b"live")
            payload, qos = await asyncio.wait_for(live.received.get(), BOUND)
        assert (payload, qos) == (b"live", 0)
        # a persistent session subscribed at QoS 1, then offline
        async with Session(port, login, "h1-car", clean=False) as device:
            assert await device.subscribe(CMD) == 1
        await f.worker.publish(command_subject("h1", "car"), b"core")
        await f.worker.flush()
        # what an MQTT client publishes at QoS 1 meanwhile is kept for the session
        async with Session(f.cluster.mqtt_port(2), (hub.username, hub.password), "hub", clean=True) as sender:
            sender.client.publish(CMD, b"mqtt", qos=1)
            await asyncio.wait_for(sender.client.outbox.wait_empty(), BOUND)  # PUBACKed
        async with Session(port, login, "h1-car", clean=False) as device:
            kept = await asyncio.wait_for(device.received.get(), BOUND)
            assert device.received.empty()
    print(f"core NATS publish to an MQTT QoS 1 subscriber: QoS {qos}; to an offline session: never")
    assert kept == (b"mqtt", 1)  # the core NATS one, sent before it, never came
