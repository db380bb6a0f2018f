"""History as a part of the hub: trips, charges and parked losses kept beside the hub's
database (or in its PostgreSQL database, when the hub's store is one), priced with each
home's tariff, and served by the history routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

from carhome.history.postgres import PostgresHistoryStore
from carhome.history.routes import OPERATIONS, HistoryRoutes
from carhome.history.service import History
from carhome.history.sqlite import SqliteHistoryStore
from carhome.history.store import HistoryStore
from carhome.parts import Context
from carhome.parts.keys import CHARGER_CARS, HUB_DATABASE, POSTGRES, TARIFFS


@dataclass(frozen=True)
class HistoryPart:
    name: str = "history"
    section: None = None

    @contextlib.asynccontextmanager
    async def start(self, context: Context, section: object | None) -> AsyncIterator[History]:
        postgres = context.want(POSTGRES)
        store: HistoryStore = (
            PostgresHistoryStore(postgres)
            if postgres is not None
            else SqliteHistoryStore.beside(context.need(HUB_DATABASE))
        )
        tariffs = context.want(TARIFFS)
        chargers = context.want(CHARGER_CARS)
        async with History(context.hub, store, tariffs=tariffs, chargers=chargers) as history:
            context.routes.add(OPERATIONS, HistoryRoutes(context.hub, history))
            yield history


PART: Final = HistoryPart()
