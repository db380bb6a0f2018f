"""The demo world: one home in Yizhuang, its owner, and the car and devices the simulator plays.

``demo_config`` is the configuration ``carhome demo`` runs: the home, its simulated devices,
its wallbox as an OCPP charger charging the car by a smart plan on Beijing's time-of-use
tariff, the built-in broker and the Home Assistant bridge. ``demo_owner_password`` is the
demo owner's login, made once and kept in the data directory. Nothing of the demo lives in
the process that runs it (``carhome.compose.runtime``).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Final

from carhome.api.config import ApiConfig
from carhome.compose.charging import demo_charging
from carhome.compose.config import (
    Config,
    DeviceConfig,
    HomeConfig,
    HubConfig,
)
from carhome.connectors.homeassistant.config import HomeAssistantConfig
from carhome.connectors.mqtt.config import BuiltinBroker, MqttConfig
from carhome.files import create_atomically
from carhome.hub import Home
from carhome.private import private_dir
from carhome.sim.config import SimConfig
from carhome.sim.world import SimHome

DEMO_AUTOMATIONS: Final = Path(__file__).parents[1] / "sim" / "demo_automations.yaml"
DEMO_OWNER: Final = "owner"
OWNER_PASSWORD_FILE: Final = "owner-password"  # noqa: S105 - a file name

# The demo home: Beijing Economic-Technological Development Area (Yizhuang).
DEMO_HOME: Final = Home(
    id="yizhuang", name="Yizhuang home", lat=39.7953, lon=116.5060, radius_m=150.0, timezone="Asia/Shanghai"
)


def demo_config(
    *, speed: float, data_dir: Path, api_port: int, mqtt_port: int, mqtt_url: str | None
) -> Config:
    """The demo: one home in Yizhuang whose car and devices the simulator plays."""
    sim = SimHome(DEMO_HOME)
    devices = tuple(DeviceConfig(id=d.id, type=d.type, name=d.name, room=d.room) for d in sim.records())
    # the wallbox is an OCPP charger; the car is charged by a smart plan on Beijing's tariff
    charging = demo_charging(DEMO_HOME, devices)
    devices = charging.devices
    home = HomeConfig.of(DEMO_HOME, devices)
    mqtt = (
        MqttConfig(url=mqtt_url)
        if mqtt_url is not None
        else MqttConfig(builtin=BuiltinBroker(port=mqtt_port))
    )
    return Config(
        hub=HubConfig(data_dir=str(data_dir), clock_speed=speed),
        api=ApiConfig(port=api_port),
        mqtt=mqtt,
        homes=(home,),
        sim=SimConfig(enabled=True),
        # Point Home Assistant's MQTT integration at the demo's broker to see the home there.
        homeassistant=HomeAssistantConfig(member="owner"),
        ocpp=charging.ocpp,
        charging=charging.charging,
    )


def demo_owner_password(data_dir: Path) -> str:
    """The demo owner's password: made at random on the first run and kept (mode 0600) in
    the demo's data directory, so a restarted demo takes the same login."""
    path = data_dir / OWNER_PASSWORD_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    password = secrets.token_urlsafe(12)
    private_dir(data_dir)
    create_atomically(path, (password + "\n").encode())
    return password
