"""The devices the energy connectors bring, on the web app's device list: a hub run as its
configuration says (``carhome.compose.runtime.run`` over the demo plus a ``sunspec`` and a
``shelly`` section) against pymodbus serving a SunSpec map built from pysunspec2's models
and a fake Shelly speaking recorded payloads through Mosquitto, in headless Chromium."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from playwright.async_api import Browser, expect
from test_web_browser import Hub as WebHub
from test_web_browser import browser, live, page_of, screenshots, shot

from carhome.access.service import Access
from carhome.api.server import ApiServer
from carhome.compose.config import DeviceConfig
from carhome.compose.demo import DEMO_OWNER, demo_config, demo_owner_password
from carhome.compose.runtime import Running, run
from carhome.connectors.shelly import ShellyConfig, ShellyDeviceConfig
from carhome.connectors.sunspec import SunSpecConfig, SunSpecDeviceConfig
from carhome.web import web_routes
from mqtt.conftest import Mosquitto, free_port, require_mosquitto
from shelly.fake_shelly import FakeShelly, fixture
from sunspec.sunspec_rig import SunSpecServer

__all__ = ["browser"]  # the fixture, used by name

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.mosquitto]

PLUS1PM = "shellyplus1pm-aabbccddeeff"


class _WithWeb(ApiServer):
    """The hub's API server with the web app after every API route (as test_web_browser's)."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        if not any(getattr(r, "name", None) == "web" for r in app.router.routes):
            app.router.routes.extend(web_routes())
        super().__init__(app, **kwargs)


@contextlib.asynccontextmanager
async def energy_hub(tmp: Path, sunspec_port: int, broker: Mosquitto) -> AsyncIterator[WebHub]:
    """The demo hub with a solar inverter and a grid meter over SunSpec and a relay on a Shelly."""
    data = tmp / "demo"
    password = demo_owner_password(data)
    broker_port = free_port()
    config = demo_config(speed=1, data_dir=data, api_port=0, mqtt_port=broker_port, mqtt_url=None)
    replace = msgspec.structs.replace
    [home] = config.homes
    added = (
        DeviceConfig(id="solar", type="solar_inverter", name="Roof PV", room="energy", connector="sunspec"),
        DeviceConfig(id="grid", type="grid_meter", name="Grid", room="energy", connector="sunspec"),
        DeviceConfig(id="boiler", type="relay", name="Water heater", room="energy", connector="shelly"),
    )
    config = replace(
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
    started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def owner(access: Access) -> None:
        await access.ensure_owner(DEMO_OWNER, home.id, "Demo owner", password)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp / "state"))
        patch.setattr("carhome.api.part.ApiServer", _WithWeb)
        task = asyncio.create_task(
            run(config, data_dir=data, stop=stop, owner=owner, announce=started.set_result)
        )
        try:
            async with asyncio.timeout(30):
                running = await started
            async with httpx.AsyncClient(base_url=running.api_url) as client:
                r = await client.post("/api/auth/login", json={"member": DEMO_OWNER, "password": password})
                r.raise_for_status()
                yield WebHub(running.api_url, password, r.json(), screenshots(tmp), broker_port, data)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


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
                energy_hub(tmp_path, site.port, broker) as hub,
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
