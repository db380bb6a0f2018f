"""A provider from its config section: ``{provider: tibber, …}`` and the like.

The price and solar sections are tagged unions on ``provider``; a token may be given
inline or, better, in a file whose first line it is (read now, relative paths already
made relative to the config file by the config loader).
"""

from __future__ import annotations

from pathlib import Path

from carhome.energy.providers.awattar import Awattar, AwattarConfig
from carhome.energy.providers.entsoe import Entsoe, EntsoeConfig
from carhome.energy.providers.forecastsolar import ForecastSolar, ForecastSolarConfig
from carhome.energy.providers.octopus import Octopus, OctopusConfig
from carhome.energy.providers.openmeteo import OpenMeteo, OpenMeteoConfig
from carhome.energy.providers.source import Provider, ProviderError
from carhome.energy.providers.tibber import Tibber, TibberConfig
from carhome.errors import ConfigError

PriceConfig = TibberConfig | OctopusConfig | EntsoeConfig | AwattarConfig
SolarConfig = ForecastSolarConfig | OpenMeteoConfig


def provider_for(config: PriceConfig | SolarConfig) -> Provider:
    """The provider a checked section describes (a token file is read now)."""
    match config:
        case TibberConfig():
            return Tibber(_token("tibber", config.token, config.token_file), config.home_id)
        case EntsoeConfig():
            try:
                return Entsoe(config, _token("entsoe", config.token, config.token_file))
            except ProviderError as exc:
                raise ConfigError(f"energy prices: {exc.reason}") from exc
        case OctopusConfig():
            return Octopus(config)
        case AwattarConfig():
            return Awattar(config)
        case ForecastSolarConfig():
            return ForecastSolar(config)
        case OpenMeteoConfig():
            return OpenMeteo(config)


def _token(provider: str, token: str | None, token_file: str | None) -> str:
    if (token is None) == (token_file is None):
        raise ConfigError(f"energy: give {provider}'s token or token_file (one of them)")
    if token is not None:
        return token
    path = Path(str(token_file))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {provider}'s token: {exc}", file=str(path)) from exc
    found = lines[0].strip() if lines else ""
    if not found:
        raise ConfigError(
            f"{provider}'s token file is empty; put the token on its first line", file=str(path)
        )
    return found
