"""Home Assistant entities as data: which entity shows which property, and how.

An ``EntityDescription`` says what one Home Assistant entity is — platform, device class,
unit, state class, the Jinja templates that read it from the device's state JSON, and the
functions that turn a command payload from Home Assistant into carhome commands. The
tables below describe what needs describing (the car's battery is a ``battery`` sensor,
its door locks are one ``lock``, an air conditioner is a ``climate``); every property and
action they leave uncovered gets one generic rule per format, so a new device type shows
up in Home Assistant without code here.

The state JSON (``carhome/{home}/{device}/ha/state``) carries every property of the spec,
``null`` until reported; a template renders ``None`` for it, which Home Assistant's MQTT
entities read as "unknown". An entity whose platform reads its topic's raw payload rather
than what its template renders has a topic of its own beside it (``own``): Home
Assistant's MQTT device tracker takes any payload that is not ``home``, ``not_home`` or
``None`` as the location's name *unrendered*, so a template over the state JSON made the
whole JSON document the car's state at any named place but home.

``describe`` gives every entity a spec could have; what Home Assistant is offered of them is
cut to the access policy by ``carhome.connectors.homeassistant.offer``. So the commands are
data too: ``Choices`` (a payload → the carhome commands it asks for) and ``Writes`` (a
payload → a write of one property) say what they can ask for before anyone asks.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, NamedTuple

from carhome.hub.commands import CommandKind
from carhome.mqtt import discovery_topics as topics
from carhome.spec import DeviceSpec, Format, PropertySpec, vss
from carhome.spec import devices as d


class Platform(enum.StrEnum):
    """The Home Assistant MQTT platforms the bridge publishes."""

    SENSOR = "sensor"
    BINARY_SENSOR = "binary_sensor"
    SWITCH = "switch"
    NUMBER = "number"
    SELECT = "select"
    BUTTON = "button"
    LOCK = "lock"
    COVER = "cover"
    CLIMATE = "climate"
    DEVICE_TRACKER = "device_tracker"
    EVENT = "event"


class Request(NamedTuple):
    """One carhome command a Home Assistant command payload asks for."""

    kind: CommandKind
    target: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Choices:
    """A fixed set of payloads, each asking for fixed commands (``LOCK`` → ``lock``)."""

    table: Mapping[str, tuple[Request, ...]]

    def __call__(self, payload: str) -> tuple[Request, ...]:
        """The commands ``payload`` asks for."""
        try:
            return self.table[payload]
        except KeyError:
            raise ValueError(f"payload {payload!r} is not one of {', '.join(self.table)}") from None

    def asks(self) -> tuple[Request, ...]:
        """Every command any payload asks for."""
        return tuple(r for requests in self.table.values() for r in requests)


@dataclass(frozen=True, slots=True)
class Writes:
    """A payload converted and written to one property."""

    prop: str
    convert: Callable[[str], Any]

    def __call__(self, payload: str) -> tuple[Request, ...]:
        """The write ``payload`` asks for; ``ValueError`` if it does not convert."""
        return (Request("set", self.prop, {"value": self.convert(payload)}),)

    def asks(self) -> tuple[Request, ...]:
        """The write, without its value."""
        return (Request("set", self.prop, {}),)


CommandFn = Choices | Writes
"""Turns a command payload into carhome commands (``ValueError`` if it makes no sense), and
says which commands it can ask for (``asks``, arguments aside)."""


Render = Callable[[Mapping[str, Any]], str]
"""Renders a topic's payload from a device's current values (property → value or ``None``)."""


@dataclass(frozen=True, slots=True)
class OwnTopic:
    """A topic of an entity's own: ``carhome/{home}/{device}/ha/{leaf}``.

    With ``render`` the bridge publishes it (retained) whenever it publishes the device's
    state; without, the bridge publishes to it on its own account (command results).
    """

    leaf: str
    render: Render | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class EntityDescription:
    """One Home Assistant entity of a device, as data.

    ``templates`` maps a Home Assistant template option (``value_template``,
    ``position_template`` …) to its Jinja text; the bridge points the matching topic
    option at the device's state topic. ``commands`` maps a command-topic option
    (``command_topic``, ``mode_command_topic`` …) to the function that reads its payload.
    ``covers`` names the properties and actions this entity stands for, so the generic
    rules leave them alone. ``own`` maps a topic option (``state_topic`` …) to a topic of
    the entity's own instead of the device's state JSON.
    """

    key: str
    platform: Platform
    name: str | None
    reads: tuple[str, ...] = ()
    covers: tuple[str, ...] = ()
    device_class: str | None = None
    unit: str | None = None
    state_class: str | None = None
    entity_category: str | None = None
    enabled_by_default: bool = True
    templates: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    commands: Mapping[str, CommandFn] = field(default_factory=dict)
    own: Mapping[str, OwnTopic] = field(default_factory=dict)


# -- building blocks ------------------------------------------------------------------------

UNITS: Final[Mapping[str, str]] = {
    "percent": "%",
    "celsius": "°C",
    "degrees": "°",
    "ug/m3": "µg/m³",
    "m2": "m²",
}
"""carhome's spec units where Home Assistant spells them differently; others are the same."""

