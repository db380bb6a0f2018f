"""Run by Home Assistant's own Python: its MQTT discovery code on carhome's payloads.

Not a test module: tests/ha_real/test_ha_real_schema.py runs it with the interpreter of
the venv scripts/ha-install made, feeds it ``[{"node": …, "payload": …}, …]`` on stdin
and reads one JSON object back: ``devices`` and ``tables``. For each device payload it
does what Home Assistant 2025.4's ``mqtt.discovery`` does on receiving it — expand
abbreviations, check the device schema, give each component the device's shared options
— then runs each component through its platform's ``DISCOVERY_SCHEMA``. Those schemas
drop unknown options silently (``extra=REMOVE_EXTRA``), so it reports, per component,
the error if any, the options Home Assistant dropped, and the QoS Home Assistant will
use. ``tables`` are the device classes, units and state classes Home Assistant accepts,
which carhome's schema copies.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import sys
from typing import Any

import voluptuous as vol
from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.cover import CoverDeviceClass
from homeassistant.components.mqtt import discovery, schemas
from homeassistant.components.sensor.const import (
    DEVICE_CLASS_STATE_CLASSES,
    DEVICE_CLASS_UNITS,
    SensorDeviceClass,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame

# Keys of a component that Home Assistant consumes before the platform schema sees them.
CONSUMED = {"platform", "device", "origin"}


def check(payload: dict[str, Any]) -> dict[str, Any]:
    discovery._replace_all_abbreviations(payload)
    try:
        schemas.DEVICE_DISCOVERY_SCHEMA(payload)
    except vol.Invalid as exc:
        return {"device_error": str(exc), "components": {}}
    out: dict[str, Any] = {}
    for key, component in payload["components"].items():
        config = copy.deepcopy(component)
        platform = config.pop("platform")
        config["device"] = payload["device"]
        config["origin"] = payload["origin"]
        discovery._merge_common_device_options(config, payload)
        module = importlib.import_module(f"homeassistant.components.mqtt.{platform}")
        given = set(config) - CONSUMED
        try:
            validated = module.DISCOVERY_SCHEMA(config)
        except vol.Invalid as exc:
            out[key] = {"platform": platform, "error": str(exc)}
            continue
        out[key] = {
            "platform": platform,
            "error": None,
            "dropped": sorted(given - set(validated)),
            "qos": validated.get("qos"),
        }
    return {"device_error": None, "components": out}


async def main(config_dir: str) -> None:
    # Templates are compiled against a running instance, as in Home Assistant itself.
    hass = HomeAssistant(config_dir)
    frame.async_setup(hass)
    items = json.load(sys.stdin)
    devices = {item["node"]: check(json.loads(item["payload"])) for item in items}
    await hass.async_stop(force=True)
    json.dump({"devices": devices, "tables": tables()}, sys.stdout)


def tables() -> dict[str, Any]:
    """The sensor and binary sensor tables carhome's schema writes down, as Home Assistant has them."""
    return {
        "sensor_units": {str(k): sorted(map(str, v)) for k, v in DEVICE_CLASS_UNITS.items()},
        "sensor_state_classes": {str(k): sorted(map(str, v)) for k, v in DEVICE_CLASS_STATE_CLASSES.items()},
        "sensor_classes": sorted(map(str, SensorDeviceClass)),
        "binary_sensor_classes": sorted(map(str, BinarySensorDeviceClass)),
        "cover_classes": sorted(map(str, CoverDeviceClass)),
    }


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
