"""The typed keys of what the process and the parts provide each other through the ``Context``.

A part that owns a thing provides it under its key; a part that needs it asks the context,
so neither imports the other. Each key says who provides it.
"""

from __future__ import annotations

from collections.abc import Mapping
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
