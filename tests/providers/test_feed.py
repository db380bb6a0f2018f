"""A provider kept fresh: its schedule, the last good data through an outage, the cache,
and bad answers counted among the hub's rejections — time from the fake clock only."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carhome.energy.providers import (
    BadAnswer,
    Feed,
    ProviderError,
    awattar,
    entsoe,
    forecastsolar,
    octopus,
    openmeteo,
    tibber,
)
from carhome.energy.providers.awattar import Awattar, AwattarConfig
from carhome.energy.providers.source import day_ahead_refresh
from carhome.hub import Hub
from carhome.prices.series import SlotSeries
from carhome.testing import FakeClock

FIXTURES = Path(__file__).parent / "fixtures"
AWATTAR = "https://api.awattar.de/v1/marketdata"
GUARD_S = 10.0  # real seconds before a wait that should have ended long ago fails
START = datetime(2023, 10, 26, 9, 30, tzinfo=UTC)


async def refreshed(feed: Feed) -> None:
    async with asyncio.timeout(GUARD_S):
        await feed.refreshed.wait()
    feed.refreshed.clear()


@pytest.fixture
def morning(clock: FakeClock) -> FakeClock:
    clock.set(START.timestamp())
    return clock


async def test_an_outage_keeps_the_last_prices_and_says_how_old_they_are(
    hub: Hub, morning: FakeClock, tmp_path: Path
) -> None:
    got: list[SlotSeries] = []
    answers = iter([httpx.Response(200, content=(FIXTURES / "awattar_de.json").read_bytes())])

    def answer(request: httpx.Request) -> httpx.Response:
        # the recorded answer once, then the service is down: 503s and refused connections
        found = next(answers, None)
        if found is not None:
            return found
        if len(route.calls) % 2:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(503)

    with respx.mock:
        route = respx.get(AWATTAR).mock(side_effect=answer)
        async with Feed(Awattar(AwattarConfig()), hub=hub, home="h1", cache_file=tmp_path / "p.json") as feed:
            feed.subscribe(got.append)
            await refreshed(feed)
            assert feed.status().stale is False
            assert feed.status().warning is None
            first = feed.series
            await morning.advance(feed.next_at - morning.time())  # 14:00 in Vienna: the next day's prices
            await refreshed(feed)
            await morning.advance(3 * 3600)
            await refreshed(feed)
            status = feed.status()
    hours = (morning.time() - START.timestamp()) / 3600
    assert route.call_count >= 4  # asked again with growing pauses through the outage
    assert feed.series is first  # the plan kept the good prices
    assert got == [first]
    assert status.stale is True
    assert status.age_s == pytest.approx(hours * 3600)
    assert status.warning == f"aWATTar: {status.error}; planning with prices fetched {int(hours)} h ago"
    assert status.known_until == datetime(2023, 10, 26, 22, tzinfo=UTC)
    assert hub.rejections.total == 0  # an outage is not bad input
    print(
        f"outage: {route.call_count} asks, the plan keeps prices {hours:.1f} h old, warning: {status.warning}"
    )


async def test_a_bad_answer_is_counted_and_logged_once(
    hub: Hub, morning: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with respx.mock:
        route = respx.get(AWATTAR).respond(200, content=b'{"object":"list","data":[{"start_timestamp":"x"}]}')
        async with Feed(Awattar(AwattarConfig()), hub=hub, home="h1") as feed:
            for _ in range(3):
                await refreshed(feed)
                await morning.advance(feed.next_at - morning.time())
    assert route.call_count >= 3
    assert hub.rejections.counts["awattar_unexpected"] >= 3
    logged = [
        r for r in caplog.records if r.name == "carhome.rejected" and "awattar_unexpected" in r.getMessage()
    ]
    assert len(logged) == 1
    assert feed.series is None
    assert (feed.status().warning or "").startswith("no prices from aWATTar yet")


async def test_retries_back_off_and_wait_as_long_as_asked(hub: Hub, morning: FakeClock) -> None:
    with respx.mock:
        respx.get(AWATTAR).respond(429, headers={"Retry-After": "900"})
        async with Feed(Awattar(AwattarConfig()), hub=hub, home="h1") as feed:
            await refreshed(feed)
            first_wait = feed.next_at - morning.time()
    assert first_wait == pytest.approx(900.0)


async def test_the_cache_carries_the_last_prices_across_a_restart(
    hub: Hub, morning: FakeClock, tmp_path: Path
) -> None:
    cache = tmp_path / "energy" / "h1-prices.json"
    with respx.mock:
        respx.get(AWATTAR).respond(200, content=(FIXTURES / "awattar_de.json").read_bytes())
        async with Feed(Awattar(AwattarConfig()), hub=hub, home="h1", cache_file=cache) as feed:
            await refreshed(feed)
            kept = feed.series
    assert cache.stat().st_mode & 0o777 == 0o600
    await morning.advance(2 * 3600)
    with respx.mock:
        respx.get(AWATTAR).respond(502)
        async with Feed(Awattar(AwattarConfig()), hub=hub, home="h1", cache_file=cache) as again:
            assert again.series == kept  # before any answer: the plan starts from the cache
            await refreshed(again)
            status = again.status()
    assert again.series == kept
    assert status.age_s == pytest.approx(2 * 3600)
    assert status.stale
    assert "502" in (status.error or "")


def test_day_ahead_prices_are_asked_for_when_they_are_published() -> None:
    vienna = ZoneInfo("Europe/Vienna")
    published = (time(14), vienna)
    today = datetime(2025, 3, 5, 0, tzinfo=vienna)
    only_today = SlotSeries.of(today, [0.1] * 96)
    with_tomorrow = SlotSeries.of(today, [0.1] * 192)
    morning = datetime(2025, 3, 5, 9, 17, tzinfo=vienna)
    assert day_ahead_refresh(morning, only_today, published) == datetime(2025, 3, 5, 14, tzinfo=vienna)
    late = datetime(2025, 3, 5, 14, 5, tzinfo=vienna)
    assert day_ahead_refresh(late, only_today, published) == late + timedelta(minutes=15)
    assert day_ahead_refresh(late, with_tomorrow, published) == datetime(2025, 3, 6, 14, tzinfo=vienna)


PARSERS = [
    tibber.parse,
    lambda body, now: octopus.series_of(octopus.parse_page(body)[0], now),
    entsoe.parse,
    awattar.parse,
    forecastsolar.parse,
    lambda body, now: openmeteo.parse(body, now, kwp=5.0),
]
JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(range(len(PARSERS))),
    st.one_of(st.binary(max_size=400), JSONISH.map(lambda v: repr(v).encode())),
)
def test_no_answer_breaks_a_parser(which: int, body: bytes) -> None:
    """Whatever a provider sends, its parser answers with a series or one of our errors."""
    with contextlib.suppress(BadAnswer, ProviderError):
        PARSERS[which](body, datetime(2025, 1, 1, tzinfo=UTC))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(1, 8), st.floats(-500, 500)), max_size=30))
def test_market_data_with_any_intervals_parses_or_is_refused(rows: list[tuple[int, int, float]]) -> None:
    base = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)
    data = [
        {
            "start_timestamp": base + q * 900_000 + (7 if q % 11 == 5 else 0),
            "end_timestamp": base + (q + n) * 900_000,
            "marketprice": v,
            "unit": "Eur/MWh",
        }
        for q, n, v in rows
    ]
    body = httpx.Response(200, json={"object": "list", "data": data}).content
    try:
        series = awattar.parse(body, datetime(2025, 1, 1, tzinfo=UTC))
    except (BadAnswer, ProviderError):
        return
    assert series.slot == timedelta(minutes=15)
    assert all(-1.0 <= v <= 1.0 for v in series.values)
