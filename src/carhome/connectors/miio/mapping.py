"""MIoT services to carhome specs, as data: one table per device model.

A MIoT device names each property by service and property id (``siid``/``piid``) and each
action by service and action id (``siid``/``aiid``); the numbers differ from model to
model, so the tables are keyed by model and each says which carhome device type the model
is. A property map also converts values both ways: MIoT modes and statuses are small
integers, carhome's are words from the spec's allowed values.

The numbers come from the models' published MIoT specs (miot-spec-v2 instances), and a
test holds the tables to python-miio's definitions of the same models (its siid/piid
mappings and its enums of modes and statuses), so no value a device can report is left
without a carhome word; one that still has none (a firmware's new mode) is rejected and
counted (``carhome rejections``, code ``not_mapped``) and logged once, never dropped quietly:

- ``zhimi.airpurifier.ma4`` / ``mb3`` (Air Purifier 3 / 3H): ``air-purifier`` service 2,
  ``environment`` 3, ``filter`` 4;
- ``zhimi.airpurifier.mb4`` / ``zhimi.airp.mb4a`` (Air Purifier 3C): the same services with
  other property ids, and no fan level or humidity;
- ``yeelink.light.lamp22`` (monitor light bar 1S): ``light`` service 2;
- ``dreame.vacuum.mc1808`` (Dreame 1C): ``battery`` 2, ``vacuum`` 3, ``clean-record`` 18.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from carhome.errors import CarhomeError
from carhome.spec import SPECS


class ConversionError(CarhomeError, ValueError):
    """A value has no counterpart on the other side of the mapping (with the reason)."""

    def __init__(self, reason: str, allowed: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.allowed = allowed


@dataclass(frozen=True, slots=True)
class PropertyMap:
    """One carhome property as one MIoT property, with its value conversion.

    ``values`` pairs MIoT values with carhome words; when several MIoT values mean the
    same word (a vacuum that is ``charging`` or ``idle`` on its dock is ``docked``), the
    first pair of a word is the one written to the device.
    """

    prop: str
    siid: int
    piid: int
    values: tuple[tuple[int, str], ...] = ()

    @property
    def key(self) -> tuple[int, int]:
        return (self.siid, self.piid)

    def from_device(self, raw: Any) -> Any:
        """The carhome value for a MIoT value (the hub then checks it against the spec)."""
        if not self.values:
            return raw
        for device_value, word in self.values:
            if raw == device_value and type(raw) is not bool:
                return word
        raise ConversionError(
            f"MIoT value {raw!r} of {self.siid}.{self.piid} has no carhome {self.prop!r}",
            ", ".join(str(v) for v, _ in self.values),
        )

    def to_device(self, value: Any) -> Any:
        """The MIoT value to write for a carhome value."""
        if not self.values:
            return value
        for device_value, word in self.values:
            if value == word:
                return device_value
        raise ConversionError(
            f"{value!r} cannot be written to {self.prop!r} of this model",
            ", ".join(repr(w) for _, w in self.values),
        )


@dataclass(frozen=True, slots=True)
class ActionMap:
    """How a carhome action runs on a MIoT device: one of three shapes.

    - ``siid``/``aiid``: a MIoT action (the mapped ones take no input arguments);
    - ``writes``: property values written with ``set_properties`` (``turn_on`` is ``on``
      set to true);
    - ``toggles``: a boolean property read from the device and written back inverted.
    """

    action: str
    siid: int | None = None
    aiid: int | None = None
    writes: tuple[tuple[str, Any], ...] = ()
    toggles: str | None = None


@dataclass(frozen=True, slots=True)
class ModelMap:
    """Everything carhome knows about one MIoT model: its device type and its tables."""

    models: tuple[str, ...]
    device_type: str
    properties: tuple[PropertyMap, ...]
    actions: tuple[ActionMap, ...] = ()
    by_prop: Mapping[str, PropertyMap] = field(init=False, repr=False, compare=False)
    by_key: Mapping[tuple[int, int], PropertyMap] = field(init=False, repr=False, compare=False)
    by_action: Mapping[str, ActionMap] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_prop", {p.prop: p for p in self.properties})
        object.__setattr__(self, "by_key", {p.key: p for p in self.properties})
        object.__setattr__(self, "by_action", {a.action: a for a in self.actions})
        spec = SPECS.get(self.device_type)
        if spec is None:
            raise ValueError(f"MIoT map for {self.models}: unknown carhome device type {self.device_type!r}")
        for p in self.properties:
            if p.prop not in spec.properties:
                raise ValueError(f"MIoT map for {self.models}: {self.device_type} has no property {p.prop!r}")
        for a in self.actions:
            if a.action not in spec.actions:
                raise ValueError(f"MIoT map for {self.models}: {self.device_type} has no action {a.action!r}")


_SWITCH: Final = (
    ActionMap("turn_on", writes=(("on", True),)),
    ActionMap("turn_off", writes=(("on", False),)),
    ActionMap("toggle", toggles="on"),
)

# The purifiers' modes, python-miio's OperationMode: 0 auto, 1 sleep ("Silent"), 2 favorite,
# 3 the fan level set by hand ("Fan"; the 3H's MIoT spec calls it "None", the 3C's "Manual").
_PURIFIER_MODES: Final = ((0, "auto"), (1, "sleep"), (2, "favorite"), (3, "fan"))

# Air Purifier 3 / 3H.
AIR_PURIFIER_3H: Final = ModelMap(
    models=("zhimi.airpurifier.ma4", "zhimi.airpurifier.mb3", "zhimi.airpurifier.mb3a"),
    device_type="air_purifier",
    properties=(
        PropertyMap("on", 2, 2),
        PropertyMap("fan_level", 2, 4),
        PropertyMap("mode", 2, 5, _PURIFIER_MODES),
        PropertyMap("pm25", 3, 6),
        PropertyMap("humidity", 3, 7),
        PropertyMap("filter_life", 4, 3),
    ),
    actions=_SWITCH,
)

# Air Purifier 3C.
AIR_PURIFIER_3C: Final = ModelMap(
    models=("zhimi.airpurifier.mb4", "zhimi.airp.mb4a"),
    device_type="air_purifier",
    properties=(
        PropertyMap("on", 2, 1),
        PropertyMap("mode", 2, 4, _PURIFIER_MODES),
        PropertyMap("pm25", 3, 4),
        PropertyMap("filter_life", 4, 1),
    ),
    actions=_SWITCH,
)

LIGHT_LAMP22: Final = ModelMap(
    models=("yeelink.light.lamp22",),
    device_type="light",
    properties=(
        PropertyMap("on", 2, 1),
        PropertyMap("brightness", 2, 2),
        PropertyMap("color_temperature", 2, 3),
    ),
    actions=_SWITCH,
)

# Dreame 1C status: 1 sweeping, 2 idle, 3 paused, 4 error, 5 going to charge, 6 charging,
# 7 mopping, 13 manual sweeping. Idle and charging both sit on the dock.
VACUUM_DREAME_1C: Final = ModelMap(
    models=("dreame.vacuum.mc1808",),
    device_type="robot_vacuum",
    properties=(
        PropertyMap("battery", 2, 1),
        PropertyMap(
            "status",
            3,
            2,
            (
                (1, "cleaning"),
                (6, "docked"),
                (3, "paused"),
                (4, "error"),
                (5, "returning"),
                (2, "docked"),
                (7, "cleaning"),
                (13, "cleaning"),
            ),
        ),
        PropertyMap("cleaned_area", 18, 4),
    ),
    actions=(
        ActionMap("start", siid=3, aiid=1),
        ActionMap("pause", siid=3, aiid=2),
        ActionMap("return_home", siid=2, aiid=1),
    ),
)

MODEL_MAPS: Final = (AIR_PURIFIER_3H, AIR_PURIFIER_3C, LIGHT_LAMP22, VACUUM_DREAME_1C)
MAPPINGS: Final[Mapping[str, ModelMap]] = {model: m for m in MODEL_MAPS for model in m.models}


def mapping_for(model: str) -> ModelMap:
    """The table for ``model``, or ``KeyError`` naming the models carhome maps."""
    try:
        return MAPPINGS[model]
    except KeyError:
        raise KeyError(
            f"no MIoT mapping for model {model!r}; mapped models: {', '.join(sorted(MAPPINGS))}"
        ) from None
