"""The optional homeassistant section of the configuration file."""

import pytest

from carhome.compose.config import parse_config
from carhome.errors import ConfigError


def test_the_section_is_optional_and_off_by_default() -> None:
    assert parse_config("homes: []\n").homeassistant is None


def test_the_section_names_the_member_home_assistant_acts_as() -> None:
    config = parse_config("homeassistant:\n  member: owner\n  discovery_prefix: ha\n")
    assert config.homeassistant is not None
    assert config.homeassistant.member == "owner"
    assert config.homeassistant.discovery_prefix == "ha"
    assert config.homeassistant.bridge_id == "carhome"


def test_a_member_is_required_so_no_default_identity_skips_access_checks() -> None:
    with pytest.raises(ConfigError, match=r"<config>:1: homeassistant: missing required key 'member'"):
        parse_config("homeassistant:\n  discovery_prefix: ha\n")
