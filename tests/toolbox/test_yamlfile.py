"""``carhome.yamlfile``: one decoder for the configuration and automation files — a key
written twice refused with its line in both, keys kept as written in both, unknown keys
refused with file, line, path and the keys allowed."""

from __future__ import annotations

import textwrap

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automations.automation_rig import LOW_BATTERY
from carhome import boundedyaml, yamlfile
from carhome.automations import load_text
from carhome.compose.config import parse_config
from carhome.errors import ConfigError

AUTOMATION = (
    LOW_BATTERY
    + """\
  - id: late
    triggers: [{trigger: time, at: "22:00"}]
    actions: [{action: notify, member: owner, message: late}]
"""
)


def _line(text: str, marker: str, nth: int = 1) -> int:
    return [i for i, line in enumerate(text.splitlines(), 1) if marker in line][nth - 1]


def test_a_key_written_twice_in_an_automation_file_is_refused_with_its_line() -> None:
    text = AUTOMATION.replace("message: low\n", "message: low\n        message: twice\n")
    loaded = load_text(text, "mine.yaml")
    [error] = loaded.errors
    assert loaded.automations == []  # like a YAML error: the text is refused whole
    assert (error.file, error.line) == ("mine.yaml", _line(text, "message: twice"))
    assert error.path == "automations[0].actions[0].message"
    assert str(error) == (
        f"mine.yaml:{error.line}: automations[0].actions[0].message: this key appears twice in the"
        " same mapping (the second would silently win); keep one"
    )
    in_flow = AUTOMATION.replace('at: "22:00"}', 'at: "22:00", at: "23:00"}')
    [error] = load_text(in_flow, "mine.yaml").errors
    assert (error.line, error.path) == (_line(in_flow, "23:00"), "automations[1].triggers[0].at")


def test_a_key_written_twice_in_the_config_is_refused_with_its_line() -> None:
    text = "homes:\n  - id: h1\n    name: Home\n    lat: 1\n    lon: 2\n    lat: 3\n"
    with pytest.raises(ConfigError) as refused:
        parse_config(text, file="carhome.yaml")
    assert (refused.value.file, refused.value.line, refused.value.path) == ("carhome.yaml", 6, "homes[0].lat")


def test_keys_are_kept_as_written_in_both() -> None:
    # YAML 1.1 reads the key `on` as true and `12345` as a number; a key is its text here.
    config = parse_config(
        textwrap.dedent("""\
            homes:
              - {id: h1, name: Home, lat: 1, lon: 2, devices: [{id: box, type: wallbox, connector: ocpp}]}
            ocpp:
              chargers: {CP1: {home: h1, device: box, password: sixteen-chars-long}}
              id_tokens: {12345: ana, on: bo}
            """)
    )
    assert config.ocpp is not None
    assert config.ocpp.id_tokens == {"12345": "ana", "on": "bo"}
    scene = AUTOMATION.replace("home: h1\n", "home: h1\nscenes:\n  evening:\n    porch: {on: true, 1: 2}\n")
    [(automation, _), _] = load_text(scene).automations
    assert automation.scenes == {"evening": {"porch": {"on": True, "1": 2}}}


def test_merge_keys_are_resolved_and_what_is_written_beside_them_wins() -> None:
    text = textwrap.dedent("""\
        defaults: &base {device: car, property: soc, below: 20}
        value:
          <<: *base
          below: 10
        """)
    parsed = yamlfile.parse(text, file="m.yaml", limits=boundedyaml.CONFIG)
    assert parsed.data()["value"] == {"device": "car", "property": "soc", "below": 10}
    assert parsed.line_of(("value", "device")) == 1  # where the merged mapping writes it
    assert parsed.line_of(("value", "below")) == 4


class _Box(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    size: int = 1


class _Shelf(msgspec.Struct, forbid_unknown_fields=True):
    boxes: list[_Box]


@pytest.mark.parametrize(
    ("text", "line", "path", "message"),
    [
        (
            "boxes:\n  - name: a\n  - name: b\n    colour: red\n",
            4,
            "boxes[1].colour",
            "unknown key 'colour'; allowed here: name, size",
        ),
        ("boxes:\n  - name: a\n  - size: 2\n", 3, "boxes[1]", "missing required key 'name'"),
        ("boxes:\n  - name: a\n    size: big\n", 3, "boxes[0].size", "expected `int`, got `str`"),
        ("boxes: {name: a}\n", 1, "boxes", "expected `array`, got `object`"),
        ("- boxes\n", 1, "(top level)", "expected `object`, got `array`"),
    ],
)
def test_a_refusal_names_the_file_line_path_and_what_is_expected(
    text: str, line: int, path: str, message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        yamlfile.decode(text, _Shelf, file="shelf.yaml", limits=boundedyaml.CONFIG)
    assert (refused.value.file, refused.value.line, refused.value.path) == ("shelf.yaml", line, path)
    assert str(refused.value) == f"shelf.yaml:{line}: {path}: {message}"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a: !!python/object:os.system {}\n", "not valid YAML"),
        ("a: !custom [1]\n", "not taken here"),
        ("? [1, 2]\n: x\n", "a key must be a plain name"),
        ("a: !!timestamp nope\n", "not valid YAML"),
        ("a: &x {b: 1}\nc:\n  <<: [*x, 3]\n", r"a merge key \(<<\) takes a mapping"),
    ],
)
def test_what_yaml_cannot_say_plainly_is_refused_with_a_line(text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as refused:
        yamlfile.parse(text, file="x.yaml", limits=boundedyaml.CONFIG).data()
    assert refused.value.line is not None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_automations_or_errors_with_their_file(text: str) -> None:
    loaded = load_text(text, "fuzz.yaml")
    assert all(error.file == "fuzz.yaml" for error in loaded.errors)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=8))
_keys = st.sampled_from(["id", "triggers", "actions", "trigger", "device", "on", "1", "action", "home", "x"])
_trees = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(_keys, _trees, max_size=5), max_size=4))
def test_any_shape_of_automations_is_loaded_or_refused_with_a_line(items: list[dict[str, object]]) -> None:
    import yaml  # noqa: PLC0415 - only to write the shapes out

    text = yaml.safe_dump({"home": "h1", "automations": items})
    loaded = load_text(text, "fuzz.yaml")
    lines = max(1, len(text.splitlines()))
    for error in loaded.errors:
        assert error.line is None or 1 <= error.line <= lines
    assert len(loaded.automations) + len(loaded.errors) >= min(1, len(items))


@pytest.mark.parametrize(
    ("text", "line", "path"),
    [
        ("a: &x {k: 1, k: 2}\nb: [*x]\n", 1, "a.k"),  # where it is first written, not the alias
        ("a: [1, {b: [{c: 1, c: 2}]}]\nz: {y: 1, y: 2}\n", 1, "a[1].b[0].c"),  # the first of two
        ("a: {}\nb:\n  - {}\n  - {c: {d: 1, e: 2, d: 3}}\n", 4, "b[1].c.d"),
    ],
)
def test_a_key_written_twice_is_found_at_its_path(text: str, line: int, path: str) -> None:
    with pytest.raises(ConfigError, match="appears twice") as refused:
        yamlfile.parse(text, file="f.yaml", limits=boundedyaml.AUTOMATIONS)
    assert (refused.value.line, refused.value.path) == (line, path)
