"""The device types carhome knows, as data.

Home devices follow the MIoT idea: typed properties (format, unit, range or allowed values,
access), actions with typed arguments, and events. The car's properties are VSS signal
paths from ``carhome.spec.vss``, plus two the hub derives from its location.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TypeVar

from carhome.spec import vss
from carhome.spec.properties import (
    Access,
    ActionSpec,
    DeviceSpec,
    EventSpec,
    Format,
    PropertySpec,
)

RN, RWN = Access.RN, Access.RWN

# Derived by the hub from the car's location and the home's places.
PLACE = "place"
DISTANCE_TO_HOME = "distance_to_home"
AWAY = "away"

# Safety-critical domains: commands in them will carry an end-to-end signature.
CAR_DOORS = "car_doors"
HOME_LOCK = "home_lock"
GARAGE = "garage"
CHARGING = "charging"


def _prop(
    name: str,
    fmt: Format,
    unit: str | None = None,
    lo: float | None = None,
    hi: float | None = None,
    *,
    allowed: tuple[str, ...] | None = None,
    access: Access = RN,
    doc: str = "",
) -> PropertySpec:
    return PropertySpec(name, fmt, unit, lo, hi, allowed, access, doc)


_T = TypeVar("_T", PropertySpec, ActionSpec, EventSpec)


def _by_name(items: Iterable[_T]) -> dict[str, _T]:
    return {item.name: item for item in items}


def _switch_actions(doc: str) -> tuple[ActionSpec, ...]:
    return (
        ActionSpec("turn_on", description=f"Turn the {doc} on.", sets=("on",)),
        ActionSpec("turn_off", description=f"Turn the {doc} off.", sets=("on",)),
        ActionSpec("toggle", description=f"Toggle the {doc}.", sets=("on",)),
    )


ON = _prop("on", Format.BOOL, access=RWN, doc="Power.")
BATTERY = _prop("battery", Format.INT, "percent", 0, 100, doc="Battery level.")

# The set points a car's climate takes (VSS gives the signal no range): a write outside
# them is refused by the hub, not left to fail at the car.
SET_POINT_MIN, SET_POINT_MAX = 15, 28

CAR = DeviceSpec(
    type="car",
    title="Electric car",
    category="car",
    description="A battery-electric car; its properties are VSS 5.0 signals.",
    properties={
        **{s.path: s.as_property() for s in vss.CATALOG},
        vss.HVAC_SET_POINT: replace(
            vss.BY_PATH[vss.HVAC_SET_POINT].as_property(), minimum=SET_POINT_MIN, maximum=SET_POINT_MAX
        ),
        PLACE: PropertySpec(
            PLACE, Format.STRING, access=RN, derived=True, description="The place the car is in, or 'away'."
        ),
        DISTANCE_TO_HOME: PropertySpec(
            DISTANCE_TO_HOME,
            Format.FLOAT,
            "km",
            0,
            None,
            access=RN,
            derived=True,
            description="Great-circle distance to home.",
        ),
    },
    actions=_by_name(
        (
            ActionSpec(
                "lock", description="Lock all doors and the trunk.", domain=CAR_DOORS, sets=vss.DOOR_LOCKED
            ),
            ActionSpec("unlock", description="Unlock all doors.", domain=CAR_DOORS, sets=vss.DOOR_LOCKED),
            ActionSpec(
                "open_trunk", description="Open the rear trunk.", domain=CAR_DOORS, sets=(vss.TRUNK_OPEN,)
            ),
            ActionSpec(
                "close_trunk", description="Close the rear trunk.", domain=CAR_DOORS, sets=(vss.TRUNK_OPEN,)
            ),
            ActionSpec(
                "start_charging",
                description="Start charging if plugged in.",
                domain=CHARGING,
                sets=(vss.IS_CHARGING,),
            ),
            ActionSpec("stop_charging", description="Stop charging.", sets=(vss.IS_CHARGING,)),
            ActionSpec(
                "set_charge_limit",
                args=(_prop("limit", Format.INT, "percent", 50, 100),),
                description="Set the target state of charge.",
                sets=(vss.CHARGE_LIMIT,),
            ),
            ActionSpec(
                "climate_on",
                args=(_prop("temperature", Format.FLOAT, "celsius", SET_POINT_MIN, SET_POINT_MAX),),
                optional=frozenset({"temperature"}),
                description="Start climate control, optionally at a set point.",
                sets=(vss.AC_ACTIVE, vss.HVAC_SET_POINT),
            ),
            ActionSpec("climate_off", description="Stop climate control.", sets=(vss.AC_ACTIVE,)),
        )
    ),
    events=_by_name(
        (
            EventSpec("charging_complete", description="The charge limit was reached."),
            EventSpec("alarm", (_prop("reason", Format.STRING),), "The anti-theft alarm went off."),
        )
    ),
)

AIR_PURIFIER = DeviceSpec(
    type="air_purifier",
    title="Air purifier",
    category="home",
    properties=_by_name(
        (
            ON,
            _prop(
                "mode",
                Format.STRING,
                allowed=("auto", "sleep", "favorite", "fan"),
                access=RWN,
                doc="Operating mode ('fan': at the fan level set by hand).",
            ),
            _prop("fan_level", Format.INT, None, 1, 3, access=RWN, doc="Fan level."),
            _prop("pm25", Format.INT, "ug/m3", 0, 999, doc="PM2.5 density."),
            _prop("humidity", Format.INT, "percent", 0, 100, doc="Relative humidity."),
            _prop("filter_life", Format.INT, "percent", 0, 100, doc="Filter life left."),
        )
    ),
    actions=_by_name(_switch_actions("air purifier")),
)

AIR_CONDITIONER = DeviceSpec(
    type="air_conditioner",
    title="Air conditioner",
    category="home",
    properties=_by_name(
        (
            ON,
            _prop(
                "mode",
                Format.STRING,
                allowed=("cool", "heat", "dry", "fan", "auto"),
                access=RWN,
                doc="Operating mode.",
            ),
            _prop("target_temperature", Format.FLOAT, "celsius", 16, 30, access=RWN, doc="Set point."),
            _prop("temperature", Format.FLOAT, "celsius", -40, 60, doc="Room temperature."),
            _prop(
                "fan_speed",
                Format.STRING,
                allowed=("auto", "low", "medium", "high"),
                access=RWN,
                doc="Fan speed.",
            ),
        )
    ),
    actions=_by_name(_switch_actions("air conditioner")),
)

LIGHT = DeviceSpec(
    type="light",
    title="Light",
    category="home",
    properties=_by_name(
        (
            ON,
            _prop("brightness", Format.INT, "percent", 1, 100, access=RWN, doc="Brightness."),
            _prop("color_temperature", Format.INT, "K", 2700, 6500, access=RWN, doc="Colour temperature."),
        )
    ),
    actions=_by_name(_switch_actions("light")),
)

DOOR_LOCK = DeviceSpec(
    type="door_lock",
    title="Smart door lock",
    category="home",
    properties=_by_name(
        (
            _prop("locked", Format.BOOL, doc="Bolt thrown."),
            _prop("door_open", Format.BOOL, doc="Door open."),
            BATTERY,
        )
    ),
    actions=_by_name(
        (
            ActionSpec("lock", description="Throw the bolt.", domain=HOME_LOCK, sets=("locked",)),
            ActionSpec("unlock", description="Draw the bolt.", domain=HOME_LOCK, sets=("locked",)),
        )
    ),
    events=_by_name(
        (
            EventSpec("jammed", description="The bolt could not move."),
            EventSpec("doorbell", description="Someone rang."),
            EventSpec(
                "unlocked_by",
                (_prop("method", Format.STRING, allowed=("key", "fingerprint", "code", "remote")),),
                "The lock was opened, and how.",
            ),
        )
    ),
)

RICE_COOKER = DeviceSpec(
    type="rice_cooker",
    title="Rice cooker",
    category="home",
    properties=_by_name(
        (
            _prop(
                "status",
                Format.STRING,
                allowed=("idle", "cooking", "keeping_warm"),
                doc="What the cooker is doing.",
            ),
            _prop(
                "program",
                Format.STRING,
                allowed=("white_rice", "quick", "porridge", "brown_rice"),
                doc="The running or last program.",
            ),
            _prop("remaining", Format.INT, "min", 0, 600, doc="Minutes until the program ends."),
            _prop("temperature", Format.FLOAT, "celsius", 0, 150, doc="Pot temperature."),
        )
    ),
    actions=_by_name(
        (
            ActionSpec(
                "start",
                args=(
                    _prop(
                        "program", Format.STRING, allowed=("white_rice", "quick", "porridge", "brown_rice")
                    ),
                ),
                description="Start a cooking program.",
                sets=("status", "program"),
            ),
            ActionSpec("cancel", description="Stop cooking.", sets=("status",)),
        )
    ),
    events=_by_name((EventSpec("finished", description="The program finished."),)),
)

GARAGE_DOOR = DeviceSpec(
    type="garage_door",
    title="Garage door",
    category="home",
    properties=_by_name(
        (
            _prop(
                "state",
                Format.STRING,
                allowed=("open", "closed", "opening", "closing", "stopped"),
                doc="Door state.",
            ),
            _prop("position", Format.INT, "percent", 0, 100, doc="0 = closed, 100 = open."),
        )
    ),
    actions=_by_name(
        (
            ActionSpec("open", description="Open the door.", domain=GARAGE, sets=("state",)),
            ActionSpec("close", description="Close the door.", domain=GARAGE, sets=("state",)),
            ActionSpec("stop", description="Stop the door where it is.", sets=("state",)),
        )
    ),
    events=_by_name((EventSpec("obstructed", description="The door met an obstacle."),)),
)

ROBOT_VACUUM = DeviceSpec(
    type="robot_vacuum",
    title="Robot vacuum",
    category="home",
    properties=_by_name(
        (
            _prop(
                "status",
                Format.STRING,
                allowed=("docked", "cleaning", "paused", "returning", "error"),
                doc="Status.",
            ),
            BATTERY,
            _prop("cleaned_area", Format.FLOAT, "m2", 0, 1000, doc="Area cleaned this run."),
        )
    ),
    actions=_by_name(
        (
            ActionSpec("start", description="Start cleaning.", sets=("status",)),
            ActionSpec("pause", description="Pause cleaning.", sets=("status",)),
            ActionSpec("return_home", description="Go back to the dock.", sets=("status",)),
        )
    ),
    events=_by_name((EventSpec("finished", description="A cleaning run finished."),)),
)

WALLBOX = DeviceSpec(
    type="wallbox",
    title="EV wallbox",
    category="charger",
    properties=_by_name(
        (
            _prop(
                "status",
                Format.STRING,
                allowed=(
                    "available",
                    "preparing",
                    "charging",
                    "suspended_ev",
                    "suspended_evse",
                    "finishing",
                    "faulted",
                    "unavailable",
                ),
                doc="Connector status.",
            ),
            _prop("power", Format.FLOAT, "W", 0, 50_000, doc="Power delivered now."),
            _prop("energy", Format.FLOAT, "kWh", 0, None, doc="Energy of this session."),
            _prop("current_limit", Format.INT, "A", 6, 32, access=RWN, doc="Current limit."),
            _prop("phases", Format.INT, None, 1, 3, doc="Phases in use."),
        )
    ),
    actions=_by_name(
        (
            ActionSpec(
                "start_charging", description="Start a charging session.", domain=CHARGING, sets=("status",)
            ),
            ActionSpec("stop_charging", description="End the charging session.", sets=("status",)),
            ActionSpec("unlock_connector", description="Release the cable."),
        )
    ),
    events=_by_name(
        (EventSpec("plugged", (_prop("plugged", Format.BOOL),), "A cable was plugged in or out."),)
    ),
)

PHONE = DeviceSpec(
    type="phone",
    title="Phone",
    category="phone",
    description="A member's phone, for presence.",
    properties=_by_name(
        (
            _prop("present", Format.BOOL, doc="At home."),
            _prop("latitude", Format.FLOAT, "degrees", -90, 90, doc="Latitude (WGS 84)."),
            _prop("longitude", Format.FLOAT, "degrees", -180, 180, doc="Longitude (WGS 84)."),
            BATTERY,
        )
    ),
    actions=_by_name((ActionSpec("ring", description="Make the phone ring."),)),
)

# -- energy: the grid connection, solar, a home battery, metered relays --------------------
#
# One sign convention for all of them, the house's: power flowing INTO the house is
# positive. The grid meter's ``power`` is positive while importing and negative while
# exporting (the surplus is -power); the inverter's is what it produces; the battery's is
# positive while it discharges into the house and negative while it charges. Per-phase
# currents are magnitudes (what a fuse sees); their direction is in the phase's power.

MAX_GRID_W = 250_000  # a large house's connection: 3 x 250 A at 230 V is 172 kW
MAX_PHASE_A = 1_000.0


def _phases(name: str, unit: str, lo: float, hi: float, *, doc: str) -> tuple[PropertySpec, ...]:
    return tuple(
        _prop(f"{name}_l{n}", Format.FLOAT, unit, lo, hi, doc=f"{doc}, phase L{n}.") for n in (1, 2, 3)
    )


GRID_METER = DeviceSpec(
    type="grid_meter",
    title="Grid meter",
    category="home",
    description="The meter at the house's grid connection: import positive, export negative.",
    properties=_by_name(
        (
            _prop(
                "power",
                Format.FLOAT,
                "W",
                -MAX_GRID_W,
                MAX_GRID_W,
                doc="Active power at the grid connection: positive importing, negative exporting.",
            ),
            _prop("import_energy", Format.FLOAT, "kWh", 0, None, doc="Energy imported from the grid, total."),
            _prop("export_energy", Format.FLOAT, "kWh", 0, None, doc="Energy exported to the grid, total."),
            *_phases("power", "W", -MAX_GRID_W, MAX_GRID_W, doc="Active power (import positive)"),
            *_phases("current", "A", 0, MAX_PHASE_A, doc="Current (magnitude)"),
            *_phases("voltage", "V", 0, 1_000, doc="Voltage to neutral"),
            _prop("frequency", Format.FLOAT, "Hz", 40, 70, doc="Grid frequency."),
        )
    ),
)

INVERTER_STATUS = (
    "off",
    "sleeping",
    "starting",
    "producing",
    "throttled",
    "shutting_down",
    "fault",
    "standby",
)

SOLAR_INVERTER = DeviceSpec(
    type="solar_inverter",
    title="Solar inverter",
    category="home",
    description="A photovoltaic inverter: what it produces now, today and in all.",
    properties=_by_name(
        (
            _prop(
                "power",
                Format.FLOAT,
                "W",
                -MAX_GRID_W,
                MAX_GRID_W,
                doc="AC power produced (a little below zero at night, when it draws).",
            ),
            _prop(
                "energy_today", Format.FLOAT, "kWh", 0, None, doc="Energy produced today (home's time zone)."
            ),
            _prop("energy_total", Format.FLOAT, "kWh", 0, None, doc="Energy produced in its lifetime."),
            _prop("dc_power", Format.FLOAT, "W", -MAX_GRID_W, MAX_GRID_W, doc="DC power from the panels."),
            _prop("status", Format.STRING, allowed=INVERTER_STATUS, doc="Operating state."),
            _prop(
                "power_limit",
                Format.FLOAT,
                "percent",
                0,
                100,
                access=RWN,
                doc="Output limit as a share of the rated power (100: no limit).",
            ),
        )
    ),
)

BATTERY_STATUS = ("off", "empty", "discharging", "charging", "full", "holding", "testing")

HOME_BATTERY = DeviceSpec(
    type="battery",
    title="Home battery",
    category="home",
    description="A stationary battery: positive power while it discharges into the house.",
    properties=_by_name(
        (
            _prop("state_of_charge", Format.FLOAT, "percent", 0, 100, doc="State of charge."),
            _prop(
                "power",
                Format.FLOAT,
                "W",
                -MAX_GRID_W,
                MAX_GRID_W,
                doc="Power: positive discharging into the house, negative charging.",
            ),
            _prop("status", Format.STRING, allowed=BATTERY_STATUS, doc="Charge status."),
            _prop("capacity", Format.FLOAT, "kWh", 0, None, doc="Rated energy capacity."),
        )
    ),
)

RELAY = DeviceSpec(
    type="relay",
    title="Relay",
    category="home",
    description="A switched, metered output: a relay behind a socket or an appliance, or a smart plug.",
    properties=_by_name(
        (
            ON,
            _prop("power", Format.FLOAT, "W", -MAX_GRID_W, MAX_GRID_W, doc="Active power through it."),
            _prop("energy", Format.FLOAT, "kWh", 0, None, doc="Energy through it, total."),
            _prop("current", Format.FLOAT, "A", 0, MAX_PHASE_A, doc="Current."),
            _prop("voltage", Format.FLOAT, "V", 0, 1_000, doc="Voltage."),
            _prop("temperature", Format.FLOAT, "celsius", -40, 150, doc="Temperature inside it."),
        )
    ),
    actions=_by_name(_switch_actions("relay")),
)

SPECS: dict[str, DeviceSpec] = {
    s.type: s
    for s in (
        CAR,
        AIR_PURIFIER,
        AIR_CONDITIONER,
        LIGHT,
        DOOR_LOCK,
        RICE_COOKER,
        GARAGE_DOOR,
        ROBOT_VACUUM,
        WALLBOX,
        PHONE,
        GRID_METER,
        SOLAR_INVERTER,
        HOME_BATTERY,
        RELAY,
    )
}
