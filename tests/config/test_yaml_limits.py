"""YAML within limits (``carhome.boundedyaml``): bombs are refused with the line where they
went past a limit, before anything is built; what stays inside loads as PyYAML reads it.
The configuration file and automation files both parse through it."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from carhome import boundedyaml
from carhome.automations import load_text
from carhome.automations.loader import MAX_AUTOMATIONS
from carhome.boundedyaml import YamlLimits
from carhome.compose.config import load_config, parse_config
from carhome.errors import ConfigError
from yaml_mistakes import one_home

TIGHT = YamlLimits(chars=4096, depth=6, aliases=10, nodes=100)


def alias_bomb(levels: int, width: int) -> str:
    lines = ["l0: &l0 [" + ",".join(["lol"] * width) + "]"]
    for low, high in itertools.pairwise(range(levels + 1)):
        lines.append(f"l{high}: &l{high} [" + ",".join([f"*l{low}"] * width) + "]")
    return "\n".join(lines) + "\n"


def refusal(text: str, limits: YamlLimits = TIGHT) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        boundedyaml.compose(text, file="f.yaml", limits=limits)
    return caught.value


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: 1\n" + "b: " + "x" * 5000 + "\n", None, "5009 characters long, more than the 4096 allowed"),
        (alias_bomb(2, 5), 3, "more than 100 values once its aliases are expanded"),  # at l2
        ("a: &a [x]\n" + "".join(f"k{i}: *a\n" for i in range(11)), 12, "more than 10 aliases"),
        ("top:\n  - &a [1, *a]\n", 2, "an alias refers to a node that contains it"),
        ("a:\n b:\n  c:\n   d:\n    e:\n     f:\n      g: [1]\n", 7, "nested more than 6 levels deep"),
        ("a: &a [[[[[1]]]]]\nb: [*a]\n", 1, "nested more than 6 levels deep"),  # deep only through the alias
        ("[" + ",".join(["1"] * 100) + "]", 1, "more than 100 values; split it"),
        ("a: [1\n", 2, "not valid YAML"),
        ("a: 1\n---\nb: 2\n", 2, "not valid YAML"),
    ],
    ids=["size", "alias-bomb", "aliases", "recursive", "depth", "depth-by-alias", "values", "syntax", "two"],
)
def test_bombs_are_refused_with_their_line(text: str, line: int | None, words: str) -> None:
    error = refusal(text)
    assert words in error.reason
    assert (error.file, error.line) == ("f.yaml", line)


def test_values_are_counted_as_they_stream_by_and_refused_where_the_limit_is_passed() -> None:
    # the sequence is value 1, so the item on line 100 is value 101: refused there, with
    # the 99,900 items after it never made into nodes
    text = "".join("- a\n" for _ in range(100_000))
    error = refusal(text, YamlLimits(chars=10**6, depth=32, aliases=10, nodes=100))
    assert (error.line, error.reason) == (100, "the YAML holds more than 100 values; split it")


def naive_values(node: yaml.Node) -> int:
    """Values with aliases expanded, by walking every path (fine for small documents)."""
    if isinstance(node, yaml.SequenceNode):
        return 1 + sum(naive_values(item) for item in node.value)
    if isinstance(node, yaml.MappingNode):
        return 1 + sum(naive_values(k) + naive_values(v) for k, v in node.value)
    return 1


@settings(max_examples=60, deadline=None)
@given(levels=st.integers(1, 4), width=st.integers(1, 5), nodes=st.integers(5, 400))
def test_values_with_aliases_expanded_are_counted_exactly(levels: int, width: int, nodes: int) -> None:
    text = alias_bomb(levels, width)
    limits = YamlLimits(chars=4096, depth=50, aliases=1000, nodes=nodes)
    expanded = naive_values(yaml.compose(text, Loader=yaml.SafeLoader))
    if expanded > nodes:
        assert "values once its aliases are expanded" in refusal(text, limits).reason
    else:
        document = boundedyaml.compose(text, file="f.yaml", limits=limits)
        assert document.value() == yaml.safe_load(text)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="ab:&*[]{}-, \n0l", max_size=60))
def test_any_text_composes_or_is_a_config_error(text: str) -> None:
    try:
        boundedyaml.compose(text, file="f.yaml", limits=TIGHT)
    except ConfigError as exc:
        error = exc
    else:
        return
    assert error.file == "f.yaml"


def test_anchors_and_merge_keys_inside_the_limits_load() -> None:
    config = parse_config(
        one_home("&purifier {id: p1, type: air_purifier, room: hall}", "{<<: *purifier, id: p2}")
    )
    assert [(d.id, d.type, d.room) for d in config.homes[0].devices] == [
        ("p1", "air_purifier", "hall"),
        ("p2", "air_purifier", "hall"),
    ]


def test_the_config_file_is_read_no_further_than_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "carhome.yaml"
    path.write_text("homes: []\n# " + "x" * boundedyaml.CONFIG.chars + "\n")
    with pytest.raises(ConfigError, match="longer than the 131072 characters allowed") as caught:
        load_config(path)
    assert caught.value.file == str(path)
    zero = Path("/dev/zero")
    if zero.exists():  # a file that never ends: refused after its first 128 KiB
        began = time.perf_counter()
        with pytest.raises(ConfigError, match="longer than"):
            load_config(zero)
        assert time.perf_counter() - began < 5


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (alias_bomb(9, 10), "once its aliases are expanded"),
        (
            "homes:\n"
            + "".join(f"  - &h{i} {{id: h{i}}}\n" for i in range(1030))
            + "x: ["
            + ",".join(f"*h{i}" for i in range(1030))
            + "]\n",
            "aliases",
        ),
        ("homes: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels"),
    ],
    ids=["billion-laughs", "aliases", "depth"],
)
def test_the_config_refuses_bombs_with_file_and_line(text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        parse_config(text, file="carhome.yaml")
    assert caught.value.file == "carhome.yaml"
    assert caught.value.line is not None


def test_automation_files_refuse_bombs_as_errors_of_the_file() -> None:
    loaded = load_text(alias_bomb(9, 10), "a.yaml")
    assert loaded.automations == []
    [error] = loaded.errors
    assert boundedyaml.AUTOMATIONS.nodes == 64_000
    assert (error.file, error.line) == ("a.yaml", 5)  # l4: the first to hold more than 64,000
    assert "more than 64000 values once its aliases are expanded" in error.reason
    too_many = load_text("[" + ",".join(["{id: x}"] * (MAX_AUTOMATIONS + 1)) + "]", "b.yaml")
    assert [e.reason for e in too_many.errors] == [
        "1001 automations in one file, more than 1000; split them into several files"
    ]
    broken = load_text("[" + ",".join(["1"] * 50) + "]", "c.yaml")
    assert len(broken.errors) == 21  # twenty explained, and one counting the rest
    assert broken.errors[-1].reason == "and 30 more automations that do not decode; fix those above first"


def test_the_mqtt_payload_limit_is_configured() -> None:
    assert parse_config("mqtt: {max_payload: 2048}\n").mqtt.max_payload == 2048
    assert parse_config("").mqtt.max_payload == 64 * 1024
    with pytest.raises(ConfigError, match="max_payload"):
        parse_config("mqtt: {max_payload: 10}\n")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="?-:[]{},\n ab&!|>'\"#", max_size=40))
def test_a_text_without_aliases_holds_at_most_three_values_per_character(text: str) -> None:
    # the bound that lets a short text without aliases skip the count before composing
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return
    if root is not None:
        assert naive_values(root) <= 3 * len(text)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[" * 2000 + "]" * 2000, 1),  # past libyaml's own 1,000 levels
        ("a:\n" + "- " * 3000 + "x\n", 2),
        ("a:\n  " + "[" * 40 + "]" * 40 + "\n", 2),  # short: composed, then measured
    ],
    ids=["flow", "block", "short"],
)
def test_a_deep_text_is_refused_for_its_depth_however_deep(text: str, line: int) -> None:
    error = refusal(text, boundedyaml.AUTOMATIONS)
    assert (error.line, error.reason) == (line, "the YAML is nested more than 32 levels deep; flatten it")


def test_a_short_text_without_aliases_is_still_measured_for_its_depth() -> None:
    # 15 characters, no alias: not counted before it is composed, refused when measured
    assert refusal("[[[[[[[1]]]]]]]").reason == "the YAML is nested more than 6 levels deep; flatten it"
