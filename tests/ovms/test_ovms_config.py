"""The ``ovms:`` section: what it takes, each mistake reported at its line, and the trust an
owner may give an OVMS car for charging (never for its doors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carhome.compose.config import load_config, parse_config
from carhome.errors import ConfigError
from yaml_mistakes import refused_in

GOOD = """\
homes:
  - id: h1
    name: Home
    lat: 39.7953
    lon: 116.506
    devices:
      - {id: leaf, type: car, connector: ovms}
      - {id: other, type: car}
ovms:
  url: mqtt://127.0.0.1:1883
  client_id: carhome
  cars:
    - {home: h1, device: leaf, user: ovms-user, vehicle: LEAF1, pin_file: leaf.pin,
       units: {distance: miles}, right_hand_drive: true}
"""


def test_a_good_section_and_its_pin_file_beside_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "carhome.yaml").write_text(GOOD)
    config = load_config(tmp_path / "carhome.yaml")
    assert config.ovms is not None
    [car] = config.ovms.cars
    assert car.pin_file == str(tmp_path / "leaf.pin")
    assert (car.units.distance, car.units.temperature, car.right_hand_drive) == ("miles", "celsius", True)
    assert car.topics(config.ovms.client_id).command("c1") == "ovms/ovms-user/LEAF1/client/carhome/command/c1"


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("device: leaf, user", "device: other, user", "has connector 'mqtt'; give it `connector: ovms`"),
        ("device: leaf, user", "device: gone, user", "no device h1/gone"),
        ("user: ovms-user, vehicle: LEAF1, ", "", "give the module's user and vehicle"),
        ("vehicle: LEAF1", "vehicle: LEAF/1", "cannot be a topic level"),
        ("pin_file: leaf.pin", "pin: 12 34", "a PIN is 1 to 32 characters without spaces"),
        ("distance: miles", "distance: furlongs", "invalid enum value 'furlongs'"),
        ("right_hand_drive", "left_hand_drive", "unknown key 'left_hand_drive'"),
        ("client_id: carhome", "client_id: car/home", "cannot be a topic level"),
    ],
)
def test_each_mistake_is_reported_at_its_line(old: str, new: str, reason: str) -> None:
    assert old != new
    refused_in("ovms", GOOD, old, new, reason)


def test_an_owner_may_trust_an_ovms_car_for_charging_but_not_a_car_of_another_connector() -> None:
    trusted = GOOD + "access:\n  unsigned_charging:\n    - {device: leaf, owner: ana}\n"
    [entry] = parse_config(trusted).access.unsigned_charging
    assert entry.device == "leaf"
    with pytest.raises(ConfigError, match="is not a wallbox"):
        parse_config(trusted.replace("{device: leaf, owner", "{device: other, owner"))


def uncommented(text: str, first: str, last: str | None = None) -> str:
    """``text`` with its commented lines from the one holding ``first`` through ``last``
    (or the end of that comment block) taken out of their comments."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if first in line)
    for i in range(start, len(lines)):
        line = lines[i]
        if not line.lstrip().startswith("#"):
            break
        lines[i] = line.replace("# ", "", 1) if line.lstrip().startswith("# ") else line.replace("#", "", 1)
        if last is not None and last in line:
            break
    return "\n".join(lines) + "\n"


def test_the_examples_ovms_and_tesla_sections_load_when_uncommented() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "carhome.yaml"
    text = uncommented(example.read_text(), "# - id: leaf", "connector: tesla")
    text = uncommented(uncommented(text, "# ovms:"), "# tesla:")
    config = parse_config(text, file=str(example))
    assert config.ovms is not None
    assert config.tesla is not None
    assert [(c.device, c.vehicle) for c in config.ovms.cars] == [("leaf", "LEAF1")]
    assert [c.device for c in config.tesla.cars] == ["model3"]
