"""Charging as parts of the hub: the ``energy:`` section's sites and the ``charging:`` section's cars.

The ``energy`` part offers each home's energy entry (``ENERGY``) to the ``charging`` part,
which runs a ``ChargingController`` per car — with its home's ``Site`` (grid meter and
fuse), its ``SharedLine`` when its wallbox shares a connection, and a ``Feed`` per price or
solar provider of the home's energy entry (cached under ``energy/`` in the data directory) —
and serves the charging routes. It provides each home's tariff (``TARIFFS``: the charging
section's, else the fixed price an owner chose at setup) and the car each configured charger
meters (``CHARGER_CARS``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import datetime, time
from pathlib import Path
from typing import Any, Final, cast
from zoneinfo import ZoneInfo

import httpx

from carhome.energy import config as sections
from carhome.energy.cars import Departure, OneOffDeparture, WeeklyDeparture
from carhome.energy.chargers import Charger, Connection
from carhome.energy.config import ChargingConfig, EnergyConfig
from carhome.energy.controller import CarSettings, CarSetup, ChargingController
from carhome.energy.forecasts import SiteForecast
from carhome.energy.homeprices import HomePrices
from carhome.energy.joint import SharedLine
from carhome.energy.modes import Mode
from carhome.energy.providers import Feed, provider_for
from carhome.energy.providers.fetching import new_client
from carhome.energy.routes import charging_routes
from carhome.energy.seriesfile import load_series
from carhome.energy.site import Site
from carhome.energy.units import Energy, Soc
from carhome.errors import ConfigError
from carhome.hub import Hub
from carhome.parts import Context, Key, SectionPart
from carhome.parts.keys import CHARGER_CARS, TARIFFS
from carhome.prices.series import SlotSeries
from carhome.prices.tariffs import DynamicTariff, FixedTariff, Tariff, TimeOfUseTariff, TouWindow

CarKey = tuple[str, str]

ENERGY: Final[Key[Mapping[str, EnergyConfig]]] = Key("energy")
"""Home → its energy entry (provided by the ``energy`` part, for the ``charging`` part)."""


def _home_of(entry: str | None, hub: Hub) -> str | None:
    """An entry's home: the one it names, else the hub's only home."""
    if entry is not None:
        return entry
    homes = hub.homes()
    return homes[0].id if len(homes) == 1 else None


@contextlib.asynccontextmanager
async def _energy(context: Context, section: tuple[EnergyConfig, ...]) -> AsyncIterator[object]:
    context.provide(ENERGY, {home: e for e in section if (home := _home_of(e.home, context.hub)) is not None})
    yield None


@contextlib.asynccontextmanager
async def _charging(
    context: Context, section: tuple[ChargingConfig, ...]
) -> AsyncIterator[dict[CarKey, ChargingController]]:
    hub = context.hub
    zones = {h.id: ZoneInfo(h.timezone) for h in hub.homes()}
    tariffs: dict[str, Tariff] = {}
    chargers: dict[tuple[str, str], str] = {}
    entries: list[tuple[str, ChargingConfig]] = []
    for entry in section:
        home = _home_of(entry.home, hub)
        if home is None or home not in zones:
            raise ConfigError(f"charging: name the home of car {entry.car!r}")
        entries.append((home, entry))
        if home not in tariffs:  # a home is priced by its first charged car's tariff
            tariffs[home] = tariff(entry.tariff, zones[home])
        if entry.charger:
            chargers[(home, entry.charger)] = entry.car
    if context.data is not None:  # the fixed prices chosen at setup, for homes not priced here
        chosen = HomePrices.beside(context.data).all()
        tariffs = {**{home: FixedTariff(price) for home, price in chosen.items()}, **tariffs}
    context.provide(TARIFFS, tariffs)
    context.provide(CHARGER_CARS, chargers)
    energy = context.want(ENERGY) or {}
    controllers: dict[CarKey, ChargingController] = {}
    async with contextlib.AsyncExitStack() as stack:
        sites: dict[str, Site] = {}
        lines: dict[tuple[str, str], SharedLine] = {}
        for home, entry in entries:
            setup, settings, prices = controller_parts(entry, home, zones[home], energy.get(home))
            if home not in sites:
                site_config = energy.get(home)
                grid = None if site_config is None else site_config.grid
                sites[home] = await stack.enter_async_context(Site(hub, home, grid))
            line = None
            if entry.connection is not None:
                line = lines.setdefault((home, entry.connection), SharedLine(entry.connection))
            controller = ChargingController(
                hub, setup, settings, prices, forecast=site_forecast(entry), line=line, site=sites[home]
            )
            controllers[(home, entry.car)] = await stack.enter_async_context(controller)
        cache = None if context.data is None else context.data / "energy"
        await _feeds(stack, hub, energy, controllers, cache)
        context.routes.extend(charging_routes(hub, controllers))
        yield controllers


# a section that is a list of entries: its type is the tuple (each entry checked by the config)
_ENTRIES: Final = cast(Any, tuple)

ENERGY_PART: Final = SectionPart[tuple[EnergyConfig, ...]]("energy", _ENTRIES, _energy)
CHARGING_PART: Final = SectionPart[tuple[ChargingConfig, ...]]("charging", _ENTRIES, _charging)


async def _feeds(
    stack: contextlib.AsyncExitStack[bool | None],
    hub: Hub,
    energy: Mapping[str, EnergyConfig],
    controllers: Mapping[CarKey, ChargingController],
    cache_dir: Path | None,
) -> None:
    """A feed per configured price or solar provider, feeding every charged car of its home."""
    client: httpx.AsyncClient | None = None
    for home, entry in energy.items():
        mine = [c for (h, _), c in controllers.items() if h == home]
        for kind, section in (("prices", entry.prices), ("solar", entry.solar)):
            if section is None:
                continue
            if client is None:
                client = new_client()
                stack.push_async_callback(client.aclose)
            cache_file = None if cache_dir is None else cache_dir / f"{home}-{kind}.json"
            feed = Feed(provider_for(section), hub=hub, home=home, cache_file=cache_file, client=client)
            for controller in mine:
                controller.sources.append(feed)
                feed.subscribe(controller.set_prices if kind == "prices" else _solar_into(controller))
            await stack.enter_async_context(feed)


def _solar_into(controller: ChargingController) -> Callable[[SlotSeries], None]:
    def take(series: SlotSeries) -> None:
        controller.set_forecast(replace(controller.forecast, solar=series))

    return take


def controller_parts(
    entry: ChargingConfig, home: str, zone: ZoneInfo, energy: EnergyConfig | None = None
) -> tuple[CarSetup, CarSettings, Tariff]:
    """A checked charging section as what a ``ChargingController`` is made of."""
    shared = None if energy is None or entry.connection is None else energy.connections[entry.connection]
    connection = (
        None
        if entry.connection_limit is None
        else Connection(
            id=f"{home}-{entry.car}-supply",
            max_current=entry.connection_limit,
            phases=entry.phases,
            voltage=entry.voltage,
        )
    )
    if shared is not None:  # a line shared with other cars: one connection, planned together
        connection = Connection(
            id=f"{home}-{entry.connection}",
            max_current=shared.max_current,
            phases=shared.phases,
            voltage=shared.voltage,
        )
    charger = Charger(
        id=entry.charger or entry.car,
        max_current=entry.max_current
        if connection is None
        else min(entry.max_current, connection.max_current),
        min_current=entry.min_current,
        phases=entry.phases,
        voltage=entry.voltage,
        connection=connection,
    )
    tariff_file = None if entry.tariff.file is None else Path(entry.tariff.file)
    solar_file = None if entry.solar_forecast is None else Path(entry.solar_forecast)
    setup = CarSetup(
        home=home,
        car=entry.car,
        member=entry.member,
        charger_device=entry.charger,
        charger=charger,
        capacity=Energy(entry.capacity_kwh),
        efficiency=entry.efficiency,
        zone=zone,
        feed_in=FixedTariff(entry.feed_in),
        house_load_kw=entry.house_load,
        tariff_file=tariff_file,
        solar_file=solar_file,
        pause_via_car=entry.pause == "car",
        grid_phases=None if entry.phase is None or entry.phases != 1 else (entry.phase,),
    )
    settings = CarSettings(
        mode=Mode(entry.mode),
        target=Soc.percent(entry.target),
        limit=None if entry.limit is None else Soc.percent(entry.limit),
        departure=departure(entry.departure, zone),
    )
    return setup, settings, tariff(entry.tariff, zone)


def departure(config: sections.DepartureConfig, zone: ZoneInfo) -> Departure:
    if config.weekly is not None:
        days = sections.weekly_days(config.weekly)
        return WeeklyDeparture(tuple((d, time(*hm)) for d, hm in sorted(days.items())), zone)
    return OneOffDeparture(datetime.fromisoformat(str(config.at)))


def tariff(config: sections.TariffConfig, zone: ZoneInfo) -> Tariff:
    """The tariff a checked tariff section describes (a price file is read now)."""
    if config.fixed is not None:
        return FixedTariff(config.fixed)
    if config.time_of_use is not None:
        weekend = None if config.weekend is None else _windows(config.weekend)
        return TimeOfUseTariff(_windows(config.time_of_use), zone, weekend)
    if config.file is None:
        raise ConfigError("a tariff needs fixed, time_of_use or file")
    return DynamicTariff(load_series(config.file))


def _windows(items: tuple[sections.TouWindowConfig, ...]) -> tuple[TouWindow, ...]:
    return tuple(
        TouWindow(time(*sections.clock_time(w.start)), time(*sections.clock_time(w.end)), w.price)
        for w in items
    )


def site_forecast(entry: ChargingConfig) -> SiteForecast:
    solar = None if entry.solar_forecast is None else load_series(entry.solar_forecast, non_negative=True)
    return SiteForecast(solar=solar)
