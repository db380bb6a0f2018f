"""Price and forecast files: hand cases for each refusal, Hypothesis for the rest."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carhome.energy import load_series, parse_csv, parse_json
from carhome.errors import ConfigError

T0 = datetime(2025, 3, 1, tzinfo=UTC)
Q = timedelta(minutes=15)


def csv_text(values: list[float], *, skip: int | None = None, repeat: int | None = None) -> str:
    lines = ["start,value"]
    for i, v in enumerate(values):
        if i == skip:
            continue
        lines.append(f"{(T0 + i * Q).isoformat()},{v!r}")
        if i == repeat:
            lines.append(f"{(T0 + i * Q).isoformat()},{v!r}")
    return "\n".join(lines) + "\n"


def json_text(values: list[float]) -> str:
    slots = [{"start": (T0 + i * Q).isoformat(), "value": v} for i, v in enumerate(values)]
    return json.dumps({"unit": "EUR/kWh", "slots": slots}, indent=1)


def test_csv_reads_slots_and_their_length() -> None:
    series = parse_csv(
        "# day-ahead\nstart,value\n2025-03-01T00:00:00+01:00,0.2\n2025-03-01T01:00:00+01:00,-0.1\n"
    )
    assert series.slot == timedelta(hours=1)
    assert series.values == (0.2, -0.1)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (csv_text([0.1, 0.2, 0.3, 0.4], skip=1), 3, "gap"),
        (csv_text([0.1, 0.2, 0.3], repeat=1), 4, "overlap"),
        ("start,value\n2025-03-01T00:00:00Z,0.1\n2025-03-01T00:15:00Z,abc\n", 3, "not a number"),
        ("start,value\n2025-03-01T00:00:00Z,nan\n", 2, "not a finite number"),
        ("start,value\n2025-03-01T00:00:00,0.1\n", 2, "needs an offset"),
        ("start,value\nyesterday,0.1\n", 2, "not an ISO 8601 time"),
        ("start,price\n", 1, "header"),
        ("start,value\n2025-03-01T00:00:00Z,0.1,3\n", 2, "columns"),
        (
            "start,end,value\n2025-03-01T00:00:00Z,2025-03-01T00:15:00Z,1\n"
            "2025-03-01T00:15:00Z,2025-03-01T01:00:00Z,1\n",
            3,
            "must last",
        ),
    ],
)
def test_csv_refusals_name_the_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        parse_csv(text, source="prices.csv")
    assert caught.value.line == line
    assert caught.value.file == "prices.csv"


def test_power_files_refuse_negative_values() -> None:
    with pytest.raises(ConfigError, match="negative") as caught:
        parse_csv("start,value\n2025-03-01T00:00:00Z,-1\n", non_negative=True)
    assert caught.value.line == 2


def test_json_refusals_name_the_line() -> None:
    text = json_text([0.1, 0.2, 0.3]).replace('"2025-03-01T00:30:00+00:00"', '"2025-03-01T00:45:00+00:00"')
    with pytest.raises(ConfigError, match="gap") as caught:
        parse_json(text, source="p.json")
    slot_opens = text[: text.index("00:45")].rfind("{")  # a slot's line is where its object opens
    assert caught.value.line == text[:slot_opens].count("\n") + 1
    with pytest.raises(ConfigError, match="unknown key 'price'") as caught:
        parse_json('[\n{"start": "2025-03-01T00:00:00Z", "value": 1},\n{"start": "x", "price": 1}]')
    assert caught.value.line == 3
    with pytest.raises(ConfigError, match="not valid JSON") as caught:
        parse_json('{"slots": [\n,]}')
    assert caught.value.line == 2
    with pytest.raises(ConfigError, match="must be a number"):
        parse_json('[{"start": "2025-03-01T00:00:00Z", "value": true}]')


def test_load_series_reads_both_formats(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(csv_text([0.1, 0.2]))
    (tmp_path / "p.json").write_text(json_text([0.1, 0.2]))
    assert load_series(tmp_path / "p.csv").values == load_series(tmp_path / "p.json").values == (0.1, 0.2)
    with pytest.raises(ConfigError, match="cannot read"):
        load_series(tmp_path / "missing.csv")


def test_the_shipped_examples_load() -> None:
    examples = Path(__file__).parents[2] / "examples" / "prices"
    files = sorted(examples.glob("*.*"))
    assert files
    for file in files:
        assert load_series(file).values


values_st = st.lists(st.floats(-1.0, 5.0, allow_nan=False, allow_infinity=False), min_size=2, max_size=40)


@given(values_st)
def test_csv_and_json_round_trip(values: list[float]) -> None:
    assert parse_csv(csv_text(values)).values == tuple(values)
    assert parse_json(json_text(values)).values == tuple(values)


@given(values_st, st.data())
def test_a_missing_slot_is_a_gap_on_the_next_line(values: list[float], data: st.DataObject) -> None:
    # with fewer than four slots a missing one could be a longer slot length; it is not a gap
    values = [*values, *values]
    skip = data.draw(st.integers(1, len(values) - 2))
    with pytest.raises(ConfigError, match="gap") as caught:
        parse_csv(csv_text(values, skip=skip))
    assert caught.value.line == skip + 2  # header is line 1, slot i is line i + 2


@given(values_st, st.data())
def test_a_repeated_slot_is_an_overlap(values: list[float], data: st.DataObject) -> None:
    repeat = data.draw(st.integers(1, len(values) - 1))
    with pytest.raises(ConfigError, match="overlap") as caught:
        parse_csv(csv_text(values, repeat=repeat))
    assert caught.value.line == repeat + 3


@given(st.text(max_size=200))
def test_any_text_is_a_series_or_a_config_error(text: str) -> None:
    for parse in (parse_csv, parse_json):
        with contextlib.suppress(ConfigError):
            parse(text)


def test_json_errors_name_the_slot_line_in_both_forms() -> None:
    slots = ",\n".join(
        ['{"start": "2025-03-01T00:00:00Z", "value": 1}', '{"start": "2025-03-01T00:15:00Z", "value": "x"}']
    )
    for text, line in [(f"[\n{slots}\n]", 3), (f'{{"unit": "EUR/kWh", "slots": [\n{slots}\n]}}', 3)]:
        with pytest.raises(ConfigError, match="a value must be a number") as caught:
            parse_json(text, source="p.json")
        assert (caught.value.file, caught.value.line) == ("p.json", line)
    with pytest.raises(ConfigError, match="'unit' must be a string"):
        parse_json('{"unit": 1, "slots": []}')
    with pytest.raises(ConfigError, match="unknown key 'price'; allowed: 'unit', 'slots'"):
        parse_json('{"price": 1, "slots": []}')


def test_a_series_past_its_size_is_refused_unread(tmp_path: Path) -> None:
    from carhome.energy.seriesfile import MAX_CHARS  # noqa: PLC0415

    text = "start,value\n" + "2025-03-01T00:00:00Z,0.1\n" * (MAX_CHARS // 24)
    for parse in (parse_csv, parse_json):
        with pytest.raises(ConfigError, match=f"longer than {MAX_CHARS} characters"):
            parse(text)
    (tmp_path / "big.csv").write_text(text)
    with pytest.raises(ConfigError, match="longer than"):
        load_series(tmp_path / "big.csv")
    deep = "[" * 50_000 + "]" * 50_000  # typed decoding stops at the first level without a slot
    with pytest.raises(ConfigError, match="a slot must be an object"):
        parse_json(deep)
