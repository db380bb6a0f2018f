"""The charging part of the local API: each car's plan, its settings, and new prices.

``charging_routes(hub, controllers)`` returns Starlette routes to add to the local app:

- ``GET /api/charging``: every charged car with its plan in force;
- ``GET /api/charging/{home}/{car}``: one car's plan — mode, target, departure, what is
  being done now, and the slots (start, price, solar, planned power, SoC at the slot's end);
  where its prices and forecast come from and how old they are (a warning when the
  provider's last refresh failed), what the house's fuse leaves its wallbox;
- ``PUT /api/charging/{home}/{car}``: ``{"mode"?, "target"?, "departure"?}`` — a new mode,
  target (percent) or one-off departure (``HH:MM`` local, the next such time, or ISO 8601
  with an offset); answers with the plan made for it;
- ``POST /api/charging/{home}/prices``: ``{"text": …, "format": "csv" | "json"}``, a price
  series in the format of ``carhome.energy.seriesfile``, for every charged car of the home;
  a bad series is a 422 problem naming the line and the reason.

A guest sees the plans of the cars their live grants name, and no other (a 404, as for a
car without charging); owners and family change the settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from carhome.energy import Mode, OneOffDeparture, Soc, parse_csv, parse_json
from carhome.energy.controller import ChargingController
from carhome.energy.seriesfile import past_warning
from carhome.energy.site import Allowance
from carhome.errors import ConfigError
from carhome.http.bodies import decode_body, json_response
from carhome.http.operations import Operation, routes
from carhome.http.principals import principal_of, view_of
from carhome.http.problems import Problem
from carhome.hub import Hub
from carhome.wire.charging import (
    CarPlanOut,
    PricesIn,
    PricesOut,
    SettingsIn,
    SiteOut,
    SlotOut,
)

log: Final = logging.getLogger(__name__)

_MAX_TEXT: Final = 1024 * 1024
_STEP_WAIT_S: Final = 10.0  # real seconds to wait for the plan a change asked for


def plan_out(controller: ChargingController) -> CarPlanOut:
    """A controller's plan in force, for the wire."""
    setup, settings, status = controller.setup, controller.settings, controller.status
    now = datetime.fromtimestamp(controller.hub.clock.time(), setup.zone)
    plan = controller.plan
    slots: list[SlotOut] = []
    energy = cost = shortfall = 0.0
    soc_start = 100.0 * settings.target.fraction
    if plan is not None:
        mine = plan.car(setup.car)
        energy, cost, shortfall = mine.energy_kwh, plan.charging_cost, mine.shortfall_kwh
        soc_start = 100.0 * mine.soc[0]
        slots = [
            SlotOut(
                start=start,
                price=plan.price[t],
                solar_kw=plan.solar_kw[t],
                power_kw=round(mine.power_kw[t], 3),
                soc=round(100.0 * mine.soc[t + 1], 2),
            )
            for t, start in enumerate(plan.starts)
        ]
    setpoint = status.setpoint
    return CarPlanOut(
        home=setup.home,
        car=setup.car,
        charger=setup.charger_device,
        mode=str(settings.mode),
        target=round(100.0 * settings.target.fraction, 2),
        limit=None if settings.limit is None else round(100.0 * settings.limit.fraction, 2),
        departure=settings.departure.next_after(now),
        plugged=status.plugged,
        in_session=status.in_session,
        charging_now=setpoint is not None and setpoint.on,
        setpoint_a=0 if setpoint is None else setpoint.amps,
        setpoint_kw=0.0 if setpoint is None else round(setpoint.power_kw, 3),
        reasons=list(status.reasons),
        problem=status.problem,
        problem_code=status.problem_code,
        made_at=None if plan is None else plan.made_at,
        soc_start=round(soc_start, 2),
        energy_kwh=round(energy, 3),
        cost=round(cost, 4),
        shortfall_kwh=round(shortfall, 3),
        slots=slots,
        sources=[feed.status() for feed in controller.sources],
        site=_site_out(controller.allowance),
        shared_line=None if controller.line is None else controller.line.name,
    )


def _site_out(allowance: Allowance | None) -> SiteOut | None:
    if allowance is None or (
        allowance.cap_a is None and allowance.surplus_w is None and not allowance.silent
    ):
        return None  # no grid meter: nothing to say
    surplus = None if allowance.surplus_w is None else round(allowance.surplus_w / 1000.0, 3)
    return SiteOut(cap_a=allowance.cap_a, surplus_kw=surplus, meter_silent=allowance.silent)


def departure_at(text: str, now: datetime) -> datetime:
    """``'07:30'`` → the next 07:30 after ``now`` (its zone); ISO 8601 with an offset as is."""
    try:
        clock = time.fromisoformat(text) if len(text) <= 8 else None
    except ValueError:
        clock = None
    if clock is not None:
        when = datetime.combine(now.date(), clock, tzinfo=now.tzinfo)
        return when if when > now else when + timedelta(days=1)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither HH:MM nor an ISO 8601 time") from None
    if when.tzinfo is None:
        raise ValueError(f"{text!r} needs an offset, e.g. 2026-05-01T07:30:00+08:00")
    if when <= now:
        raise ValueError(f"{text} has passed; give a time still to come")
    return when


