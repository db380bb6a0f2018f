"""What a command published on core NATS is worth to a device subscribed by MQTT.

The worker publishes a partition hub's commands on ``carhome.<home>.<device>.cmd``
(``carhome.fleet.commands``). These tests measure, on a 3-server cluster, at which QoS a
device subscribed at QoS 1 receives it, and whether a device offline at that moment gets it
later (it does not: carhome sends pending commands again, see ``test_worker_commands``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import MQTTv311
from nats.aio.msg import Msg

from carhome.clock import SystemClock
from carhome.fleet.commands import NatsCommands, command_subject
from carhome.hub import Hub
from carhome.hub.model import Device, Home
from carhome.mqtt.device import MqttDeviceClient
from carhome.store.memory import MemoryStore

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


class Climate:
    """A car's command handler: what it ran, in order."""

    def __init__(self) -> None:
        self.ran: asyncio.Queue[str] = asyncio.Queue()

    async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
        self.ran.put_nowait(target)
        return None


async def test_a_device_offline_when_its_command_went_gets_it_when_it_is_back_online(tmp_path: Path) -> None:
    """The worker applies a device's ``online`` status from the log (``Hub.set_available``):
    its pending commands are sent again then, as the MQTT connector does."""
    async with fleet(tmp_path, ["h1"]) as f:
        hub = Hub(store=MemoryStore())
        async with hub:
            await hub.add_home(Home(id="h1", name="Home", lat=52.0, lon=13.0))
            await hub.add_devices([Device(home="h1", id="car", type="car", name="Car")])
            statuses: asyncio.Queue[bytes] = asyncio.Queue()

            # what reaches the partition's log: the device's status, as the worker reads it
            async def heard(message: Msg) -> None:
                statuses.put_nowait(message.data)

            watch = await f.admin.subscribe("fleet.*.h1.car.status", cb=heard)
            async with NatsCommands(f.worker, hub, resend=3600.0) as commands:
                command = await hub.submit("h1", "car", "action", "climate_on", member="m", face="test")
                sent_offline = commands.sent  # published while nobody listened: gone
                identity = f.credentials.device("h1", "car")
                climate = Climate()
                async with MqttDeviceClient(
                    "h1",
                    "car",
                    f"mqtt://127.0.0.1:{f.cluster.mqtt_port(2)}",
                    climate,
                    clock=SystemClock(),
                    username=identity.username,
                    password=identity.password,
                ) as device:
                    while await asyncio.wait_for(statuses.get(), BOUND) != b"online":
                        pass
                    hub.set_available("h1", "car", True)
                    ran = await asyncio.wait_for(climate.ran.get(), BOUND)
                    received = device.stats.commands
            await watch.unsubscribe()
    print(f"a command sent while its device was offline: executed once it came online ({received} received)")
    assert ran == "climate_on"
    assert received == 1  # only what was sent once it was back
    assert sent_offline >= 1
    assert command.status.value in ("sent", "queued")  # its ack goes to the log, read by no worker here
