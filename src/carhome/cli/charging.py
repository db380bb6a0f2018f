"""``carhome plan`` and ``carhome prices``: each car's charging plan, its settings, prices.

Talks to a running hub's local API (``carhome.energy.routes``) through ``HubClient``,
extended here with the charging calls. ``CAR`` is ``home/car``, or just ``car`` when one
car is charged.

The lead registers the two groups in ``carhome.cli.main``: ``plan`` and ``prices``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from carhome.cli.client import HubClient
from carhome.cli.options import hub_options, with_client
from carhome.cli.output import ChartFile, charts, echo_json, echo_result, table
from carhome.wire.charging import CarPlanOut, PricesOut

_T = TypeVar("_T")
MODES = ("off", "now", "solar", "solar_min", "smart")


class ChargingClient(HubClient):
    """``HubClient`` with the charging calls."""

    async def plans(self) -> list[CarPlanOut]:
        return await self.call("GET", "/api/charging", list[CarPlanOut])

    async def change(self, home: str, car: str, **settings: Any) -> CarPlanOut:
        body = {k: v for k, v in settings.items() if v is not None}
        return await self.call("PUT", f"/api/charging/{home}/{car}", CarPlanOut, body=body)

    async def load_prices(self, home: str, text: str, *, fmt: str, file: str) -> PricesOut:
        body = {"text": text, "format": fmt, "file": file}
        return await self.call("POST", f"/api/charging/{home}/prices", PricesOut, body=body)


def _with_client(given: str | None, work: Callable[[ChargingClient], Awaitable[_T]]) -> _T:
    return with_client(given, ChargingClient, work)


def pick(plans: list[CarPlanOut], name: str | None) -> CarPlanOut:
    """The plan of ``name`` (``home/car`` or ``car``); the only one when ``name`` is None."""
    if not plans:
        raise click.ClickException("no car is charged by this hub; add a charging section to its config")
    if name is None:
        if len(plans) > 1:
            known = ", ".join(f"{p.home}/{p.car}" for p in plans)
            raise click.UsageError(f"more than one car is charged; name one with --car ({known})")
        return plans[0]
    home, _, car = name.rpartition("/")
    found = [p for p in plans if p.car == car and (not home or p.home == home)]
    if len(found) != 1:
        known = ", ".join(f"{p.home}/{p.car}" for p in plans)
        raise click.UsageError(f"no single charged car {name!r}; charged cars: {known}")
    return found[0]


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%a %H:%M")


def plan_text(plan: CarPlanOut) -> str:
    """A car's plan as a person reads it: a summary, then the slots that charge."""
    now = "charging" if plan.charging_now else "holding"
    if plan.charging_now:
        now += f" at {plan.setpoint_kw:g} kW ({plan.setpoint_a} A)"
    lines = [
        f"{plan.home}/{plan.car}: {plan.mode}, {plan.target:g} % by {_when(plan.departure)}"
        + (f" via {plan.charger}" if plan.charger else " (through the car)"),
        f"  plugged in: {'yes' if plan.plugged else 'no'}; now {now}"
        + (f"; last replanned for: {', '.join(plan.reasons)}" if plan.reasons else ""),
        f"  plan: {plan.energy_kwh:.1f} kWh, cost {plan.cost:.2f}"
        + (f", {plan.shortfall_kwh:.1f} kWh short at departure" if plan.shortfall_kwh else ""),
    ]
    if plan.problem:
        lines.append(f"  problem: {plan.problem}")
    rows = [
        [
            s.start.strftime("%a %H:%M"),
            f"{s.price:.3f}",
            f"{s.solar_kw:.2f}",
            f"{s.power_kw:.2f}",
            f"{s.soc:.1f}",
        ]
        for s in plan.slots
        if s.power_kw > 0
    ]
    if rows:
        lines += ["", table(["SLOT", "PRICE", "SOLAR kW", "POWER kW", "SOC %"], rows)]
    else:
        lines.append("  no charging planned")
    return "\n".join(lines)


@click.group()
def plan() -> None:
    """Charging plans: see them, pick a mode, set a target and departure."""


@plan.command()
@click.option("--car", "car", metavar="CAR", help="home/car or car (needed when several are charged).")
@click.option(
    "--out",
    type=ChartFile(),
    help="Also draw the plan to this file (.svg or .png).",
)
@hub_options
def show(*, car: str | None, out: Path | None, hub: str | None, as_json: bool) -> None:
    """Show a car's charging plan: what it does now, and the slots that charge.

    \b
    Examples:
      carhome plan show
      carhome plan show --car yizhuang/car --out plan.svg
    """
    chosen = pick(_with_client(hub, lambda client: client.plans()), car)
    echo_result(chosen, plan_text(chosen), as_json=as_json)
    if out is not None:
        path = draw(chosen, out)
        click.echo(f"chart: {path}", err=as_json)


