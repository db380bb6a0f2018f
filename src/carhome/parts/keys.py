"""The typed keys of what the process and the parts provide each other through the ``Context``.

A part that owns a thing provides it under its key; a part that needs it asks the context,
so neither imports the other. Each key says who provides it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from carhome.parts.part import Key
from carhome.prices.tariffs import Tariff

HUB_DATABASE: Final[Key[Path]] = Key("hub database")
"""The hub's SQLite file; parts keep their own files beside it (provided by the process)."""

TARIFFS: Final[Key[Mapping[str, Tariff]]] = Key("tariffs")
"""Each home's tariff, what a charge is priced with (provided with the charging section)."""

CHARGER_CARS: Final[Key[Mapping[tuple[str, str], str]]] = Key("charger cars")
"""(home, charger) → the car each configured charger meters (provided with the charging section)."""


Login = tuple[str | None, str | None]
"""An MQTT username and password (either may be None: an anonymous broker)."""


@dataclass(frozen=True, slots=True)
class BrokerLogins:
    """Where the hub's MQTT broker is, the hub's login and the Home Assistant bridge's."""

    url: str
    hub: Login
    bridge: Login | None = None
    """None when no bridge is configured."""


BROKER: Final[Key[BrokerLogins]] = Key("broker")
"""The broker every MQTT-speaking part connects to (provided by the process that runs it)."""
