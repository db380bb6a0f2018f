"""Device specs: every type is well formed, and actions check their arguments."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spec_strategies import any_json_value, conforming, names, property_specs

from carhome.spec import SPECS, ActionSpec, DeviceSpec, Format, InvalidValue, PropertySpec, devices

SAFETY_DOMAINS = {devices.CAR_DOORS, devices.HOME_LOCK, devices.GARAGE, devices.CHARGING}
CATEGORIES = {"car", "home", "charger", "phone"}

ALL_SPECS = list(SPECS.values())


# -- every device type is well formed ---------------------------------------------------------


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: s.type)
def test_device_spec_is_well_formed(spec: DeviceSpec) -> None:
    assert SPECS[spec.type] is spec
    assert spec.title
    assert spec.category in CATEGORIES
    assert spec.properties, f"{spec.type} has no properties"
    for name, prop in spec.properties.items():
        assert prop.name == name, f"{spec.type}: property keyed {name!r} is named {prop.name!r}"
        _check_property(f"{spec.type}.{name}", prop)
        if prop.derived:
            assert not prop.writable, f"{spec.type}.{name}: a derived property cannot be written"
    for name, action in spec.actions.items():
        where = f"{spec.type} action {name}"
        assert action.name == name, f"{where} is named {action.name!r}"
        assert action.description, f"{where} has no description"
        missing = set(action.sets) - set(spec.properties)
        assert not missing, f"{where} sets unknown properties {missing}"
        assert not any(spec.properties[p].derived for p in action.sets), f"{where} sets a derived one"
        arg_names = [a.name for a in action.args]
        assert len(arg_names) == len(set(arg_names)), f"{where} repeats an argument"
        assert action.optional <= set(arg_names), f"{where}: optional names unknown arguments"
        assert action.domain is None or action.domain in SAFETY_DOMAINS, f"{where}: unknown domain"
        for arg in action.args:
            _check_property(f"{where}({arg.name})", arg)
    for name, event in spec.events.items():
        assert event.name == name
        assert event.description
        for field in event.fields:
            _check_property(f"{spec.type} event {name}.{field.name}", field)


def _check_property(where: str, prop: PropertySpec) -> None:
    assert prop.name, where
    if prop.allowed is not None:
        assert prop.format is Format.STRING, f"{where}: allowed values need a string format"
        assert len(set(prop.allowed)) == len(prop.allowed), f"{where}: allowed values repeat"
        assert prop.allowed, f"{where}: empty allowed values"
    if prop.format in (Format.BOOL, Format.STRING):
        assert prop.minimum is None, f"{where}: a minimum on a {prop.format}"
        assert prop.maximum is None, f"{where}: a maximum on a {prop.format}"
    if prop.minimum is not None and prop.maximum is not None:
        assert prop.minimum <= prop.maximum, f"{where}: minimum above maximum"
    assert prop.describe_allowed()


def test_the_car_is_the_only_type_with_derived_properties() -> None:
    derived = {(s.type, p.name) for s in ALL_SPECS for p in s.properties.values() if p.derived}
    assert derived == {("car", devices.PLACE), ("car", devices.DISTANCE_TO_HOME)}


def test_safety_critical_actions_carry_their_domain() -> None:
    assert SPECS["car"].actions["unlock"].domain == devices.CAR_DOORS
    assert SPECS["door_lock"].actions["unlock"].domain == devices.HOME_LOCK
    assert SPECS["garage_door"].actions["open"].domain == devices.GARAGE
    assert SPECS["wallbox"].actions["start_charging"].domain == devices.CHARGING


# -- lookups and their errors -----------------------------------------------------------------


def test_unknown_property_lists_the_known_ones() -> None:
    with pytest.raises(InvalidValue) as info:
        SPECS["light"].property("colour")
    assert info.value.code == "unknown_property"
    assert info.value.reason == "light has no property 'colour'"
    assert info.value.allowed == "brightness, color_temperature, on"


def test_long_lists_of_known_names_are_cut_short() -> None:
    with pytest.raises(InvalidValue) as info:
        SPECS["car"].property("Vehicle.Nope")
    allowed = info.value.allowed or ""
    assert allowed.endswith(f"… ({len(SPECS['car'].properties)} in all)")
    assert allowed.count(", ") == 11


def test_unknown_action_lists_the_known_ones() -> None:
    with pytest.raises(InvalidValue) as info:
        SPECS["door_lock"].action("open")
    assert (info.value.code, info.value.reason, info.value.allowed) == (
        "unknown_action",
        "door_lock has no action 'open'",
        "lock, unlock",
    )


def test_check_set_refuses_read_only_and_names_the_writable_ones() -> None:
    with pytest.raises(InvalidValue) as info:
        SPECS["air_purifier"].check_set("pm25", 10)
    assert info.value.code == "read_only"
    assert info.value.reason == "property 'pm25' is read-only"
    assert info.value.allowed == "fan_level, mode, on"


def test_check_set_checks_the_value() -> None:
    assert SPECS["air_purifier"].check_set("fan_level", 2.0) == 2
    with pytest.raises(InvalidValue, match="out of range"):
        SPECS["air_purifier"].check_set("fan_level", 4)


# -- action arguments -------------------------------------------------------------------------

CHARGE_LIMIT = SPECS["car"].actions["set_charge_limit"]
CLIMATE_ON = SPECS["car"].actions["climate_on"]
LOCK = SPECS["car"].actions["lock"]


@pytest.mark.parametrize(
    ("action", "args", "code", "reason", "allowed"),
    [
        (CHARGE_LIMIT, {}, "missing_argument", "missing argument 'limit'", "int from 50 to 100 percent"),
        (
            CHARGE_LIMIT,
            {"limit": 40},
            "out_of_range",
            "argument 'limit': 40 is out of range",
            "int from 50 to 100 percent",
        ),
        (
            CHARGE_LIMIT,
            {"limit": "80"},
            "wrong_type",
            "argument 'limit': expected int, got str '80'",
            "int from 50 to 100 percent",
        ),
        (CHARGE_LIMIT, {"limit": 80, "when": 1}, "unknown_argument", "unknown argument 'when'", "limit"),
        (LOCK, {"force": True}, "unknown_argument", "unknown argument 'force'", "none"),
        (
            CLIMATE_ON,
            {"temperature": 40.0},
            "out_of_range",
            "argument 'temperature': 40.0 is out of range",
            "float from 15 to 28 celsius",
        ),
    ],
)
def test_bad_arguments_are_named(
    action: ActionSpec, args: dict[str, Any], code: str, reason: str, allowed: str
) -> None:
    with pytest.raises(InvalidValue) as info:
        action.check_args(args)
    assert (info.value.code, info.value.reason, info.value.allowed) == (code, reason, allowed)


def test_arguments_are_normalised_and_optional_ones_may_be_left_out() -> None:
    assert CHARGE_LIMIT.check_args({"limit": 80.0}) == {"limit": 80}
    assert CLIMATE_ON.check_args({}) == {}
    assert CLIMATE_ON.check_args({"temperature": 21}) == {"temperature": 21.0}
    assert LOCK.check_args({}) == {}


@st.composite
def action_specs(draw: st.DrawFn) -> ActionSpec:
    arg_names = draw(st.lists(names, max_size=4, unique=True))
    args = tuple(draw(property_specs(name=st.just(n))) for n in arg_names)
    optional = frozenset(draw(st.lists(st.sampled_from(arg_names), unique=True)) if arg_names else [])
    return ActionSpec(draw(names), args, optional)


@given(
    action=action_specs(),
    args=st.dictionaries(st.one_of(names, st.text(max_size=5)), any_json_value(), max_size=5),
)
def test_check_args_raises_only_invalid_value_and_returns_conforming_args(
    action: ActionSpec, args: dict[str, Any]
) -> None:
    try:
        out = action.check_args(args)
    except InvalidValue as exc:
        error: InvalidValue | None = exc
    else:
        error = None
    if error is not None:
        assert error.code in {
            "unknown_argument",
            "missing_argument",
            "wrong_type",
            "out_of_range",
            "not_allowed",
        }
        assert error.reason
        return
    specs = {a.name: a for a in action.args}
    assert set(out) <= set(specs)
    assert set(specs) - set(out) <= action.optional
    for name, value in out.items():
        assert specs[name].check(value) == value
        assert value == args[name]


@given(action=action_specs(), data=st.data())
def test_check_args_accepts_every_conforming_set_of_arguments(
    action: ActionSpec, data: st.DataObject
) -> None:
    args: dict[str, Any] = {}
    for spec in action.args:
        if spec.name in action.optional and data.draw(st.booleans()):
            continue
        args[spec.name] = data.draw(conforming(spec))
    assert action.check_args(args) == args
