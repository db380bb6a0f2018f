"""A simulated electric car and home that behave like real ones and speak carhome's MQTT.

Every simulated device has one shape (``SimDevice``): ``state``, ``step(dt)``,
``execute`` and ``drain_events``. ``SimHome`` builds a standard home of them for a
``carhome.hub.Home``; ``SimRunner`` connects each to the hub (over MQTT by default) and
steps them on the clock. The physics lives beside its device: ``powertrain``,
``charging``, ``cabin``, ``drive`` and ``routes`` for the car, one module per home device.
"""

from carhome.sim.aircon import SimAirConditioner
from carhome.sim.car import SimCar
from carhome.sim.charging import ChargePoint, ChargingCurve
from carhome.sim.device import SimBase, SimDevice, SimEvent
from carhome.sim.drive import Drive, Driver
from carhome.sim.garage import SimGarageDoor
from carhome.sim.light import SimLight
from carhome.sim.lock import SimDoorLock
from carhome.sim.phone import SimPhone
from carhome.sim.powertrain import Powertrain
from carhome.sim.purifier import SimAirPurifier
from carhome.sim.rice_cooker import SimRiceCooker
from carhome.sim.routes import Point, Route, RouteBook
from carhome.sim.runner import CommandHandler, DeviceLink, LinkFactory, SimRunner, mqtt_links
from carhome.sim.scenario import ROUTINE, CarScenario, Trip
from carhome.sim.vacuum import SimRobotVacuum
from carhome.sim.wallbox import SimWallbox
from carhome.sim.weather import Outdoor
from carhome.sim.world import SimHome

__all__ = [
    "ROUTINE",
    "CarScenario",
    "ChargePoint",
    "ChargingCurve",
    "CommandHandler",
    "DeviceLink",
    "Drive",
    "Driver",
    "LinkFactory",
    "Outdoor",
    "Point",
    "Powertrain",
    "Route",
    "RouteBook",
    "SimAirConditioner",
    "SimAirPurifier",
    "SimBase",
    "SimCar",
    "SimDevice",
    "SimDoorLock",
    "SimEvent",
    "SimGarageDoor",
    "SimHome",
    "SimLight",
    "SimPhone",
    "SimRiceCooker",
    "SimRobotVacuum",
    "SimRunner",
    "SimWallbox",
    "Trip",
    "mqtt_links",
]
