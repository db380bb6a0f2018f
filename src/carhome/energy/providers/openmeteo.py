"""Open-Meteo: a solar plane's production from the forecast of tilted irradiance, over httpx.

``GET https://api.open-meteo.com/v1/forecast?latitude&longitude&hourly=global_tilted_irradiance
&tilt&azimuth&timezone=GMT`` answers ``{utc_offset_seconds, hourly_units: {time, …},
hourly: {time: [...], global_tilted_irradiance: [...]}}`` (or the same under
``minutely_15``). An irradiance value is the mean over the step that ends at its time
stamp, in W/m²; the plane makes ``kWp · G / 1000 · performance`` kW of it. Azimuth is
0 south, -90 east, 90 west. No key for non-commercial use.

The ``open-meteo`` client is async but built on aiohttp, a second HTTP stack beside
httpx; the API is one GET, decoded here and recorded at the HTTP seam in the tests.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

import httpx
import msgspec

from carhome.energy.providers.fetching import get_bytes
from carhome.energy.providers.plane import Plane
from carhome.energy.providers.slots import Interval, quarter_hours
from carhome.energy.providers.source import BadAnswer, Kind, ProviderError
from carhome.prices.series import SlotSeries

URL: Final = "https://api.open-meteo.com/v1/forecast"
EVERY: Final = timedelta(hours=1)
VARIABLE: Final = "global_tilted_irradiance"


class OpenMeteoConfig(
    Plane, frozen=True, forbid_unknown_fields=True, kw_only=True, tag="open_meteo", tag_field="provider"
):
    """One solar plane for Open-Meteo's irradiance forecast."""

    performance: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.85
    """The share of the irradiance's power the plane and inverter deliver."""


class _Units(msgspec.Struct):
    time: str = "iso8601"


class _Block(msgspec.Struct):
    time: list[str | int]
    global_tilted_irradiance: list[float | None]


class _Answer(msgspec.Struct):
    utc_offset_seconds: int = 0
    hourly: _Block | None = None
    hourly_units: _Units | None = None
    minutely_15: _Block | None = None
    minutely_15_units: _Units | None = None
    error: bool = False
    reason: str = ""


def parse(body: bytes, now: datetime, *, kwp: float, performance: float = 0.85) -> SlotSeries:
    """Open-Meteo's irradiance forecast as a plane's average kW per quarter hour."""
    try:
        answer = msgspec.json.decode(body, type=_Answer)
    except msgspec.DecodeError as exc:
        raise BadAnswer("open_meteo", "unexpected", f"not the documented answer: {exc}") from exc
    if answer.error:
        raise ProviderError("open_meteo", answer.reason[:160] or "an error without reason")
    block, units = answer.minutely_15, answer.minutely_15_units
    if block is None:
        block, units = answer.hourly, answer.hourly_units
    if block is None:
        raise BadAnswer("open_meteo", "unexpected", f"no hourly or minutely_15 {VARIABLE} in the answer")
    if len(block.time) != len(block.global_tilted_irradiance):
        raise BadAnswer("open_meteo", "unexpected", "times and values of different lengths")
    offset = timedelta(seconds=answer.utc_offset_seconds)
    stamps = [_instant(t, offset, (units or _Units()).time) for t in block.time]
    steps = [b - a for a, b in itertools.pairwise(stamps)]
    step = min([s for s in steps if s > timedelta(0)], default=timedelta(hours=1))
    intervals: list[Interval] = []
    for at, irradiance in zip(stamps, block.global_tilted_irradiance, strict=True):
        if irradiance is None:
            continue  # a step the model does not reach: nothing is planned on it
        intervals.append((at - step, at, kwp * irradiance / 1000.0 * performance))
    return quarter_hours("open_meteo", intervals, now, unit="kW", non_negative=True)


def _instant(value: str | int, offset: timedelta, kind: str) -> datetime:
    if kind == "unixtime" or isinstance(value, int):
        return datetime.fromtimestamp(int(value), UTC)
    try:
        local = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadAnswer("open_meteo", "bad_value", f"{value[:40]!r} is not an ISO 8601 time") from exc
    # local time at the answer's offset (GMT, as asked)
    return (local - offset).replace(tzinfo=UTC) if local.tzinfo is None else local


class OpenMeteo:
    """The ``Provider`` for one plane."""

    name: Final = "open_meteo"
    title: Final = "Open-Meteo"
    kind: Final[Kind] = "solar"

    def __init__(self, config: OpenMeteoConfig) -> None:
        self._config = config

    async def fetch(self, client: httpx.AsyncClient, now: datetime) -> SlotSeries:
        c = self._config
        params = {
            "latitude": f"{c.lat:g}",
            "longitude": f"{c.lon:g}",
            "hourly": VARIABLE,
            "tilt": f"{c.declination:g}",
            "azimuth": f"{c.azimuth:g}",
            "timezone": "GMT",
            "forecast_days": "3",
        }
        _, body = await get_bytes(client, self.name, "GET", URL, params=params, ok=(200, 400))
        return parse(body, now, kwp=c.kwp, performance=c.performance)

    def next_refresh(self, now: datetime, series: SlotSeries) -> datetime:
        return now + EVERY
