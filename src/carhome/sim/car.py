"""The simulated electric car: battery, driving, charging, cabin and body.

One ``SimCar`` integrates, in short sub-steps, the energy its battery gives to the wheels
(``powertrain``), to the cabin's HVAC (``cabin``) and to its 12 V systems, and takes from
a charge point (``charging``) while plugged in. It drives ``Route``s with a realistic
speed profile (``drive``), moving its GPS position, heading and odometer. It reports VSS
signals (``carhome.spec.vss``) rounded as a real car's telematics would, so a parked car
does not stream float jitter.

Scenario code (a person) uses the plain methods — ``drive``, ``plug_in``, ``unplug``,
``open_door`` …; the hub reaches the car only through ``execute``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from carhome.errors import DeviceRefused
from carhome.sim.cabin import Cabin
from carhome.sim.charging import GRID_VOLTAGE, ChargePoint, ChargingCurve
from carhome.sim.device import SimBase
from carhome.sim.drive import Drive, Driver
from carhome.sim.powertrain import Powertrain
from carhome.sim.routes import Route
from carhome.sim.weather import Outdoor
from carhome.spec import vss

_DRIVING_SUBSTEP = 0.5  # s
_PARKED_SUBSTEP = 5.0  # s
_AWAKE_W = 250.0  # 12 V systems, screens, computers while driving or conditioning
_ASLEEP_W = 15.0  # a parked car's standby drain (≈ 0.36 kWh a day)
_RATED_WH_PER_KM = 160.0  # what the range estimate assumes
_RESUME_BELOW = 2.0  # percent under the limit at which a topped-up car charges again
_BUFFER = 3.0  # percent of physical charge hidden at the bottom of the displayed scale


class SimCar(SimBase):
    """A battery-electric car that drives, charges and reports VSS signals."""

    type = "car"
    verifies = True

    def __init__(
        self,
        outdoor: Outdoor,
        *,
        lat: float,
        lon: float,
        place: str | None = "home",
        capacity_kwh: float = 75.0,
        soc: float = 70.0,
        odometer_km: float = 12_345.6,
        charge_limit: int = 80,
        powertrain: Powertrain | None = None,
        curve: ChargingCurve | None = None,
        driver: Driver | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__()
        self.outdoor = outdoor
        self.capacity_kwh = capacity_kwh
        self.energy_kwh = capacity_kwh * soc / 100.0
        self.odometer_km = odometer_km
        self.lat, self.lon, self.heading = lat, lon, 0.0
        self.place = place
        self.powertrain = powertrain or Powertrain()
        self.curve = curve or ChargingCurve()
        self.driver = driver or Driver()
        self.rng = rng  # red lights on the way; None drives every light green
        self.cabin = Cabin(temperature=outdoor.temperature)
        self.trip: Drive | None = None
        self.charge_limit = charge_limit
        self.charge_requested = True
        self._topped_up = False  # reached the limit: wait for a real drop before charging again
        self.charge_point: ChargePoint | None = None
        self.cable_locked = False
        self.flap_open = False
        self.charging_ac_w = 0.0
        self.battery_power_w = 0.0  # into the battery (+), out of it (−)
        self.doors_locked = True
        self.doors_open = [False] * len(vss.DOORS)
        self.windows = [0] * len(vss.DOORS)
        self.trunk_open = False
        self.trunk_locked = True
        self.setters = {
            vss.CHARGE_LIMIT: self._set_charge_limit,
            vss.START_STOP_CHARGING: self._set_start_stop,
            vss.PORT_FLAP_OPEN: self._set_flap,
            vss.HVAC_SET_POINT: self._set_set_point,
            vss.AC_ACTIVE: self._set_climate,
            **{path: self._window_setter(i) for i, path in enumerate(vss.WINDOW_POSITION)},
        }
        self.actions = {
            "lock": self._lock,
            "unlock": self._unlock,
            "open_trunk": self._open_trunk,
            "close_trunk": self._close_trunk,
            "start_charging": self._start_charging,
            "stop_charging": self._stop_charging,
            "set_charge_limit": lambda args: self._set_charge_limit(args["limit"]),
            "climate_on": self._climate_on,
            "climate_off": lambda _: self._set_climate(False),
        }

    # -- what it is now ---------------------------------------------------------------------

    @property
    def soc(self) -> float:
        return 100.0 * self.energy_kwh / self.capacity_kwh

    @property
    def speed_ms(self) -> float:
        return self.trip.v if self.trip is not None else 0.0

    @property
    def driving(self) -> bool:
        return self.trip is not None

    @property
    def plugged(self) -> bool:
        return self.charge_point is not None

    @property
    def charging(self) -> bool:
        return self.charging_ac_w > 0

    def state(self) -> dict[str, Any]:
        speed_kmh = round(self.speed_ms * 3.6, 1)
        soc = min(100.0, max(0.0, self.soc))
        charge_in_w = self.charging_ac_w * self.curve.efficiency
        ttc = 0
        if self.charging and self.charge_point is not None:
            seconds = self.curve.seconds_to(
                soc, self.charge_limit, self.capacity_kwh, self.charge_point.offered_power_w()
            )
            ttc = round(seconds / 60.0) * 60 if seconds != float("inf") else 0
        state: dict[str, Any] = {
            vss.SPEED: speed_kmh,
            vss.IS_MOVING: speed_kmh > 0,
            vss.LATITUDE: round(self.lat, 6),
            vss.LONGITUDE: round(self.lon, 6),
            vss.HEADING: round(self.heading, 0) % 360.0,
            vss.ODOMETER: round(self.odometer_km, 1),
            vss.SOC: round(soc, 1),
            vss.SOC_DISPLAYED: float(round(max(0.0, (soc - _BUFFER) / (100.0 - _BUFFER) * 100.0))),
            vss.ENERGY: round(self.energy_kwh, 1),
            vss.NET_CAPACITY: round(self.capacity_kwh),
            vss.BATTERY_POWER: round(self.battery_power_w, -2) + 0.0,  # + 0.0: never report -0.0
            # whole kilometres: the estimate is coarse, and metres would only be jitter
            vss.RANGE: round(self.energy_kwh * 1000.0 / _RATED_WH_PER_KM) * 1000,
            vss.IS_CHARGING: self.charging,
            vss.CHARGE_LIMIT: self.charge_limit,
            vss.CHARGE_CURRENT: round(self.charging_ac_w / GRID_VOLTAGE, 1),
            vss.CHARGE_RATE: round(charge_in_w / _RATED_WH_PER_KM, 1),
            vss.TIME_TO_COMPLETE: ttc,
            vss.START_STOP_CHARGING: "START" if self.charge_requested else "STOP",
            vss.PORT_FLAP_OPEN: self.flap_open,
            vss.CABLE_CONNECTED: self.plugged,
            vss.CABLE_LOCKED: self.cable_locked,
            vss.CABIN_TEMPERATURE: _half(self.cabin.temperature),
            vss.HVAC_SET_POINT: _half(self.cabin.set_point),
            vss.AC_ACTIVE: self.cabin.climate_on,
            vss.OUTSIDE_TEMPERATURE: _half(self.outdoor.temperature),
            vss.TRUNK_OPEN: self.trunk_open,
            vss.TRUNK_LOCKED: self.trunk_locked,
        }
        for i in range(len(vss.DOORS)):
            state[vss.DOOR_LOCKED[i]] = self.doors_locked
            state[vss.DOOR_OPEN[i]] = self.doors_open[i]
            state[vss.WINDOW_POSITION[i]] = self.windows[i]
        return state

    # -- physics ----------------------------------------------------------------------------

    def advance(self, dt: float) -> None:
        left = dt
        while left > 0:
            h = min(left, _DRIVING_SUBSTEP if self.trip is not None else _PARKED_SUBSTEP)
            left -= h
            self._substep(h)

    def _substep(self, h: float) -> None:
        outside = self.outdoor.temperature
        traction = 0.0
        trip = self.trip
        if trip is not None:
            v0 = trip.v
            metres = trip.advance(h)
            self.odometer_km += metres / 1000.0
            self.lat, self.lon, self.heading = trip.position()
            if trip.done:
                self._arrive(trip.route)  # the last metre to a standstill costs nothing worth counting
            else:
                traction = self.powertrain.battery_power_w((v0 + trip.v) / 2.0, (trip.v - v0) / h, outside)
        hvac = self.cabin.step(h, outside)
        awake = _AWAKE_W if trip is not None or self.cabin.climate_on or self.charging else _ASLEEP_W
        self.charging_ac_w = self._charge_power()
        into = self.charging_ac_w * self.curve.efficiency - traction - hvac - awake
        self.battery_power_w = into
        self.energy_kwh = min(self.capacity_kwh, max(0.0, self.energy_kwh + into * h / 3.6e6))
        if self.energy_kwh <= 0.0 and self.trip is not None:
            # flat battery: the car rolls to a stop where it is
            self.trip = None
            self.place = None
        if self.charging_ac_w > 0 and self.soc >= self.charge_limit:
            self.charging_ac_w = 0.0
            self._topped_up = True
            self.emit("charging_complete")

    def _charge_power(self) -> float:
        point = self.charge_point
        if point is None or not self.charge_requested or self.soc >= self.charge_limit:
            return 0.0
        if self._topped_up and self.soc > self.charge_limit - _RESUME_BELOW:
            return 0.0
        return self.curve.ac_power_w(self.soc, point.offered_power_w())

    def _arrive(self, route: Route) -> None:
        self.trip = None
        self.place = route.destination

    # -- what a person does -----------------------------------------------------------------

    def drive(self, route: Route) -> None:
        """Set off along ``route`` (the doors close and lock as the car pulls away)."""
        if self.trip is not None:
            raise DeviceRefused("the car is already driving")
        if self.plugged:
            raise DeviceRefused("the charging cable is still plugged in; unplug it first")
        if self.energy_kwh <= 0.0:
            raise DeviceRefused("the battery is empty")
        self.trip = Drive(route, self.driver, self.rng)
        self.place = None
        self.lat, self.lon, self.heading = self.trip.position()
        self.doors_open = [False] * len(vss.DOORS)
        self.trunk_open = False
        self.doors_locked = self.trunk_locked = True

    def plug_in(self, point: ChargePoint) -> None:
        if self.trip is not None:
            raise DeviceRefused("the car is driving")
        if self.charge_point is not None:
            raise DeviceRefused("a cable is already plugged in")
        self.flap_open = True
        self.charge_point = point
        self.cable_locked = True
        self.charge_requested = True  # plugging in starts a charge below the limit
        self._topped_up = False

    def unplug(self) -> None:
        self.charge_point = None
        self.charging_ac_w = 0.0
        self.cable_locked = False
        self.flap_open = False

    def release_cable(self) -> None:
        """The charge point asked to release the cable (only when not charging)."""
        if self.charging:
            raise DeviceRefused("the car is charging; stop charging first")
        self.cable_locked = False

    def open_door(self, index: int = 0) -> None:
        if self.doors_locked:
            self.emit("alarm", reason=f"{vss.DOORS[index]} opened while locked")
        self.doors_open[index] = True

    def close_door(self, index: int = 0) -> None:
        self.doors_open[index] = False

    def set_climate(self, on: bool) -> None:
        """Switch climate control from the cabin or the app."""
        self._set_climate(on)

    def close_trunk(self) -> None:
        self.trunk_open = False

    # -- commands ---------------------------------------------------------------------------

    def _lock(self, _: dict[str, Any]) -> None:
        open_doors = [vss.DOORS[i] for i, o in enumerate(self.doors_open) if o]
        if open_doors:
            raise DeviceRefused(f"cannot lock: door open ({', '.join(open_doors)}); close it first")
        if self.trunk_open:
            raise DeviceRefused("cannot lock: the trunk is open; close it first")
        self.doors_locked = self.trunk_locked = True

    def _unlock(self, _: dict[str, Any]) -> None:
        self.doors_locked = self.trunk_locked = False

    def _open_trunk(self, _: dict[str, Any]) -> None:
        if self.trip is not None:
            raise DeviceRefused("cannot open the trunk while the car is driving")
        self.trunk_locked = False
        self.trunk_open = True

    def _close_trunk(self, _: dict[str, Any]) -> None:
        # A powered trunk moves only while the car stands, whichever way it goes.
        if self.trip is not None:
            raise DeviceRefused("cannot close the trunk while the car is driving")
        self.trunk_open = False

    def _start_charging(self, _: dict[str, Any]) -> None:
        if not self.plugged:
            raise DeviceRefused("the car is not plugged in; plug the cable in first")
        if self.soc >= self.charge_limit:
            raise DeviceRefused(
                f"the battery is already at its charge limit of {self.charge_limit} %;"
                " raise the limit to charge further"
            )
        self.charge_requested = True
        self._topped_up = False

    def _stop_charging(self, _: dict[str, Any]) -> None:
        if not self.plugged:
            raise DeviceRefused("the car is not plugged in, so it is not charging")
        self.charge_requested = False
        self.charging_ac_w = 0.0

    def _set_start_stop(self, value: Any) -> None:
        (self._start_charging if value == "START" else self._stop_charging)({})

    def _set_charge_limit(self, limit: Any) -> None:
        if not 50 <= limit <= 100:
            raise DeviceRefused(f"a charge limit of {limit} % is not accepted; use 50 to 100 %")
        self.charge_limit = int(limit)
        self._topped_up = False

    def _set_flap(self, value: Any) -> None:
        if not value and self.plugged:
            raise DeviceRefused("cannot close the charge port flap with the cable plugged in")
        if value and self.trip is not None:
            raise DeviceRefused("cannot open the charge port flap while driving")
        self.flap_open = bool(value)

    def _set_set_point(self, value: Any) -> None:
        if not 15.0 <= value <= 28.0:
            raise DeviceRefused(f"a set point of {value} °C is not accepted; use 15 to 28 °C")
        self.cabin.set_point = float(value)

    def _set_climate(self, value: Any) -> None:
        if value and self.soc < 5.0:
            raise DeviceRefused("the battery is too low for climate control (below 5 %)")
        self.cabin.climate_on = bool(value)

    def _climate_on(self, args: dict[str, Any]) -> None:
        if "temperature" in args:
            self._set_set_point(args["temperature"])
        self._set_climate(True)

    def _window_setter(self, index: int) -> Callable[[Any], None]:
        def set_window(value: Any) -> None:
            self.windows[index] = int(value)

        return set_window


def _half(celsius: float) -> float:
    """Temperatures are reported to the nearest half degree, as car sensors do."""
    return round(celsius * 2.0) / 2.0
