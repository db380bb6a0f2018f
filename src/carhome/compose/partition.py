"""What runs beside each partition's hub in a fleet worker: ``PartitionParts``.

A worker (``carhome.compose.worker``) runs one hub per partition it holds; beside each it
runs, while the partition is held (the worker's ``with_hub`` hook):

- the hub's **command transport** over the NATS cluster (``carhome.fleet.commands``): the
  partition's commands reach its devices' ``cmd`` topics, and pending ones are sent again on
  taking the partition;
- the **automations** of the config's ``automations:`` files, bound for the homes this
  partition holds only (a shared file's ``homes:`` gives each home its own; the files are
  read and decoded once per process, each partition binds its share). It is the
  ``automations`` part's own start code (``carhome.automations.part``), timers in the
  fleet's PostgreSQL (``POSTGRES``: the table ``automation_timers``);
- the **charging** controllers of the config's ``charging:`` section (and the ``energy:``
  entries they use), for the cars of this partition's homes: the ``energy`` and
  ``charging`` parts' own start code, over ``compose``.

What is not reused: the data directory's automation files, the automations saved through the
API and the routes the parts hand out (a worker serves no HTTP; ``Context.data`` is None
and the routes go nowhere), access control (a partition hub decides with the hub's default
gatekeeper: the API role owns members and keys) and the OCPP server (chargers connect to a
hub, not to a worker: a fleet charges cars whose wallbox is an MQTT device).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Final

import msgspec
from nats.aio.client import Client

from carhome.automations.engine import Engine
from carhome.automations.loader import Loaded, load_path
from carhome.automations.part import PART as AUTOMATIONS
from carhome.compose.config import Config
from carhome.compose.parts import compose
from carhome.energy.part import CHARGING_PART, ENERGY_PART
from carhome.errors import ConfigError
from carhome.fleet.commands import RESEND, NatsCommands
from carhome.fleet.partitions import Lease
from carhome.hub import Hub
from carhome.parts import Context
from carhome.parts.keys import POSTGRES
from carhome.pgdatabase import PgDatabase

log: Final = logging.getLogger(__name__)


def load_automations(files: Sequence[str | Path]) -> Loaded:
    """The automations of ``files`` (files or directories), decoded once for every partition.

    In a fleet each automation names its home (``home:`` or a shared file's ``homes:``): a
    partition binds the automations of the homes it holds; one that names none is a
    ``ConfigError`` naming its file and line."""
    loaded = Loaded()
    for file in files:
        one = load_path(file)
        loaded.errors += one.errors
        for automation, source in one.automations:
            if automation.home is None:
                raise source.error(
                    ("home",),
                    "a fleet worker binds each automation in its home's partition: give the file"
                    " 'home:' or 'homes: [...]', or the automation 'home:'",
                )
            loaded.automations.append((automation, source))
    return loaded


SETTLE: Final = 5.0
"""Seconds a batch's checkpoint waits at most for the automation runs the batch set off."""


class Served:
    """What runs beside one partition's hub: its automation engine; it ``Settles``."""

    def __init__(self, engine: Engine, context: Context, partition: int, settle: float = SETTLE) -> None:
        self.engine = engine
        self.context = context
        """What the partition's parts provided each other (its homes' tariffs, chargers' cars)."""
        self.partition = partition
        self.settle = settle
        self._waited: frozenset[asyncio.Task[None]] = frozenset()

    async def settled(self) -> None:
        """Once the runs the batch set off (those started since the last call) made their
        commands (durable in the outbox before ``submit`` returns). A run still busy after
        ``settle`` seconds waits on a delay or a wait, kept as a saved timer where it sits
        at the top of its actions (its run resumes after a takeover); the checkpoint then
        goes on without it, and later batches do not wait for it again."""
        started = self.engine.running() - self._waited
        if started:
            _, pending = await asyncio.wait(started, timeout=self.settle)
            if pending:
                log.info(
                    "partition %d: %d automation runs still waiting after %.1f s; committing",
                    self.partition,
                    len(pending),
                    self.settle,
                )
        self._waited = self.engine.running()


class PartitionParts:
    """The ``WithHub`` of a fleet worker: commands, automations and charging beside each
    partition's hub, as ``config`` describes them."""

    def __init__(
        self,
        config: Config,
        database: PgDatabase,
        nats: Client,
        automations: Loaded,
        *,
        resend: float = RESEND,
        settle: float = SETTLE,
    ) -> None:
        self.config = config
        self.database = database
        self.nats = nats
        self.automations = automations
        self.resend = resend
        self.settle = settle
        self.served: dict[int, Served] = {}
        """What runs beside each partition served now."""

    def _section(self, homes: set[str]) -> Config:
        """The config's charging and energy entries of ``homes`` (each names its home)."""
        replace = msgspec.structs.replace
        return replace(
            self.config,
            charging=tuple(c for c in self.config.charging if c.home in homes),
            energy=tuple(e for e in self.config.energy if e.home in homes),
        )

    @contextlib.asynccontextmanager
    async def __call__(self, hub: Hub, lease: Lease) -> AsyncIterator[object]:
        homes = {home.id for home in hub.homes()}
        context = Context(hub=hub, clock=hub.clock, data=None)
        context.provide(POSTGRES, self.database)
        async with contextlib.AsyncExitStack() as stack:
            engine = await stack.enter_async_context(AUTOMATIONS.start(context, None))
            if not isinstance(engine, Engine):  # the part yields its engine
                raise TypeError(f"the automations part gave {engine!r}, not its engine")
            mine = Loaded(automations=[(a, s) for a, s in self.automations.automations if a.home in homes])
            for error in engine.add_loaded(mine):
                log.warning("partition %d: automation not loaded: %s", lease.partition, error)
            charging = compose((ENERGY_PART, CHARGING_PART), self._section(homes), context)
            await stack.enter_async_context(charging)
            # last: the pending commands go once the parts that make them are running
            await stack.enter_async_context(NatsCommands(self.nats, hub, resend=self.resend))
            served = self.served[lease.partition] = Served(engine, context, lease.partition, self.settle)
            try:
                yield served
            finally:
                if self.served.get(lease.partition) is served:
                    del self.served[lease.partition]


def check_fleet_sections(config: Config) -> None:
    """The charging and energy entries of a fleet each name their home (a worker holds many)."""
    for i, entry in enumerate(config.charging):
        if entry.home is None:
            raise ConfigError(f"charging[{i}]: name the car's home (home: …); a fleet holds many homes")
    for i, energy in enumerate(config.energy):
        if energy.home is None:
            raise ConfigError(f"energy[{i}]: name its home (home: …); a fleet holds many homes")
