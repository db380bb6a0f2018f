"""The automation engine as a part of the hub: the automations of the data directory, run.

Automations come from ``<data>/automations/``, from the read-only files the process hands
over (``AUTOMATION_FILES``) and from those of the ``automations:`` section (``files``); a
bad one is logged with its file and line, and the others run. Timers are kept beside the
hub's database (``HUB_DATABASE``), or in its PostgreSQL database (``POSTGRES``) when it is
one; so are the automations saved through the API and their enable switches (files of
``<data>/automations/``, or tables of that database). An automation runs as a member of its
home, checked through the access seam, and its routes are served through the sink.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from carhome.automations.config import AutomationsConfig
from carhome.automations.engine import Engine
from carhome.automations.files import AutomationFiles
from carhome.automations.postgres_saved import PostgresSavedAutomations
from carhome.automations.postgres_timers import PostgresTimerStore
from carhome.automations.routes import automation_routes
from carhome.automations.sqlite_timers import SqliteTimerStore
from carhome.automations.timers import TimerStore
from carhome.parts import Context, DefaultedPart
from carhome.parts.keys import AUTOMATION_FILES, HUB_DATABASE, POSTGRES

log: Final = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def _running(context: Context, section: AutomationsConfig) -> AsyncIterator[Engine]:
    postgres = context.want(POSTGRES)
    timers: TimerStore = (
        PostgresTimerStore(postgres)
        if postgres is not None
        else SqliteTimerStore.beside(context.need(HUB_DATABASE))
    )
    async with Engine(context.hub, timer_store=timers, members=context.access) as engine:
        files = None
        if context.data is not None:
            saved = None
            if postgres is not None:
                saved = PostgresSavedAutomations(postgres)
                await saved.open()
            base = [*(context.want(AUTOMATION_FILES) or ()), *map(Path, section.files)]
            files = AutomationFiles(context.data, base=base, saved=saved)
            for error in await files.load(engine):
                log.warning("automation not loaded: %s", error)
        context.routes.extend(automation_routes(context.hub, engine, files=files, access=context.access))
        yield engine


PART: Final = DefaultedPart("automations", AutomationsConfig, _running)
