"""A hub on Mosquitto by URL, set up from the generated files, with the Home Assistant bridge
on: the hub and the bridge log in as themselves, neither drops the other, and discovery
reaches Home Assistant.

Mosquitto runs with ``use_username_as_clientid`` (as ``carhome mqtt credentials
--mosquitto`` writes it): two clients with one username are one client id, and each
connect closes the other. The hub and its bridge once shared the hub's login.
"""

from __future__ import annotations

import re
from pathlib import Path

from carhome.compose.config import (
    ApiConfig,
    Config,
    DeviceConfig,
    HomeAssistantConfig,
    HomeConfig,
    HubConfig,
    MqttConfig,
)
from carhome.compose.runtime import mqtt_credentials
from carhome.mqtt.credentials import Credentials
from hub_process import running_hub
from mqtt.conftest import require_mosquitto
from mqtt_acl.acl_rig import login, run_mosquitto

DEVICES = (DeviceConfig(id="car", type="car"), DeviceConfig(id="purifier", type="air_purifier"))


def _config(data: Path, url: str = "", credentials: Credentials | None = None) -> Config:
    hub = credentials.hub() if credentials else None
    bridge = credentials.bridge() if credentials else None
    return Config(
        hub=HubConfig(data_dir=str(data)),
        api=ApiConfig(port=0),
        mqtt=MqttConfig(url=url or None, username=hub and hub.username, password=hub and hub.password),
        homes=(HomeConfig(id="h1", name="Home", lat=39.79, lon=116.5, devices=DEVICES),),
        homeassistant=HomeAssistantConfig(
            member="owner", username=bridge and bridge.username, password=bridge and bridge.password
        ),
    )


async def test_hub_and_bridge_keep_their_own_sessions_and_discovery_arrives(tmp_path: Path) -> None:
    require_mosquitto()
    data = tmp_path / "data"
    # What `carhome mqtt credentials --config FILE --mosquitto DIR` does, then `--show` for
    # the logins the config file gets.
    credentials = mqtt_credentials(_config(data), data)
    async with run_mosquitto(tmp_path / "mosquitto", credentials) as broker:
        config = _config(data, broker.url, credentials)
        async with (
            running_hub(config),
            login(broker.url, credentials, credentials.home_assistant().username) as ha,
        ):
            await ha.subscribe("homeassistant/device/+/config")
            await ha.until("homeassistant/device/carhome_h1_car/config")
            await ha.until("homeassistant/device/carhome_h1_purifier/config")
            # Home Assistant comes online: the bridge publishes discovery again, a round
            # trip after which Mosquitto would have told of any dropped session.
            await ha.publish("homeassistant/status", b"online")
            await ha.until("homeassistant/device/carhome_h1_car/config", count=2)
    said = "".join(broker.log)
    connects = {
        user: len(re.findall(rf"New client connected from \S+ as \S+ \(.*u'{re.escape(user)}'\)", said))
        for user in (credentials.hub().username, credentials.bridge().username)
    }
    dropped = said.count("already connected, closing old connection")
    print(f"\nhub and bridge on Mosquitto by URL: connects {connects}, sessions dropped {dropped}")
    assert connects == {credentials.hub().username: 1, credentials.bridge().username: 1}
    assert dropped == 0
