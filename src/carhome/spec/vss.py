"""carhome's catalog of the COVESA VSS 5.0 signals it uses for cars.

Each entry keeps the standard's path, datatype, kind and unit (a test checks them against
the VSS 5.0 release) and says whether carhome lets a command write it. A car's device spec
is built from this catalog, so a car's property names are VSS paths.
"""

from __future__ import annotations

from dataclasses import dataclass

from carhome.spec.properties import Access, Format, PropertySpec

# The integer ranges VSS datatypes imply, used when the standard sets no min/max.
_INT_RANGES: dict[str, tuple[int, int]] = {
    "uint8": (0, 255),
    "uint16": (0, 65_535),
    "uint32": (0, 4_294_967_295),
    "int8": (-128, 127),
    "int16": (-32_768, 32_767),
    "int32": (-2_147_483_648, 2_147_483_647),
}
_FORMATS: dict[str, Format] = {
    "boolean": Format.BOOL,
    "float": Format.FLOAT,
    "double": Format.FLOAT,
    "string": Format.STRING,
    **dict.fromkeys(_INT_RANGES, Format.INT),
}


@dataclass(frozen=True, slots=True)
class Signal:
    """One VSS signal as the standard defines it, plus whether carhome writes it."""

    path: str
    datatype: str
    kind: str  # sensor | actuator | attribute
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] | None = None
    writable: bool = False
    description: str = ""

    def as_property(self) -> PropertySpec:
        """This signal as a device property."""
        lo, hi = self.minimum, self.maximum
        if self.datatype in _INT_RANGES:
            dlo, dhi = _INT_RANGES[self.datatype]
            lo = dlo if lo is None else lo
            hi = dhi if hi is None else hi
        return PropertySpec(
            name=self.path,
            format=_FORMATS[self.datatype],
            unit=self.unit,
            minimum=lo,
            maximum=hi,
            allowed=self.allowed,
            access=Access.RWN if self.writable else Access.RN,
            description=self.description,
        )


_BATTERY = "Vehicle.Powertrain.TractionBattery"
_CHARGING = f"{_BATTERY}.Charging"
_PORT = f"{_CHARGING}.ChargingPort.AnyPosition"
_DOOR = "Vehicle.Cabin.Door"

SPEED = "Vehicle.Speed"
LATITUDE = "Vehicle.CurrentLocation.Latitude"
LONGITUDE = "Vehicle.CurrentLocation.Longitude"
HEADING = "Vehicle.CurrentLocation.Heading"
ODOMETER = "Vehicle.TraveledDistance"
SOC = f"{_BATTERY}.StateOfCharge.Current"
SOC_DISPLAYED = f"{_BATTERY}.StateOfCharge.Displayed"
ENERGY = f"{_BATTERY}.StateOfCharge.CurrentEnergy"
NET_CAPACITY = f"{_BATTERY}.NetCapacity"
BATTERY_POWER = f"{_BATTERY}.CurrentPower"
RANGE = "Vehicle.Powertrain.Range"
IS_CHARGING = f"{_CHARGING}.IsCharging"
CHARGE_LIMIT = f"{_CHARGING}.ChargeLimit"
CHARGE_CURRENT = f"{_CHARGING}.ChargeCurrent.Phase1"
CHARGE_RATE = f"{_CHARGING}.ChargeRate"
TIME_TO_COMPLETE = f"{_CHARGING}.TimeToComplete"
START_STOP_CHARGING = f"{_CHARGING}.StartStopCharging"
PORT_FLAP_OPEN = f"{_PORT}.IsFlapOpen"
CABLE_CONNECTED = f"{_PORT}.IsChargingCableConnected"
CABLE_LOCKED = f"{_PORT}.IsChargingCableLocked"
CABIN_TEMPERATURE = "Vehicle.Cabin.HVAC.AmbientAirTemperature"
HVAC_SET_POINT = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"
AC_ACTIVE = "Vehicle.Cabin.HVAC.IsAirConditioningActive"
OUTSIDE_TEMPERATURE = "Vehicle.Exterior.AirTemperature"
IS_MOVING = "Vehicle.IsMoving"
TRUNK_OPEN = "Vehicle.Body.Trunk.Rear.IsOpen"
TRUNK_LOCKED = "Vehicle.Body.Trunk.Rear.IsLocked"
DOORS = tuple(f"{_DOOR}.{row}.{side}" for row in ("Row1", "Row2") for side in ("DriverSide", "PassengerSide"))
DOOR_LOCKED = tuple(f"{d}.IsLocked" for d in DOORS)
DOOR_OPEN = tuple(f"{d}.IsOpen" for d in DOORS)
WINDOW_POSITION = tuple(f"{d}.Window.Position" for d in DOORS)

