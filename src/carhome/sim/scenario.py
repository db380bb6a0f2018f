"""What the household does with the car: a weekly routine of trips, in local time.

The driver leaves for work on weekday mornings and comes back in the evening, shops on
Wednesday evenings and Saturday mornings, and plugs the car in on getting home when its
charge is below a threshold. Around each departure from home the garage door opens and
closes, and on cold or hot days the cabin is conditioned for ten minutes beforehand. The
driver's phone rides along. Departure times vary by a few minutes from day to day, the
same way for the same seed.

A trip is only taken if the car is where it starts and its time came within the last
few hours, so a simulation started mid-day simply picks up the routine.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from carhome.errors import DeviceRefused
from carhome.hub.model import Home
from carhome.hub.places import distance_m
from carhome.sim.car import SimCar
from carhome.sim.charging import ChargePoint
from carhome.sim.garage import SimGarageDoor
from carhome.sim.phone import SimPhone
from carhome.sim.routes import RouteBook

log: Final = logging.getLogger(__name__)

WEEKDAYS: Final = frozenset(range(5))


@dataclass(frozen=True)
class Trip:
    """A trip the household makes on some days of the week (0 = Monday) at a local time."""

    days: frozenset[int]
    at: time
    origin: str
    destination: str


ROUTINE: Final = (
    Trip(WEEKDAYS, time(8, 10), "home", "work"),
    Trip(WEEKDAYS, time(18, 5), "work", "home"),
    Trip(frozenset({2}), time(19, 30), "home", "supermarket"),
    Trip(frozenset({2}), time(20, 20), "supermarket", "home"),
    Trip(frozenset({5}), time(10, 0), "home", "supermarket"),
    Trip(frozenset({5}), time(11, 0), "supermarket", "home"),
)

_PRECONDITION_S = 600.0
_GARAGE_LEAD_S = 60.0  # the door opens this long before the car leaves, closes this long after
_APPROACH_M = 300.0  # the garage opens for a returning car this close to home
_MISSED_AFTER_S = 3 * 3600.0
_JITTER_S = 600.0


class CarScenario:
    """Drives the car, its charging and the garage through the household's routine."""

    def __init__(
        self,
        car: SimCar,
        routes: RouteBook,
        *,
        home: Home,
        trips: tuple[Trip, ...] = ROUTINE,
        charger: ChargePoint | None = None,
        phone: SimPhone | None = None,
        garage: SimGarageDoor | None = None,
        plug_below: float = 70.0,
        seed: int = 0,
    ) -> None:
        self.car = car
        self.routes = routes
        self.tz = ZoneInfo(home.timezone)
        self.home = (home.lat, home.lon)
        self.trips = trips
        self.charger = charger
        self.phone = phone
        self.garage = garage
        self.plug_below = plug_below
        self.seed = seed
        self._done: set[tuple[str, int]] = set()
        self._departures_on: dict[tuple[str, int], float] = {}
        self._was_driving = car.driving
        self._close_garage_at: float | None = None
        self._started = False

    def departure(self, day: datetime, index: int) -> float:
        """When trip ``index`` leaves on the local date of ``day`` (seconds since the epoch)."""
        key = (day.date().isoformat(), index)
        known = self._departures_on.get(key)
        if known is not None:
            return known
        trip = self.trips[index]
        base = datetime.combine(day.date(), trip.at, self.tz)
        day_rng = random.Random(f"{self.seed}/{day.date().isoformat()}/{index}")  # noqa: S311 - a simulation
        jitter = day_rng.uniform(-1, 1)
        leave = (base + timedelta(seconds=jitter * _JITTER_S)).timestamp()
        if len(self._departures_on) > 64:
            self._departures_on.clear()  # only today's matter
        self._departures_on[key] = leave
        return leave

    def update(self, now: float) -> None:
        """Do what the household does at ``now``."""
        car = self.car
        if not self._started:
            self._started = True
            if car.place == "home":
                self._maybe_plug_in()
        if self._close_garage_at is not None and now >= self._close_garage_at:
            self._close_garage_at = None
            self._garage_close()
        if car.driving:
            self._was_driving = True
            if self.phone is not None:
                self.phone.move_to(car.lat, car.lon)
            near = distance_m(car.lat, car.lon, *self.home) < _APPROACH_M
            if near and car.trip is not None and car.trip.route.destination == "home" and self.garage:
                self.garage.open()
            return
        if self._was_driving:
            self._was_driving = False
            self._arrived(now)
        self._departures(now)

    def _arrived(self, now: float) -> None:
        car = self.car
        if car.cabin.climate_on:
            car.set_climate(False)
        if car.place == "home":
            self._maybe_plug_in()
            if self.garage is not None:
                self._close_garage_at = now + _GARAGE_LEAD_S

    def _maybe_plug_in(self) -> None:
        if self.charger is not None and not self.car.plugged and self.car.soc < self.plug_below:
            self.car.plug_in(self.charger)

    def _departures(self, now: float) -> None:
        local = datetime.fromtimestamp(now, self.tz)
        for index, trip in enumerate(self.trips):
            key = (local.date().isoformat(), index)
            if local.weekday() not in trip.days or key in self._done:
                continue
            leave = self.departure(local, index)
            if now >= leave + _MISSED_AFTER_S:
                self._done.add(key)
                continue
            if self.car.place != trip.origin or now < leave - _PRECONDITION_S:
                continue
            if now < leave:
                self._prepare(now, leave, trip)
                continue
            self._done.add(key)
            self._leave(now, trip)

    def _prepare(self, now: float, leave: float, trip: Trip) -> None:
        outside = self.car.outdoor.temperature
        if not self.car.cabin.climate_on and (outside < 10.0 or outside > 26.0):
            try:
                self.car.set_climate(True)
            except DeviceRefused as exc:
                log.info("sim: no preconditioning: %s", exc.reason)
        if trip.origin == "home" and self.garage is not None and now >= leave - _GARAGE_LEAD_S:
            self.garage.open()

    def _leave(self, now: float, trip: Trip) -> None:
        car = self.car
        if car.plugged:
            car.unplug()
        try:
            car.drive(self.routes.route(trip.origin, trip.destination))
        except DeviceRefused as exc:
            log.warning(
                "sim: the car could not leave %s for %s: %s", trip.origin, trip.destination, exc.reason
            )
            return
        self._was_driving = True
        if trip.origin == "home" and self.garage is not None:
            self.garage.open()
            self._close_garage_at = now + _GARAGE_LEAD_S

    def _garage_close(self) -> None:
        if self.garage is None:
            return
        try:
            self.garage.close()
        except DeviceRefused as exc:
            log.info("sim: garage left open: %s", exc.reason)
