"""An OCPP central system on loopback and simulated wallboxes of both versions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

import ocpp_versions
from carhome.connectors.ocpp import Charger, OcppServer
from carhome.hub import Device, Hub
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox, Version

version = ocpp_versions.version  # the fixture (each OCPP version), used by name

PASSWORD = "s3cret-wallbox-password"
TOKENS = {"RFID-ALICE": "alice", "RFID-BOB": "bob"}


@pytest.fixture
async def server(hub: Hub) -> AsyncIterator[OcppServer]:
    await hub.add_device(Device(home="h1", id="wallbox", type="wallbox", connector="ocpp"))
    chargers = {"CP-1": Charger(home="h1", device="wallbox", password=PASSWORD)}
    async with OcppServer(hub, "127.0.0.1", 0, chargers=chargers, id_tokens=TOKENS) as server:
        yield server


WallboxFactory = Callable[..., SimulatedWallbox]


@pytest.fixture
def make_wallbox(server: OcppServer, clock: FakeClock, version: Version) -> WallboxFactory:
    def make(charger_id: str = "CP-1", password: str | None = PASSWORD, **kw: object) -> SimulatedWallbox:
        return SimulatedWallbox(
            f"ws://127.0.0.1:{server.port}/ocpp",
            charger_id,
            version=version,
            password=password,
            clock=clock,
            **kw,  # type: ignore[arg-type]
        )

    return make
