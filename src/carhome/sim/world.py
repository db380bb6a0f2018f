"""A standard simulated home: its devices, their records for the hub, and the routine.

``SimHome`` builds the devices of a typical Yizhuang flat with a garage — a car and its
wallbox, a purifier and an air conditioner in the living room, one in the bedroom, a
light, the front door lock, a rice cooker, the garage door, a robot vacuum and the
owner's phone — for a given ``carhome.hub.Home``, and hands out the ``Device`` records
the hub registers. ``update(now)`` moves the shared outdoors and the household routine to
``now``; each device then steps itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from carhome.hub.model import Device, Home, Place
from carhome.sim.aircon import SimAirConditioner
from carhome.sim.car import SimCar
from carhome.sim.device import SimDevice
from carhome.sim.garage import SimGarageDoor
from carhome.sim.light import SimLight
from carhome.sim.lock import SimDoorLock
from carhome.sim.phone import SimPhone
from carhome.sim.purifier import SimAirPurifier
from carhome.sim.rice_cooker import SimRiceCooker
from carhome.sim.routes import RouteBook
from carhome.sim.scenario import CarScenario
from carhome.sim.vacuum import SimRobotVacuum
from carhome.sim.wallbox import SimWallbox
from carhome.sim.weather import Outdoor


@dataclass(frozen=True)
class _Slot:
    name: str
    room: str | None


_SLOTS: dict[str, _Slot] = {
    "car": _Slot("Car", None),
    "wallbox": _Slot("Wallbox", "garage"),
    "living_room_purifier": _Slot("Living room purifier", "living_room"),
    "living_room_ac": _Slot("Living room air conditioner", "living_room"),
    "bedroom_ac": _Slot("Bedroom air conditioner", "bedroom"),
    "living_room_light": _Slot("Living room light", "living_room"),
    "front_door": _Slot("Front door", "hall"),
    "rice_cooker": _Slot("Rice cooker", "kitchen"),
    "garage_door": _Slot("Garage door", "garage"),
    "vacuum": _Slot("Robot vacuum", "living_room"),
    "phone": _Slot("Owner's phone", None),
}


class SimHome:
    """The simulated devices of one home, keyed by device id."""

    def __init__(
        self,
        home: Home,
        *,
        seed: int = 0,
        outdoor: Outdoor | None = None,
        soc: float = 65.0,
        routine: bool = True,
    ) -> None:
        self.home = home
        self.outdoor = outdoor or Outdoor(timezone=home.timezone)
        self.routes = RouteBook.yizhuang(home.lat, home.lon)
        rng = random.Random(seed)  # noqa: S311 - red lights in a simulation, not a secret
        self.car = SimCar(self.outdoor, lat=home.lat, lon=home.lon, soc=soc, rng=rng)
        self.wallbox = SimWallbox()
        self.wallbox.attach(self.car)
        self.garage = SimGarageDoor()
        self.phone = SimPhone(home_lat=home.lat, home_lon=home.lon, home_radius_m=home.radius_m)
        self.front_door = SimDoorLock()
        self.devices: dict[str, SimDevice] = {
            # the car steps before the wallbox, which meters what the car drew
            "car": self.car,
            "wallbox": self.wallbox,
            "living_room_purifier": SimAirPurifier(self.outdoor),
            "living_room_ac": SimAirConditioner(self.outdoor, temperature=22.0),
            "bedroom_ac": SimAirConditioner(self.outdoor, temperature=21.0, capacity=6.0e5, ua=40.0),
            "living_room_light": SimLight(),
            "front_door": self.front_door,
            "rice_cooker": SimRiceCooker(),
            "garage_door": self.garage,
            "vacuum": SimRobotVacuum(),
            "phone": self.phone,
        }
        self.scenario: CarScenario | None = None
        if routine:
            self.scenario = CarScenario(
                self.car,
                self.routes,
                home=home,
                charger=self.wallbox,
                phone=self.phone,
                garage=self.garage,
                seed=seed,
            )

    def records(self) -> list[Device]:
        """The ``Device`` records for the hub, one per simulated device."""
        return [
            Device(
                home=self.home.id,
                id=device_id,
                type=device.type,
                name=_SLOTS[device_id].name,
                room=_SLOTS[device_id].room,
            )
            for device_id, device in self.devices.items()
        ]

    def places(self) -> tuple[Place, ...]:
        """The places the car drives to (besides home), to add to the ``Home`` as geofences."""
        return self.routes.places()

    def update(self, now: float) -> None:
        """Move the outdoors and the household's routine to ``now`` (before devices step)."""
        self.outdoor.update(now)
        if self.scenario is not None:
            self.scenario.update(now)
