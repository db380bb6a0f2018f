"""ENTSO-E day-ahead prices (documentType A44) from the Transparency Platform, over httpx.

The answer is a ``Publication_MarketDocument`` (XML): ``TimeSeries`` of ``Period``s, each
with a ``timeInterval``, a ``resolution`` (PT15M, PT30M, PT60M) and ``Point``s numbered
from 1 with a ``price.amount`` in EUR/MWh. A curve of type A03 leaves out a point that
repeats the one before it. No data for the period is an ``Acknowledgement_MarketDocument``
with a reason (code 999). Prices are the wholesale market's; ``add`` and ``vat_percent``
turn them into what the home pays. Results appear around 13:00 Brussels time.

entsoe-py is the well-kept client, but it is synchronous (requests) and brings pandas and
BeautifulSoup; the XML is parsed here with defusedxml (no entities, no external
references), which the tests feed with recorded answers at the HTTP seam.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Final
from xml.etree.ElementTree import Element, ParseError
from zoneinfo import ZoneInfo

import httpx
import msgspec
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from carhome.energy.providers.fetching import get_bytes
from carhome.energy.providers.slots import Interval, quarter_hours
from carhome.energy.providers.source import BadAnswer, Kind, ProviderError, day_ahead_refresh
from carhome.prices.series import SlotSeries

URL: Final = "https://web-api.tp.entsoe.eu/api"
PUBLISHED: Final = (time(13, 0), ZoneInfo("Europe/Brussels"))
_RESOLUTION: Final = re.compile(r"PT(\d+)M")
_AREA: Final = re.compile(r"10Y[A-Z0-9-]{13}")


class EntsoeConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag="entsoe", tag_field="provider"
):
    """ENTSO-E day-ahead prices for a bidding zone (EIC code, e.g. 10Y1001A1001A82H for DE-LU)."""

    area: str
    token: str | None = None
    token_file: str | None = None
    """A file whose first line is the Transparency Platform's security token."""
    add: float = 0.0
    """Added to each wholesale price, per kWh (grid fees, taxes, the supplier's margin)."""
    vat_percent: float = 0.0

    def __repr__(self) -> str:  # never print the token
        return f"EntsoeConfig(area={self.area!r})"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(node: Element, name: str) -> Element | None:
    return next((c for c in node if _local(c.tag) == name), None)


def _text(node: Element, name: str) -> str:
    found = _child(node, name)
    if found is None or found.text is None:
        raise BadAnswer("entsoe", "unexpected", f"a {_local(node.tag)} without {name}")
    return found.text.strip()


def parse(body: bytes, now: datetime, *, add: float = 0.0, vat_percent: float = 0.0) -> SlotSeries:
    """An A44 answer as prices per kWh: (EUR/MWh / 1000 + add) · (1 + VAT)."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise BadAnswer("entsoe", "not_xml", f"not XML, or XML with a DTD: {exc}") from exc
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        reason = next((c for c in root.iter() if _local(c.tag) == "text"), None)
        text = (reason.text or "").strip() if reason is not None else ""
        raise ProviderError("entsoe", f"no prices: {text[:160] or 'no reason given'}")
    if kind != "Publication_MarketDocument":
        raise BadAnswer("entsoe", "unexpected", f"a {kind[:60]}, not a Publication_MarketDocument")
    factor = 1.0 + vat_percent / 100.0
    intervals: list[Interval] = []
    for series in (n for n in root if _local(n.tag) == "TimeSeries"):
        for period in (n for n in series if _local(n.tag) == "Period"):
            intervals += _period(period, add, factor)
    return quarter_hours("entsoe", intervals, now, unit="EUR/kWh")


def _period(period: Element, add: float, factor: float) -> list[Interval]:
    window = _child(period, "timeInterval")
    if window is None:
        raise BadAnswer("entsoe", "unexpected", "a Period without timeInterval")
    start, end = _instant(_text(window, "start")), _instant(_text(window, "end"))
    found = _RESOLUTION.fullmatch(_text(period, "resolution"))
    if found is None:
        raise BadAnswer("entsoe", "unexpected", "a resolution that is not PTnM")
    step = timedelta(minutes=int(found.group(1)))
    if step <= timedelta(0) or (end - start) % step:
        raise BadAnswer("entsoe", "bad_interval", f"{end - start} is not a whole number of {step}")
    count = (end - start) // step
    values: dict[int, float] = {}
    for point in (n for n in period if _local(n.tag) == "Point"):
        try:
            position, amount = int(_text(point, "position")), float(_text(point, "price.amount"))
        except ValueError as exc:
            raise BadAnswer("entsoe", "bad_value", f"a point that is not a number: {exc}") from exc
        if not 1 <= position <= count:
            raise BadAnswer("entsoe", "bad_value", f"position {position} outside 1–{count}")
        values[position] = amount
    if 1 not in values:
        raise BadAnswer("entsoe", "bad_value", f"the period from {start.isoformat()} has no first point")
    out: list[Interval] = []
    last = values[1]
    for position in range(1, count + 1):
        last = values.get(position, last)  # curve A03: a left-out point repeats the one before
        at = start + (position - 1) * step
        out.append((at, at + step, (last / 1000.0 + add) * factor))
    return out


def _instant(text: str) -> datetime:
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%MZ")
    except ValueError as exc:
        raise BadAnswer("entsoe", "bad_value", f"{text[:40]!r} is not a time like 2025-01-01T23:00Z") from exc
    return when.replace(tzinfo=UTC)


class Entsoe:
    """The ``Provider`` for one bidding zone."""

    name: Final = "entsoe"
    title: Final = "ENTSO-E"
    kind: Final[Kind] = "prices"

    def __init__(self, config: EntsoeConfig, token: str) -> None:
        if not _AREA.fullmatch(config.area):
            raise ProviderError("entsoe", f"{config.area!r} is not an EIC area code like 10Y1001A1001A82H")
        self._config = config
        self._token = token

    async def fetch(self, client: httpx.AsyncClient, now: datetime) -> SlotSeries:
        day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        params = {
            "securityToken": self._token,
            "documentType": "A44",
            "in_Domain": self._config.area,
            "out_Domain": self._config.area,
            "periodStart": (day - timedelta(days=1)).strftime("%Y%m%d%H%M"),
            "periodEnd": (day + timedelta(days=2)).strftime("%Y%m%d%H%M"),
        }
        # a period with nothing published is answered with an acknowledgement, sometimes as a 400
        _, body = await get_bytes(client, self.name, "GET", URL, params=params, ok=(200, 400))
        return parse(body, now, add=self._config.add, vat_percent=self._config.vat_percent)

    def next_refresh(self, now: datetime, series: SlotSeries) -> datetime:
        return day_ahead_refresh(now, series, PUBLISHED)
