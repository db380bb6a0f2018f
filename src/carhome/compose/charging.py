"""Charging in a running hub: the OCPP central system and one controller per car, from config.

``start_charging_services(stack, hub, config, clock, database=…)`` turns the ``ocpp:`` and
``charging:`` sections of a checked ``Config`` into running parts entered on ``stack``
(so they stop with the hub): an ``OcppServer`` for the configured chargers (its
transactions kept beside the hub's ``database``, so they outlive a restart), and a
``ChargingController`` per car — with its home's ``Site`` (grid meter and fuse), its
``SharedLine`` when its wallbox shares a connection, and a ``Feed`` per price or solar
provider of the home's ``energy:`` section (cached beside the database). It returns them
as ``ChargingServices``, which also makes the simulator's OCPP links (``sim_links``) so a
simulated wallbox connects to this very server. ``demo_charging`` is the demo home's part:
its wallbox as an OCPP charger and its car charged by a smart plan on a Beijing
time-of-use tariff.

This module wires; the logic lives in ``carhome.energy.controller`` and the connector.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

import httpx

from carhome.clock import Clock
from carhome.compose.config import (
    ChargingConfig,
    Config,
    DepartureConfig,
    DeviceConfig,
    OcppChargerConfig,
    OcppConfig,
    TariffConfig,
    TouWindowConfig,
    clock_time,
    weekly_days,
)
from carhome.connectors.ocpp import Charger as OcppCharger
from carhome.connectors.ocpp import OcppServer
from carhome.connectors.ocpp.sqlite import SqliteTransactionStore
from carhome.energy.cars import Departure, OneOffDeparture, WeeklyDeparture
from carhome.energy.chargers import Charger, Connection
from carhome.energy.config import EnergyConfig
from carhome.energy.controller import CarSettings, CarSetup, ChargingController
from carhome.energy.forecasts import SiteForecast
from carhome.energy.joint import SharedLine
from carhome.energy.modes import Mode
from carhome.energy.providers import Feed, provider_for
from carhome.energy.providers.fetching import new_client
from carhome.energy.seriesfile import load_series
from carhome.energy.site import Site
from carhome.energy.units import Energy, Soc
from carhome.errors import ConfigError
from carhome.hub import Home, Hub
from carhome.prices.series import SlotSeries
from carhome.prices.tariffs import DynamicTariff, FixedTariff, Tariff, TimeOfUseTariff, TouWindow

if TYPE_CHECKING:
    from carhome.sim.runner import LinkFactory
    from carhome.sim.world import SimHome

log: Final = logging.getLogger(__name__)

CarKey = tuple[str, str]


@dataclass
class ChargingServices:
    """What ``start_charging_services`` started."""

    ocpp: OcppServer | None = None
    controllers: dict[CarKey, ChargingController] = field(default_factory=dict)
    feeds: list[Feed] = field(default_factory=list)
    """The price and solar providers the homes' energy sections name."""
    logins: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """(home, wallbox device) → (charger id, password), for the simulator's chargers."""

    @property
    def ocpp_url(self) -> str | None:
        """Where chargers connect, ``ws://host:port/ocpp`` (None without an OCPP server)."""
        if self.ocpp is None:
            return None
        return f"ws://127.0.0.1:{self.ocpp.port}/ocpp"

    def sim_links(self, sim: SimHome, clock: Clock) -> dict[str, LinkFactory]:
        """Links that play ``sim``'s OCPP wallboxes as chargers of this hub's OCPP server."""
        from carhome.sim.wallbox import SimWallbox, ocpp_wallbox_link  # noqa: PLC0415 - only the sim needs it

        url = self.ocpp_url
        links: dict[str, LinkFactory] = {}
        if url is None:
            return links
        for device_id, device in sim.devices.items():
            login = self.logins.get((sim.home.id, device_id))
            if login is not None and isinstance(device, SimWallbox):
                charger_id, password = login
                links[device_id] = ocpp_wallbox_link(device, url, charger_id, password=password, clock=clock)
        return links


async def start_charging_services(
    stack: contextlib.AsyncExitStack, hub: Hub, config: Config, clock: Clock, *, database: Path | None = None
) -> ChargingServices:
    """Start the OCPP server and the charging controllers ``config`` asks for, on ``stack``
    (without ``database``, the OCPP transactions are kept in memory only)."""
    services = ChargingServices()
    if config.ocpp is not None:
        chargers: dict[str, OcppCharger] = {}
        for cid, charger in config.ocpp.chargers.items():
            password = _password(cid, charger)
            chargers[cid] = OcppCharger(home=charger.home, device=charger.device, password=password)
            services.logins[(charger.home, charger.device)] = (cid, password)
        store = None if database is None else SqliteTransactionStore.beside(database)
        services.ocpp = await stack.enter_async_context(
            OcppServer(
                hub,
                config.ocpp.host,
                config.ocpp.port,
                chargers=chargers,
                id_tokens=config.ocpp.id_tokens,
                store=store,
            )
        )
        log.info("OCPP central system listening on %s/{charger id}", services.ocpp_url)
    zones = {h.id: ZoneInfo(h.timezone) for h in config.homes}
    energy = {e.home or config.homes[0].id: e for e in config.energy}
    sites: dict[str, Site] = {}
    lines: dict[tuple[str, str], SharedLine] = {}
    for entry in config.charging:
        home = entry.home or config.homes[0].id
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
        services.controllers[(home, entry.car)] = await stack.enter_async_context(controller)
    await _feeds(stack, hub, energy, services, None if database is None else database.parent / "energy")
    if clock is not hub.clock:
        log.warning("the charging controllers keep the hub's clock, not the one given")
    return services


