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


def _choice(name: str, allowed: tuple[str, ...], doc: str = "", *, access: Access = RN) -> PropertySpec:
    """A string property that takes one of ``allowed``."""
    return _prop(name, Format.STRING, allowed=allowed, access=access, doc=doc)


def _act(name: str, doc: str, *sets: str, domain: str | None = None) -> ActionSpec:
    """An action without arguments that is expected to change ``sets``."""
    return ActionSpec(name, description=doc, domain=domain, sets=sets)


def _device(
    type_: str,
    title: str,
    category: str,
    properties: Iterable[PropertySpec],
    *,
    actions: Iterable[ActionSpec] = (),
    events: Iterable[EventSpec] = (),
    description: str = "",
) -> DeviceSpec:
    """A device type whose properties, actions and events are keyed by their names."""
    return DeviceSpec(
        type_, title, category, _by_name(properties), _by_name(actions), _by_name(events), description
    )


def _switch_actions(doc: str) -> tuple[ActionSpec, ...]:
    return (
        _act("turn_on", f"Turn the {doc} on.", "on"),
        _act("turn_off", f"Turn the {doc} off.", "on"),
        _act("toggle", f"Toggle the {doc}.", "on"),
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
            _act("lock", "Lock all doors and the trunk.", *vss.DOOR_LOCKED, domain=CAR_DOORS),
            _act("unlock", "Unlock all doors.", *vss.DOOR_LOCKED, domain=CAR_DOORS),
            _act("open_trunk", "Open the rear trunk.", vss.TRUNK_OPEN, domain=CAR_DOORS),
            _act("close_trunk", "Close the rear trunk.", vss.TRUNK_OPEN, domain=CAR_DOORS),
            _act("start_charging", "Start charging if plugged in.", vss.IS_CHARGING, domain=CHARGING),
            _act("stop_charging", "Stop charging.", vss.IS_CHARGING),
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
            _act("climate_off", "Stop climate control.", vss.AC_ACTIVE),
        )
    ),
    events=_by_name(
        (
            EventSpec("charging_complete", description="The charge limit was reached."),
            EventSpec("alarm", (_prop("reason", Format.STRING),), "The anti-theft alarm went off."),
        )
    ),
)

AIR_PURIFIER = _device(
    "air_purifier",
    "Air purifier",
    "home",
    (
        ON,
        _choice(
            "mode",
            ("auto", "sleep", "favorite", "fan"),
            "Operating mode ('fan': at the fan level set by hand).",
            access=RWN,
        ),
        _prop("fan_level", Format.INT, None, 1, 3, access=RWN, doc="Fan level."),
        _prop("pm25", Format.INT, "ug/m3", 0, 999, doc="PM2.5 density."),
        _prop("humidity", Format.INT, "percent", 0, 100, doc="Relative humidity."),
        _prop("filter_life", Format.INT, "percent", 0, 100, doc="Filter life left."),
    ),
    actions=_switch_actions("air purifier"),
)

AIR_CONDITIONER = _device(
    "air_conditioner",
    "Air conditioner",
    "home",
    (
        ON,
        _choice("mode", ("cool", "heat", "dry", "fan", "auto"), "Operating mode.", access=RWN),
        _prop("target_temperature", Format.FLOAT, "celsius", 16, 30, access=RWN, doc="Set point."),
        _prop("temperature", Format.FLOAT, "celsius", -40, 60, doc="Room temperature."),
        _choice("fan_speed", ("auto", "low", "medium", "high"), "Fan speed.", access=RWN),
    ),
    actions=_switch_actions("air conditioner"),
)

LIGHT = _device(
    "light",
    "Light",
    "home",
    (
        ON,
        _prop("brightness", Format.INT, "percent", 1, 100, access=RWN, doc="Brightness."),
        _prop("color_temperature", Format.INT, "K", 2700, 6500, access=RWN, doc="Colour temperature."),
    ),
    actions=_switch_actions("light"),
)

