"""Hypothesis on the automation parsers: durations, times of day, the next time of day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from carhome.automations.binding import BindError
from carhome.automations.durations import seconds, signed_seconds
from carhome.automations.schedules import clock_time, next_time_of_day
from carhome.cli.automations import automations

ZONES = ["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_durations_in_every_spelling_agree(h: int, m: int, s: int) -> None:
    total = h * 3600 + m * 60 + s
    assert seconds(f"{h:02d}:{m:02d}:{s:02d}", ()) == total
    assert seconds(f"{h}h{m}m{s}s", ()) == total
    assert signed_seconds(f"-{h}h{m}m{s}s", ()) == -total


def _outcome(parse: Callable[[], object]) -> tuple[object, str]:
    try:
        return parse(), ""
    except BindError as exc:
        return None, exc.message


@given(st.one_of(st.text(max_size=12), st.floats()))
def test_a_duration_parses_or_says_what_is_expected(text: str | float) -> None:
    value, message = _outcome(lambda: seconds(text, ("d",)))
    parsed = isinstance(value, float) and 0 <= value < float("inf")
    assert parsed or any(word in message for word in ("expected", "finite", "negative"))


@given(st.times())
def test_clock_time_round_trips(t: time) -> None:
    assert clock_time(t.strftime("%H:%M:%S"), ()) == t.replace(microsecond=0)


@given(st.text(max_size=10))
def test_clock_time_parses_or_says_what_is_expected(text: str) -> None:
    value, message = _outcome(lambda: clock_time(text, ()))
    assert isinstance(value, time) or "HH:MM" in message


@given(
    st.sampled_from(ZONES),
    st.times().map(lambda t: t.replace(microsecond=0, second=0)),
    st.floats(1.7e9, 1.9e9),
)
def test_next_time_of_day_is_the_first_after(zone: str, at: time, after: float) -> None:
    tz = ZoneInfo(zone)
    due = next_time_of_day(at, tz, after)
    assert after < due <= after + 2 * 86_400 + 3_600
    shown = datetime.fromtimestamp(due, tz).time()
    # shows `at`, unless a DST gap skipped it that day (then within the gap's hour after)
    assert (
        shown == at
        or 0 < (datetime.combine(datetime.min, shown) - datetime.combine(datetime.min, at)).seconds <= 3600
    )


def test_a_skipped_time_of_day_fires_after_the_gap_whatever_its_fold() -> None:
    # Lord Howe's clock goes 02:00 -> 02:30 on 2026-10-04; found by Hypothesis with fold=1.
    tz = ZoneInfo("Australia/Lord_Howe")
    after = datetime(2026, 10, 3, 12, 0, tzinfo=tz).timestamp()
    for fold in (0, 1):
        due = next_time_of_day(time(2, 0, fold=fold), tz, after)
        assert datetime.fromtimestamp(due, tz).replace(tzinfo=None) == datetime(2026, 10, 4, 2, 30)


def test_the_cli_says_how_to_reach_a_hub(tmp_path: Path) -> None:
    file = tmp_path / "a.yaml"
    file.write_text("[]")
    result = CliRunner().invoke(automations, ["check", str(file), "--hub", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot reach the hub at http://127.0.0.1:9: " in result.output
