"""The loader: typed decoding, each bad automation reported with file and line, rest loaded."""

from __future__ import annotations

from pathlib import Path

from automation_rig import LOW_BATTERY

from carhome.automations import Engine, load_path, load_text
from carhome.hub import Device, Hub

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "automations"

MIXED = (
    LOW_BATTERY
    + """\
  - id: typo
    triggers:
      - trigger: threshold
        device: car
        property: soc
        belwo: 20
    actions: []
  - id: wrong_type
    triggers:
      - trigger: state
        device: car
        property: place
    actions:
      - action: delay
        duration: [1]
  - id: unknown_device
    triggers:
      - trigger: state
        device: carr
        property: place
    actions: []
  - id: unknown_property
    triggers:
      - trigger: state
        device: car
        property: Vehicle.Nope
    actions: []
  - id: bad_kind
    triggers:
      - trigger: sunrise_maybe
        device: car
    actions: []
"""
)


async def test_each_bad_automation_has_file_line_and_expectation(hub: Hub, tmp_path: Path) -> None:
    file = tmp_path / "mixed.yaml"
    file.write_text(MIXED)
    async with Engine(hub) as engine:
        errors = engine.load(file)
        assert [a.id for a in engine.automations()] == ["low"]
    found = {(e.line, e.reason.split(":")[0]) for e in errors}
    assert all(e.file == str(file) for e in errors)
    assert (18, "triggers[0].belwo") in found
    assert (27, "actions[0].duration") in found
    assert (31, "triggers[0].device") in found
    assert (38, "triggers[0].property") in found
    assert (42, "triggers[0].trigger") in found
    assert len(errors) == 5
    messages = " | ".join(str(e) for e in errors)
    assert (
        "triggers[0].belwo: unknown key 'belwo'; allowed here: trigger, device, property, above, below,"
        " hysteresis, for"
    ) in messages
    assert "no device 'carr'" in messages
    assert "known devices: car, purifier" in messages


def test_invalid_yaml_is_reported_with_its_line() -> None:
    loaded = load_text("automations:\n  - id: a\n    triggers: [\n", "broken.yaml")
    assert loaded.automations == []
    assert loaded.errors[0].file == "broken.yaml"
    assert loaded.errors[0].line == 4


def test_unknown_top_level_key() -> None:
    loaded = load_text("home: h1\nautomation: []\n", "f.yaml")
    assert "automation" in str(loaded.errors[0])
    assert loaded.errors[0].line == 2


async def test_devices_by_home_and_name_with_several_homes(hub: Hub) -> None:
    from carhome.hub import Home  # noqa: PLC0415

    await hub.add_home(Home(id="h2", name="Cottage", lat=40.0, lon=116.0))
    await hub.add_device(Device(home="h2", id="car", type="car"))
    text = MIXED.split("  - id: typo", maxsplit=1)[0].replace("home: h1\n", "")
    async with Engine(hub) as engine:
        errors = engine.load_text(text, "plain.yaml")
        assert len(errors) == 1
        assert "needs its home" in str(errors[0])
        assert errors[0].line == 5
        assert engine.load_text(text.replace("device: car", "device: h2/car")) == []


async def test_the_examples_load(hub: Hub) -> None:
    for name, kind in (
        ("hall", "light"),
        ("porch", "light"),
        ("ac", "air_conditioner"),
        ("garage", "garage_door"),
        ("front_door", "door_lock"),
        ("vacuum", "robot_vacuum"),
    ):
        await hub.add_device(Device(home="h1", id=name, type=kind))
    loaded = load_path(EXAMPLES)
    assert loaded.errors == []
    async with Engine(hub) as engine:
        assert engine.add_loaded(loaded) == []
        assert {a.id for a in engine.automations()} == {
            "low_battery",
            "arriving_home",
            "nearly_home",
            # blueprints.yaml
            "arrive",
            "leave",
            "warm_cabin",
            "plug_in",
            "locked_at_night",
        }


def test_a_missing_path_is_an_error() -> None:
    loaded = load_path("/nonexistent/automations")
    assert "no such file" in str(loaded.errors[0])