class ChargingRoutes:
    """The handlers over ``controllers`` (one per charged car, keyed by home and car)."""

    def __init__(self, hub: Hub, controllers: Mapping[tuple[str, str], ChargingController]) -> None:
        self.hub = hub
        self.controllers = controllers

    def find(self, request: Request) -> ChargingController:
        key = (request.path_params["home"], request.path_params["car"])
        shown = _visible(request, self.controllers)
        controller = self.controllers.get(key) if key in shown else None
        if controller is None:
            known = ", ".join(f"{h}/{c}" for h, c in sorted(shown)) or "none"
            raise Problem(
                404,
                "unknown-charging",
                "No charging for this car",
                f"{key[0]}/{key[1]} has no charging section; charged cars: {known}",
                home=key[0],
                car=key[1],
            )
        return controller

    async def listing(self, request: Request) -> Response:
        return json_response([plan_out(self.controllers[key]) for key in _visible(request, self.controllers)])

    def may_change(self, request: Request) -> None:
        principal = principal_of(request)
        if not principal.may_change_settings:
            raise Problem(
                403,
                "not-allowed",
                "Not allowed",
                f"{principal.member} is a {principal.role}: only owners and family change charging",
                member=principal.member,
            )

    async def one(self, request: Request) -> Response:
        return json_response(plan_out(self.find(request)))

    async def change(self, request: Request) -> Response:
        controller = self.find(request)
        self.may_change(request)
        asked: SettingsIn = await decode_body(request, SettingsIn, limit=_MAX_TEXT)
        now = datetime.fromtimestamp(self.hub.clock.time(), controller.setup.zone)
        field = "departure"  # the field being read, named in a refusal so a form can mark it
        try:
            departure = (
                None if asked.departure is None else OneOffDeparture(departure_at(asked.departure, now))
            )
            field = "target"
            target = None if asked.target is None else Soc.percent(asked.target)
            field = "settings"
            if target is not None or departure is not None:
                controller.set_target(target or controller.settings.target, departure)
        except (ConfigError, ValueError) as exc:
            reason = exc.reason if isinstance(exc, ConfigError) else str(exc)
            raise Problem(
                422, "invalid-settings", "Invalid charging settings", reason, reason=reason, field=field
            ) from None
        if asked.mode is not None:
            controller.set_mode(Mode(asked.mode))
        await _next_step(controller)
        return json_response(plan_out(controller))

    async def prices(self, request: Request) -> Response:
        home = request.path_params["home"]
        mine = [
            c for (h, _), c in sorted(self.controllers.items()) if h == home and principal_of(request).sees(h)
        ]
        if not mine:
            raise Problem(
                404, "unknown-charging", "No charging in this home", f"no car of {home!r} is charged"
            )
        self.may_change(request)
        asked: PricesIn = await decode_body(request, PricesIn, limit=_MAX_TEXT)
        parse = parse_json if asked.format == "json" else parse_csv
        try:
            # up to a megabyte of text: parsed off the event loop, which it would hold too long
            series = await asyncio.to_thread(parse, asked.text, source=asked.file)
        except ConfigError as exc:
            raise Problem(
                422,
                "invalid-series",
                "Invalid price series",
                str(exc),
                file=exc.file,
                line=exc.line,
                reason=exc.reason,
            ) from None
        now = datetime.fromtimestamp(self.hub.clock.time(), UTC)
        warning = past_warning(series, now, source=asked.file)
        if warning is not None:
            log.warning("prices for %s: %s", home, warning)
        for controller in mine:
            controller.set_prices(series)
        await asyncio.gather(*(_next_step(c) for c in mine))
        out = PricesOut(
            home=home,
            slots=len(series.values),
            start=series.start,
            end=series.end,
            cars=[c.setup.car for c in mine],
            warning=warning,
        )
        return json_response(out)


OPERATIONS: Final[tuple[Operation[ChargingRoutes], ...]] = (
    Operation(
        "GET",
        "/api/charging",
        ChargingRoutes.listing,
        "Every charged car's plan",
        "charging",
        {200: list[CarPlanOut]},
    ),
    Operation(
        "POST",
        "/api/charging/{home}/prices",
        ChargingRoutes.prices,
        "New prices for the home's charged cars",
        "charging",
        {200: PricesOut},
        body=PricesIn,
        problems=(403, 404),
    ),
    Operation(
        "GET",
        "/api/charging/{home}/{car}",
        ChargingRoutes.one,
        "One car's charging plan",
        "charging",
        {200: CarPlanOut},
        problems=(404,),
    ),
    Operation(
        "PUT",
        "/api/charging/{home}/{car}",
        ChargingRoutes.change,
        "Change a car's mode, target or departure",
        "charging",
        {200: CarPlanOut},
        body=SettingsIn,
        problems=(403, 404),
    ),
)


def charging_routes(hub: Hub, controllers: Mapping[tuple[str, str], ChargingController]) -> list[BaseRoute]:
    """The routes over ``controllers`` (one per charged car, keyed by home and car)."""
    return routes(OPERATIONS, ChargingRoutes(hub, controllers))


def _visible(request: Request, controllers: Mapping[tuple[str, str], object]) -> list[tuple[str, str]]:
    """The charged cars the caller may see: of their home, and a guest's granted ones."""
    principal, view = principal_of(request), view_of(request)
    return [(h, c) for h, c in sorted(controllers) if principal.sees(h) and view.sees(c)]


async def _next_step(controller: ChargingController) -> None:
    """Wait (bounded) for the step that follows a change, so the answer shows its plan."""
    controller.stepped.clear()
    controller.wake()
    # past the wait the answer shows the plan in force; the new one follows
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(controller.stepped.wait(), _STEP_WAIT_S)
