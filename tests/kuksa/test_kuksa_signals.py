"""The signal tree, the actuator table and the config section, without a network."""

from __future__ import annotations

import grpc
import msgspec
import pytest

from carhome.connectors.kuksa import KuksaConfig, SignalError
from carhome.connectors.kuksa.actuators import Actuators
from carhome.connectors.kuksa.signals import SignalTree
from carhome.errors import SpecError
from carhome.spec import vss
from carhome.spec.devices import CAR

TREE = SignalTree(CAR)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (vss.SPEED, {vss.SPEED}),
        ("Vehicle.Cabin.HVAC", {vss.CABIN_TEMPERATURE, vss.HVAC_SET_POINT, vss.AC_ACTIVE}),
        ("Vehicle.Cabin.HVAC.*", {vss.CABIN_TEMPERATURE, vss.AC_ACTIVE}),
        ("Vehicle.Cabin.Door.*.DriverSide.IsLocked", {vss.DOOR_LOCKED[0], vss.DOOR_LOCKED[2]}),
        ("Vehicle.**.Window.Position", set(vss.WINDOW_POSITION)),
        ("", {s.path for s in vss.CATALOG}),
    ],
)
def test_patterns(pattern: str, expected: set[str]) -> None:
    assert {s.path for s in TREE.match(pattern)} == expected


def test_a_prefix_that_is_not_a_branch_matches_nothing() -> None:
    with pytest.raises(SignalError) as caught:
        TREE.match("Vehicle.Spe")
    assert caught.value.status is grpc.StatusCode.NOT_FOUND


def test_a_pattern_with_odd_characters_is_invalid() -> None:
    with pytest.raises(SignalError) as caught:
        TREE.match("Vehicle.(Speed|Range)")
    assert caught.value.status is grpc.StatusCode.INVALID_ARGUMENT


def test_ids_are_stable_catalog_positions() -> None:
    assert [s.id for s in TREE] == list(range(1, len(vss.CATALOG) + 1))
    assert TREE.get_id(1).path == vss.CATALOG[0].path


def test_derived_properties_are_not_signals() -> None:
    assert "place" in CAR.properties
    assert "place" not in TREE.by_path


def test_the_action_table_must_match_the_spec() -> None:
    with pytest.raises(SpecError, match="open_trunk"):
        Actuators(CAR, TREE, {vss.DOOR_LOCKED[0]: {True: "open_trunk"}})


def test_the_config_section_rejects_unknown_keys() -> None:
    config = msgspec.yaml.decode(b"serve: [{home: h1, device: car, port: 0}]", type=KuksaConfig)
    assert config.serve[0].host == "127.0.0.1"
    with pytest.raises(msgspec.ValidationError, match="prot"):
        msgspec.yaml.decode(b"serve: [{home: h1, device: car, prot: 1}]", type=KuksaConfig)
