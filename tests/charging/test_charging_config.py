"""The ocpp and charging sections of the configuration file, and their errors by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from carhome.compose.config import load_config, parse_config
from carhome.errors import ConfigError
from yaml_mistakes import line_of, mistake

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "carhome.yaml"

HOME = """\
homes:
  - id: yizhuang
    name: Yizhuang
    lat: 39.7953
    lon: 116.5060
    timezone: Asia/Shanghai
    devices:
      - {id: car, type: car}
      - {id: wallbox, type: wallbox, connector: ocpp}
      - {id: lamp, type: light}
"""

GOOD = (
    HOME
    + """\
ocpp:
  port: 9000
  chargers:
    garage-1: {home: yizhuang, device: wallbox, password: a-long-enough-password}
  id_tokens: {RFID-1: owner}
charging:
  - car: car
    member: owner
    charger: wallbox
    mode: smart
    target: 80
    departure: {weekly: {weekdays: '08:00', sat: '10:00'}}
    tariff:
      time_of_use:
        - {start: '23:00', end: '07:00', price: 0.3}
        - {start: '07:00', end: '23:00', price: 0.8}
    phases: 1
    voltage: 220
    max_current: 32
"""
)


def test_a_good_section_parses() -> None:
    config = parse_config(GOOD)
    assert config.ocpp is not None
    assert config.ocpp.chargers["garage-1"].device == "wallbox"
    assert config.ocpp.id_tokens == {"RFID-1": "owner"}
    [car] = config.charging
    assert (car.car, car.member, car.charger, car.mode, car.target, car.phases) == (
        "car",
        "owner",
        "wallbox",
        "smart",
        80.0,
        1,
    )
    assert "a-long-enough-password" not in repr(config.ocpp.chargers["garage-1"])


def test_the_example_file_has_both_sections_and_loads() -> None:
    config = load_config(EXAMPLE)
    assert config.ocpp is not None
    assert config.charging


@pytest.mark.parametrize(
    ("old", "new", "at", "reason"),
    [
        ("device: wallbox, password", "device: lamp, password", "garage-1:", "is not a wallbox"),
        ("password: a-long-enough-password", "password: short", "garage-1:", "16 to 40 characters"),
        (
            "{id: wallbox, type: wallbox, connector: ocpp}",
            "{id: wallbox, type: wallbox}",
            "garage-1:",
            "connector",
        ),
        ("  - car: car", "  - car: lamp", "  - car: lamp", "is not a car"),
        ("    charger: wallbox", "    charger: car", "    charger: car", "is not a wallbox"),
        ("mode: smart", "mode: cheapest", "mode: cheapest", "invalid enum value 'cheapest'"),
        ("target: 80", "target: 120", "target: 120", "expected `float` <= 100"),
        ("sat: '10:00'", "sat: 10:00", "departure:", "write times in quotes"),
        ("sat: '10:00'", "saturday: '10:00'", "departure:", "unknown day 'saturday'"),
        ("'07:00', end: '23:00'", "'07:00', end: '22:00'", "time_of_use:", "leave a gap at 22:00"),
        (
            "    max_current: 32",
            "    max_current: 32\n    min_current: 40",
            "min_current: 40",
            "above max_current",
        ),
        ("    phases: 1", "    phases: 1\n    limit: 70", "limit: 70", "below the target"),
        ("    mode: smart", "    mode: smart\n    speed: 3", "speed: 3", "unknown key 'speed'"),
    ],
)
def test_mistakes_are_reported_with_their_line(old: str, new: str, at: str, reason: str) -> None:
    text, error = mistake(GOOD, old, new)
    assert reason in str(error)
    assert error.line == line_of(text, at), str(error)


def test_a_tariff_needs_exactly_one_kind() -> None:
    text = GOOD.replace("    tariff:\n", "    tariff:\n      fixed: 0.5\n")
    with pytest.raises(ConfigError, match="exactly one of fixed, time_of_use or file"):
        parse_config(text)


def test_relative_files_are_beside_the_config_file(tmp_path: Path) -> None:
    text = GOOD.replace("password: a-long-enough-password", "password_file: secrets/garage").replace(
        "    tariff:\n      time_of_use:\n        - {start: '23:00', end: '07:00', price: 0.3}\n"
        "        - {start: '07:00', end: '23:00', price: 0.8}\n",
        "    tariff: {file: prices.csv}\n    solar_forecast: solar.json\n",
    )
    (tmp_path / "carhome.yaml").write_text(text)
    config = load_config(tmp_path / "carhome.yaml")
    assert config.ocpp is not None
    assert config.ocpp.chargers["garage-1"].password_file == str(tmp_path / "secrets" / "garage")
    assert config.charging[0].tariff.file == str(tmp_path / "prices.csv")
    assert config.charging[0].solar_forecast == str(tmp_path / "solar.json")


TRUSTED = GOOD + "access:\n  unsigned_charging:\n    - {device: wallbox, owner: ana}\n"


def test_an_owner_may_trust_a_wallbox_for_charging_without_signatures() -> None:
    config = parse_config(TRUSTED)
    [trusted] = config.access.unsigned_charging
    assert (trusted.home, trusted.device, trusted.owner) == (None, "wallbox", "ana")
    assert config.access.require_signatures  # for everything else


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("{device: wallbox, owner: ana}", "{device: lamp, owner: ana}", "is not a wallbox"),
        ("{device: wallbox, owner: ana}", "{device: wallbox}", "missing required key 'owner'"),
        ("{device: wallbox, owner: ana}", "{device: wallbox, owner: ana, domain: home_lock}", "unknown"),
    ],
)
def test_only_wallboxes_are_trusted_and_an_owner_names_them(old: str, new: str, reason: str) -> None:
    text, error = mistake(TRUSTED, old, new)
    assert reason in str(error)
    assert error.line == line_of(text, "unsigned_charging:") + 1, str(error)
