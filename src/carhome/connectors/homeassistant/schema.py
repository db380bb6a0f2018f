"""The rules of Home Assistant's device-level MQTT discovery payload, written down.

``check_config`` decodes a payload into these structs — one per platform, a union tagged
by ``p`` — so a missing required key, a misspelt option (unknown keys are refused) or a
wrong type fails with msgspec's path to the culprit. What types cannot say is checked in
``__post_init__``: device classes Home Assistant knows, the units and state classes each
sensor device class accepts, options only with ``enum``, template options paired with
their topics. ``check_unique`` checks unique ids across every payload of a bridge.

The tables follow Home Assistant 2025.4 (``homeassistant.components.sensor.const``,
``…binary_sensor``, ``…cover``, ``…mqtt.abbreviations``); only the parts carhome can
produce are kept complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

import msgspec

from carhome.errors import ConnectorError

SENSOR_UNITS: Final[Mapping[str, frozenset[str | None]]] = {
    "battery": frozenset({"%"}),
    "temperature": frozenset({"°C", "°F", "K"}),
    "humidity": frozenset({"%"}),
    "power": frozenset({"mW", "W", "kW", "MW", "GW", "TW"}),  # not BTU/h: 2025.4 refuses it
    "energy": frozenset({"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal"}),
    "energy_storage": frozenset({"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh"}),
    "current": frozenset({"A", "mA"}),
    "voltage": frozenset({"V", "mV", "µV", "kV", "MV"}),
    "speed": frozenset({"km/h", "m/s", "mph", "kn", "ft/s", "mm/d", "in/d", "in/h", "mm/h", "mm/s"}),
    "distance": frozenset({"km", "m", "cm", "mm", "mi", "nmi", "yd", "ft", "in"}),
    "duration": frozenset({"d", "h", "min", "s", "ms"}),
    "pm25": frozenset({"µg/m³"}),
    "pm10": frozenset({"µg/m³"}),
    "frequency": frozenset({"Hz", "kHz", "MHz", "GHz"}),
    "enum": frozenset({None}),
    "timestamp": frozenset({None}),
}
"""Sensor device classes carhome may use, with the units Home Assistant accepts for each."""

SENSOR_STATE_CLASSES: Final[Mapping[str, frozenset[str]]] = {
    "energy": frozenset({"total", "total_increasing"}),
    "energy_storage": frozenset({"measurement"}),
    "distance": frozenset({"measurement", "total", "total_increasing"}),
    "duration": frozenset({"measurement", "total", "total_increasing"}),
    "enum": frozenset(),
    "timestamp": frozenset(),
}
"""Where a device class restricts the state class; unlisted classes take ``measurement``."""

BINARY_SENSOR_CLASSES: Final = frozenset(
    {
        "battery",
        "battery_charging",
        "carbon_monoxide",
        "cold",
        "connectivity",
        "door",
        "garage_door",
        "gas",
        "heat",
        "light",
        "lock",
        "moisture",
        "motion",
        "moving",
        "occupancy",
        "opening",
        "plug",
        "power",
        "presence",
        "problem",
        "running",
        "safety",
        "smoke",
        "sound",
        "tamper",
        "update",
        "vibration",
        "window",
    }
)
COVER_CLASSES: Final = frozenset(
    {"awning", "blind", "curtain", "damper", "door", "garage", "gate", "shade", "shutter", "window"}
)
SWITCH_CLASSES: Final = frozenset({"outlet", "switch"})
CLIMATE_MODES: Final = frozenset({"auto", "off", "cool", "heat", "dry", "fan_only", "heat_cool"})

StateClass = Literal["measurement", "total", "total_increasing"]
EntityCategory = Literal["config", "diagnostic"]


class DiscoveryInvalid(ConnectorError):
    """A discovery payload breaks Home Assistant's schema (a bug in a description)."""


# -- components -----------------------------------------------------------------------------


class _Entity(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="p"):
    unique_id: str
    name: str | None = None
    qos: Literal[0, 1, 2] = 0
    entity_category: EntityCategory | None = None
    enabled_by_default: bool = True
    json_attributes_topic: str | None = None
    json_attributes_template: str | None = None
    state_topic: str | None = None
    value_template: str | None = None

    def __post_init__(self) -> None:
        if not self.unique_id:
            raise ValueError("unique_id must not be empty")
        _paired(self, "value_template", "state_topic")
        _paired(self, "json_attributes_template", "json_attributes_topic")


