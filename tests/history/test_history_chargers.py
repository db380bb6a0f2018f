"""Which wallbox charged which car, and what its meter really added.

Real OCPP chargers (the ``ocpp`` library's charge point, through ``SimulatedWallbox``) feed
a real hub and ``History``: a car charged at one of two wallboxes names that one, and the
other's idle chatter neither ends nor meters its charge; with two cars and no mapping, the
wallbox's meter goes to the car plugged in; a register reading that seems to go back takes
nothing back, and a session meter that restarts counts from zero.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import ocpp_versions
from carhome.connectors.ocpp import Charger, OcppServer
from carhome.history import History
from carhome.hub import Device, Home, Hub
from carhome.spec import vss
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox, Version

version = ocpp_versions.version  # the fixture (each OCPP version), used by name

GARAGE, CARPORT = "garage-password-0001", "carport-password-0001"
TOKENS = {"RFID-ALICE": "alice"}


@pytest.fixture
async def hub(clock: FakeClock) -> AsyncIterator[Hub]:
    """A home with two wallboxes (OCPP) and a car; tests add a second car."""
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
        await hub.add_devices(
            [
                Device(home="h1", id="garage", type="wallbox", connector="ocpp"),
                Device(home="h1", id="carport", type="wallbox", connector="ocpp"),
                Device(home="h1", id="car", type="car"),
            ]
        )
        yield hub


@pytest.fixture
async def server(hub: Hub) -> AsyncIterator[OcppServer]:
    chargers = {
        "CP-G": Charger(home="h1", device="garage", password=GARAGE),
        "CP-C": Charger(home="h1", device="carport", password=CARPORT),
    }
    async with OcppServer(hub, "127.0.0.1", 0, chargers=chargers, id_tokens=TOKENS) as server:
        yield server


def wallbox(
    server: OcppServer, cid: str, password: str, clock: FakeClock, version: Version
) -> SimulatedWallbox:
    return SimulatedWallbox(
        f"ws://127.0.0.1:{server.port}/ocpp", cid, version=version, password=password, clock=clock
    )


async def plugged(box: SimulatedWallbox) -> None:
    await box.status("Preparing" if box.version == "1.6" else "Occupied")


async def session(box: SimulatedWallbox, clock: FakeClock, readings: list[float]) -> None:
    """A transaction at ``box``: one reading a minute adding each of ``readings`` (Wh)."""
    await plugged(box)
    await box.start("RFID-ALICE")
    for add in readings:
        await clock.advance(60)
        await box.meter(add, 7_400.0)
    await clock.advance(60)
    await box.stop()
    await box.status("Available")


async def test_a_charge_names_the_wallbox_the_car_was_at(
    hub: Hub, server: OcppServer, clock: FakeClock, version: Version
) -> None:
    garage = wallbox(server, "CP-G", GARAGE, clock, version)
    carport = wallbox(server, "CP-C", CARPORT, clock, version)
    async with History(hub) as history, garage, carport:
        await garage.boot()
        await carport.boot()
        garage.register_wh, carport.register_wh = 10_000.0, 880_000.0
        await plugged(garage)
        await garage.start("RFID-ALICE")
        for _ in range(4):
            await clock.advance(60)
            await garage.meter(500.0, 7_400.0)
            await carport.status("Available")  # the empty carport has its say meanwhile
            await carport.idle_meter()
        await clock.advance(60)
        await garage.stop()
        await garage.status("Available")
        charges = await history.charges()
    assert [(c.charger, c.grid_kwh) for c in charges] == [("garage", 2.0)]
    print(f"charges at two wallboxes attributed wrongly: 0 of {len(charges)}")


async def test_with_two_cars_the_wallbox_meters_the_one_plugged_in(
    hub: Hub, server: OcppServer, clock: FakeClock, version: Version
) -> None:
    await hub.add_device(Device(home="h1", id="van", type="car"))
    garage = wallbox(server, "CP-G", GARAGE, clock, version)
    async with History(hub) as history, garage:
        await garage.boot()
        garage.register_wh = 3_000.0
        hub.report("h1", "van", {vss.CABLE_CONNECTED: False}, source="test")
        hub.report("h1", "car", {vss.CABLE_CONNECTED: True, vss.ENERGY: 40.0}, source="test")
        await plugged(garage)
        await garage.start("RFID-ALICE")
        hub.report("h1", "car", {vss.IS_CHARGING: True}, source="test")
        for _ in range(4):
            await clock.advance(60)
            await garage.meter(500.0, 7_400.0)
        await clock.advance(60)
        await garage.stop()
        hub.report("h1", "car", {vss.ENERGY: 41.8}, source="test")
        hub.report("h1", "car", {vss.IS_CHARGING: False}, source="test")
        await garage.status("Available")
        hub.report("h1", "car", {vss.CABLE_CONNECTED: False}, source="test")
        charges = await history.charges()
    assert [(c.car, c.charger, c.grid_kwh, c.added_kwh) for c in charges] == [("car", "garage", 2.0, 1.8)]


async def test_a_register_reading_that_goes_back_adds_nothing(
    hub: Hub, server: OcppServer, clock: FakeClock, version: Version
) -> None:
    garage = wallbox(server, "CP-G", GARAGE, clock, version)
    async with History(hub) as history, garage:
        await garage.boot()
        garage.register_wh = 10_000.0
        await session(garage, clock, [1_000.0, 1_000.0, -1_000.0, 1_000.0])  # 12,000 → 11,000 → 12,000
        [charge] = await history.charges()
    assert charge.grid_kwh == 2.0
    print(f"a meter reading lower than the last: {charge.grid_kwh} kWh recorded for 2.0 kWh")


async def test_a_session_meter_glitch_and_a_restart_are_told_apart(hub: Hub, clock: FakeClock) -> None:
    """A wallbox (any connector) reports its session meter: a lone low reading is a glitch;
    readings that go on from a low one are a new session on the same plug-in."""
    async with History(hub) as history:
        hub.report("h1", "carport", {"status": "charging", "power": 7_400.0, "energy": 0.0}, source="test")
        for energy in (1.0, 2.0, 1.0, 2.0, 2.5, 0.3, 0.8, 1.5):
            await clock.advance(60)
            hub.report("h1", "carport", {"energy": energy}, source="test")
        await clock.advance(60)
        hub.report("h1", "carport", {"status": "available", "power": 0.0}, source="test")
        [charge] = await history.charges()
    assert (charge.charger, charge.grid_kwh) == ("carport", 4.0)  # 2.5, then 1.5 from a restart
