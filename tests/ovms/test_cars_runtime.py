"""A hub run from its configuration with an OVMS car and a Tesla: both reach the API the web
app's device list renders from, with their VSS values and availability, and a command an
owner sends through the API reaches the OVMS module while the Tesla's fails, saying why."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from ovms_rig import FakeModule

from carhome.access.service import Access
from carhome.compose.config import (
    ApiConfig,
    Config,
    DeviceConfig,
    HomeConfig,
    HubConfig,
    MqttConfig,
    parse_config,
)
from carhome.connectors.ovms import OvmsCar, OvmsConfig
from carhome.connectors.tesla import NOT_COMMANDABLE, TeslaCar, TeslaConfig
from carhome.spec import vss
from hub_process import running_hub
from mqtt.conftest import TIMEOUT, Mosquitto

pytestmark = pytest.mark.mosquitto

PASSWORD = "cars-runtime-Pa55word-long"
VIN = "5YJ3E1EA1KF000316"


def cars_config(data: Path, url: str) -> Config:
    devices = (
        DeviceConfig(id="leaf", type="car", name="Leaf", connector="ovms"),
        DeviceConfig(id="model3", type="car", name="Model 3", connector="tesla"),
    )
    config = Config(
        hub=HubConfig(data_dir=str(data)),
        api=ApiConfig(port=0),
        mqtt=MqttConfig(url=url),
        homes=(HomeConfig(id="h1", name="Home", lat=39.7953, lon=116.506, devices=devices),),
        ovms=OvmsConfig(
            url=url, cars=(OvmsCar(home="h1", device="leaf", user="ovms-user", vehicle="LEAF1"),)
        ),
        tesla=TeslaConfig(url=url, cars=(TeslaCar(home="h1", device="model3", vin=VIN),)),
    )
    # what a configuration file with these sections gives: the same checks pass
    assert parse_config(_yaml(url)).ovms == config.ovms
    return config


def _yaml(url: str) -> str:
    return f"""\
homes:
  - {{id: h1, name: Home, lat: 39.7953, lon: 116.506, devices: [{{id: leaf, type: car, connector: ovms}},
      {{id: model3, type: car, connector: tesla}}]}}
ovms: {{url: "{url}", cars: [{{home: h1, device: leaf, user: ovms-user, vehicle: LEAF1}}]}}
"""


async def test_a_hub_run_from_its_configuration_serves_both_cars(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    async def owner(access: Access) -> None:
        await access.ensure_owner("ana", "h1", "Ana", PASSWORD)

    async with (
        running_hub(cars_config(tmp_path / "data", mosquitto.url), owner=owner) as running,
        FakeModule(mosquitto.port) as module,
        httpx.AsyncClient(base_url=running.api_url) as api,
    ):
        sent = module.play_session()
        tokens = (await api.post("/api/auth/login", json={"member": "ana", "password": PASSWORD})).json()
        api.headers["Authorization"] = f"Bearer {tokens['access_token']}"

        async def leaf_soc() -> object:
            detail = (await api.get("/api/devices/h1/leaf")).json()
            return detail["state"].get(vss.SOC, {}).get("value")

        async with asyncio.timeout(TIMEOUT):
            while await leaf_soc() != 85.0:  # noqa: ASYNC110 - the API is asked, it tells no event
                await asyncio.sleep(0.01)
        devices = {d["id"]: d for d in (await api.get("/api/devices")).json()}
        answer = await api.post(
            "/api/devices/h1/leaf/commands", json={"kind": "action", "target": "climate_on", "args": {}}
        )
        await module.until(lambda: [c[2] for c in module.commands] == ["climatecontrol on"], "the command")
        refused = await api.post(
            "/api/devices/h1/model3/commands", json={"kind": "action", "target": "climate_on", "args": {}}
        )
        command = refused.json()
        async with asyncio.timeout(TIMEOUT):
            while command["status"] not in ("failed", "acked", "expired"):
                await asyncio.sleep(0.01)
                command = (await api.get(f"/api/commands/{command['id']}")).json()
    assert sent > 0
    assert answer.status_code in (200, 202)
    assert (devices["leaf"]["connector"], devices["leaf"]["online"]) == ("ovms", True)
    assert (devices["model3"]["type"], devices["model3"]["connector"]) == ("car", "tesla")
    assert (command["status"], command["error"]) == ("failed", NOT_COMMANDABLE)