# A sensor's device class and state class, from its unit when nothing more is known.
_BY_UNIT: Final[Mapping[str, tuple[str | None, str]]] = {
    "°C": ("temperature", "measurement"),
    "W": ("power", "measurement"),
    "kWh": ("energy", "total_increasing"),
    "A": ("current", "measurement"),
    "km/h": ("speed", "measurement"),
    "km": ("distance", "measurement"),
    "m": ("distance", "measurement"),
    "s": ("duration", "measurement"),
    "min": ("duration", "measurement"),
    "µg/m³": ("pm25", "measurement"),
}

TRUE, FALSE = "True", "False"  # how Jinja renders a JSON true / false


def ha_unit(unit: str | None) -> str | None:
    return None if unit is None else UNITS.get(unit, unit)


def value(prop: str) -> str:
    """The Jinja expression for a property's value in the state JSON."""
    return f"value_json[{prop!r}]"


def key_of(name: str) -> str:
    """An entity key from a property or action name (VSS dots become underscores)."""
    return re.sub(r"[^a-z0-9_]+", "_", name.lower())


def _words(segment: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[a-z])(?=[0-9])", " ", segment).lower()


def _action(name: str, **args: Any) -> tuple[Request, ...]:
    return (Request("action", name, args),)


def _number(payload: str) -> float:
    return float(payload)


def _on_off(payload: str) -> bool:
    if payload not in ("ON", "OFF"):
        raise ValueError(f"payload {payload!r} is not ON or OFF")
    return payload == "ON"


def _text(payload: str) -> str:
    return payload


# -- the explicit table -------------------------------------------------------------------


def sensor(
    prop: str,
    name: str,
    device_class: str | None = None,
    unit: str | None = None,
    state_class: str | None = "measurement",
    **more: Any,
) -> EntityDescription:
    return _reading(prop, Platform.SENSOR, name, device_class, unit=unit, state_class=state_class, **more)


def binary(prop: str, name: str, device_class: str | None, *, on_when: bool = True) -> EntityDescription:
    """A binary sensor; ``on_when=False`` for classes where *on* means the opposite
    (a ``lock`` binary sensor is on when unlocked)."""
    on, off = (TRUE, FALSE) if on_when else (FALSE, TRUE)
    options = {"payload_on": on, "payload_off": off}
    return _reading(prop, Platform.BINARY_SENSOR, name, device_class, options=options)


def _reading(
    prop: str, platform: Platform, name: str, device_class: str | None, **more: Any
) -> EntityDescription:
    """An entity that shows the value of ``prop`` alone."""
    return EntityDescription(
        key=key_of(prop),
        platform=platform,
        name=name,
        reads=(prop,),
        covers=(prop,),
        device_class=device_class,
        templates={"value_template": f"{{{{ {value(prop)} }}}}"},
        **more,
    )


def _lock(key: str, name: str, props: tuple[str, ...]) -> EntityDescription:
    values = ", ".join(value(p) for p in props)
    template = (
        f"{{% set v = [{values}] %}}"
        "{% if v | select('none') | list %}None"
        "{% elif v | select | list | length == v | length %}LOCKED"
        "{% else %}UNLOCKED{% endif %}"
    )
    return EntityDescription(
        key=key,
        platform=Platform.LOCK,
        name=name,
        reads=props,
        covers=(*props, "lock", "unlock"),
        templates={"value_template": template},
        options={"state_locked": "LOCKED", "state_unlocked": "UNLOCKED"},
        commands={"command_topic": Choices({"LOCK": _action("lock"), "UNLOCK": _action("unlock")})},
    )


HOME, NOT_HOME, UNKNOWN = "home", "not_home", "None"
"""A tracker's payloads: at home, away, and "forget the location name" (Home Assistant then
places the device by its GPS and its own zones)."""


