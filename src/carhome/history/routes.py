"""The history part of the local API: trips, charge sessions, parked spells and their totals.

``history_routes(hub, history)`` returns Starlette routes to add to the local app:

- ``GET /api/history/trips``, ``/api/history/charges``, ``/api/history/parked``: finished
  records, oldest first (with ``limit``, the latest that many);
- ``GET /api/history/summaries?period=day|month``: totals per car and local day or month.

Every route takes ``home``, ``car`` (``home/car``, or ``car`` when one home has it),
``from`` and ``to``. A time is a date (``2026-01-07``: local midnight in the home's
timezone — the named home's, else the hub's only home's, else UTC), a date and time
(``2026-01-07T08:00``, local likewise, or with an offset), or epoch seconds; ``to`` is
exclusive. A bad value is a 422 problem naming the parameter and what it accepts.

A guest reads the history of the cars their live grants name, and nothing of the others
(``car`` naming another is a 404, as for a car that does not exist); where those cars
went and charged — places and coordinates — only when a grant names their location
(``carhome.api.auth.View``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Final, TypeVar
from zoneinfo import ZoneInfo

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from carhome.history import ChargeSession, History, Parked, Query, Trip
from carhome.http import problems
from carhome.http.bodies import json_response
from carhome.http.operations import Operation, routes
from carhome.http.principals import View, principal_of, view_of
from carhome.http.problems import Problem
from carhome.hub import Hub
from carhome.wire.history import ChargeList, HistoryQuery, ParkedList, SummaryList, TripList

_R = TypeVar("_R", Trip, ChargeSession, Parked)

_TIME_WORDS: Final = "a date (2026-01-07), a local date and time (2026-01-07T08:00), or epoch seconds"


class HistoryRoutes:
    """The handlers, over ``history`` (which tracks the cars of ``hub``)."""

    def __init__(self, hub: Hub, history: History) -> None:
        self.hub = hub
        self.history = history

    def parse(self, request: Request, *, summaries: bool = False) -> tuple[Query, HistoryQuery]:
        params = dict(request.query_params)
        if not summaries and "period" in params:
            raise problems.invalid_query("only the summaries take a period", "period")
        try:
            asked = msgspec.convert(params, HistoryQuery, strict=False)
        except msgspec.ValidationError as exc:
            raise problems.from_validation(
                exc, problems.invalid_query, {"$.period": "'day' or 'month'"}
            ) from None
        home, car = asked.home, asked.car
        principal = principal_of(request)  # a member sees the history of their home only
        known = [h.id for h in self.hub.homes() if principal.sees(h.id)]
        if home is None and principal.home is not None:
            home = principal.home
        if home is not None and home not in known:
            raise problems.unknown_home(home, known)
        view = view_of(request)
        if car is not None:
            home, car = _resolve_car(self.hub, home, car, view)
        zone = _zone(self.hub, home, known)
        return (
            Query(
                home=home,
                car=car,
                since=_time(asked.from_, "from", zone),
                until=_time(asked.to, "to", zone),
                limit=asked.limit,
            ),
            asked,
        )

    def zones(self, records: list[Trip] | list[ChargeSession] | list[Parked]) -> dict[str, str]:
        return {r.home: self.history.zone(r.home).key for r in records}

    def seen(self, query: Query, view: View) -> list[Query]:
        """``query`` as one query per car the viewer sees (none: nothing to read)."""
        if view.everything or query.car is not None:
            return [query]
        cars = sorted(d.id for d in self.hub.devices(query.home) if d.type == "car" and view.sees(d.id))
        return [msgspec.structs.replace(query, car=car) for car in cars]

    async def records(self, request: Request, read: Callable[[Query], Awaitable[list[_R]]]) -> list[_R]:
        query, _ = self.parse(request)
        view = view_of(request)
        queries = self.seen(query, view)
        found: list[_R] = []
        for each in queries:
            found.extend(await read(each))
        if len(queries) > 1:
            found.sort(key=lambda r: (r.start, r.car))
            if query.limit is not None:
                found = found[-query.limit :]
        return found if view.everything else [_placed(r, view) for r in found]

    async def trips(self, request: Request) -> Response:
        found = await self.records(request, self.history.trips)
        return json_response(TripList(trips=found, timezones=self.zones(found)))

    async def charges(self, request: Request) -> Response:
        found = await self.records(request, self.history.charges)
        return json_response(ChargeList(charges=found, timezones=self.zones(found)))

    async def parked(self, request: Request) -> Response:
        found = await self.records(request, self.history.parked)
        return json_response(ParkedList(parked=found, timezones=self.zones(found)))

    async def summaries(self, request: Request) -> Response:
        query, asked = self.parse(request, summaries=True)
        found = [
            s
            for q in self.seen(query, view_of(request))
            for s in await self.history.summaries(asked.period, q)
        ]
        return json_response(SummaryList(period=asked.period, summaries=found))


_PERIOD: Final = ("period",)  # only the summaries take one

OPERATIONS: Final[tuple[Operation[HistoryRoutes], ...]] = (
    Operation(
        "GET",
        "/api/history/trips",
        HistoryRoutes.trips,
        "Finished trips",
        "history",
        {200: TripList},
        HistoryQuery,
        query_except=_PERIOD,
        problems=(404,),
    ),
    Operation(
        "GET",
        "/api/history/charges",
        HistoryRoutes.charges,
        "Finished charge sessions",
        "history",
        {200: ChargeList},
        HistoryQuery,
        query_except=_PERIOD,
        problems=(404,),
    ),
    Operation(
        "GET",
        "/api/history/parked",
        HistoryRoutes.parked,
        "Parked spells and what they lost",
        "history",
        {200: ParkedList},
        HistoryQuery,
        query_except=_PERIOD,
        problems=(404,),
    ),
    Operation(
        "GET",
        "/api/history/summaries",
        HistoryRoutes.summaries,
        "Totals per car and day or month",
        "history",
        {200: SummaryList},
        HistoryQuery,
        problems=(404,),
    ),
)


def history_routes(hub: Hub, history: History) -> list[BaseRoute]:
    """The routes, over ``history`` (which tracks the cars of ``hub``)."""
    return routes(OPERATIONS, HistoryRoutes(hub, history))


def _placed(record: _R, view: View) -> _R:
    """``record`` without where it happened, unless the viewer may see the car's location."""
    if view.sees_location(record.car):
        return record
    if isinstance(record, Trip):
        return msgspec.structs.replace(
            record,
            start_place=None,
            end_place=None,
            start_lat=None,
            start_lon=None,
            end_lat=None,
            end_lon=None,
        )
    if isinstance(record, ChargeSession):
        return msgspec.structs.replace(record, place=None, lat=None, lon=None)
    return msgspec.structs.replace(record, place=None)


