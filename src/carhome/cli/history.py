"""``carhome trips`` and ``carhome charges``: the cars' history as tables, totals and a chart.

Talks to a running hub's local API (``carhome.history.routes``) through ``HubClient``,
extended here with the history calls. Times are shown in each home's own timezone.

    carhome trips [--car CAR] [--from WHEN] [--to WHEN] [--day | --month] [--json]
    carhome trips plot --out trips.svg [--car CAR] [--from WHEN] [--to WHEN]
    carhome charges [--car CAR] [--from WHEN] [--to WHEN] [--day | --month] [--json]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Generic, TypedDict, TypeVar, Unpack
from zoneinfo import ZoneInfo

import click

from carhome.cli.client import HubClient
from carhome.cli.options import hub_options, with_client
from carhome.cli.output import ChartFile, charts, counted, echo_json, table
from carhome.wire.history import (
    ChargeList,
    ChargeSession,
    ParkedList,
    Period,
    Summary,
    SummaryList,
    Trip,
    TripList,
)

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])
_R = TypeVar("_R", Trip, ChargeSession)
_L = TypeVar("_L", TripList, ChargeList)


class HistoryClient(HubClient):
    """``HubClient`` with the history calls."""

    async def trips(self, **query: str | None) -> TripList:
        return await self.call("GET", "/api/history/trips", TripList, params=_params(query))

    async def charges(self, **query: str | None) -> ChargeList:
        return await self.call("GET", "/api/history/charges", ChargeList, params=_params(query))

    async def parked(self, **query: str | None) -> ParkedList:
        return await self.call("GET", "/api/history/parked", ParkedList, params=_params(query))

    async def summaries(self, period: Period, **query: str | None) -> SummaryList:
        params = {**_params(query), "period": period}
        return await self.call("GET", "/api/history/summaries", SummaryList, params=params)


def _params(query: dict[str, str | None]) -> dict[str, str]:
    return {("from" if k == "from_" else k): v for k, v in query.items() if v is not None}


def _with_client(given: str | None, work: Callable[[HistoryClient], Awaitable[_T]]) -> _T:
    return with_client(given, HistoryClient, work)


def _range_options(fn: _F) -> _F:
    """``--car``, ``--from`` and ``--to``, shared by every history command."""
    fn = click.option("--to", "to", metavar="WHEN", help="Up to (not including) this date or time.")(fn)
    fn = click.option(
        "--from", "from_", metavar="WHEN", help="From this date (2026-01-07), local time, or epoch seconds."
    )(fn)
    return click.option("--car", metavar="CAR", help="Only this car (HOME/CAR or CAR).")(fn)


def _period_options(fn: _F) -> _F:
    fn = click.option("--month", "period", flag_value="month", help="Totals per local month.")(fn)
    return click.option("--day", "period", flag_value="day", help="Totals per local day.")(fn)


def _local(ts: float, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(zone)).strftime(fmt)


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


class _Options(TypedDict):
    """What ``carhome trips`` and ``carhome charges`` are asked."""

    car: str | None
    from_: str | None
    to: str | None
    period: Period | None
    limit: int | None
    hub: str | None
    as_json: bool


@dataclass(frozen=True)
class _Listing(Generic[_L, _R]):
    """How ``carhome trips`` or ``carhome charges`` lists its records."""

    what: str
    fetch: Callable[[HistoryClient, dict[str, str | None]], Awaitable[_L]]
    records: Callable[[_L], Sequence[_R]]
    header: list[str]
    row: Callable[[_R, str], list[str]]

    def options(self, fn: _F) -> _F:
        """The options of the command that lists them (see ``_Options``)."""
        latest = f"Only the latest N {self.what}."
        fn = click.option("--limit", type=click.IntRange(1, 10_000), help=latest)(hub_options(fn))
        return _range_options(_period_options(fn))

    def show(self, options: _Options) -> None:
        """The records as JSON or a table in each home's local time (with a CAR column when
        there are several cars), or their totals per ``--day`` or ``--month``."""
        hub, period, limit, as_json = options["hub"], options["period"], options["limit"], options["as_json"]
        query = {"car": options["car"], "from_": options["from_"], "to": options["to"]}
        if period is not None:
            _show_summaries(hub, as_json, period, query, self.what)
            return
        limited = {**query, "limit": None if limit is None else str(limit)}
        found = _with_client(hub, lambda client: self.fetch(client, limited))
        if as_json:
            echo_json(found)
            return
        records = self.records(found)
        if not records:
            click.echo(f"no {self.what}")
            return
        many = len({(r.home, r.car) for r in records}) > 1
        rows: list[list[str]] = []
        for record in records:
            cells: list[str] = self.row(record, found.timezones.get(record.home, "UTC"))
            rows.append([f"{record.home}/{record.car}", *cells] if many else cells)
        click.echo(table(["CAR", *self.header] if many else self.header, rows))


_TRIPS: Final = _Listing[TripList, Trip](
    "trips",
    lambda client, query: client.trips(**query),
    lambda found: found.trips,
    header=["START", "END", "FROM", "TO", "KM", "KWH", "WH/KM", "MAX KM/H", "SOC %", "NOTE"],
    row=lambda t, zone: [
        _local(t.start, zone),
        _local(t.end, zone, "%H:%M"),
        t.start_place or "-",
        t.end_place or "-",
        _num(t.distance_km),
        _num(t.energy_kwh, 2),
        _num(t.wh_per_km, 0),
        _num(t.max_speed_kmh, 0),
        f"{_num(t.soc_start)}→{_num(t.soc_end)}",
        "gaps" if t.gaps else "",
    ],
)
_CHARGES: Final = _Listing[ChargeList, ChargeSession](
    "charges",
    lambda client, query: client.charges(**query),
    lambda found: found.charges,
    header=["START", "END", "PLACE", "ADDED KWH", "GRID KWH", "LOSS KWH", "PEAK KW", "SOC %", "COST"],
    row=lambda c, zone: [
        _local(c.start, zone),
        _local(c.end, zone, "%H:%M"),
        c.place or "-",
        _num(c.added_kwh, 2),
        _num(c.grid_kwh, 2),
        _num(c.loss_kwh, 2),
        _num(c.peak_kw, 1),
        f"{_num(c.soc_start)}→{_num(c.soc_end)}",
        _num(c.cost, 2),
    ],
)


# -- trips ----------------------------------------------------------------------------------


@click.group(invoke_without_command=True)
@_TRIPS.options
@click.pass_context
def trips(ctx: click.Context, **options: Unpack[_Options]) -> None:
    """The cars' trips: when, from where to where, distance, energy and efficiency.

    \b
    Examples:
      carhome trips
      carhome trips --from 2026-01-05 --to 2026-01-12
      carhome trips --day
      carhome trips --month --json
      carhome trips plot --out trips.svg
    """
    if ctx.invoked_subcommand is not None:
        return
    _TRIPS.show(options)


@trips.command("plot")
@click.option(
    "--out",
    required=True,
    type=ChartFile(),
    help="The chart to write: FILE.svg or FILE.png.",
)
@_range_options
@click.option(
    "--hub",
    "hub",
    envvar="CARHOME_HUB",
    metavar="URL",
    help="The hub's local API [env CARHOME_HUB; default: the address a running hub announced].",
)
def plot(*, out: Path, car: str | None, from_: str | None, to: str | None, hub: str | None) -> None:
    """Draw the trips as a chart (distance and Wh/km per trip) to FILE.svg or FILE.png.

    \b
    Examples:
      carhome trips plot --out week.svg --from 2026-01-05 --to 2026-01-12
      carhome trips plot --out trips.png --car car
    """
    found = _with_client(hub, lambda client: client.trips(car=car, from_=from_, to=to))
    zones = set(found.timezones.values())
    zone = ZoneInfo(zones.pop()) if len(zones) == 1 else None
    charts().trips_chart(found.trips, out, zone=zone)
    click.echo(f"{out}: {counted(len(found.trips), 'trip')}")


# -- charges --------------------------------------------------------------------------------


@click.command()
@_CHARGES.options
def charges(**options: Unpack[_Options]) -> None:
    """The cars' charge sessions: when, where, energy into the battery and from the grid,
    losses, peak power, state of charge and cost at the tariff of the time.

    \b
    Examples:
      carhome charges
      carhome charges --month
      carhome charges --car car --from 2026-01-01 --json
    """
    _CHARGES.show(options)


# -- totals ---------------------------------------------------------------------------------


def _show_summaries(
    hub: str | None, as_json: bool, period: Period, query: dict[str, str | None], what: str
) -> None:
    found = _with_client(hub, lambda client: client.summaries(period, **query))
    if as_json:
        echo_json(found)
        return
    if not found.summaries:
        click.echo(f"no {what}")
        return
    click.echo(_summary_table(found.summaries, what))


def _summary_table(summaries: Sequence[Summary], what: str) -> str:
    many = len({(s.home, s.car) for s in summaries}) > 1
    label = "DAY" if summaries[0].period == "day" else "MONTH"
    if what == "trips":
        header = [label, "TRIPS", "KM", "KWH", "WH/KM", "HOURS", "PARKED LOSS KWH"]
        rows = [
            [
                s.key,
                str(s.trips),
                _num(s.distance_km),
                _num(s.driving_kwh, 2),
                _num(s.wh_per_km, 0),
                _num(s.driving_s / 3600.0, 1),
                _num(s.parked_lost_kwh, 2),
            ]
            for s in summaries
        ]
    else:
        header = [label, "CHARGES", "ADDED KWH", "GRID KWH", "COST", "UNPRICED"]
        rows = [
            [
                s.key,
                str(s.charges),
                _num(s.added_kwh, 2),
                _num(s.grid_kwh, 2),
                _num(s.cost, 2),
                str(s.uncosted_charges) if s.uncosted_charges else "",
            ]
            for s in summaries
        ]
    if many:
        header = ["CAR", *header]
        rows = [[f"{s.home}/{s.car}", *row] for s, row in zip(summaries, rows, strict=True)]
    return table(header, rows)