def _tracker(key: str, name: str, lat: str, lon: str, state: Render) -> EntityDescription:
    return EntityDescription(
        key=key,
        platform=Platform.DEVICE_TRACKER,
        name=name,
        reads=(lat, lon),
        covers=(lat, lon),
        templates={
            "json_attributes_template": (
                f"{{{{ {{'latitude': {value(lat)}, 'longitude': {value(lon)}, 'gps_accuracy': 0}}"
                " | tojson }}"
            ),
        },
        options={"source_type": "gps", "payload_home": HOME, "payload_not_home": NOT_HOME},
        own={"state_topic": OwnTopic(topics.LOCATION, state)},
    )


def _place_state(values: Mapping[str, Any]) -> str:
    """The car's place as Home Assistant's tracker names it: home, not_home or the place."""
    place = values.get(d.PLACE)
    if place is None:
        return UNKNOWN
    return NOT_HOME if place == d.AWAY else str(place)


def _present_state(values: Mapping[str, Any]) -> str:
    present = values.get("present")
    if present is None:
        return UNKNOWN
    return HOME if present else NOT_HOME


_CAR: Final = (
    sensor(vss.SOC, "Battery", "battery", "%"),
    replace(sensor(vss.SOC_DISPLAYED, "Battery (displayed)", "battery", "%"), enabled_by_default=False),
    sensor(vss.ENERGY, "Battery energy", "energy_storage", "kWh"),
    sensor(vss.NET_CAPACITY, "Battery capacity", "energy_storage", "kWh", entity_category="diagnostic"),
    sensor(vss.ODOMETER, "Odometer", "distance", "km", "total_increasing"),
    sensor(vss.RANGE, "Range", "distance", "m"),
    sensor(vss.CHARGE_RATE, "Charge rate", None, "km/h"),
    sensor(vss.HEADING, "Heading", None, "°", entity_category="diagnostic"),
    sensor(d.PLACE, "Place", None, None, None),
    sensor(d.DISTANCE_TO_HOME, "Distance to home", "distance", "km"),
    binary(vss.IS_CHARGING, "Charging", "battery_charging"),
    binary(vss.IS_MOVING, "Moving", "moving"),
    binary(vss.CABLE_CONNECTED, "Charging cable", "plug"),
    binary(vss.CABLE_LOCKED, "Charging cable lock", "lock", on_when=False),
    binary(vss.TRUNK_OPEN, "Trunk", "opening"),
    *(binary(p, f"Door ({_words(' '.join(p.split('.')[-3:-1]))})", "door") for p in vss.DOOR_OPEN),
    binary(vss.TRUNK_LOCKED, "Trunk lock", "lock", on_when=False),
    _lock("doors", "Doors", vss.DOOR_LOCKED),
    EntityDescription(
        key="charging",
        platform=Platform.SWITCH,
        name="Charge",
        reads=(vss.IS_CHARGING,),
        covers=(vss.START_STOP_CHARGING, "start_charging", "stop_charging"),
        templates={"value_template": f"{{{{ {value(vss.IS_CHARGING)} }}}}"},
        options={"state_on": TRUE, "state_off": FALSE},
        commands={
            "command_topic": Choices({"ON": _action("start_charging"), "OFF": _action("stop_charging")})
        },
    ),
    EntityDescription(
        key="climate",
        platform=Platform.CLIMATE,
        name="Climate",
        reads=(vss.AC_ACTIVE, vss.HVAC_SET_POINT, vss.CABIN_TEMPERATURE),
        covers=(vss.AC_ACTIVE, vss.HVAC_SET_POINT, "climate_on", "climate_off"),
        templates={
            "mode_state_template": (
                f"{{% set on = {value(vss.AC_ACTIVE)} %}}"
                "{{ 'None' if on is none else ('auto' if on else 'off') }}"
            ),
            "temperature_state_template": f"{{{{ {value(vss.HVAC_SET_POINT)} }}}}",
            "current_temperature_template": f"{{{{ {value(vss.CABIN_TEMPERATURE)} }}}}",
        },
        options={
            "modes": ["off", "auto"],
            "min_temp": 15,
            "max_temp": 28,
            "temp_step": 0.5,
            "temperature_unit": "C",
        },
        commands={
            "mode_command_topic": Choices({"off": _action("climate_off"), "auto": _action("climate_on")}),
            "temperature_command_topic": Writes(vss.HVAC_SET_POINT, _number),
        },
    ),
    _tracker("location", "Location", vss.LATITUDE, vss.LONGITUDE, _place_state),
    EntityDescription(
        key=key_of(vss.CHARGE_LIMIT),
        platform=Platform.NUMBER,
        name="Charge limit",
        reads=(vss.CHARGE_LIMIT,),
        covers=(vss.CHARGE_LIMIT, "set_charge_limit"),
        unit="%",
        templates={"value_template": f"{{{{ {value(vss.CHARGE_LIMIT)} }}}}"},
        options={"min": 50, "max": 100, "step": 1, "mode": "slider"},
        commands={"command_topic": Writes(vss.CHARGE_LIMIT, _number)},
    ),
)

