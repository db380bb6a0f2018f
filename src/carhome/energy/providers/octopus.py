"""Octopus Agile (UK): half-hourly unit rates from the public REST API, over httpx.

``GET /v1/products/{product}/electricity-tariffs/{tariff}/standard-unit-rates/`` with a
period answers ``{count, next, previous, results: [{value_exc_vat, value_inc_vat,
valid_from, valid_to, payment_method}]}``, newest first, in pence per kWh. No key is
needed for tariff rates. The next day's rates appear around 16:00 UK time.

There is no client library Octopus keeps for Python; one GET with httpx is all it takes.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import httpx
import msgspec

from carhome.energy.providers.fetching import get_bytes
from carhome.energy.providers.slots import Interval, quarter_hours
from carhome.energy.providers.source import BadAnswer, Kind, day_ahead_refresh
from carhome.prices.series import SlotSeries

BASE: Final = "https://api.octopus.energy/v1/products"
PUBLISHED: Final = (time(16, 0), ZoneInfo("Europe/London"))
MAX_PAGES: Final = 4


class OctopusConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag="octopus", tag_field="provider"
):
    """Octopus Agile: the product and the region's tariff, e.g. AGILE-24-10-01 and E-1R-AGILE-24-10-01-C."""

    product: str
    tariff: str
    vat: bool = True
    """Plan with the rates including VAT (what a home pays)."""


class _Rate(msgspec.Struct):
    valid_from: datetime
    valid_to: datetime | None = None
    value_inc_vat: float | None = None
    value_exc_vat: float | None = None


class _Page(msgspec.Struct):
    results: list[_Rate]
    next: str | None = None


def parse_page(body: bytes) -> tuple[list[_Rate], str | None]:
    """One page of rates and the URL of the next, if any."""
    try:
        page = msgspec.json.decode(body, type=_Page)
    except msgspec.DecodeError as exc:
        raise BadAnswer("octopus", "unexpected", f"not the documented answer: {exc}") from exc
    return page.results, page.next


def series_of(rates: list[_Rate], now: datetime, *, vat: bool = True) -> SlotSeries:
    """Rates (any order, pence per kWh) as pounds per kWh."""
    intervals: list[Interval] = []
    for rate in rates:
        value = rate.value_inc_vat if vat else rate.value_exc_vat
        if value is None:
            raise BadAnswer("octopus", "bad_value", f"no rate at {rate.valid_from.isoformat()}")
        # a rate without an end holds until further notice: Agile rates always end
        end = rate.valid_to or rate.valid_from + timedelta(minutes=30)
        intervals.append((rate.valid_from, end, value / 100.0))
    return quarter_hours("octopus", intervals, now, unit="GBP/kWh")


class Octopus:
    """The ``Provider`` for one Octopus tariff."""

    name: Final = "octopus"
    title: Final = "Octopus Agile"
    kind: Final[Kind] = "prices"

    def __init__(self, config: OctopusConfig) -> None:
        self._config = config

    async def fetch(self, client: httpx.AsyncClient, now: datetime) -> SlotSeries:
        c = self._config
        url: str | None = f"{BASE}/{c.product}/electricity-tariffs/{c.tariff}/standard-unit-rates/"
        start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        params: dict[str, str] | None = {
            "period_from": start.strftime("%Y-%m-%dT%H:%MZ"),
            "period_to": (start + timedelta(days=3)).strftime("%Y-%m-%dT%H:%MZ"),
            "page_size": "1500",
        }
        rates: list[_Rate] = []
        for _ in range(MAX_PAGES):
            if url is None:
                break
            _, body = await get_bytes(client, self.name, "GET", url, params=params)
            page, url = parse_page(body)
            rates += page
            params = None  # the next page's URL carries them
        return series_of(rates, now, vat=c.vat)

    def next_refresh(self, now: datetime, series: SlotSeries) -> datetime:
        return day_ahead_refresh(now, series, PUBLISHED)