class _Commanded(_Entity, kw_only=True):
    command_topic: str


class Sensor(_Entity, tag="sensor", kw_only=True):
    state_topic: str
    device_class: str | None = None
    unit_of_measurement: str | None = None
    state_class: StateClass | None = None
    options: list[str] | None = None
    suggested_display_precision: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        dc, unit, sc = self.device_class, self.unit_of_measurement, self.state_class
        if dc is not None:
            if dc not in SENSOR_UNITS:
                raise ValueError(f"sensor device_class {dc!r} is not one carhome knows Home Assistant has")
            if unit not in SENSOR_UNITS[dc]:
                raise ValueError(f"unit {unit!r} is not valid for device_class {dc!r}")
            if sc is not None and sc not in SENSOR_STATE_CLASSES.get(dc, {"measurement"}):
                raise ValueError(f"state_class {sc!r} is not valid for device_class {dc!r}")
        if self.options is not None:
            if dc != "enum":
                raise ValueError("options need device_class 'enum'")
            if not self.options:
                raise ValueError("an enum sensor needs at least one option")
        elif dc == "enum":
            raise ValueError("an enum sensor needs options")


class BinarySensor(_Entity, tag="binary_sensor", kw_only=True):
    state_topic: str
    device_class: str | None = None
    payload_on: str = "ON"
    payload_off: str = "OFF"

    def __post_init__(self) -> None:
        super().__post_init__()
        _member("binary_sensor device_class", self.device_class, BINARY_SENSOR_CLASSES)
        _differ(self.payload_on, self.payload_off)


class Switch(_Commanded, tag="switch", kw_only=True):
    device_class: str | None = None
    state_on: str | None = None
    state_off: str | None = None
    payload_on: str = "ON"
    payload_off: str = "OFF"

    def __post_init__(self) -> None:
        super().__post_init__()
        _member("switch device_class", self.device_class, SWITCH_CLASSES)
        _differ(self.payload_on, self.payload_off)


class Number(_Commanded, tag="number", kw_only=True):
    device_class: str | None = None
    unit_of_measurement: str | None = None
    min: float = 1
    max: float = 100
    step: float = 1
    mode: Literal["auto", "box", "slider"] = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.min < self.max:
            raise ValueError(f"min {self.min} must be below max {self.max}")
        if self.step <= 0:
            raise ValueError("step must be positive")


class Select(_Commanded, tag="select", kw_only=True):
    options: list[str]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.options or len(set(self.options)) != len(self.options):
            raise ValueError("a select needs distinct options")


class Button(_Commanded, tag="button", kw_only=True):
    payload_press: str = "PRESS"


class Lock(_Commanded, tag="lock", kw_only=True):
    state_locked: str = "LOCKED"
    state_unlocked: str = "UNLOCKED"
    payload_lock: str = "LOCK"
    payload_unlock: str = "UNLOCK"

    def __post_init__(self) -> None:
        super().__post_init__()
        _differ(self.state_locked, self.state_unlocked)


class Cover(_Entity, tag="cover", kw_only=True):
    command_topic: str | None = None
    payload_open: str | None = "OPEN"
    payload_close: str | None = "CLOSE"
    payload_stop: str | None = "STOP"
    """A payload set to ``None`` takes its button away."""
    device_class: str | None = None
    position_topic: str | None = None
    position_template: str | None = None
    position_open: int = 100
    position_closed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        _member("cover device_class", self.device_class, COVER_CLASSES)
        _paired(self, "position_template", "position_topic")


