"""The configuration file: the example loads, and every mistake is reported by file:line."""

from __future__ import annotations

import textwrap
import urllib.parse
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from carhome.api import server
from carhome.cli import client
from carhome.compose.config import Config, load_config, parse_config
from carhome.errors import ConfigError
from carhome.hub import Device, Home, Place

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "carhome.yaml"

HOME = """\
homes:
  - id: h1
    name: Home
    lat: 39.79
    lon: 116.50
    devices:
      - id: car
        type: car
"""


def test_the_example_loads() -> None:
    config = load_config(EXAMPLE)
    assert config.api.host == "127.0.0.1"
    assert config.api.port == 8780
    assert not config.mqtt.external
    assert config.mqtt.broker.port == 18830
    [home] = config.home_records()
    assert home == Home(
        id="yizhuang",
        name="Yizhuang flat",
        lat=39.7953,
        lon=116.5060,
        radius_m=200,
        timezone="Asia/Shanghai",
        places=(Place("work", 39.9087, 116.3975, 300), Place("supercharger", 39.7820, 116.5150, 80)),
    )
    devices = config.device_records()
    assert Device(home="yizhuang", id="car", type="car", name="Family car") in devices
    assert {d.type for d in devices} == {"car", "wallbox", "air_purifier", "door_lock", "rice_cooker"}
    assert config.sim.homes == ("yizhuang",)


def test_data_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "carhome.yaml"
    path.write_text("hub:\n  data_dir: state\n  clock_speed: 10\n")
    config = load_config(path)
    assert config.hub.data_dir == str(tmp_path / "etc" / "state")
    assert config.hub.clock_speed == 10


def test_an_empty_file_is_all_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("# nothing yet\n")
    config = load_config(path)
    assert config.homes == ()
    assert config.api.port == 8780
    assert Path(config.hub.data_dir) == tmp_path / ".carhome"


def test_an_external_broker_with_login() -> None:
    config = parse_config("mqtt:\n  url: mqtts://broker.lan:8883\n  username: u\n  password: p\n")
    assert config.mqtt.external
    assert config.mqtt.url == "mqtts://broker.lan:8883"
    assert config.mqtt.username == "u"


def test_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read") as info:
        load_config(tmp_path / "nope.yaml")
    assert info.value.file == str(tmp_path / "nope.yaml")


