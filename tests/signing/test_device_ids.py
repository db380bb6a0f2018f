"""A device checks its home and device ids by the hub's rule, without the hub."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carhome.errors import InvalidName
from carhome.hub.model import check_name as hub_rule
from carhome.signing.names import check_name as device_rule

_ID_CHARS = st.sampled_from("abz09_-Aé. /")


def _verdict(rule: Callable[[str, str], str], value: str) -> str | None:
    try:
        rule("device", value)
    except InvalidName as exc:
        return str(exc)
    return None


@given(st.text(_ID_CHARS, max_size=70) | st.text(max_size=8))
def test_the_device_and_the_hub_accept_the_same_ids(value: str) -> None:
    assert _verdict(device_rule, value) == _verdict(hub_rule, value)


@pytest.mark.parametrize("value", ["car", "garage_door", "h1", "a" * 63])
def test_hub_ids_are_device_ids(value: str) -> None:
    assert device_rule("home", value) == value


@pytest.mark.parametrize("value", ["", "Car", "-car", "a" * 64, "car/1"])
def test_what_the_hub_refuses_the_device_refuses(value: str) -> None:
    with pytest.raises(InvalidName, match="lower-case letters"):
        device_rule("device", value)
