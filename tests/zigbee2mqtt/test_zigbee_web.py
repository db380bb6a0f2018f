"""A whole hub (``carhome.compose.runtime.run``) configured with a Zigbee2MQTT bridge on a real
Mosquitto: the bridge's devices are in the API with their generated specs, and the web app,
in headless Chromium, lists them in their rooms and renders them from those specs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import websockets
from playwright.async_api import async_playwright, expect
from zigbee_rig import BLIND, LOCK, WEATHER, Bridge, devices_list

from carhome.access.service import Access
from carhome.compose.config import ApiConfig, Config, HomeConfig, HubConfig, MqttConfig
from carhome.connectors.zigbee2mqtt import Expose, Zigbee2MqttConfig, map_device
from carhome.wire.devices import render_spec
from hub_process import running_hub
from members_rig import login
from mqtt.conftest import TIMEOUT, Mosquitto

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
PASSWORD = "zigbee-owner-Pa55word-long"


@dataclass
class ZigbeeHub:
    url: str
    session: dict[str, Any]


@contextlib.asynccontextmanager
async def zigbee_hub(tmp: Path, mosquitto: Mosquitto) -> AsyncIterator[ZigbeeHub]:
    config = Config(
        hub=HubConfig(data_dir=str(tmp / "data")),
        api=ApiConfig(port=0),
        mqtt=MqttConfig(url=mosquitto.url),
        homes=(HomeConfig(id="h1", name="Flat", lat=39.7953, lon=116.5060, timezone="Asia/Shanghai"),),
        zigbee2mqtt=Zigbee2MqttConfig(home="h1", url=mosquitto.url),
    )

    async def owner(access: Access) -> None:
        await access.ensure_owner("owner", "h1", "Owner", PASSWORD)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp / "state"))
        async with (
            running_hub(config, owner=owner) as running,
            httpx.AsyncClient(base_url=running.api_url) as client,
        ):
            yield ZigbeeHub(running.api_url, await login(client, "owner", PASSWORD))


async def reported(hub: ZigbeeHub, bridge: Bridge, device: str, topic: str, values: dict[str, Any]) -> None:
    """Publish a device's state and wait until the hub's live API tells it (so the device is
    in the hub, with its spec, by then)."""
    async with websockets.connect(hub.url.replace("http", "ws", 1) + "/api/ws") as ws:
        await ws.send(json.dumps({"type": "auth", "token": hub.session["access_token"]}))
        await ws.send(json.dumps({"type": "subscribe"}))
        async with asyncio.timeout(TIMEOUT):
            while json.loads(await ws.recv())["type"] != "subscribed":
                pass
            bridge.publish(topic, values)
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "state" and frame.get("device") == device:
                    return


def expected_spec(friendly_name: str) -> Any:
    """The spec the API should give the device: its definition's, as the mapping makes it."""
    entry = next(d for d in devices_list() if d["friendly_name"] == friendly_name)
    definition = entry["definition"]
    exposes = [msgspec.json.decode(json.dumps(e), type=Expose) for e in definition["exposes"]]
    mapped = map_device(
        exposes, model=definition["model"], vendor=definition["vendor"], description=definition["description"]
    )
    return json.loads(msgspec.json.encode(render_spec(mapped.spec)))


async def test_the_web_app_lists_a_zigbee_device_and_renders_it_from_its_spec(
    tmp_path: Path, mosquitto: Mosquitto, bridge: Bridge
) -> None:
    bridge.devices()
    async with zigbee_hub(tmp_path, mosquitto) as hub:
        await reported(
            hub, bridge, LOCK, "front_door/lock", {"state": "LOCK", "lock_state": "locked", "battery": 91}
        )
        await reported(hub, bridge, WEATHER, "weather_sensor", {"temperature": 21.5, "humidity": 40.5})
        headers = {"Authorization": f"Bearer {hub.session['access_token']}"}
        async with httpx.AsyncClient(base_url=hub.url, headers=headers) as api:
            devices = {d["id"]: d for d in (await api.get("/api/devices", params={"home": "h1"})).json()}
            detail = (await api.get(f"/api/devices/h1/{LOCK}")).json()
        assert (devices[LOCK]["name"], devices[LOCK]["room"], devices[LOCK]["connector"]) == (
            "lock",
            "front_door",
            "zigbee2mqtt",
        )
        assert devices[LOCK]["type"] == "zigbee:YRD226HA2619"
        assert detail["spec"] == expected_spec("front_door/lock")
        assert detail["state"]["lock_state"]["value"] == "locked"
        if not HAVE_CHROMIUM:
            if os.environ.get("CARHOME_REQUIRE_CHROMIUM"):
                pytest.fail("chromium is not installed, though scripts/test should have installed it")
            pytest.skip("chromium is not installed (scripts/test installs Debian's chromium)")
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            try:
                context = await browser.new_context(base_url=hub.url, locale="en-US")
                context.set_default_timeout(15_000)
                tokens = json.dumps(json.dumps(hub.session))
                await context.add_init_script(f"localStorage.setItem('carhome.session', {tokens});")
                page = await context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto("/")
                room = page.locator('section.room[data-room="front_door"]')
                lock = room.locator(f'li.device[data-device="{LOCK}"]')
                await expect(lock).to_be_visible()
                await expect(lock.locator('[data-prop="lock_state"]')).to_contain_text("locked")
                await expect(lock.locator('button[data-action="lock"]')).to_be_visible()
                weather = page.locator(f'li.device[data-device="{WEATHER}"]')
                await expect(weather.locator('[data-prop="temperature"]')).to_contain_text("21.5")
                await expect(page.locator(f'li.device[data-device="{BLIND}"]')).to_be_visible()
                shots = os.environ.get("CARHOME_SCREENSHOTS")
                if shots:  # the README's pictures: CARHOME_SCREENSHOTS=docs/screenshots
                    await page.screenshot(path=f"{shots}/zigbee-devices.png", full_page=True)
                await page.goto(f"/devices/h1/{LOCK}")
                rows = page.locator("table.props tr[data-prop]")
                await expect(rows).to_have_count(len(detail["spec"]["properties"]))
                await expect(page.locator('tr[data-prop="battery"] td.value')).to_contain_text("91")
                assert errors == []
            finally:
                await browser.close()