CATALOG: tuple[Signal, ...] = (
    Signal(SPEED, "float", "sensor", "km/h", description="Vehicle speed."),
    Signal(IS_MOVING, "boolean", "sensor", description="Whether the vehicle is moving."),
    Signal(LATITUDE, "double", "sensor", "degrees", -90, 90, description="Latitude (WGS 84)."),
    Signal(LONGITUDE, "double", "sensor", "degrees", -180, 180, description="Longitude (WGS 84)."),
    Signal(HEADING, "double", "sensor", "degrees", 0, 360, description="Heading, 0 = north."),
    Signal(ODOMETER, "float", "sensor", "km", description="Odometer."),
    Signal(SOC, "float", "sensor", "percent", 0, 100, description="Physical state of charge."),
    Signal(SOC_DISPLAYED, "float", "sensor", "percent", 0, 100, description="Displayed state of charge."),
    Signal(ENERGY, "float", "sensor", "kWh", description="Energy in the battery."),
    Signal(NET_CAPACITY, "uint16", "sensor", "kWh", description="Usable battery capacity."),
    Signal(BATTERY_POWER, "float", "sensor", "W", description="Power into (+) or out of (-) the battery."),
    Signal(RANGE, "uint32", "sensor", "m", description="Remaining range."),
    Signal(IS_CHARGING, "boolean", "sensor", description="Energy is flowing into the battery."),
    Signal(
        CHARGE_LIMIT,
        "uint8",
        "actuator",
        "percent",
        0,
        100,
        writable=True,
        description="Target state of charge.",
    ),
    Signal(CHARGE_CURRENT, "float", "sensor", "A", description="AC charging current, phase 1."),
    Signal(CHARGE_RATE, "float", "sensor", "km/h", description="Range added per hour of charging."),
    Signal(TIME_TO_COMPLETE, "uint32", "sensor", "s", description="Time until the charge limit."),
    Signal(
        START_STOP_CHARGING,
        "string",
        "actuator",
        allowed=("START", "STOP"),
        writable=True,
        description="Start or stop charging.",
    ),
    Signal(PORT_FLAP_OPEN, "boolean", "actuator", writable=True, description="Charge port flap open."),
    Signal(CABLE_CONNECTED, "boolean", "sensor", description="Charging cable plugged in."),
    Signal(CABLE_LOCKED, "boolean", "actuator", description="Charging cable locked in the port."),
    Signal(CABIN_TEMPERATURE, "float", "sensor", "celsius", description="Cabin air temperature."),
    Signal(
        HVAC_SET_POINT, "float", "actuator", "celsius", writable=True, description="Driver's HVAC set point."
    ),
    Signal(AC_ACTIVE, "boolean", "actuator", writable=True, description="Climate control running."),
    Signal(OUTSIDE_TEMPERATURE, "float", "sensor", "celsius", description="Outside air temperature."),
    Signal(TRUNK_OPEN, "boolean", "actuator", description="Rear trunk open."),
    Signal(TRUNK_LOCKED, "boolean", "actuator", description="Rear trunk locked."),
    *(Signal(p, "boolean", "actuator", description="Door locked.") for p in DOOR_LOCKED),
    *(Signal(p, "boolean", "actuator", description="Door open.") for p in DOOR_OPEN),
    *(
        Signal(
            p,
            "uint8",
            "actuator",
            "percent",
            0,
            100,
            writable=True,
            description="Window position, 0 = closed.",
        )
        for p in WINDOW_POSITION
    ),
)

BY_PATH: dict[str, Signal] = {s.path: s for s in CATALOG}