def _line(text: str, marker: str) -> int:
    """The 1-based line of the first line of ``text`` that contains ``marker``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)


@pytest.mark.parametrize(
    ("text", "marker", "words"),
    [
        (
            "hub:\n  data_dir: x\n  colour: red\n",
            "colour",
            "unknown key 'colour'; allowed here: data_dir, clock_speed",
        ),
        (HOME + "        colour: red\n", "colour", "homes[0].devices[0].colour: unknown key"),
        (
            HOME.replace("type: car", "type: toaster"),
            "toaster",
            "unknown device type 'toaster'; known types: air_conditioner, air_purifier, battery, car",
        ),
        (HOME.replace("lat: 39.79", "lat: north"), "north", "homes[0].lat: expected `float`"),
        (HOME.replace("lat: 39.79", "lat: 99"), "lat: 99", "homes[0].lat: expected `float` <= 90"),
        (HOME.replace("    name: Home\n", ""), "- id: h1", "homes[0]: missing required key 'name'"),
        (HOME.replace("id: car", "id: My Car"), "My Car", "device id 'My Car' is not valid"),
        (HOME.replace("id: h1", "id: H1"), "H1", "homes[0].id: home id 'H1' is not valid"),
        (HOME + "      - id: car  # again\n        type: light\n", "again", "device id 'car' is used twice"),
        (
            HOME.replace("    devices:", "    timezone: Mars/Olympus\n    devices:"),
            "Mars",
            "unknown timezone 'Mars/Olympus'",
        ),
        (
            HOME.replace("    devices:", "    places:\n      - {name: Work, lat: 1, lon: 2}\n    devices:"),
            "Work",
            "place id 'Work' is not valid",
        ),
        ("api:\n  port: '8780'\n", "port", "api.port: expected `int`, got `str`"),
        ("api:\n  port: 99999\n", "port", "api.port: expected `int` <= 65535"),
        (
            "mqtt:\n  builtin: {port: 1884}\n  url: mqtt://b:1883\n",
            "url",
            "give either mqtt.builtin or mqtt.url, not both",
        ),
        ("mqtt:\n  url: http://broker\n", "url", "is not a broker URL"),
        ("mqtt:\n  url: mqtt://broker:port\n", "url", "is not a broker URL"),
        ("mqtt:\n  username: u\n", "username", "it needs mqtt.url"),
        ("homeassistant:\n  member: o\n  username: ha\n", "username: ha", "it needs mqtt.url"),
        (
            "mqtt:\n  url: mqtt://b:1883\n  username: hub\nhomeassistant:\n  member: o\n",
            "homeassistant:",
            "give the Home Assistant bridge its own MQTT login",
        ),
        (
            "mqtt:\n  url: mqtt://b:1883\n  username: hub\n"
            "homeassistant:\n  member: o\n  username: hub  # again\n",
            "again",
            "the bridge's username is the hub's",
        ),
        ("hub:\n  clock_speed: 0\n", "clock_speed", "hub.clock_speed: expected `float` > 0"),
        (
            HOME + "sim:\n  enabled: true\n  homes: [h1, h2]\n",
            "homes: [h1, h2]",
            "sim.homes[1]: no home 'h2' in homes; known: h1",
        ),
        ("api:\n  port: 1\n  port: 2\n", "port: 2", "api.port: this key appears twice"),
        ("api: [\n", "api", "not valid YAML"),
        ("homes: {id: h1}\n", "homes", "homes: expected `array`, got `object`"),
        ("- 1\n", "- 1", "(top level): expected `object`, got `array`"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, text: str, marker: str, words: str) -> None:
    path = tmp_path / "carhome.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    expected_line = _line(text, marker)
    assert err.file == str(path)
    assert words in str(err)
    if "not valid YAML" not in words:  # the parser reports where it gave up, not the cause
        assert err.line == expected_line, str(err)
    assert str(err).startswith(f"{path}:{err.line}: ")


@pytest.mark.parametrize(
    ("store", "words"),
    [
        ("mysql://hub:s3cret@db/carhome", "hub.store: store 'mysql://hub@db/carhome': not a store URL"),
        ("sqlite://hub.db", "not a store URL; use sqlite:///path/to/hub.db"),
        ("'sqlite:///'", "not a store URL"),
        ("[postgresql://db]", "hub.store: expected `str | null`, got `array`"),
    ],
)
def test_a_bad_store_url_is_a_config_error_with_its_line(tmp_path: Path, store: str, words: str) -> None:
    path = tmp_path / "carhome.yaml"
    text = f"hub:\n  data_dir: x\n  store: {store}\n"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert words in str(info.value)
    assert str(info.value).startswith(f"{path}:{_line(text, 'store')}: ")
    assert "s3cret" not in str(info.value)


def test_the_hubs_store_is_a_url_and_a_sqlite_file_is_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "carhome.yaml"
    path.write_text("hub:\n  store: sqlite:///db/hub.db\n")
    assert load_config(path).hub.store == f"sqlite:///{tmp_path / 'etc' / 'db' / 'hub.db'}"
    url = "postgresql://carhome:pw@127.0.0.1:5432/carhome?sslmode=disable"
    path.write_text(f"hub:\n  store: {url}\n")
    assert load_config(path).hub.store == url
    path.write_text("hub:\n  data_dir: x\n")
    assert load_config(path).hub.store is None  # the SQLite file in the data directory


def test_decoded_config_is_immutable() -> None:
    config = parse_config(HOME)
    with pytest.raises(AttributeError):
        config.api = config.api  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_config_or_a_config_error(text: str) -> None:
    try:
        config = parse_config(text, file="fuzz.yaml")
    except ConfigError as exc:
        error = exc
    else:
        assert isinstance(config, Config)
        return
    assert error.file == "fuzz.yaml"


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False), st.text(max_size=12)
)
_keys = st.sampled_from(
    [
        "hub",
        "api",
        "mqtt",
        "homes",
        "sim",
        "id",
        "name",
        "lat",
        "lon",
        "type",
        "devices",
        "places",
        "port",
        "host",
        "url",
        "builtin",
        "data_dir",
        "enabled",
        "timezone",
        "radius_m",
        "colour",
    ]
)
_trees = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_keys, _trees, max_size=5))
def test_any_shape_is_a_config_or_an_error_with_a_line(tree: dict[str, object]) -> None:
    text = yaml.safe_dump(tree)
    try:
        parse_config(text, file="fuzz.yaml")
    except ConfigError as exc:
        error = exc
    else:
        return
    assert error.line is not None
    assert 1 <= error.line <= max(1, len(text.splitlines()))


def test_errors_point_into_flow_style_too() -> None:
    text = textwrap.dedent("""\
        homes:
          - {id: h1, name: x, lat: 1, lon: 2, devices: [{id: a, type: light},
                                                        {id: b, type: kettle}]}
        """)
    with pytest.raises(ConfigError, match="kettle") as info:
        parse_config(text, file="c.yaml")
    assert info.value.line == 3


def test_default_ports_leave_home_assistant_and_mosquitto_alone(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("# nothing yet\n")
    config = load_config(path)
    faces = {
        "config api.port": config.api.port,
        "config mqtt.builtin.port": config.mqtt.broker.port,
        "ApiServer default": server.DEFAULT_PORT,
        "CLI default URL": urllib.parse.urlsplit(client.DEFAULT_URL).port,
    }
    print("default ports:", ", ".join(f"{name} {port}" for name, port in faces.items()))
    taken = {8123: "Home Assistant", 1883: "Mosquitto"}
    assert [name for name, port in faces.items() if port in taken] == []
    assert config.api.port == server.DEFAULT_PORT == faces["CLI default URL"]
