"""A fake fleet-telemetry server on a real broker, publishing as its MQTT datastore does.

``FleetTelemetry`` is an MQTT client that publishes a record's fields one message each on
``<topic_base>/<VIN>/v/<field>`` and the car's connection on ``…/connectivity``, at the
datastore's default QoS 0 without retain (``datastore/mqtt``), with payloads from the
fixtures (``fixtures/README.md`` says where each comes from).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import MQTTv311

from carhome.connectors.tesla import TeslaCar, TeslaConfig
from carhome.hub import Hub
from waiting import TIMEOUT, until

FIXTURES = Path(__file__).parent / "fixtures"
VIN = "5YJ3E1EA1KF000316"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def model3_config(url: str, *, topic_base: str = "telemetry", vin: str = VIN) -> TeslaConfig:
    """The ``tesla`` section for the car ``h1/model3``."""
    return TeslaConfig(url=url, topic_base=topic_base, cars=(TeslaCar(home="h1", device="model3", vin=vin),))


class FleetTelemetry:
    """fleet-telemetry's MQTT datastore, connected to the broker at ``port``."""

    def __init__(self, port: int, *, topic_base: str = "telemetry") -> None:
        self.port = port
        self.topic_base = topic_base
        self.client = gmqtt.Client("fleet-telemetry")

    async def __aenter__(self) -> FleetTelemetry:
        await asyncio.wait_for(self.client.connect("127.0.0.1", self.port, version=MQTTv311), TIMEOUT)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.disconnect()

    def fields(self, vin: str, fields: dict[str, str | bytes]) -> int:
        """Publish one record's fields; returns how many messages."""
        for name, value in fields.items():
            payload = value.encode() if isinstance(value, str) else value
            self.client.publish(f"{self.topic_base}/{vin}/v/{name}", payload, qos=0, retain=False)
        return len(fields)

    def connectivity(self, vin: str, record: str | bytes) -> None:
        payload = record.encode() if isinstance(record, str) else record
        self.client.publish(f"{self.topic_base}/{vin}/connectivity", payload, qos=0, retain=False)


async def available(hub: Hub, up: bool = True) -> None:
    await until(lambda: hub.available("h1", "model3") is up, f"h1/model3 {'online' if up else 'offline'}")
