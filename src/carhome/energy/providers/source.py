"""What every price or forecast provider is, and how it fails.

A ``Provider`` fetches one series — prices per kWh, or solar power in kW — from a web API
and says when to ask again. It fails in one of two ways, both ``ProviderError``:

- the provider is unreachable, slow, refuses (HTTP 5xx, 429, a token it does not accept)
  or has nothing yet (day-ahead prices before they are published): an outage, a warning
  on the charging page while the plan keeps the last good data;
- ``BadAnswer``: it answered, but with something that is not the documented format or
  holds impossible values. That is bad input at carhome's edge: refused with a reason,
  counted among the hub's rejections (``carhome rejections``) and logged once per cause.

``ProviderError`` joins the error tree under ``ConnectorError`` (a protocol peer that is
unreachable or misbehaves); its message says what to do.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

import httpx

from carhome.errors import ConnectorError
from carhome.prices.series import SlotSeries

Kind = Literal["prices", "solar"]


class ProviderError(ConnectorError):
    """A provider could not give a series now (an outage: the last good data is kept)."""

    def __init__(self, provider: str, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason
        self.retry_after = retry_after
        """Seconds the provider asked to be left alone for, when it said."""


class BadAnswer(ProviderError):
    """A provider answered with something carhome cannot use (counted as a rejection)."""

    def __init__(self, provider: str, code: str, reason: str) -> None:
        super().__init__(provider, reason)
        self.code = code


class Provider(Protocol):
    """One web API that gives prices (per kWh, in its currency) or a solar forecast (kW)."""

    @property
    def name(self) -> str:
        """Short and stable (``tibber``, ``entsoe``): it names the cache and the rejections."""
        ...

    @property
    def kind(self) -> Kind: ...

    @property
    def title(self) -> str:
        """What people call it (``Tibber``, ``ENTSO-E``), for warnings."""
        ...

    async def fetch(self, client: httpx.AsyncClient, now: datetime) -> SlotSeries:
        """The series from now on (and a little before), or ``ProviderError``."""
        ...

    def next_refresh(self, now: datetime, series: SlotSeries) -> datetime:
        """When to ask again after a good answer holding ``series``."""
        ...


def day_ahead_refresh(now: datetime, series: SlotSeries, published: tuple[time, ZoneInfo]) -> datetime:
    """When to ask a day-ahead market again, given what it last gave.

    Tomorrow's prices appear once a day (``published``, local to the market). Before that
    hour, with today in hand, the next question is at that hour; from it until tomorrow is
    in the series, every quarter of an hour (a market can be late); with tomorrow in hand,
    at the next day's publication.
    """
    at, zone = published
    local = now.astimezone(zone)
    today_at = datetime.combine(local.date(), at, tzinfo=zone)
    end_of_today = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    end_of_tomorrow = end_of_today + timedelta(days=1)
    soon = now + timedelta(minutes=15)
    if series.end >= end_of_tomorrow:
        return max(soon, today_at + timedelta(days=1))
    if now < today_at and series.end >= end_of_today:
        return today_at
    return soon
