"""Charts of a charging plan and of trips, as SVG or PNG files (matplotlib, Agg backend).

``plan_chart(plan, path)`` draws a ``carhome.energy.Plan`` in three panels sharing the time
axis: the price (and the feed-in price), solar and house load with each car's planned
power, and each car's state of charge with its target and departure. ``trips_chart(trips,
path)`` draws trips: distance per trip, and efficiency (Wh/km) per trip. The file type
follows the suffix (``.svg`` or ``.png``). Times are shown in ``zone`` (the home's
timezone), UTC when none is given.

Figures are made with matplotlib's object API on the Agg canvas, never pyplot, so drawing
needs no display, keeps no global figure state, and is safe in a server process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Final

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, DateFormatter, HourLocator, date2num
from matplotlib.figure import Figure

from carhome.energy.plans import Plan
from carhome.errors import ConfigError
from carhome.wire.history import Trip

SUFFIXES: Final = (".svg", ".png")
_DPI: Final = 120
EMPTY_KM: Final = 50.0
EMPTY_WH_PER_KM: Final = 250.0
"""The scales of a chart with no trips (a day's drive, a car's usual efficiency)."""


def plan_chart(plan: Plan, path: str | os.PathLike[str], *, zone: tzinfo | None = None) -> Path:
    """Draw ``plan`` to ``path`` (``.svg`` or ``.png``) and return the path.

    Panels: price per kWh over time (step), solar, house load and each car's planned power
    (kW, step), and each car's state of charge (%) with its target and departure marked.
    """
    out = _checked(path)
    zone = zone or UTC
    edges = [*plan.starts, plan.end]
    fig = Figure(figsize=(10, 7.5), layout="constrained")
    price_ax, power_ax, soc_ax = fig.subplots(3, 1, sharex=True, height_ratios=(1, 1.4, 1.2))

    price_ax.stairs(plan.price, edges, color="tab:red", linewidth=1.5, label="price")
    if any(plan.feed_in):
        price_ax.stairs(plan.feed_in, edges, color="tab:gray", linewidth=1, linestyle="--", label="feed-in")
    price_ax.set_ylabel("price / kWh")
    price_ax.legend(loc="upper right", fontsize="small")
    price_ax.set_title(
        f"Charging plan made {plan.made_at.astimezone(zone):%Y-%m-%d %H:%M} — "
        f"charging cost {plan.charging_cost:.2f}, "
        f"{plan.energy_from_grid_kwh:.1f} kWh from the grid, {plan.energy_from_solar_kwh:.1f} kWh solar"
    )

    power_ax.stairs(plan.solar_kw, edges, fill=True, color="gold", alpha=0.5, label="solar")
    power_ax.stairs(plan.load_kw, edges, color="tab:brown", linewidth=1, label="house load")
    for car in plan.cars:
        power_ax.stairs(car.power_kw, edges, linewidth=2, label=f"{car.car_id} planned")
    power_ax.set_ylabel("kW")
    power_ax.legend(loc="upper right", fontsize="small")

    for car in plan.cars:
        (line,) = soc_ax.plot(edges, [s * 100.0 for s in car.soc], linewidth=2, label=f"{car.car_id} SoC")
        soc_ax.axhline(car.target_soc * 100.0, color=line.get_color(), linestyle=":", linewidth=1)
        if plan.starts[0] <= car.departure <= plan.end:
            soc_ax.axvline(car.departure, color=line.get_color(), linestyle="--", linewidth=1)
    soc_ax.set_ylabel("state of charge %")
    soc_ax.set_ylim(0, 100)
    if plan.cars:
        soc_ax.legend(loc="lower right", fontsize="small")
    _time_axis(soc_ax, zone)
    for ax in (price_ax, power_ax, soc_ax):
        ax.grid(True, alpha=0.3)
    return _save(fig, out)


def trips_chart(trips: Sequence[Trip], path: str | os.PathLike[str], *, zone: tzinfo | None = None) -> Path:
    """Draw ``trips`` to ``path`` (``.svg`` or ``.png``) and return the path.

    Top: each trip's distance as a bar at its start, as wide as it lasted (at least a
    quarter hour, to stay visible over a week). Bottom: each trip's efficiency in Wh/km.
    """
    out = _checked(path)
    zone = zone or UTC
    fig = Figure(figsize=(10, 6), layout="constrained")
    dist_ax, eff_ax = fig.subplots(2, 1, sharex=True)
    starts = [datetime.fromtimestamp(t.start, zone) for t in trips]
    widths = [timedelta(seconds=max(t.end - t.start, 900.0)) for t in trips]
    distances = [t.distance_km or 0.0 for t in trips]
    dist_ax.bar(starts, distances, width=widths, align="edge", color="tab:blue")
    dist_ax.set_ylabel("distance km")
    total_km = sum(distances)
    energy = sum(t.energy_kwh or 0.0 for t in trips if t.distance_km)
    counted_km = sum(t.distance_km or 0.0 for t in trips if t.energy_kwh is not None)
    mean = f", {energy * 1000.0 / counted_km:.0f} Wh/km" if counted_km else ""
    count = "1 trip" if len(trips) == 1 else f"{len(trips)} trips"
    dist_ax.set_title(f"{count}, {total_km:.1f} km, {energy:.1f} kWh{mean}")
    rated = [(s, t.wh_per_km) for s, t in zip(starts, trips, strict=True) if t.wh_per_km is not None]
    eff_ax.plot([s for s, _ in rated], [w for _, w in rated], "o", color="tab:green")
    eff_ax.set_ylabel("Wh/km")
    if not trips:
        dist_ax.text(0.5, 0.5, "no trips", transform=dist_ax.transAxes, ha="center", va="center")
        # Axes of nothing would span matplotlib's -0.04..0.04: show an empty day of zero
        # kilometres instead, so the chart reads as "none yet" rather than as broken.
        _empty_axes(dist_ax, eff_ax, zone)
    else:
        dist_ax.set_ylim(bottom=0)
        _time_axis(eff_ax, zone)
    for ax in (dist_ax, eff_ax):
        ax.grid(True, alpha=0.3)
    return _save(fig, out)


def _empty_axes(dist_ax: Axes, eff_ax: Axes, zone: tzinfo) -> None:
    day = datetime(2000, 1, 1, tzinfo=zone)  # any day: only the hours are shown
    # matplotlib's stubs leave date2num and these two constructors untyped
    start, end = date2num([day, day + timedelta(days=1)])  # type: ignore[no-untyped-call]
    eff_ax.set_xlim(float(start), float(end))
    dist_ax.set_ylim(0, EMPTY_KM)
    eff_ax.set_ylim(0, EMPTY_WH_PER_KM)
    locator = HourLocator(byhour=range(0, 24, 6), tz=zone)  # type: ignore[no-untyped-call]
    eff_ax.xaxis.set_major_locator(locator)
    eff_ax.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=zone))  # type: ignore[no-untyped-call]


def _checked(path: str | os.PathLike[str]) -> Path:
    out = Path(path)
    if out.suffix.lower() not in SUFFIXES:
        raise ConfigError(f"a chart is written as .svg or .png; {out.name!r} has neither suffix")
    return out


def _time_axis(ax: Axes, zone: tzinfo) -> None:
    # matplotlib's stubs leave these two constructors untyped
    locator = AutoDateLocator(tz=zone)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=zone))  # type: ignore[no-untyped-call]


def _save(fig: Figure, out: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(out, format=out.suffix.lower().lstrip("."), dpi=_DPI)
    return out
