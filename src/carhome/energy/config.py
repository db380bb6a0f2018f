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

from collections.abc import Callable
from typing import Annotated, Literal

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