async def _feeds(
    stack: contextlib.AsyncExitStack,
    hub: Hub,
    energy: dict[str, EnergyConfig],
    services: ChargingServices,
    cache_dir: Path | None,
) -> None:
    """A feed per configured price or solar provider, feeding every charged car of its home."""
    client: httpx.AsyncClient | None = None
    for home, entry in energy.items():
        mine = [c for (h, _), c in services.controllers.items() if h == home]
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
            services.feeds.append(await stack.enter_async_context(feed))


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


def departure(config: DepartureConfig, zone: ZoneInfo) -> Departure:
    if config.weekly is not None:
        days = weekly_days(config.weekly)
        return WeeklyDeparture(tuple((d, time(*hm)) for d, hm in sorted(days.items())), zone)
    return OneOffDeparture(datetime.fromisoformat(str(config.at)))


def tariff(config: TariffConfig, zone: ZoneInfo) -> Tariff:
    """The tariff a checked tariff section describes (a price file is read now)."""
    if config.fixed is not None:
        return FixedTariff(config.fixed)
    if config.time_of_use is not None:
        weekend = None if config.weekend is None else _windows(config.weekend)
        return TimeOfUseTariff(_windows(config.time_of_use), zone, weekend)
    if config.file is None:
        raise ConfigError("a tariff needs fixed, time_of_use or file")
    return DynamicTariff(load_series(config.file))


def _windows(items: tuple[TouWindowConfig, ...]) -> tuple[TouWindow, ...]:
    return tuple(TouWindow(time(*clock_time(w.start)), time(*clock_time(w.end)), w.price) for w in items)


def site_forecast(entry: ChargingConfig) -> SiteForecast:
    solar = None if entry.solar_forecast is None else load_series(entry.solar_forecast, non_negative=True)
    return SiteForecast(solar=solar)


def _password(cid: str, charger: OcppChargerConfig) -> str:
    if charger.password is not None:
        return charger.password
    path = Path(str(charger.password_file))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the password of OCPP charger {cid!r}: {exc}", file=str(path)) from exc
    password = lines[0].strip() if lines else ""
    if not 16 <= len(password) <= 40:
        raise ConfigError(
            f"the password of OCPP charger {cid!r} must have 16 to 40 characters on the first line",
            file=str(path),
        )
    return password


# -- the demo ---------------------------------------------------------------------------

DEMO_CHARGER_ID: Final = "yizhuang-garage"
DEMO_TAG: Final = "carhome-sim"

# Beijing's time-of-use shape (peak 10–15 and 18–21, flat 7–10, 15–18 and 21–23, valley
# 23–7), at plausible residential EV prices in CNY/kWh.
BEIJING_TOU: Final = (
    TouWindowConfig(start="23:00", end="07:00", price=0.30),
    TouWindowConfig(start="07:00", end="10:00", price=0.65),
    TouWindowConfig(start="10:00", end="15:00", price=1.05),
    TouWindowConfig(start="15:00", end="18:00", price=0.65),
    TouWindowConfig(start="18:00", end="21:00", price=1.05),
    TouWindowConfig(start="21:00", end="23:00", price=0.65),
)


@dataclass(frozen=True, slots=True)
class DemoCharging:
    devices: tuple[DeviceConfig, ...]
    ocpp: OcppConfig
    charging: tuple[ChargingConfig, ...]


def demo_charging(home: Home, devices: tuple[DeviceConfig, ...], *, ocpp_port: int = 0) -> DemoCharging:
    """The demo home's wallbox as an OCPP charger, and its car charged by a smart plan.

    The charger's password is made fresh for each run: the simulated wallbox is in the
    same process and learns it from the server's logins.
    """
    wallbox = next(d for d in devices if d.type == "wallbox")
    car = next(d for d in devices if d.type == "car")
    devices = tuple(
        DeviceConfig(id=d.id, type=d.type, name=d.name, room=d.room, connector="ocpp") if d is wallbox else d
        for d in devices
    )
    ocpp = OcppConfig(
        host="127.0.0.1",
        port=ocpp_port,
        chargers={
            DEMO_CHARGER_ID: OcppChargerConfig(
                home=home.id, device=wallbox.id, password=secrets.token_urlsafe(24)
            )
        },
        id_tokens={DEMO_TAG: "owner"},  # the tag the simulated wallbox opens its sessions with
    )
    charging = ChargingConfig(
        home=home.id,
        car=car.id,
        member="owner",
        charger=wallbox.id,
        mode="smart",
        target=80.0,
        departure=DepartureConfig(weekly={"weekdays": "08:00"}),
        tariff=TariffConfig(time_of_use=BEIJING_TOU),
        capacity_kwh=75.0,
        efficiency=0.91,
        min_current=6.0,
        max_current=32.0,
        phases=1,
        voltage=220.0,
        pause="car",  # the wallbox opens its session at plug-in; the car pauses and resumes
    )
    return DemoCharging(devices=devices, ocpp=ocpp, charging=(charging,))
