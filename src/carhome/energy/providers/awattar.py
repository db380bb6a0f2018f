"""aWATTar (Germany, Austria): EPEX day-ahead market prices from the public API, over httpx.

``GET https://api.awattar.{de,at}/v1/marketdata?start=…&end=…`` (milliseconds since the
epoch) answers ``{object: list, data: [{start_timestamp, end_timestamp, marketprice,
unit: "Eur/MWh"}], url}``. No key; at most 100 requests a day. The next day appears
around 14:00 Vienna time. ``add`` and ``vat_percent`` make the market price what the home
pays. There is no Python client aWATTar keeps; one GET with httpx is all it takes.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

import httpx
import msgspec

from carhome.energy.providers.fetching import get_bytes
from carhome.energy.providers.slots import Interval, quarter_hours
from carhome.energy.providers.source import BadAnswer, Kind, day_ahead_refresh
from carhome.prices.series import SlotSeries

PUBLISHED: Final = (time(14, 0), ZoneInfo("Europe/Vienna"))


class AwattarConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag="awattar", tag_field="provider"
):
    """aWATTar market prices for Germany (de) or Austria (at)."""

    country: Literal["de", "at"] = "de"
    add: float = 0.0
    """Added to each market price, per kWh (grid fees, taxes, the supplier's margin)."""
    vat_percent: float = 0.0


class _Entry(msgspec.Struct):
    start_timestamp: int
    end_timestamp: int
    marketprice: float
    unit: str


class _Answer(msgspec.Struct):
    data: list[_Entry]


def parse(body: bytes, now: datetime, *, add: float = 0.0, vat_percent: float = 0.0) -> SlotSeries:
    """aWATTar's market data as prices per kWh: (EUR/MWh / 1000 + add) · (1 + VAT)."""
    try:
        answer = msgspec.json.decode(body, type=_Answer)
    except msgspec.DecodeError as exc:
        raise BadAnswer("awattar", "unexpected", f"not the documented answer: {exc}") from exc
    factor = 1.0 + vat_percent / 100.0
    intervals: list[Interval] = []
    for entry in answer.data:
        if entry.unit.lower() != "eur/mwh":
            raise BadAnswer("awattar", "bad_unit", f"prices in {entry.unit[:20]!r}, not Eur/MWh")
        start = datetime.fromtimestamp(entry.start_timestamp / 1000, UTC)
        end = datetime.fromtimestamp(entry.end_timestamp / 1000, UTC)
        intervals.append((start, end, (entry.marketprice / 1000.0 + add) * factor))
    return quarter_hours("awattar", intervals, now, unit="EUR/kWh")


class Awattar:
    """The ``Provider`` for one aWATTar country."""

    name: Final = "awattar"
    title: Final = "aWATTar"
    kind: Final[Kind] = "prices"

    def __init__(self, config: AwattarConfig) -> None:
        self._config = config

    async def fetch(self, client: httpx.AsyncClient, now: datetime) -> SlotSeries:
        start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        params = {
            "start": str(int(start.timestamp() * 1000)),
            "end": str(int((start + timedelta(days=2, hours=2)).timestamp() * 1000)),
        }
        url = f"https://api.awattar.{self._config.country}/v1/marketdata"
        _, body = await get_bytes(client, self.name, "GET", url, params=params)
        return parse(body, now, add=self._config.add, vat_percent=self._config.vat_percent)

    def next_refresh(self, now: datetime, series: SlotSeries) -> datetime:
        return day_ahead_refresh(now, series, PUBLISHED)
