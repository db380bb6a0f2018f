"""PropertySpec.check: what it accepts, how it normalises, and what its errors say."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spec_strategies import any_json_value, conforming, property_specs

from carhome.spec import Access, Format, InvalidValue, PropertySpec

LEVEL = PropertySpec("fan_level", Format.INT, None, 1, 3, access=Access.RWN)
TEMP = PropertySpec("temperature", Format.FLOAT, "celsius", -40, 60)
MODE = PropertySpec("mode", Format.STRING, allowed=("auto", "sleep"))
ON = PropertySpec("on", Format.BOOL, access=Access.RWN)


# -- messages, one format at a time -----------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "value", "code", "reason", "allowed"),
    [
        (ON, 1, "wrong_type", "expected bool, got int 1", "a bool"),
        (ON, "true", "wrong_type", "expected bool, got str 'true'", "a bool"),
        (ON, None, "wrong_type", "expected bool, got NoneType None", "a bool"),
        (LEVEL, 4, "out_of_range", "4 is out of range", "int from 1 to 3"),
        (LEVEL, 0.0, "out_of_range", "0 is out of range", "int from 1 to 3"),
        (LEVEL, 2.5, "wrong_type", "expected int, got float 2.5", "int from 1 to 3"),
        (LEVEL, True, "wrong_type", "expected int, got bool True", "int from 1 to 3"),
        (LEVEL, "2", "wrong_type", "expected int, got str '2'", "int from 1 to 3"),
        (TEMP, 61, "out_of_range", "61.0 is out of range", "float from -40 to 60 celsius"),
        (TEMP, -40.5, "out_of_range", "-40.5 is out of range", "float from -40 to 60 celsius"),
        (TEMP, math.nan, "wrong_type", "nan is not a finite number", "float from -40 to 60 celsius"),
        (TEMP, math.inf, "wrong_type", "inf is not a finite number", "float from -40 to 60 celsius"),
        (TEMP, False, "wrong_type", "expected float, got bool False", "float from -40 to 60 celsius"),
        (MODE, "turbo", "not_allowed", "'turbo' is not allowed", "one of 'auto', 'sleep'"),
        (MODE, 1, "wrong_type", "expected string, got int 1", "one of 'auto', 'sleep'"),
    ],
)
def test_rejection_says_what_was_wrong_and_what_is_allowed(
    spec: PropertySpec, value: Any, code: str, reason: str, allowed: str
) -> None:
    with pytest.raises(InvalidValue) as info:
        spec.check(value)
    assert (info.value.code, info.value.reason, info.value.allowed) == (code, reason, allowed)
    assert str(info.value) == reason


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (PropertySpec("x", Format.FLOAT, "km", 0, None), "float at least 0 km"),
        (PropertySpec("x", Format.INT, None, None, 5), "int at most 5"),
        (PropertySpec("x", Format.FLOAT, "A", 0.5, 1.5), "float from 0.5 to 1.5 A"),
        (PropertySpec("x", Format.STRING), "a string"),
        (PropertySpec("x", Format.FLOAT, "W"), "a float W"),
    ],
)
def test_describe_allowed(spec: PropertySpec, words: str) -> None:
    assert spec.describe_allowed() == words


@pytest.mark.parametrize(
    ("spec", "value", "out"),
    [
        (LEVEL, 2.0, 2),
        (TEMP, 20, 20.0),
        (ON, False, False),
        (MODE, "auto", "auto"),
        (LEVEL, 3, 3),
        (TEMP, -40, -40.0),
    ],
)
def test_accepted_values_are_normalised_to_their_format(spec: PropertySpec, value: Any, out: Any) -> None:
    result = spec.check(value)
    assert result == out
    assert type(result) is type(out)


def test_writable_follows_access() -> None:
    assert LEVEL.writable
    assert not TEMP.writable
    assert not PropertySpec("x", Format.INT, access=Access.READ | Access.NOTIFY).writable


# -- every value, every spec ------------------------------------------------------------------


def _satisfies(spec: PropertySpec, value: Any) -> bool:
    kind = {Format.BOOL: bool, Format.INT: int, Format.FLOAT: float, Format.STRING: str}[spec.format]
    if type(value) is not kind:
        return False
    if spec.allowed is not None and value not in spec.allowed:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            (isinstance(value, int) or math.isfinite(value))
            and (spec.minimum is None or value >= spec.minimum)
            and (spec.maximum is None or value <= spec.maximum)
        )
    return True


@given(spec=property_specs(), value=any_json_value())
def test_check_raises_only_invalid_value_and_returns_conforming_values(
    spec: PropertySpec, value: Any
) -> None:
    try:
        out = spec.check(value)
    except InvalidValue as exc:
        error: InvalidValue | None = exc
    else:
        error = None
    if error is not None:
        assert error.code in {"wrong_type", "out_of_range", "not_allowed"}
        assert error.reason
        assert error.allowed == spec.describe_allowed()
        return
    assert _satisfies(spec, out), f"{spec.name} returned {out!r} for {value!r}"
    assert out == value  # normalising never changes the value, only its type
    assert spec.check(out) == out  # and is idempotent


@given(spec=property_specs(), data=st.data())
def test_every_conforming_value_is_accepted_unchanged(spec: PropertySpec, data: st.DataObject) -> None:
    value = data.draw(conforming(spec))
    out = spec.check(value)
    assert out == value
    assert type(out) is type(value)


# -- huge numbers from outside are rejected with a bounded message, never a crash -------------


def test_huge_int_for_a_float_property_is_rejected_not_crashed() -> None:
    with pytest.raises(InvalidValue):
        TEMP.check(10**400)


def test_huge_int_for_an_int_property_is_rejected_with_a_bounded_message() -> None:
    with pytest.raises(InvalidValue) as info:
        LEVEL.check(10**5000)
    assert len(str(info.value)) < 200
