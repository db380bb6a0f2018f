"""A device checks its home and device ids by the hub's rule, without the hub."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carhome.errors import InvalidName
from carhome.hub.model import Device
from carhome.signing.enrollment import Enroller
from carhome.signing.keys import KeyPair, KeyStore
from carhome.testing import FakeClock

_ID_CHARS = st.sampled_from("abz09_-Aé. /")
_DEVICE_KEY = KeyPair.generate()


def _enroller(home: str, device: str) -> None:
    Enroller(home=home, device=device, key=_DEVICE_KEY, keys=KeyStore(), clock=FakeClock(0.0))


def _hub_record(home: str, device: str) -> None:
    Device(home=home, id=device, type="car")


def _verdict(make: Callable[[str, str], None], home: str, device: str) -> str | None:
    try:
        make(home, device)
    except InvalidName as exc:
        return str(exc)
    return None


@given(st.text(_ID_CHARS, max_size=70) | st.text(max_size=8))
def test_the_device_and_the_hub_accept_the_same_device_ids(value: str) -> None:
    assert _verdict(_enroller, "h1", value) == _verdict(_hub_record, "h1", value)


@given(st.text(_ID_CHARS, max_size=70) | st.text(max_size=8))
def test_the_device_and_the_hub_accept_the_same_home_ids(value: str) -> None:
    assert _verdict(_enroller, value, "car") == _verdict(_hub_record, value, "car")


@pytest.mark.parametrize("value", ["car", "garage_door", "h1", "a" * 63])
def test_hub_ids_are_device_ids(value: str) -> None:
    assert _verdict(_enroller, "h1", value) is None


@pytest.mark.parametrize("value", ["", "Car", "-car", "a" * 64, "car/1"])
def test_what_the_hub_refuses_the_device_refuses(value: str) -> None:
    with pytest.raises(InvalidName, match="lower-case letters"):
        _enroller("h1", value)
