"""A device never runs a command id twice, also across its own restart and the hub's.

In the embedded hub the simulated devices live in the hub's process: a crash takes both
down, and the hub, back up, redelivers every command it has no result for — some of which
the devices ran just before the crash. A device with a data directory keeps the ids it ran
and the acks it answered, and answers such a redelivery with the stored ack: a light is not
toggled back, a signed garage command already run is not verified again (the reboot made a
new epoch, which would refuse it as ``foreign_epoch``), and a command the device was running
when it stopped is not run again but answered ``failed`` (its outcome is unknown).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from carhome.access.delegates import FileDelegateKeys
from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Ack, Command, CommandStatus, Device, Hub
from carhome.mqtt import EmbeddedBroker, MqttDeviceClient
from carhome.mqtt.executed import INTERRUPTED
from carhome.mqtt.payloads import encode_command
from carhome.sim import Outdoor, SimHome, SimRunner
from carhome.sim.device import SimBase
from carhome.sim.light import SimLight
from carhome.store import SqliteStore
from carhome.testing import FakeClock
from mqtt.conftest import RawClient, free_port
from signing_e2e.conftest import Rig, Wire, enroll_owner, message

from .conftest import BOUND, CHAOS_SPECS, FAST, HOME, Executions

ACKS = "carhome/h1/+/ack"


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    async with EmbeddedBroker("127.0.0.1", free_port(), data_dir=tmp_path / "broker") as broker:
        yield broker


def command(clock: FakeClock, device: str, kind: Any, target: str, args: dict[str, Any]) -> Command:
    """A command as the hub sends it (the raw client below plays the hub redelivering)."""
    return Command(
        id=uuid.uuid4().hex,
        home="h1",
        device=device,
        kind=kind,
        target=target,
        args=args,
        member="ana",
        face="api",
        created=clock.time(),
        expires=clock.time() + 600,
    )


async def test_a_simulated_light_is_not_toggled_again_after_its_controller_restarts(
    broker: EmbeddedBroker, clock: FakeClock, tmp_path: Path
) -> None:
    sim = SimHome(HOME, outdoor=Outdoor(fixed_temperature=5.0), routine=False)
    light = sim.devices["living_room_light"]
    assert isinstance(light, SimLight)
    for name, device in sim.devices.items():
        assert isinstance(device, SimBase)
        device.keep_in(tmp_path / "devices" / name)
    toggles: list[dict[str, Any]] = []
    switch = light.actions["toggle"]
    light.actions["toggle"] = lambda args: (toggles.append(args), switch(args))[1]
    toggle = command(clock, "living_room_light", "action", "toggle", {})
    topic = "carhome/h1/living_room_light/cmd"
    async with RawClient(broker.url) as hub:
        await hub.subscribe("carhome/h1/living_room_light/ack")
        async with SimRunner(sim, broker.url, clock=clock):
            hub.publish(topic, encode_command(toggle), qos=1)
            first = msgspec.json.decode((await hub.next("carhome/h1/living_room_light/ack"))[1], type=Ack)
        assert (first.status, light.on) == ("acked", True)
        # the simulator restarts (the hub with it) and the hub sends the command once more
        async with SimRunner(sim, broker.url, clock=clock):
            hub.publish(topic, encode_command(toggle), qos=1)
            second = msgspec.json.decode((await hub.next("carhome/h1/living_room_light/ack"))[1], type=Ack)
    print(f"\nlight toggles run: {len(toggles)} for 1 command delivered twice across a restart")
    assert second == first
    assert len(toggles) == 1
    assert light.on  # toggled once, not back


async def test_after_a_crash_of_hub_and_devices_the_redelivered_command_gets_the_stored_ack(
    broker: EmbeddedBroker, clock: FakeClock, tmp_path: Path
) -> None:
    """The hub is gone before the device's ack reaches it; both come back; the hub's
    redelivery is answered from the device's log and the command runs once."""
    db, data = tmp_path / "hub.db", tmp_path / "devices" / "c0"
    executions = Executions(clock)
    held = asyncio.Event()
    running = asyncio.Event()

    class Slow:
        async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
            running.set()
            await held.wait()
            return await executions.handler("c0").execute(kind, target, args)

    async with (
        Hub(store=SqliteStore(db), clock=clock, specs=CHAOS_SPECS) as hub,
        RawClient(broker.url) as wire,
    ):
        await hub.add_home(HOME)
        await hub.add_device(Device(home="h1", id="c0", type="counter"))
        await wire.subscribe(ACKS)
        async with MqttDeviceClient("h1", "c0", broker.url, Slow(), clock=clock, backoff=FAST, data=data):
            async with MqttConnector(hub, broker.url, backoff=FAST):
                sent = await hub.submit("h1", "c0", "set", "value", {"value": 7}, member="a", face="t")
                await asyncio.wait_for(running.wait(), BOUND)
            # the hub is gone before the device answers: the device runs it, its ack is lost
            held.set()
            await wire.next("carhome/h1/c0/ack")

    async with Hub(store=SqliteStore(db), clock=clock, specs=CHAOS_SPECS) as hub:
        assert [c.id for c in hub.commands.pending()] == [sent.id]
        again = MqttDeviceClient(
            "h1", "c0", broker.url, executions.handler("c0"), clock=clock, backoff=FAST, data=data
        )
        async with again, MqttConnector(hub, broker.url, backoff=FAST):
            done = await hub.commands.wait(sent.id, timeout=BOUND)
    runs = sum(len(r) for r in executions.runs.values())
    print(f"\ncrash of hub and device, command redelivered: runs {runs}, hub result {done.status.value}")
    assert (done.status, done.result) == (CommandStatus.ACKED, {"value": 7})
    assert executions.runs == {7: [("c0", clock.time())]}
    assert (again.stats.duplicates, again.stats.executed) == (1, 0)