DOOR_LOCK = _device(
    "door_lock",
    "Smart door lock",
    "home",
    (
        _prop("locked", Format.BOOL, doc="Bolt thrown."),
        _prop("door_open", Format.BOOL, doc="Door open."),
        BATTERY,
    ),
    actions=(
        _act("lock", "Throw the bolt.", "locked", domain=HOME_LOCK),
        _act("unlock", "Draw the bolt.", "locked", domain=HOME_LOCK),
    ),
    events=(
        EventSpec("jammed", description="The bolt could not move."),
        EventSpec("doorbell", description="Someone rang."),
        EventSpec(
            "unlocked_by",
            (_choice("method", ("key", "fingerprint", "code", "remote")),),
            "The lock was opened, and how.",
        ),
    ),
)

RICE_PROGRAMS = ("white_rice", "quick", "porridge", "brown_rice")

RICE_COOKER = _device(
    "rice_cooker",
    "Rice cooker",
    "home",
    (
        _choice("status", ("idle", "cooking", "keeping_warm"), "What the cooker is doing."),
        _choice("program", RICE_PROGRAMS, "The running or last program."),
        _prop("remaining", Format.INT, "min", 0, 600, doc="Minutes until the program ends."),
        _prop("temperature", Format.FLOAT, "celsius", 0, 150, doc="Pot temperature."),
    ),
    actions=(
        ActionSpec(
            "start",
            args=(_choice("program", RICE_PROGRAMS),),
            description="Start a cooking program.",
            sets=("status", "program"),
        ),
        _act("cancel", "Stop cooking.", "status"),
    ),
    events=(EventSpec("finished", description="The program finished."),),
)

GARAGE_DOOR = _device(
    "garage_door",
    "Garage door",
    "home",
    (
        _choice("state", ("open", "closed", "opening", "closing", "stopped"), "Door state."),
        _prop("position", Format.INT, "percent", 0, 100, doc="0 = closed, 100 = open."),
    ),
    actions=(
        _act("open", "Open the door.", "state", domain=GARAGE),
        _act("close", "Close the door.", "state", domain=GARAGE),
        _act("stop", "Stop the door where it is.", "state"),
    ),
    events=(EventSpec("obstructed", description="The door met an obstacle."),),
)

ROBOT_VACUUM = _device(
    "robot_vacuum",
    "Robot vacuum",
    "home",
    (
        _choice("status", ("docked", "cleaning", "paused", "returning", "error"), "Status."),
        BATTERY,
        _prop("cleaned_area", Format.FLOAT, "m2", 0, 1000, doc="Area cleaned this run."),
    ),
    actions=(
        _act("start", "Start cleaning.", "status"),
        _act("pause", "Pause cleaning.", "status"),
        _act("return_home", "Go back to the dock.", "status"),
    ),
    events=(EventSpec("finished", description="A cleaning run finished."),),
)

WALLBOX_STATUS = (
    "available",
    "preparing",
    "charging",
    "suspended_ev",
    "suspended_evse",
    "finishing",
    "faulted",
    "unavailable",
)

WALLBOX = _device(
    "wallbox",
    "EV wallbox",
    "charger",
    (
        _choice("status", WALLBOX_STATUS, "Connector status."),
        _prop("power", Format.FLOAT, "W", 0, 50_000, doc="Power delivered now."),
        _prop("energy", Format.FLOAT, "kWh", 0, None, doc="Energy of this session."),
        _prop("current_limit", Format.INT, "A", 6, 32, access=RWN, doc="Current limit."),
        _prop("phases", Format.INT, None, 1, 3, doc="Phases in use."),
    ),
    actions=(
        _act("start_charging", "Start a charging session.", "status", domain=CHARGING),
        _act("stop_charging", "End the charging session.", "status"),
        _act("unlock_connector", "Release the cable."),
    ),
    events=(EventSpec("plugged", (_prop("plugged", Format.BOOL),), "A cable was plugged in or out."),),
)