_AIR_CONDITIONER: Final = (
    EntityDescription(
        key="climate",
        platform=Platform.CLIMATE,
        name=None,
        reads=("on", "mode", "target_temperature", "temperature", "fan_speed"),
        covers=("on", "mode", "target_temperature", "fan_speed", "turn_on", "turn_off", "toggle"),
        templates={
            "mode_state_template": (
                f"{{% set on, m = {value('on')}, {value('mode')} %}}"
                "{{ 'None' if on is none else ('off' if not on else ('fan_only' if m == 'fan' else m)) }}"
            ),
            "temperature_state_template": f"{{{{ {value('target_temperature')} }}}}",
            "current_temperature_template": f"{{{{ {value('temperature')} }}}}",
            "fan_mode_state_template": f"{{{{ {value('fan_speed')} }}}}",
        },
        options={
            "modes": ["off", "cool", "heat", "dry", "fan_only", "auto"],
            "fan_modes": ["auto", "low", "medium", "high"],
            "min_temp": 16,
            "max_temp": 30,
            "temp_step": 0.5,
            "temperature_unit": "C",
        },
        commands={
            "mode_command_topic": Choices(
                {
                    "off": (Request("set", "on", {"value": False}),),
                    **{
                        ha: (Request("set", "mode", {"value": ours}), Request("set", "on", {"value": True}))
                        for ha, ours in (
                            ("cool", "cool"),
                            ("heat", "heat"),
                            ("dry", "dry"),
                            ("fan_only", "fan"),
                            ("auto", "auto"),
                        )
                    },
                }
            ),
            "temperature_command_topic": Writes("target_temperature", _number),
            "fan_mode_command_topic": Writes("fan_speed", _text),
        },
    ),
)

_DOOR_LOCK: Final = (
    _lock("lock", "Lock", ("locked",)),
    binary("door_open", "Door", "door"),
)

_GARAGE_DOOR: Final = (
    EntityDescription(
        key="door",
        platform=Platform.COVER,
        name=None,
        reads=("state", "position"),
        covers=("state", "position", "open", "close", "stop"),
        device_class="garage",
        templates={
            "value_template": f"{{{{ {value('state')} }}}}",
            "position_template": f"{{{{ {value('position')} }}}}",
        },
        options={"position_open": 100, "position_closed": 0},
        commands={
            "command_topic": Choices(
                {"OPEN": _action("open"), "CLOSE": _action("close"), "STOP": _action("stop")}
            )
        },
    ),
)

_PHONE: Final = (
    _tracker("location", "Location", "latitude", "longitude", _present_state),
    binary("present", "Presence", "presence"),
)

DESCRIPTIONS: Final[Mapping[str, tuple[EntityDescription, ...]]] = {
    "car": _CAR,
    "air_conditioner": _AIR_CONDITIONER,
    "door_lock": _DOOR_LOCK,
    "garage_door": _GARAGE_DOOR,
    "phone": _PHONE,
}
"""Per device type: the entities that need more than the generic rules."""

COMMON: Final[Mapping[str, Mapping[str, Any]]] = {
    "battery": {"device_class": "battery", "entity_category": "diagnostic"},
    "humidity": {"device_class": "humidity"},
    "filter_life": {"entity_category": "diagnostic"},
}
"""Per property name, whatever the device type: what to add to the generic sensor."""


# -- the generic rules, one per format ----------------------------------------------------


def _generic_name(prop: PropertySpec) -> str:
    return prop.description.rstrip(".") or prop.name.replace("_", " ").capitalize()


def generic(prop: PropertySpec) -> EntityDescription | None:
    """The entity for a property no description covers, from its format and access."""
    base = EntityDescription(
        key=key_of(prop.name),
        platform=Platform.SENSOR,
        name=_generic_name(prop),
        reads=(prop.name,),
        covers=(prop.name,),
        templates={"value_template": f"{{{{ {value(prop.name)} }}}}"},
    )
    rule = _RULES[prop.format]
    return rule(prop, base)


