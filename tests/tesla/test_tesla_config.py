"""The ``tesla:`` section: what it takes, and each mistake reported at its line."""

from __future__ import annotations

import pytest

from carhome.compose.config import parse_config
from yaml_mistakes import refused_in

GOOD = """\
homes:
  - id: h1
    name: Home
    lat: 39.7953
    lon: 116.506
    devices:
      - {id: model3, type: car, connector: tesla}
      - {id: leaf, type: car}
      - {id: purifier, type: air_purifier, connector: tesla}
tesla:
  url: mqtt://127.0.0.1:1883
  topic_base: fleet/telemetry
  cars:
    - {home: h1, device: model3, vin: 5YJ3E1EA1KF000316}
"""


def test_a_good_section() -> None:
    config = parse_config(GOOD)
    assert config.tesla is not None
    assert config.tesla.topic_base == "fleet/telemetry"
    assert [(c.device, c.vin) for c in config.tesla.cars] == [("model3", "5YJ3E1EA1KF000316")]
    assert "password" not in repr(config.tesla)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("device: model3", "device: leaf", "has connector 'mqtt'; give it `connector: tesla`"),
        ("device: model3", "device: purifier", "is a air_purifier; fleet-telemetry streams a car"),
        ("vin: 5YJ3E1EA1KF000316", "vin: 5YJ3/E1EA", "is not a VIN"),
        ("topic_base: fleet/telemetry", "topic_base: fleet/#", "a topic base is topic levels"),
        ("topic_base: fleet/telemetry", "topic_base: fleet//telemetry", "a topic base is topic levels"),
        ("url: mqtt", "urls: mqtt", "unknown key 'urls'"),
    ],
)
def test_each_mistake_is_reported_at_its_line(old: str, new: str, reason: str) -> None:
    refused_in("tesla", GOOD, old, new, reason)
