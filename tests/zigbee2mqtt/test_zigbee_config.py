"""The ``zigbee2mqtt`` section of the configuration file: the documented example, and each
mistake reported with its line and what is expected."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from carhome.compose.config import load_config, parse_config
from carhome.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "carhome.yaml"

HOMES = """
homes:
  - {id: h1, name: Home, lat: 39.79, lon: 116.5}
"""


def test_the_examples_commented_section_loads_once_uncommented(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    block = re.search(r"^# zigbee2mqtt:\n(?:#   .*\n)+", text, re.MULTILINE)
    assert block is not None
    uncommented = re.sub(r"^# ?", "", block.group(0), flags=re.MULTILINE)
    path = tmp_path / "carhome.yaml"
    path.write_text(text.replace(block.group(0), uncommented), encoding="utf-8")
    config = load_config(path).zigbee2mqtt
    assert config is not None
    assert (config.home, config.url, config.base_topic, config.confirm_timeout) == (
        "yizhuang",
        "mqtt://127.0.0.1:1883",
        "zigbee2mqtt",
        20,
    )
    assert [(t.ieee_address, t.owner) for t in config.trusted_locks] == [("0x00158d0001a2b3c4", "owner")]
    assert "a-long-broker-password" not in repr(config)


@pytest.mark.parametrize(
    ("section", "line", "words"),
    [
        ("zigbee2mqtt: {home: h2, url: 'mqtt://b:1883'}", 4, "no home 'h2' in homes; known: h1"),
        ("zigbee2mqtt: {home: h1, url: 'http://b'}", 4, "is not a broker URL"),
        ("zigbee2mqtt: {home: h1, url: 'mqtt://b:1883', base_topic: 'z/#'}", 4, "not a topic"),
        ("zigbee2mqtt:\n  home: h1\n  url: mqtt://b:1883\n  confirm_timeout: 0", 7, "expected `float` > 0"),
        (
            "zigbee2mqtt:\n  home: h1\n  url: mqtt://b:1883\n  topic: z",
            7,
            "unknown key 'topic'; allowed here: home, url",
        ),
        (
            "zigbee2mqtt:\n  home: h1\n  url: mqtt://b:1883\n  trusted_locks:\n"
            "    - {ieee_address: 0x158d00-1, owner: a}",
            8,
            "is not an IEEE address",
        ),
        (
            "zigbee2mqtt:\n  home: h1\n  url: mqtt://b:1883\n  trusted_locks:\n"
            "    - {ieee_address: '0x00158d0001a2b3c4', owner: a}\n"
            "    - {ieee_address: 0x00158D0001A2B3C4, owner: b}",  # unquoted: a number to YAML
            9,
            "is trusted twice",
        ),
    ],
)
def test_mistakes_say_where_and_what(section: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(HOMES) + section + "\n", file="carhome.yaml")
    assert words in str(caught.value)
    assert caught.value.line == line