def _bool_rule(prop: PropertySpec, base: EntityDescription) -> EntityDescription:
    if prop.writable:
        return replace(
            base,
            platform=Platform.SWITCH,
            options={"state_on": TRUE, "state_off": FALSE},
            commands={"command_topic": Writes(prop.name, _on_off)},
        )
    return replace(base, platform=Platform.BINARY_SENSOR, options={"payload_on": TRUE, "payload_off": FALSE})


def _string_rule(prop: PropertySpec, base: EntityDescription) -> EntityDescription | None:
    if prop.allowed is None:
        # A free text: a plain sensor; written free texts get no entity yet.
        return None if prop.writable else base
    if prop.writable:
        return replace(
            base,
            platform=Platform.SELECT,
            options={"options": list(prop.allowed)},
            commands={"command_topic": Writes(prop.name, _text)},
        )
    return replace(base, device_class="enum", options={"options": list(prop.allowed)})


def _number_rule(prop: PropertySpec, base: EntityDescription) -> EntityDescription:
    unit = ha_unit(prop.unit)
    if prop.writable:
        options: dict[str, Any] = {"step": 1 if prop.format is Format.INT else 0.1, "mode": "box"}
        if prop.minimum is not None:
            options["min"] = prop.minimum
        if prop.maximum is not None:
            options["max"] = prop.maximum
        return replace(
            base,
            platform=Platform.NUMBER,
            unit=unit,
            options=options,
            commands={"command_topic": Writes(prop.name, _number)},
        )
    device_class, state_class = _BY_UNIT.get(unit or "", (None, "measurement"))
    return replace(base, unit=unit, device_class=device_class, state_class=state_class)


_RULES: Final[Mapping[Format, Callable[[PropertySpec, EntityDescription], EntityDescription | None]]] = {
    Format.BOOL: _bool_rule,
    Format.STRING: _string_rule,
    Format.INT: _number_rule,
    Format.FLOAT: _number_rule,
}
"""One generic rule per format."""


def _button(action: str, description: str) -> EntityDescription:
    return EntityDescription(
        key=key_of(action),
        platform=Platform.BUTTON,
        name=description.rstrip(".") or action.replace("_", " ").capitalize(),
        covers=(action,),
        commands={"command_topic": Choices({"PRESS": _action(action)})},
    )


def describe(spec: DeviceSpec) -> tuple[EntityDescription, ...]:
    """Every entity of a device type: its table's descriptions, then the generic rules."""
    explicit = DESCRIPTIONS.get(spec.type, ())
    covered = {name for e in DESCRIPTIONS.get(spec.type, ()) for name in e.covers}
    out = [e for e in explicit if all(p in spec.properties for p in e.reads)]
    generic_props = []
    for name, prop in spec.properties.items():
        if name in covered:
            continue
        entity = generic(prop)
        if entity is None:
            continue
        extra = COMMON.get(name)
        if extra and entity.platform is Platform.SENSOR:
            entity = replace(entity, **extra)
        generic_props.append(entity)
    out += _distinct_names(generic_props, spec)
    writable = {n for n, p in spec.properties.items() if p.writable}
    for name, action in spec.actions.items():
        required = [a for a in action.args if a.name not in action.optional]
        # An action that only writes writable properties is already a switch/number/select.
        if name in covered or required or (action.sets and set(action.sets) <= writable):
            continue
        out.append(_button(name, action.description))
    return tuple(out)


def _distinct_names(entities: list[EntityDescription], spec: DeviceSpec) -> list[EntityDescription]:
    """Give entities that share a name (the four doors' "Door open") the path segments
    that tell them apart: "Door open (row 1 driver side)"."""
    by_name: dict[str | None, list[EntityDescription]] = {}
    for entity in entities:
        by_name.setdefault(entity.name, []).append(entity)
    out = []
    for entity in entities:
        twins = by_name[entity.name]
        if len(twins) < 2 or not entity.reads:
            out.append(entity)
            continue
        paths = [t.reads[0].split(".") for t in twins]
        mine = entity.reads[0].split(".")
        differ = [_words(seg) for i, seg in enumerate(mine) if any(i >= len(p) or p[i] != seg for p in paths)]
        out.append(replace(entity, name=f"{entity.name} ({' '.join(differ)})"))
    return out
