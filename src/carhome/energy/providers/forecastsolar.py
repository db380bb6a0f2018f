"""forecast.solar: a solar plane's production forecast from the public API, over httpx.

``GET https://api.forecast.solar[/{key}]/estimate/{lat}/{lon}/{declination}/{azimuth}/{kwp}
?time=iso8601`` answers ``{result: {watts, watt_hours_period, watt_hours, watt_hours_day},
message: {code, type, text, info, ratelimit}}``. ``watt_hours_period`` is the energy of the
period that ends at each time stamp — sunrise and sunset fall between the hours — so it
is spread over its period and summed into quarter hours: no energy is lost or invented.
Azimuth is -180 … 180 with 0 south, -90 east, 90 west. The free plan allows 12 requests
an hour; a refused request (429) says when to come back (``retry-at``).

The ``forecast-solar`` client is async but built on aiohttp, a second HTTP stack beside
httpx; the API is one GET, decoded here and recorded at the HTTP seam in the tests.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Final

import httpx
import msgspec

from carhome.energy.providers.fetching import get_bytes
from carhome.energy.providers.plane import Plane
from carhome.energy.providers.slots import energy_to_quarter_hours
from carhome.energy.providers.source import BadAnswer, Kind, ProviderError
from carhome.prices.series import SlotSeries

BASE: Final = "https://api.forecast.solar"
EVERY: Final = timedelta(hours=1)


class ForecastSolarConfig(
    Plane, frozen=True, forbid_unknown_fields=True, kw_only=True, tag="forecast_solar", tag_field="provider"
):
    """One solar plane: where, how it is tilted and turned, how big."""

    key: str | None = None
    """An API key of a paid plan (optional)."""

    def __repr__(self) -> str:  # never print the key
        return f"ForecastSolarConfig(lat={self.lat}, lon={self.lon}, kwp={self.kwp})"


class _Result(msgspec.Struct):
    watt_hours_period: dict[str, float]


class _RateLimit(msgspec.Struct):
    retry_at: str | None = msgspec.field(default=None, name="retry-at")


class _Message(msgspec.Struct):
    code: int = 0
    type: str = ""
    text: str = ""
    ratelimit: _RateLimit | None = None


class _Answer(msgspec.Struct):
    message: _Message
    result: _Result | str | None = None


def parse(body: bytes, now: datetime) -> SlotSeries:
    """forecast.solar's estimate as average kW per quarter hour."""
    try:
        answer = msgspec.json.decode(body, type=_Answer)
    except msgspec.DecodeError as exc:
        raise BadAnswer("forecast_solar", "unexpected", f"not the documented answer: {exc}") from exc
    message = answer.message
    if message.code != 0 or not isinstance(answer.result, _Result):
        retry = None
        if message.ratelimit is not None and message.ratelimit.retry_at:
            try:
                retry = max(0.0, (datetime.fromisoformat(message.ratelimit.retry_at) - now).total_seconds())
            except ValueError:
                retry = None
        raise ProviderError("forecast_solar", f"{message.code}: {message.text[:160]}", retry_after=retry)
    stamps: list[tuple[datetime, float]] = []
    for text, wh in answer.result.watt_hours_period.items():
        try:
            when = datetime.fromisoformat(text)
        except ValueError as exc:
            raise BadAnswer("forecast_solar", "bad_value", f"{text[:40]!r} is not an ISO 8601 time") from exc
        if when.tzinfo is None:
            raise BadAnswer(
                "forecast_solar", "bad_value", f"{text[:40]!r} has no offset; ask with time=iso8601"
            )
        stamps.append((when, wh))
    stamps.sort()
    periods = [(a, b, wh / 1000.0) for (a, _), (b, wh) in itertools.pairwise(stamps)]
    return energy_to_quarter_hours("forecast_solar", periods, now)


class ForecastSolar:
    """The ``Provider`` for one plane."""

    name: Final = "forecast_solar"
    title: Final = "Forecast.Solar"
    kind: Final[Kind] = "solar"

    def __init__(self, config: ForecastSolarConfig) -> None:
        self._config = config

    async def fetch(self, client: httpx.AsyncClient, now: datetime) -> SlotSeries:
        c = self._config
        key = f"/{c.key}" if c.key else ""
        url = f"{BASE}{key}/estimate/{c.lat:g}/{c.lon:g}/{c.declination:g}/{c.azimuth:g}/{c.kwp:g}"
        # a refusal (429, 422) comes as JSON with the reason: read it as an answer
        _, body = await get_bytes(
            client, self.name, "GET", url, params={"time": "iso8601"}, ok=(200, 422, 429)
        )
        return parse(body, now)

    def next_refresh(self, now: datetime, series: SlotSeries) -> datetime:
        return now + EVERY