class Climate(_Entity, tag="climate", kw_only=True):
    modes: list[str] = msgspec.field(default_factory=lambda: sorted(CLIMATE_MODES))
    mode_command_topic: str | None = None
    mode_state_topic: str | None = None
    mode_state_template: str | None = None
    fan_modes: list[str] | None = None
    fan_mode_command_topic: str | None = None
    fan_mode_state_topic: str | None = None
    fan_mode_state_template: str | None = None
    temperature_command_topic: str | None = None
    temperature_state_topic: str | None = None
    temperature_state_template: str | None = None
    current_temperature_topic: str | None = None
    current_temperature_template: str | None = None
    min_temp: float | None = None
    max_temp: float | None = None
    temp_step: float | None = None
    temperature_unit: Literal["C", "F"] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = set(self.modes) - CLIMATE_MODES
        if bad:
            raise ValueError(f"climate modes {sorted(bad)} are not Home Assistant HVAC modes")
        _paired(self, "mode_state_template", "mode_state_topic")
        _paired(self, "fan_mode_state_template", "fan_mode_state_topic")
        _paired(self, "temperature_state_template", "temperature_state_topic")
        _paired(self, "current_temperature_template", "current_temperature_topic")
        if self.fan_mode_command_topic is not None and not self.fan_modes:
            raise ValueError("a fan_mode_command_topic needs fan_modes")
        if self.min_temp is not None and self.max_temp is not None and not self.min_temp < self.max_temp:
            raise ValueError("min_temp must be below max_temp")


class DeviceTracker(_Entity, tag="device_tracker", kw_only=True):
    source_type: Literal["gps", "router", "bluetooth", "bluetooth_le"] | None = None
    payload_home: str = "home"
    payload_not_home: str = "not_home"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.state_topic is None and self.json_attributes_topic is None:
            raise ValueError("a device_tracker needs a state_topic or a json_attributes_topic")


class Event(_Entity, tag="event", kw_only=True):
    state_topic: str
    event_types: list[str]
    device_class: Literal["button", "doorbell", "motion"] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.event_types or len(set(self.event_types)) != len(self.event_types):
            raise ValueError("an event needs distinct event_types")


Component = (
    Sensor | BinarySensor | Switch | Number | Select | Button | Lock | Cover | Climate | DeviceTracker | Event
)


# -- the device payload ----------------------------------------------------------------------


class DeviceInfo(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    identifiers: list[str]
    name: str
    manufacturer: str | None = None
    model: str | None = None
    suggested_area: str | None = None
    sw_version: str | None = None
    via_device: str | None = None

    def __post_init__(self) -> None:
        if not self.identifiers:
            raise ValueError("a device needs at least one identifier")


class Origin(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    sw_version: str | None = msgspec.field(default=None, name="sw")
    support_url: str | None = msgspec.field(default=None, name="url")


class Availability(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    topic: str
    payload_available: str = "online"
    payload_not_available: str = "offline"


class DeviceDiscovery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``{prefix}/device/{node}/config``: a device and all its entities in one message."""

    device: DeviceInfo = msgspec.field(name="dev")
    origin: Origin = msgspec.field(name="o")
    components: dict[str, Component] = msgspec.field(name="cmps")
    availability: list[Availability] | None = None
    availability_mode: Literal["all", "any", "latest"] = "latest"
    qos: Literal[0, 1, 2] = 0
    """Accepted here, but Home Assistant gives it to no component: each needs its own."""

    def __post_init__(self) -> None:
        if not self.components:
            raise ValueError("a device payload needs at least one component")
        ids = [c.unique_id for c in self.components.values()]
        if len(set(ids)) != len(ids):
            raise ValueError("unique_id repeats within the device")


def check_config(payload: bytes) -> DeviceDiscovery:
    """Decode a device discovery payload, or ``DiscoveryInvalid`` saying what is wrong."""
    try:
        return msgspec.json.decode(payload, type=DeviceDiscovery)
    except msgspec.ValidationError as exc:
        raise DiscoveryInvalid(f"discovery payload breaks Home Assistant's schema: {exc}") from exc


def check_unique(configs: Iterable[DeviceDiscovery]) -> None:
    """Unique ids must be unique across every device, not only within one."""
    seen: dict[str, str] = {}
    for config in configs:
        for component in config.components.values():
            other = seen.setdefault(component.unique_id, config.device.identifiers[0])
            if other != config.device.identifiers[0]:
                raise DiscoveryInvalid(f"unique_id {component.unique_id!r} is used by two devices")


def _paired(entity: Any, template: str, topic: str) -> None:
    if getattr(entity, template) is not None and getattr(entity, topic) is None:
        raise ValueError(f"{template} needs {topic}")


def _member(what: str, value: str | None, known: frozenset[str]) -> None:
    if value is not None and value not in known:
        raise ValueError(f"{what} {value!r} is not one Home Assistant knows")


def _differ(on: str, off: str) -> None:
    if on == off:
        raise ValueError(f"the two payloads must differ, both are {on!r}")