async def test_a_command_running_when_the_device_stopped_is_not_run_again(
    broker: EmbeddedBroker, clock: FakeClock, tmp_path: Path
) -> None:
    data = tmp_path / "devices" / "c0"
    started = asyncio.Event()
    runs: list[dict[str, Any]] = []

    class Stuck:
        async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
            runs.append(args)
            started.set()
            await asyncio.Event().wait()  # powered off in the middle of it

    set7 = command(clock, "c0", "set", "value", {"value": 7})
    async with RawClient(broker.url) as hub:
        await hub.subscribe(ACKS)
        async with MqttDeviceClient("h1", "c0", broker.url, Stuck(), clock=clock, backoff=FAST, data=data):
            hub.publish("carhome/h1/c0/cmd", encode_command(set7), qos=1)
            await asyncio.wait_for(started.wait(), BOUND)
        async with MqttDeviceClient("h1", "c0", broker.url, Stuck(), clock=clock, backoff=FAST, data=data):
            hub.publish("carhome/h1/c0/cmd", encode_command(set7), qos=1)
            ack = msgspec.json.decode((await hub.next("carhome/h1/c0/ack"))[1], type=Ack)
    print(f"\ncommand running when the device stopped, redelivered: runs {len(runs)}, answered {ack.status}")
    assert (ack.id, ack.status, ack.error) == (set7.id, "failed", INTERRUPTED)
    assert runs == [{"value": 7}]


class DurableRig(Rig):
    """The signing rig, its devices keeping what they ran in their key directories."""

    def link(self, home: str, device: str, handler: Any) -> Any:
        client = MqttDeviceClient(
            home,
            device,
            self.url,
            handler,
            clock=self.clock,
            backoff=FAST,
            keys=self.device(device).keys,
            data=self.tmp / "devices" / device,
        )
        self.clients[device] = client
        return client


async def test_a_signed_command_already_run_is_answered_with_its_ack_after_a_reboot(
    broker: EmbeddedBroker, hub: Hub, clock: FakeClock, tmp_path: Path
) -> None:
    rig = DurableRig(hub, clock, tmp_path, broker.url, FileDelegateKeys(tmp_path / "hub" / "delegates"))
    for record in rig.sim.records():
        await hub.add_device(record)
    rig.secure(boot=True)
    async with rig.connector, Wire(broker.url) as wire:
        await rig.start_devices()
        try:
            ana = await enroll_owner(rig)
            body = await ana.sign("h1", "garage_door", "action", "open", ttl=600)
            opened = await ana.hub.submit("h1", "garage_door", body)
            done = await hub.commands.wait(opened.id, timeout=BOUND)
            assert done.status is CommandStatus.ACKED, done.error
            garage = rig.device("garage_door")
            assert garage.motion == 1  # type: ignore[attr-defined]

            # the home loses power: hub and devices restart, the garage with a new epoch;
            # the hub, not knowing the result, sends the command again
            await rig.stop_devices()
            rig.secure(boot=True)
            await rig.start_devices()
            wire.publish("garage_door", message(body))
            ack = await wire.ack(body["id"], count=2)
            client = rig.clients["garage_door"]
            print(
                f"\nsigned garage command redelivered after a reboot: run again {client.stats.executed},"
                f" answered {ack.status} ({ack.error or 'its stored ack'})"
            )
            assert (ack.status, ack.error) == ("acked", None)
            assert (client.stats.executed, client.stats.unverified, client.stats.duplicates) == (0, 0, 1)
        finally:
            await rig.stop_devices()
