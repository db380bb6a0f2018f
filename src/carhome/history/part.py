"""History as a part of the hub: trips, charges and parked losses kept beside the hub's
database, priced with each home's tariff, and served by the history routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

from carhome.history.routes import OPERATIONS, HistoryRoutes
from carhome.history.service import History
from carhome.history.sqlite import SqliteHistoryStore
from carhome.parts import Context
from carhome.parts.keys import CHARGER_CARS, HUB_DATABASE, TARIFFS


@dataclass(frozen=True)
class HistoryPart:
    name: str = "history"
    section: None = None

    @contextlib.asynccontextmanager
    async def start(self, context: Context, section: object | None) -> AsyncIterator[History]:
        store = SqliteHistoryStore.beside(context.need(HUB_DATABASE))
        tariffs = context.want(TARIFFS)
        chargers = context.want(CHARGER_CARS)
        async with History(context.hub, store, tariffs=tariffs, chargers=chargers) as history:
            context.routes.add(OPERATIONS, HistoryRoutes(context.hub, history))
            yield history


PART: Final = HistoryPart()
