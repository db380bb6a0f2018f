"""The simulator against a real hub over a real broker: commands in, acks and state out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Availability, Change, CommandStatus, Hub
from carhome.mqtt import Backoff, EmbeddedBroker
from carhome.sim import Outdoor, SimHome, SimRunner
from carhome.spec import vss
from carhome.testing import FakeClock
from mqtt.conftest import free_port

TIMEOUT = 10  # a safety net for a broken build; the tests wait on events, never on time


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    """The built-in broker (the NATS server)."""
    async with EmbeddedBroker("127.0.0.1", free_port(), data_dir=tmp_path) as broker:
        yield broker


@pytest.fixture
async def sim(hub: Hub, broker: EmbeddedBroker, clock: FakeClock) -> AsyncIterator[SimHome]:
    """Home h1 simulated, every device registered with the hub and online."""
    home = SimHome(hub.home("h1"), outdoor=Outdoor(fixed_temperature=5.0), routine=False)
    home.car.doors_locked = home.car.trunk_locked = False  # parked, someone just got out
    for record in home.records():
        await hub.add_device(record)
    online: set[str] = set()
    all_online = asyncio.Event()

    def seen(change: Availability) -> None:
        if change.online:
            online.add(change.device)
        if online >= set(home.devices):
            all_online.set()

    watching = hub.bus.subscribe(seen, kind=Availability, home="h1")
    reported = asyncio.Event()

    def arrived(_: Change) -> None:
        if all(hub.state("h1", device) for device in home.devices):
            reported.set()

    sub = hub.bus.subscribe(arrived, home="h1")
    async with (
        MqttConnector(hub, broker.url, backoff=Backoff(first=0.02, most=0.2)),
        SimRunner(home, broker.url, clock=clock, tick=1.0),
    ):
        await asyncio.wait_for(all_online.wait(), TIMEOUT)
        await asyncio.wait_for(reported.wait(), TIMEOUT)
        sub.cancel()
        watching.cancel()
        yield home


def next_change(hub: Hub, device: str, prop: str) -> asyncio.Future[Change]:
    future: asyncio.Future[Change] = asyncio.get_running_loop().create_future()

    def seen(change: Change) -> None:
        if not future.done():
            future.set_result(change)

    sub = hub.bus.subscribe(seen, home="h1", device=device, name=prop)
    future.add_done_callback(lambda _: sub.cancel())
    return future


async def test_lock_is_acked_and_the_hub_sees_the_doors_locked(hub: Hub, sim: SimHome) -> None:
    locked = next_change(hub, "car", vss.DOOR_LOCKED[0])
    command = await hub.submit("h1", "car", "action", "lock", member="owner", face="test")
    done = await hub.commands.wait(command.id, timeout=TIMEOUT)
    assert done.status is CommandStatus.ACKED
    assert (await asyncio.wait_for(locked, TIMEOUT)).value is True
    assert all(hub.value("h1", "car", path) is True for path in vss.DOOR_LOCKED)
    assert sim.car.doors_locked


async def test_a_refused_command_fails_with_the_cars_reason(hub: Hub, sim: SimHome) -> None:
    command = await hub.submit("h1", "car", "action", "start_charging", member="owner", face="test")
    done = await hub.commands.wait(command.id, timeout=TIMEOUT)
    assert done.status is CommandStatus.FAILED
    assert done.error is not None
    assert "not plugged in" in done.error


async def test_simulated_time_reaches_the_hub(hub: Hub, sim: SimHome, clock: FakeClock) -> None:
    assert hub.value("h1", "car", vss.SOC) == 65.0  # the full state arrived on connecting
    assert hub.value("h1", "car", "place") == "home"  # and the hub derived where the car is
    opened = next_change(hub, "garage_door", "state")
    command = await hub.submit("h1", "garage_door", "action", "open", member="owner", face="test")
    assert (await hub.commands.wait(command.id, timeout=TIMEOUT)).status is CommandStatus.ACKED
    assert (await asyncio.wait_for(opened, TIMEOUT)).value == "opening"
    is_open = next_change(hub, "garage_door", "state")
    for _ in range(12):
        await clock.advance(1.0)
    assert (await asyncio.wait_for(is_open, TIMEOUT)).value == "open"