PHONE = _device(
    "phone",
    "Phone",
    "phone",
    (
        _prop("present", Format.BOOL, doc="At home."),
        _prop("latitude", Format.FLOAT, "degrees", -90, 90, doc="Latitude (WGS 84)."),
        _prop("longitude", Format.FLOAT, "degrees", -180, 180, doc="Longitude (WGS 84)."),
        BATTERY,
    ),
    actions=(_act("ring", "Make the phone ring."),),
    description="A member's phone, for presence.",
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


# A power that may run either way through a meter, an inverter or a battery.
_POWER = (Format.FLOAT, "W", -MAX_GRID_W, MAX_GRID_W)
_TOTAL_KWH = (Format.FLOAT, "kWh", 0, None)

GRID_METER = _device(
    "grid_meter",
    "Grid meter",
    "home",
    (
        _prop(
            "power",
            *_POWER,
            doc="Active power at the grid connection: positive importing, negative exporting.",
        ),
        _prop("import_energy", *_TOTAL_KWH, doc="Energy imported from the grid, total."),
        _prop("export_energy", *_TOTAL_KWH, doc="Energy exported to the grid, total."),
        *_phases("power", "W", -MAX_GRID_W, MAX_GRID_W, doc="Active power (import positive)"),
        *_phases("current", "A", 0, MAX_PHASE_A, doc="Current (magnitude)"),
        *_phases("voltage", "V", 0, 1_000, doc="Voltage to neutral"),
        _prop("frequency", Format.FLOAT, "Hz", 40, 70, doc="Grid frequency."),
    ),
    description="The meter at the house's grid connection: import positive, export negative.",
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

SOLAR_INVERTER = _device(
    "solar_inverter",
    "Solar inverter",
    "home",
    (
        _prop("power", *_POWER, doc="AC power produced (a little below zero at night, when it draws)."),
        _prop("energy_today", *_TOTAL_KWH, doc="Energy produced today (home's time zone)."),
        _prop("energy_total", *_TOTAL_KWH, doc="Energy produced in its lifetime."),
        _prop("dc_power", *_POWER, doc="DC power from the panels."),
        _choice("status", INVERTER_STATUS, "Operating state."),
        _prop(
            "power_limit",
            Format.FLOAT,
            "percent",
            0,
            100,
            access=RWN,
            doc="Output limit as a share of the rated power (100: no limit).",
        ),
    ),
    description="A photovoltaic inverter: what it produces now, today and in all.",
)

BATTERY_STATUS = ("off", "empty", "discharging", "charging", "full", "holding", "testing")

HOME_BATTERY = _device(
    "battery",
    "Home battery",
    "home",
    (
        _prop("state_of_charge", Format.FLOAT, "percent", 0, 100, doc="State of charge."),
        _prop("power", *_POWER, doc="Power: positive discharging into the house, negative charging."),
        _choice("status", BATTERY_STATUS, "Charge status."),
        _prop("capacity", *_TOTAL_KWH, doc="Rated energy capacity."),
    ),
    description="A stationary battery: positive power while it discharges into the house.",
)

RELAY = _device(
    "relay",
    "Relay",
    "home",
    (
        ON,
        _prop("power", *_POWER, doc="Active power through it."),
        _prop("energy", *_TOTAL_KWH, doc="Energy through it, total."),
        _prop("current", Format.FLOAT, "A", 0, MAX_PHASE_A, doc="Current."),
        _prop("voltage", Format.FLOAT, "V", 0, 1_000, doc="Voltage."),
        _prop("temperature", Format.FLOAT, "celsius", -40, 150, doc="Temperature inside it."),
    ),
    actions=_switch_actions("relay"),
    description="A switched, metered output: a relay behind a socket or an appliance, or a smart plug.",
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
