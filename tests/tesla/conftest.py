"""A hub with a Tesla ``h1/model3``, a real Mosquitto, the connector, and fleet-telemetry."""

from __future__ import annotations

from tesla_rig import FleetTelemetry, model3_config

from car_feed_rig import car_feed_fixtures
from carhome.connectors.tesla import TeslaTelemetryConnector
from carhome.hub import Device
from mqtt.conftest import mosquitto  # the real broker

__all__ = ["mosquitto"]  # the fixture, used by name

fed_car, model3, connector, server = car_feed_fixtures(
    Device(home="h1", id="model3", type="car", name="Model 3", connector="tesla"),
    TeslaTelemetryConnector,
    model3_config,
    "server",
    FleetTelemetry,
)
