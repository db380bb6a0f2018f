"""Fixtures of the signing tests: a car that verifies (``signing_rig.Device``)."""

from __future__ import annotations

import pytest
from signing_rig import Device

from carhome.spec.devices import CAR


@pytest.fixture
def car() -> Device:
    return Device("car", CAR)
