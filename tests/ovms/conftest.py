"""A hub with an OVMS car ``h1/leaf``, a real Mosquitto, the connector, and a fake module."""

from __future__ import annotations

from ovms_rig import FakeModule, leaf_config

from car_feed_rig import car_feed_fixtures
from carhome.connectors.ovms import OvmsConnector
from carhome.hub import Device
from mqtt.conftest import mosquitto  # the real broker

__all__ = ["mosquitto"]  # the fixture, used by name

fed_car, leaf, connector, module = car_feed_fixtures(
    Device(home="h1", id="leaf", type="car", name="Leaf", connector="ovms"),
    OvmsConnector,
    leaf_config,
    "module",
    FakeModule,
)
