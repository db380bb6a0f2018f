"""Fixtures for the automation engine: a hub with a car, lights and a fake device transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from carhome.automations import Engine
from carhome.hub import Ack, Command, Device, Hub


class Lights:
    """Devices at the public seam: execute every command at once, ack it, report the state."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.received: list[Command] = []

    async def deliver(self, command: Command) -> None:
        self.received.append(command)
        self.hub.ack(command.home, command.device, Ack(command.id, "acked"))
        if command.kind == "action":
            self.hub.report(command.home, command.device, {"on": command.target != "turn_off"})
        else:
            self.hub.report(command.home, command.device, {command.target: command.args["value"]})


@pytest.fixture
async def lights(hub: Hub) -> Lights:
    for name in ("hall", "porch", "garden"):
        await hub.add_device(Device(home="h1", id=name, type="light"))
    transport = Lights(hub)
    hub.commands.attach("mqtt", transport)
    return transport


@pytest.fixture
async def engine(hub: Hub, lights: Lights) -> AsyncIterator[Engine]:
    async with Engine(hub) as engine:
        yield engine