def _resolve_car(hub: Hub, home: str | None, ref: str, view: View) -> tuple[str, str]:
    if "/" in ref:
        home_part, _, car = ref.partition("/")
        if home is not None and home_part != home:
            raise problems.invalid_query(f"car {ref!r} is not in home {home!r}", "car")
        home = home_part
    else:
        car = ref
    cars = [d for d in hub.devices(home) if d.type == "car" and d.id == car and view.sees(d.id)]
    if not cars:
        every = (
            ", ".join(
                sorted(f"{d.home}/{d.id}" for d in hub.devices(home) if d.type == "car" and view.sees(d.id))
            )
            or "none"
        )
        raise Problem(
            404, "unknown-car", "Unknown car", f"there is no car {ref!r}; cars: {every}", car=ref, known=every
        )
    if len(cars) > 1:
        where = ", ".join(f"{d.home}/{d.id}" for d in cars)
        raise problems.invalid_query(f"car {ref!r} is in several homes ({where})", "car", "HOME/CAR")
    return cars[0].home, cars[0].id


def _zone(hub: Hub, home: str | None, known: list[str]) -> ZoneInfo:
    if home is None and len(known) == 1:
        home = known[0]
    return ZoneInfo(hub.home(home).timezone) if home is not None else ZoneInfo("UTC")


def _time(text: str | None, field: str, zone: ZoneInfo) -> float | None:
    if text is None:
        return None
    try:
        return float(text) if text.replace(".", "", 1).isdigit() else _local(text, zone)
    except ValueError:
        raise problems.invalid_query(f"{text!r} is not a time", field, _TIME_WORDS) from None


def _local(text: str, zone: ZoneInfo) -> float:
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo is not None else when.replace(tzinfo=zone)).timestamp()
