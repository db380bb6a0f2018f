"""The devices the energy connectors bring, on the web app's device list: a hub run as its
configuration says (``carhome.compose.runtime.run`` over the demo plus a ``sunspec`` and a
``shelly`` section) against pymodbus serving a SunSpec map built from pysunspec2's models
and a fake Shelly speaking recorded payloads through Mosquitto, in headless Chromium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from playwright.async_api import Browser, expect

from carhome.compose.config import Config, DeviceConfig
from carhome.connectors.shelly import ShellyConfig, ShellyDeviceConfig
from carhome.connectors.sunspec import SunSpecConfig, SunSpecDeviceConfig
from mqtt.conftest import Mosquitto, free_port, require_mosquitto
from shelly.fake_shelly import FakeShelly, fixture
from sunspec.sunspec_rig import SunSpecServer
from web.conftest import demo_hub, live, page_of, shot

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.mosquitto]

PLUS1PM = "shellyplus1pm-aabbccddeeff"


def with_energy_devices(sunspec_port: int, broker: Mosquitto) -> Callable[[Config], Config]:
    """The demo with a solar inverter and a grid meter over SunSpec and a relay on a Shelly."""

    def configure(config: Config) -> Config:
        replace = msgspec.structs.replace
        [home] = config.homes
        added = (
            DeviceConfig(
                id="solar", type="solar_inverter", name="Roof PV", room="energy", connector="sunspec"
            ),
            DeviceConfig(id="grid", type="grid_meter", name="Grid", room="energy", connector="sunspec"),
            DeviceConfig(id="boiler", type="relay", name="Water heater", room="energy", connector="shelly"),
        )
        return replace(
            config,
            homes=(replace(home, devices=(*home.devices, *added)),),
            sunspec=SunSpecConfig(
                devices=(
                    SunSpecDeviceConfig(
                        home=home.id, host="127.0.0.1", port=sunspec_port, inverter="solar", meter="grid"
                    ),
                )
            ),
            shelly=ShellyConfig(
                url=broker.url,
                devices=(
                    ShellyDeviceConfig(home=home.id, device="boiler", prefix=PLUS1PM, component="switch:0"),
                ),
            ),
        )

    return configure


async def test_web_lists_the_inverter_meter_and_relay_with_their_readings(
    browser: Browser, tmp_path: Path
) -> None:
    require_mosquitto()
    broker = Mosquitto(free_port(), tmp_path)
    await broker.start()
    try:
        async with (
            SunSpecServer([1, 103, 203]) as site,
            FakeShelly(broker.url, PLUS1PM, fixture("plus1pm_status.json")),
        ):
            await site.set(103, W_SF=0, W=3120, WH_SF=0, WH=1_234_000, St=4)
            await site.set(203, W_SF=0, W=-850, TotWh_SF=0, TotWhImp=4_200_000, TotWhExp=1_500_000)
            async with (
                demo_hub(
                    tmp_path, configure=with_energy_devices(site.port, broker), automation_files=()
                ) as hub,
                page_of(browser, hub, hub.session) as page,
            ):
                await page.goto("/")
                await live(page)
                energy = page.locator('[data-room="energy"]')
                solar = energy.locator('[data-device="solar"]')
                await expect(solar).to_contain_text("Roof PV")
                await expect(solar.locator('[data-prop="power"]')).to_have_text("Power: 3.1 kW")
                await expect(solar.locator('[data-prop="energy_today"]')).to_have_text("Energy today: 0 kWh")
                # it reports no power limit: no stepper offering one from a made-up 0 %
                await expect(solar.locator(".stepper")).to_have_count(0)
                grid = energy.locator('[data-device="grid"]')
                await expect(grid.locator('[data-prop="power"]')).to_have_text("Grid power: -850 W")
                await expect(grid.locator('[data-prop="import_energy"]')).to_have_text(
                    "Energy imported: 4,200 kWh"
                )
                boiler = energy.locator('[data-device="boiler"]')
                await expect(boiler.locator('[data-prop="voltage"]')).to_have_count(0)  # two readings only
                await expect(boiler.locator('[data-prop="power"]')).to_have_text("Power draw: 0 W")
                await expect(boiler.get_by_role("switch", name="Water heater")).to_be_visible()
                await shot(page, hub, "energy-devices")
    finally:
        await broker.stop()
