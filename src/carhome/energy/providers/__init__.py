"""carhome.energy.providers: prices and solar forecasts from real providers.

Day-ahead prices from Tibber, Octopus Agile, ENTSO-E and aWATTar; solar forecasts from
forecast.solar and Open-Meteo. Each provider is one module — its config section, a pure
``parse`` of its documented answer into a quarter-hour ``SlotSeries``, and a ``Provider``
that fetches over httpx and says when to ask again. A ``Feed`` keeps one provider fresh for
one home: on its schedule, cached on disk, failing soft (the plan keeps the last good data
and ``status()`` says how old it is). ``provider_for`` makes a provider from its config.
"""

from carhome.energy.providers.feed import Feed, SourceStatus
from carhome.energy.providers.make import PriceConfig, SolarConfig, provider_for
from carhome.energy.providers.source import BadAnswer, Provider, ProviderError

__all__ = [
    "BadAnswer",
    "Feed",
    "PriceConfig",
    "Provider",
    "ProviderError",
    "SolarConfig",
    "SourceStatus",
    "provider_for",
]
