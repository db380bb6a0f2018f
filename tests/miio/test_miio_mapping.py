"""The MIoT tables: every mapped property and action, and value conversion both ways."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from miio_rig import TOKEN

from carhome.connectors.miio import MAPPINGS, ConversionError, MiioConfig, ModelMap
from carhome.connectors.miio.mapping import MODEL_MAPS
from carhome.errors import ConfigError
from carhome.spec import SPECS, Format
from carhome.testing import FakeClock
from carhome.testing.miio_device import (
    SimulatedMiioDevice,
    air_purifier_3c,
    air_purifier_3h,
    light_lamp22,
    vacuum_dreame_1c,
)

SIMULATORS = {
    "zhimi.airpurifier.mb3": air_purifier_3h,
    "zhimi.airpurifier.mb4": air_purifier_3c,
    "yeelink.light.lamp22": light_lamp22,
    "dreame.vacuum.mc1808": vacuum_dreame_1c,
}
MAPS = [pytest.param(m, id=m.models[0]) for m in MODEL_MAPS]


@pytest.mark.parametrize("mapping", MAPS)
def test_every_mapped_property_converts_both_ways(mapping: ModelMap) -> None:
    spec = SPECS[mapping.device_type]
    for pmap in mapping.properties:
        pspec = spec.properties[pmap.prop]
        if pmap.values:
            assert pspec.format is Format.STRING
            assert pspec.allowed is not None
            words = {word for _, word in pmap.values}
            assert words <= set(pspec.allowed), pmap.prop
            for device_value, word in pmap.values:
                assert pmap.from_device(device_value) == word
                assert pmap.from_device(pmap.to_device(word)) == word
            with pytest.raises(ConversionError):
                pmap.from_device(99)
            with pytest.raises(ConversionError):
                pmap.from_device(True)  # a bool is not a MIoT enum value, though True == 1
        else:
            sample = {Format.BOOL: True, Format.INT: int(pspec.minimum or 0), Format.FLOAT: 1.5}[pspec.format]
            assert pspec.check(pmap.from_device(sample)) == sample
            assert pmap.to_device(sample) == sample


def test_the_purifier_modes_are_the_miot_enum() -> None:
    mode = MAPPINGS["zhimi.airpurifier.mb3"].by_prop["mode"]
    assert [mode.to_device(w) for w in ("auto", "sleep", "favorite", "fan")] == [0, 1, 2, 3]
    assert mode.from_device(3) == "fan"  # the fan level set by hand
    with pytest.raises(ConversionError, match=r"MIoT value 4 of 2\.5 has no carhome 'mode'"):
        mode.from_device(4)
    status = MAPPINGS["dreame.vacuum.mc1808"].by_prop["status"]
    assert [status.from_device(v) for v in (1, 2, 3, 4, 5, 6)] == [
        "cleaning", "docked", "paused", "error", "returning", "docked",
    ]  # fmt: skip
    assert status.to_device("docked") == 6


@pytest.mark.parametrize("mapping", MAPS)
def test_every_action_of_the_spec_is_mapped_onto_mapped_properties(mapping: ModelMap) -> None:
    spec = SPECS[mapping.device_type]
    assert set(mapping.by_action) == set(spec.actions)
    for action in mapping.actions:
        shapes = [action.siid is not None, bool(action.writes), action.toggles is not None]
        assert shapes.count(True) == 1, action.action
        for prop, value in action.writes:
            assert spec.properties[prop].writable
            assert spec.properties[prop].check(value) == value
            assert prop in mapping.by_prop
        if action.toggles is not None:
            assert spec.properties[action.toggles].format is Format.BOOL


@pytest.mark.parametrize("mapping", MAPS)
def test_the_simulated_model_has_every_mapped_property(mapping: ModelMap) -> None:
    [model] = [m for m in mapping.models if m in SIMULATORS]
    sim: SimulatedMiioDevice = SIMULATORS[model](token=TOKEN, device_id=1, clock=FakeClock())
    assert sim.model in mapping.models
    assert {p.key for p in mapping.properties} <= set(sim.properties)
    for pmap in mapping.properties:
        pmap.from_device(sim.properties[pmap.key].value)  # converts without error
        assert sim.properties[pmap.key].writable == SPECS[mapping.device_type].properties[pmap.prop].writable


def test_config_decodes_and_names_every_problem(tmp_path: Path) -> None:
    (tmp_path / "light.token").write_text(TOKEN + "\n")
    raw = {
        "poll_interval": 10,
        "devices": [
            {"home": "h1", "device": "light", "host": "192.0.2.7", "model": "yeelink.light.lamp22",
             "token_file": "light.token"},
            {"home": "h1", "device": "purifier", "host": "192.0.2.8", "model": "zhimi.airpurifier.mb3",
             "token": "abc"},
            {"home": "h1", "device": "lamp", "host": "192.0.2.9", "model": "yeelink.light.lamp22",
             "token": TOKEN, "token_file": "x"},
            {"home": "h1", "device": "ghost", "host": "192.0.2.10", "model": "acme.light.one",
             "token": TOKEN},
        ],
    }  # fmt: skip
    config = msgspec.convert(raw, MiioConfig)
    hub_devices = {
        ("h1", "light"): ("light", "miio"),
        ("h1", "purifier"): ("air_purifier", "miio"),
        ("h1", "lamp"): ("light", "mqtt"),
    }
    problems = dict(config.problems(hub_devices))
    assert set(problems) == {
        ("devices", 1, "token"),
        ("devices", 2, "device"),
        ("devices", 2),
        ("devices", 3, "model"),
        ("devices", 3, "device"),
    }
    assert "32 hexadecimal digits" in problems[("devices", 1, "token")]
    assert "give it `connector: miio`" in problems[("devices", 2, "device")]
    assert "token or token_file (one of them)" in problems[("devices", 2)]
    assert TOKEN not in repr(config)
    light = config.devices[0].record(tmp_path)
    assert (light.token, light.model, light.port) == (TOKEN, "yeelink.light.lamp22", 54321)
    with pytest.raises(ConfigError, match="cannot read a token from"):
        config.devices[0].record(tmp_path / "elsewhere")
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"devices": [], "pol_interval": 3}, MiioConfig)
