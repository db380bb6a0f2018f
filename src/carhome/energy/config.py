"""The ``energy:`` config section: one entry per home, beside the charging parts it feeds.

::

    energy:
      - home: h1
        prices: {provider: entsoe, area: 10Y1001A1001A82H, token_file: entsoe.token, add: 0.2}
        solar: {provider: forecast_solar, lat: 52.5, lon: 13.4, declination: 30, azimuth: 0, kwp: 9.8}
        grid: {meter: grid_meter, main_fuse: 25}
        connections: {garage: {max_current: 16, phases: 3}}

``prices`` and ``solar`` name a provider (``carhome.energy.providers``); ``grid`` the home's
grid meter and main fuse (``carhome.energy.site``); ``connections`` the supply lines that
several wallboxes share — a charging section names its line with ``connection``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Final, Literal

import msgspec

from carhome.energy.providers.entsoe import EntsoeConfig
from carhome.energy.providers.make import PriceConfig, SolarConfig
from carhome.energy.providers.tibber import TibberConfig
from carhome.energy.site import GridConfig


class ConnectionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A supply line several wallboxes share: its current per phase."""

    max_current: Annotated[float, msgspec.Meta(gt=0)]
    phases: Literal[1, 2, 3] = 3
    voltage: Annotated[float, msgspec.Meta(gt=0)] = 230.0


class EnergyConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One home's energy: where its prices and solar forecast come from, its meter and lines."""

    home: str | None = None
    """The home; may be left out when there is one home."""
    prices: PriceConfig | None = None
    """Day-ahead prices from a provider; the charging sections' tariff holds until they arrive."""
    solar: SolarConfig | None = None
    """A solar forecast from a provider (instead of a charging section's solar_forecast file)."""
    grid: GridConfig | None = None
    connections: dict[str, ConnectionConfig] = {}


def files_beside(entry: EnergyConfig, at: Callable[[str | None], str | None]) -> EnergyConfig:
    """``entry`` with its token files made relative to the config file by ``at``."""
    prices = entry.prices
    if isinstance(prices, TibberConfig | EntsoeConfig):
        prices = msgspec.structs.replace(prices, token_file=at(prices.token_file))
    return msgspec.structs.replace(entry, prices=prices)


# -- the charging: section: one entry per charged car ------------------------------------


class TouWindowConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    start: str | int
    end: str | int
    price: float


class TariffConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Exactly one of: ``fixed`` price, ``time_of_use`` windows, or a price ``file``."""

    fixed: float | None = None
    time_of_use: tuple[TouWindowConfig, ...] | None = None
    weekend: tuple[TouWindowConfig, ...] | None = None
    """Time-of-use windows for Saturdays and Sundays (the weekday ones when left out)."""
    file: str | None = None
    """A CSV or JSON price series (``carhome.energy.seriesfile``); the hub rereads it when it changes."""


class DepartureConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Either ``weekly`` local times by day (mon … sun, or ``weekdays``) or one ``at`` time."""

    weekly: dict[str, str | int] | None = None
    at: str | None = None
    """ISO 8601 with an offset, e.g. 2026-05-01T07:30:00+08:00."""


class ChargingConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How one car is charged: by whom, through which charger, in which mode, by when."""

    car: str
    home: str | None = None
    """The car's home; may be left out when there is one home."""
    member: str
    """Who the planner's commands act as: they pass the same access checks as that member's."""
    charger: str | None = None
    """The wallbox device that charges the car; without one the car is told to start and stop."""
    mode: Literal["off", "now", "solar", "solar_min", "smart"] = "smart"
    target: Annotated[float, msgspec.Meta(ge=0, le=100)] = 80.0
    limit: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    departure: DepartureConfig = msgspec.field(
        default_factory=lambda: DepartureConfig(weekly={"weekdays": "08:00"})
    )
    tariff: TariffConfig = msgspec.field(default_factory=lambda: TariffConfig(fixed=0.5))
    feed_in: float = 0.0
    solar_forecast: str | None = None
    """A CSV or JSON series of forecast solar production, kW."""
    house_load: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    """The house's other load, kW, assumed flat (it eats solar surplus first)."""
    capacity_kwh: Annotated[float, msgspec.Meta(gt=0)] = 75.0
    efficiency: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.9
    min_current: Annotated[float, msgspec.Meta(ge=0)] = 6.0
    max_current: Annotated[float, msgspec.Meta(gt=0)] = 16.0
    phases: Literal[1, 2, 3] = 3
    voltage: Annotated[float, msgspec.Meta(gt=0)] = 230.0
    connection_limit: Annotated[float, msgspec.Meta(gt=0)] | None = None
    """The supply line's current per phase, A, when it is lower than the charger's maximum."""
    pause: Literal["charger", "car"] = "charger"
    """How a slot without power is held when the charger cannot be set to 0 A: ``charger``
    ends the session and starts a new one later (start_charging needs the member's
    signature when signatures are required); ``car`` tells the car to stop and start."""
    connection: str | None = None
    """A supply line this car's wallbox shares with others (a name under the home's
    ``energy.connections``): the cars on it are planned together."""
    phase: Literal[1, 2, 3] | None = None
    """The grid phase a one-phase wallbox is wired to (load management; L1 when left out)."""


_WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK: Final = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def clock_time(value: str | int) -> tuple[int, int]:
    """``'07:30'`` → (7, 30); ``ValueError`` saying what is expected otherwise."""
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 18:00 as the base-60 number 1080
        raise ValueError(f"write times in quotes, e.g. '{value // 60:02d}:{value % 60:02d}'")  # noqa: TRY004
    found = _CLOCK.fullmatch(value.strip())
    if found is None:
        raise ValueError(f"{value!r} is not a time of day; expected HH:MM, e.g. '07:30'")
    return int(found.group(1)), int(found.group(2))


def weekly_days(weekly: dict[str, str | int]) -> dict[int, tuple[int, int]]:
    """``{'weekdays': '08:00', 'sat': '10:00'}`` → weekday (Mon=0) → (hour, minute)."""
    days: dict[int, tuple[int, int]] = {}
    for key, value in weekly.items():
        indices = range(5) if key == "weekdays" else range(7) if key == "daily" else None
        if indices is None:
            if key not in _WEEKDAYS:
                raise ValueError(f"unknown day {key!r}; use {', '.join(_WEEKDAYS)}, weekdays or daily")
            indices = range(_WEEKDAYS.index(key), _WEEKDAYS.index(key) + 1)
        when = clock_time(value)
        for day in indices:
            days[day] = when
    return days