def draw(chosen: CarPlanOut, out: Path) -> Path:
    """Draw the plan with ``carhome.cli.charts.plan_chart``."""
    path: Path = charts().plan_chart(as_plan(chosen), out)
    return path


def as_plan(chosen: CarPlanOut) -> Any:
    """The API's plan of one car as the planner's ``Plan`` (what the chart draws)."""
    from carhome.energy import CarPlan, Mode, Plan  # noqa: PLC0415

    slots = chosen.slots
    starts = tuple(s.start for s in slots)
    made = chosen.made_at or (starts[0] if starts else chosen.departure)
    end = starts[-1] + (starts[-1] - starts[-2]) if len(starts) > 1 else chosen.departure
    hours = tuple(
        max(0.0, ((starts[t + 1] if t + 1 < len(starts) else end) - max(s, made)).total_seconds() / 3600)
        for t, s in enumerate(starts)
    )
    car = CarPlan(
        car_id=chosen.car,
        mode=Mode(chosen.mode),
        power_kw=tuple(s.power_kw for s in slots),
        soc=(chosen.soc_start / 100, *(s.soc / 100 for s in slots)),
        target_soc=chosen.target / 100,
        departure=chosen.departure,
        energy_kwh=chosen.energy_kwh,
        shortfall_kwh=chosen.shortfall_kwh,
    )
    zeros = tuple(0.0 for _ in slots)
    return Plan(
        made_at=made,
        starts=starts,
        end=end,
        hours=hours,
        price=tuple(s.price for s in slots),
        feed_in=zeros,
        solar_kw=tuple(s.solar_kw for s in slots),
        load_kw=zeros,
        cars=(car,),
        grid_kw=tuple(s.power_kw for s in slots),
        cost=chosen.cost,
        charging_cost=chosen.cost,
        energy_from_grid_kwh=chosen.energy_kwh,
        energy_from_solar_kwh=0.0,
    )


@plan.command()
@click.argument("mode", type=click.Choice(MODES))
@click.option("--car", "car", metavar="CAR", help="home/car or car (needed when several are charged).")
@hub_options
def mode(*, mode: str, car: str | None, hub: str | None, as_json: bool) -> None:
    """Pick how a car is charged: off, now, solar (surplus only), solar_min (at least the
    charger's minimum), smart (the cheapest plan that reaches the target by departure).

    \b
    Examples:
      carhome plan mode now
      carhome plan mode smart --car yizhuang/car
    """

    async def work(client: ChargingClient) -> CarPlanOut:
        chosen = pick(await client.plans(), car)
        return await client.change(chosen.home, chosen.car, mode=mode)

    done = _with_client(hub, work)
    echo_json(done) if as_json else click.echo(plan_text(done))


@plan.command()
@click.argument("soc", type=click.FloatRange(0, 100))
@click.option("--by", "by", metavar="TIME", help="Leave at TIME once: HH:MM (the next one) or ISO 8601.")
@click.option("--car", "car", metavar="CAR", help="home/car or car (needed when several are charged).")
@hub_options
def target(*, soc: float, by: str | None, car: str | None, hub: str | None, as_json: bool) -> None:
    """Charge a car to SOC percent, by the usual departure or, with --by, by TIME once.

    \b
    Examples:
      carhome plan target 90 --by 06:30
      carhome plan target 80
    """

    async def work(client: ChargingClient) -> CarPlanOut:
        chosen = pick(await client.plans(), car)
        return await client.change(chosen.home, chosen.car, target=soc, departure=by)

    done = _with_client(hub, work)
    echo_json(done) if as_json else click.echo(plan_text(done))


@click.group()
def prices() -> None:
    """Electricity prices for the charging plans."""


@prices.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--home", "home", metavar="HOME", help="The home the prices are for (when there are several).")
@hub_options
def load(*, file: Path, home: str | None, hub: str | None, as_json: bool) -> None:
    """Send the price series in FILE (CSV 'start,value' or JSON) to the hub; every charged
    car of the home is replanned with it. A bad file is refused with its line and reason.

    \b
    Examples:
      carhome prices load day-ahead.csv
    """
    text = file.read_text(encoding="utf-8")
    fmt = "json" if file.suffix.lower() == ".json" else "csv"

    async def work(client: ChargingClient) -> PricesOut:
        homes = sorted({p.home for p in await client.plans()})
        chosen = home or (homes[0] if len(homes) == 1 else None)
        if chosen is None:
            raise click.UsageError(f"name the home with --home ({', '.join(homes) or 'none charged'})")
        return await client.load_prices(chosen, text, fmt=fmt, file=str(file))

    done = _with_client(hub, work)
    if as_json:
        echo_json(done)
    else:
        click.echo(
            f"{done.home}: {done.slots} price slots from {done.start:%Y-%m-%d %H:%M} to"
            f" {done.end:%Y-%m-%d %H:%M}; replanned {', '.join(done.cars)}"
        )
        if done.warning is not None:
            click.echo(f"warning: {done.warning}", err=True)
