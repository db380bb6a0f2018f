"""Load management with a real meter protocol: a Shelly Pro 3EM on MQTT (its recorded status,
through Mosquitto and carhome's Shelly connector) reports the house's phase currents, an
OCPP wallbox takes the limits, and the house stays within its main fuse.

Each reading is the Pro 3EM's ``NotifyStatus`` of ``em:0`` with what a meter at the grid
connection measures: the house's own load plus what the wallbox draws, which the wallbox
meters too (OCPP ``MeterValues``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from charging_parts import EVENING, PASSWORD, charging, plug_in, report_soc, until
from load_parts import FLAT, FUSE, GRID, VOLTS, car_setup, limit_reaches, now_mode

from carhome.connectors.ocpp import Charger as OcppCharger
from carhome.connectors.ocpp import OcppServer
from carhome.connectors.shelly import ShellyConnector, ShellyDeviceConfig
from carhome.energy.controller import ChargingController
from carhome.energy.site import Site
from carhome.hub import Device, Home, Hub
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox
from mqtt.conftest import FAST, Mosquitto
from shelly.fake_shelly import FakeShelly, fixture

pytestmark = pytest.mark.mosquitto

PRO3EM = "shellypro3em-aabbccddeeff"


@pytest.fixture
async def hub(clock: FakeClock) -> AsyncIterator[Hub]:
    clock.set(EVENING)
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        await hub.add_home(Home(id="h1", name="Home", lat=52.5, lon=13.4))
        for device, kind, connector in (
            ("car", "car", "mqtt"),
            ("grid", "grid_meter", "shelly"),
            ("wallbox", "wallbox", "ocpp"),
        ):
            await hub.add_device(Device(home="h1", id=device, type=kind, connector=connector))
        yield hub


def em(status: dict[str, Any], currents: tuple[float, ...]) -> dict[str, Any]:
    """The Pro 3EM's ``em:0`` with these phase currents (and the power they make)."""
    out = dict(status["em:0"])
    for phase, amps in zip("abc", currents, strict=True):
        out[f"{phase}_current"] = amps
        out[f"{phase}_act_power"] = amps * VOLTS
    out["total_current"] = sum(currents)
    out["total_act_power"] = sum(currents) * VOLTS
    return out


async def test_a_shelly_pro_3em_keeps_the_wallbox_within_the_fuse(
    hub: Hub, clock: FakeClock, mosquitto: Mosquitto
) -> None:
    status = fixture("pro3em_triphase_status.json")
    status["em:0"] = em(status, (10.0, 10.0, 10.0))  # the house draws 10 A on every phase
    chargers = {"CP-1": OcppCharger(home="h1", device="wallbox", password=PASSWORD)}
    meter = ShellyDeviceConfig(home="h1", device="grid", prefix=PRO3EM, component="em:0")
    report_soc(hub, 40.0)
    readings, over = 0, 0
    async with (
        OcppServer(hub, "127.0.0.1", 0, chargers=chargers) as server,
        SimulatedWallbox(
            f"ws://127.0.0.1:{server.port}/ocpp", "CP-1", version="1.6", password=PASSWORD, clock=clock
        ) as box,
        FakeShelly(mosquitto.url, PRO3EM, status) as shelly,
        ShellyConnector(hub, mosquitto.url, (meter,), backoff=FAST),
        Site(hub, "h1", GRID) as site,
        ChargingController(hub, car_setup("car", "wallbox"), now_mode(), FLAT, site=site) as controller,
    ):
        await box.boot()
        await server.wait_connected("CP-1")
        await until(controller, lambda: hub.value("h1", "grid", "current_l3") == 10.0)
        await plug_in(box)
        await limit_reaches(box, 15.0)  # 25 A less the house's 10 A
        await charging(box)
        await until(controller, lambda: controller.status.in_session)
        for house, expected in (
            ((10.0, 16.0, 12.0), 9.0),  # the cooker on L2: the car gives way at once
            ((3.0, 4.0, 2.0), 16.0),  # the house is quiet: the car takes all it can
            ((18.0, 11.0, 12.0), 7.0),
        ):
            await clock.advance(10.0)  # the next metering period
            drawn = box.limit_a or 0.0
            await box.meter(0.0, drawn * 3 * VOLTS)  # the wallbox meters what it draws (OCPP)
            shelly.notify({"em:0": em(status, tuple(h + drawn for h in house))})
            readings += 1
            await limit_reaches(box, expected)
            over += sum(1 for h in house if h + (box.limit_a or 0.0) > FUSE)
    print(f"Shelly Pro 3EM over MQTT: fuse exceeded {over} of {readings} readings")
    assert readings == 3
    assert over == 0
