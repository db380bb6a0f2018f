"""The access, kuksa and miio sections: decoded, checked against the homes, errors by line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from carhome.compose.config import load_config, parse_config
from carhome.errors import ConfigError
from yaml_mistakes import one_home

HOMES = one_home(
    "{id: car, type: car}", "{id: car2, type: car}", "{id: purifier, type: air_purifier, connector: miio}"
)


def _config(extra: str) -> str:
    return HOMES + textwrap.dedent(extra)


def test_access_defaults_to_signatures_required() -> None:
    config = parse_config(_config(""))
    assert config.access.require_signatures is True
    assert config.access.access_token_minutes == 5
    changed = parse_config(_config("access: {require_signatures: false, access_token_minutes: 15}\n"))
    assert (changed.access.require_signatures, changed.access.access_token_minutes) == (False, 15)


def test_the_api_may_listen_beyond_loopback_now_that_it_asks_for_logins() -> None:
    assert parse_config(_config("api: {host: 0.0.0.0}\n")).api.host == "0.0.0.0"


def test_kuksa_serves_and_reads_cars() -> None:
    config = parse_config(
        _config(
            """
            kuksa:
              serve: [{home: h1, device: car, port: 55556}]
              databrokers: [{home: h1, device: car2, url: "grpc://127.0.0.1:55555"}]
            """
        )
    )
    assert config.kuksa is not None
    assert [(s.device, s.port) for s in config.kuksa.serve] == [("car", 55556)]
    assert config.kuksa.databrokers[0].url == "grpc://127.0.0.1:55555"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("kuksa:\n  serve: [{home: h1, device: purifier}]\n", "is not a car"),
        ("kuksa:\n  serve: [{home: h1, device: car}, {home: h1, device: car2}]\n", "one car per port"),
        ("kuksa:\n  serve: [{home: h1, device: car, colour: red}]\n", "colour"),
        (
            "miio:\n  devices: [{home: h1, device: purifier, host: 127.0.0.1, model: no.such.model,"
            " token: 00112233445566778899aabbccddeeff}]\n",
            "no MIoT mapping",
        ),
        (
            "miio:\n  devices: [{home: h1, device: purifier, host: 127.0.0.1, model: zhimi.airpurifier.mb3,"
            " token: abc}]\n",
            "32 hexadecimal digits",
        ),
    ],
)
def test_connector_sections_report_mistakes_by_line(tmp_path: Path, extra: str, words: str) -> None:
    path = tmp_path / "carhome.yaml"
    path.write_text(_config(extra))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert words in str(err.value)
    assert err.value.line is not None
    assert err.value.line > HOMES.count("\n")  # the line in the section, not the homes


def test_a_miio_token_file_is_read_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "purifier.token").write_text("00112233445566778899aabbccddeeff\n")
    path = tmp_path / "carhome.yaml"
    path.write_text(
        _config(
            "miio:\n  devices: [{home: h1, device: purifier, host: 127.0.0.1,"
            " model: zhimi.airpurifier.mb3, token_file: purifier.token}]\n"
        )
    )
    config = load_config(path)
    assert config.miio is not None
    [record] = config.miio.records()
    assert record.home == "h1"
    assert "00112233" not in repr(record)
