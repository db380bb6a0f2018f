"""Tibber: the home's own prices (energy, grid and taxes: ``total``) by GraphQL over httpx.

One query asks for today's and tomorrow's quarter-hour prices of the account's homes
(``priceInfo(resolution: QUARTER_HOURLY)``, which Tibber documents; without it an
account on hourly prices answers hourly, which is fine too). Tomorrow's prices appear
around 13:00 Central European time; ``next_refresh`` asks hourly until they are there,
then at the next publication.

pyTibber is Tibber's well-kept client, but it brings aiohttp, gql and websockets for the
live-measurement stream carhome does not use here; one POST with httpx is all the
prices need, and it is what the tests record at the HTTP seam.
"""

from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import httpx
import msgspec

from carhome.energy.providers.fetching import get_bytes
from carhome.energy.providers.slots import Interval, quarter_hours
from carhome.energy.providers.source import BadAnswer, Kind, ProviderError, day_ahead_refresh
from carhome.prices.series import SlotSeries

URL: Final = "https://api.tibber.com/v1-beta/gql"
QUERY: Final = (
    "{ viewer { homes { id currentSubscription { priceInfo(resolution: QUARTER_HOURLY) "
    "{ today { total startsAt currency } tomorrow { total startsAt currency } } } } } }"
)
PUBLISHED: Final = (time(13, 0), ZoneInfo("Europe/Oslo"))


class TibberConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag="tibber", tag_field="provider"
):
    """Tibber prices: a personal access token (developer.tibber.com), and the home when there are several."""

    token: str | None = None
    token_file: str | None = None
    """A file whose first line is the token (relative paths: to the config file)."""
    home_id: str | None = None

    def __repr__(self) -> str:  # never print the token
        return f"TibberConfig(home_id={self.home_id!r})"


class _Price(msgspec.Struct):
    startsAt: datetime  # noqa: N815 - Tibber's field name
    total: float | None = None
    currency: str = ""


class _PriceInfo(msgspec.Struct):
    today: list[_Price] = []
    tomorrow: list[_Price] = []


class _Subscription(msgspec.Struct):
    priceInfo: _PriceInfo | None = None  # noqa: N815


class _Home(msgspec.Struct):
    id: str = ""
    currentSubscription: _Subscription | None = None  # noqa: N815


class _Viewer(msgspec.Struct):
    homes: list[_Home] = []


class _Data(msgspec.Struct):
    viewer: _Viewer | None = None


class _Error(msgspec.Struct):
    message: str = ""


class _Answer(msgspec.Struct):
    data: _Data | None = None
    errors: list[_Error] | None = None


def parse(body: bytes, now: datetime, *, home_id: str | None = None) -> SlotSeries:
    """Tibber's answer to ``QUERY`` as prices per kWh."""
    try:
        answer = msgspec.json.decode(body, type=_Answer)
    except msgspec.DecodeError as exc:
        raise BadAnswer("tibber", "unexpected", f"not the documented answer: {exc}") from exc
    if answer.errors:
        raise ProviderError(
            "tibber", "; ".join(e.message for e in answer.errors)[:200] or "an error without message"
        )
    homes = [] if answer.data is None or answer.data.viewer is None else answer.data.viewer.homes
    if home_id is not None:
        homes = [h for h in homes if h.id == home_id]
    priced = [
        h for h in homes if h.currentSubscription is not None and h.currentSubscription.priceInfo is not None
    ]
    if not priced:
        known = ", ".join(h.id for h in homes) or "none"
        raise ProviderError("tibber", f"no home with a current subscription (homes: {known}); set home_id")
    info = priced[0].currentSubscription.priceInfo  # type: ignore[union-attr]
    prices = sorted([*info.today, *info.tomorrow], key=lambda p: p.startsAt)  # type: ignore[union-attr]
    return quarter_hours("tibber", _intervals(prices), now, unit=_unit(prices))


def _intervals(prices: list[_Price]) -> list[Interval]:
    steps = [b.startsAt - a.startsAt for a, b in itertools.pairwise(prices)]
    step = min([s for s in steps if s > timedelta(0)], default=timedelta(hours=1))
    out: list[Interval] = []
    for i, p in enumerate(prices):
        if p.total is None:
            raise BadAnswer("tibber", "bad_value", f"no total price at {p.startsAt.isoformat()}")
        end = prices[i + 1].startsAt if i + 1 < len(prices) else p.startsAt + step
        out.append((p.startsAt, min(end, p.startsAt + step * 4), p.total))
    return out


def _unit(prices: list[_Price]) -> str:
    currency = next((p.currency for p in prices if p.currency), "")
    return f"{currency}/kWh" if currency else "per kWh"


class Tibber:
    """The ``Provider`` for one Tibber account."""

    name: Final = "tibber"
    title: Final = "Tibber"
    kind: Final[Kind] = "prices"

    def __init__(self, token: str, home_id: str | None = None) -> None:
        self._token = token
        self._home_id = home_id

    async def fetch(self, client: httpx.AsyncClient, now: datetime) -> SlotSeries:
        headers = {"Authorization": f"Bearer {self._token}"}
        _, body = await get_bytes(client, self.name, "POST", URL, headers=headers, json={"query": QUERY})
        return parse(body, now, home_id=self._home_id)

    def next_refresh(self, now: datetime, series: SlotSeries) -> datetime:
        return day_ahead_refresh(now, series, PUBLISHED)
