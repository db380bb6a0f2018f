"""The shelly section of the config file, and the component tables under arbitrary status."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carhome.compose.config import parse_config
from carhome.connectors.shelly import KINDS, Component, ShellyConfig
from carhome.errors import ConfigError
from carhome.spec import SPECS
from yaml_mistakes import line_of, one_home

HUB_DEVICES = {
    ("h1", "grid"): ("grid_meter", "shelly"),
    ("h1", "boiler"): ("relay", "shelly"),
    ("h1", "lamp"): ("light", "shelly"),
    ("h1", "plug"): ("relay", "mqtt"),
}
URL = "mqtt://192.168.1.5:1883"


def problems(url: str = URL, **entry: Any) -> list[tuple[tuple[str | int, ...], str]]:
    config = msgspec.convert({"url": url, "devices": [{"home": "h1", **entry}]}, ShellyConfig)
    return config.problems(HUB_DEVICES)


def test_a_right_section_has_no_problems() -> None:
    assert problems(device="grid", prefix="shellypro3em-c8f09e8ad3d4", component="em:0") == []
    assert problems(device="boiler", prefix="shellyplus1pm-a8032ab12345", component="switch:0") == []


@pytest.mark.parametrize(
    ("entry", "where", "says"),
    [
        ({"device": "grid", "prefix": "p", "component": "cover:0"}, "component", "not a Shelly component"),
        ({"device": "lamp", "prefix": "p", "component": "switch:0"}, "component", "but h1/lamp is a light"),
        ({"device": "plug", "prefix": "p", "component": "switch:0"}, "device", "give it `connector: shelly`"),
        ({"device": "nope", "prefix": "p", "component": "em:0"}, "device", "no device h1/nope"),
        ({"device": "grid", "prefix": "shellies/#", "component": "em:0"}, "prefix", "not a topic prefix"),
    ],
)  # fmt: skip
def test_each_mistake_is_named_where_it_is(entry: dict[str, str], where: str, says: str) -> None:
    [(path, message)] = problems(**entry)
    assert path == ("devices", 0, where)
    assert says in message


def test_the_broker_url_is_checked() -> None:
    [(path, message)] = problems("http://192.168.1.5", device="grid", prefix="p", component="em:0")
    assert path == ("url",)
    assert "mqtt://host:port" in message


def test_a_config_file_with_a_shelly_section_loads_and_a_mistake_names_its_line() -> None:
    text = (
        one_home(
            "{id: grid, type: grid_meter, connector: shelly}", "{id: boiler, type: relay, connector: shelly}"
        )
        + """\
shelly:
  url: mqtt://192.168.1.5:1883
  devices:
    - {home: h1, device: grid, prefix: shellypro3em-c8f09e8ad3d4, component: "em:0"}
    - {home: h1, device: boiler, prefix: shellyplus1pm-a8032ab12345, component: "switch:0"}
"""
    )
    config = parse_config(text)
    assert config.shelly is not None
    assert [d.parsed.key for d in config.shelly.devices] == ["em:0", "switch:0"]
    assert "secret" not in repr(
        parse_config(
            text.replace(
                "  devices:\n    - {home: h1, device: grid",
                "  password: secret\n  devices:\n    - {home: h1, device: grid",
            )
        ).shelly
    )
    wrong = text.replace('component: "switch:0"', 'component: "em:1"')
    with pytest.raises(ConfigError) as caught:
        parse_config(wrong)
    assert f":{line_of(wrong, 'em:1')}:" in str(caught.value)
    assert "em:1 is a grid_meter, but h1/boiler is a relay" in str(caught.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(["em:0", "emdata:0", "em1:0", "em1data:0", "pm1:0", "switch:0", "sys", "ts"])
FIELD_NAMES = st.sampled_from(
    [
        "total_act_power",
        "a_current",
        "a_voltage",
        "total_act",
        "act_power",
        "apower",
        "aenergy",
        "output",
        "tC",
    ]
)
STATUS = st.dictionaries(KEYS, JSON | st.dictionaries(FIELD_NAMES, JSON, max_size=5), max_size=4)


@settings(max_examples=300, deadline=None)
@given(component=st.sampled_from(["em:0", "em1:0", "pm1:0", "switch:0"]), status=STATUS)
def test_any_status_gives_spec_properties_or_reasons_and_never_raises(
    component: str, status: dict[str, Any]
) -> None:
    parsed = Component.parse(component)
    values, wrong = parsed.values(status)
    assert set(values) <= set(SPECS[parsed.kind.device_type].properties)
    assert all(" is " in reason for reason in wrong)


def test_every_kind_maps_onto_its_spec() -> None:
    assert {k: m.device_type for k, m in KINDS.items()} == {
        "em": "grid_meter",
        "em1": "grid_meter",
        "pm1": "grid_meter",
        "switch": "relay",
    }
