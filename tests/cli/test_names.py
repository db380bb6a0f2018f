"""Reading values and names typed on the command line."""

from __future__ import annotations

import math
from typing import Any

import click
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carhome.cli.names import resolve_device, resolve_name, short_names
from carhome.cli.output import age_text, table, value_text
from carhome.cli.values import parse_assignments, parse_value
from carhome.spec import SPECS, vss
from carhome.wire.devices import DeviceOut


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("false", False),
        ("24", 24),
        ("24.5", 24.5),
        ('"24"', "24"),
        ("auto", "auto"),
        ("null", None),
        ("[1, 2]", "[1, 2]"),
        ('{"a": 1}', '{"a": 1}'),
        ("", ""),
        ("NaN", "NaN"),
        ("22C", "22C"),
    ],
)
def test_parse_value(text: str, value: Any) -> None:
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


@given(st.text())
def test_any_text_is_a_scalar_or_itself(text: str) -> None:
    value = parse_value(text)
    assert value is None or isinstance(value, bool | int | float | str)
    if isinstance(value, str) and value != text:
        assert msgspec.json.decode(text) == value


@given(st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()))
def test_json_scalars_round_trip(value: Any) -> None:
    parsed = parse_value(msgspec.json.encode(value).decode())
    assert parsed == value or (isinstance(value, float) and math.isclose(parsed, value))


def test_parse_assignments() -> None:
    assert parse_assignments(["temperature=21.5", "program=quick", "note=a=b"]) == {
        "temperature": 21.5,
        "program": "quick",
        "note": "a=b",
    }
    with pytest.raises(click.BadParameter, match="twice"):
        parse_assignments(["a=1", "a=2"])
    with pytest.raises(click.BadParameter, match="not ARG=VALUE"):
        parse_assignments(["=1"])


def _dev(home: str, id_: str) -> DeviceOut:
    return DeviceOut(id=id_, home=home, type="light", name="", room=None, connector="mqtt", online=None)


def test_resolve_device() -> None:
    devices = [_dev("h1", "car"), _dev("h1", "lamp"), _dev("h2", "lamp")]
    assert resolve_device("car", devices) == ("h1", "car")
    assert resolve_device("h2/lamp", devices) == ("h2", "lamp")
    with pytest.raises(click.BadParameter, match="several homes"):
        resolve_device("lamp", devices)
    with pytest.raises(click.BadParameter, match="HOME/DEVICE"):
        resolve_device("h1/", devices)


CAR = list(SPECS["car"].properties)


def test_short_names_are_unique_and_end_the_full_name() -> None:
    short = short_names(CAR)
    assert len(set(short.values())) == len(CAR)
    assert all(full == s or full.endswith("." + s) for full, s in short.items())
    assert short[vss.SOC] == "StateOfCharge.Current"
    assert short[vss.SPEED] == vss.SPEED  # two segments are short enough
    assert short["place"] == "place"


def test_every_short_name_resolves_back() -> None:
    for full, short in short_names(CAR).items():
        assert resolve_name(short, CAR) == full


def test_resolve_name() -> None:
    assert resolve_name("driver.temperature", CAR) == vss.HVAC_SET_POINT
    with pytest.raises(click.BadParameter, match="matches several"):
        resolve_name("IsOpen", CAR)
    assert (
        resolve_name("IsLocked", ["A.B.IsLocked", "A.C.IsLocked"], prefer=["A.C.IsLocked"]) == "A.C.IsLocked"
    )


def test_output_words() -> None:
    assert [value_text(v) for v in (True, None, 21.0, 0.1 + 0.2, "x", [1])] == [
        "true",
        "null",
        "21",
        "0.3",
        "x",
        "[1]",
    ]
    assert [age_text(s) for s in (-1, 5, 65, 7200, 200_000)] == ["0s", "5s", "1m", "2h", "2d"]
    assert table(["A", "BB"], [["xyz", "1"]]) == "A    BB\nxyz  1"
