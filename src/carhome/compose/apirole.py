"""The fleet's API role (``carhome api``): the REST/WebSocket API and the web app for any home.

An API node holds no partition and keeps nothing of its own: it can be started, stopped
and multiplied at will. It runs the hub's access part (members, sessions, tokens, the audit
log: all in the fleet's PostgreSQL) and the API part (the operations, the live WebSocket, the
web app) over a hub of its own, ``FleetView``'s:

- **what it shows**: the fleet's homes, devices and last states, read from the fleet's
  PostgreSQL store when the node starts, then kept current by every worker's live subjects
  (``carhome.fleet.rpc``: each record of a partition hub's bus, applied to this hub, which
  publishes it on its own bus to the WebSockets). A record of a device this node does not
  know yet (added since it started) has its home read again from the store.
- **what it does**: a command is made here (id, expiry, arguments checked by the device's
  spec) and this node's gatekeeper (access control) decides on it; instead of a device's
  connector, the hub's outbox is the home's owner: ``FleetView.outbox_put`` hands the
  command to the worker holding its partition (``Owners.submit``), which keeps it in its
  fenced outbox and delivers it. Through a handover it asks again, within a bound, with the
  same command id (an ``Idempotency-Key`` makes it the member's and the key's), so a retry —
  ours or the client's — executes nothing twice; past the bound the client gets a 503.
  Results come back on the live subject and settle the command here (``wait``, the
  WebSocket's ``command`` frames). Reading a command or the list asks the fleet's store.

The WebSocket stays connected to its API node through a handover: the live subjects do
not move with the owner, so a client sees a pause, not a reconnect.

- **the history** (trips, charges, parked spells, their totals): the history routes over
  the fleet's ``history_records`` table, read only (``HISTORY``). The workers do not run the
  history part yet, so that table holds what ``carhome store copy`` moved from an embedded
  home and nothing the fleet's cars did since.

Not on an API node yet: charging plans, saved automations and scenes, the keys and spoken
commands (they need the home's parts, which only its worker could run). Their routes answer
a problem (501, ``not_on_api_node``) saying so in words, instead of a bare 404
(``ELSEWHERE``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from carhome.access.part import OWNER
from carhome.access.part import PART as ACCESS
from carhome.access.service import Access
from carhome.api.part import PART as API
from carhome.clock import Clock, SystemClock
from carhome.compose.config import Config
from carhome.compose.operations import OPERATIONS
from carhome.compose.parts import compose
from carhome.errors import ConfigError, DuplicateCommand, StoreError, UnknownDevice
from carhome.fleet.config import FleetConfig
from carhome.fleet.rpc import Live, LiveAvailability, LiveChange, LiveEvent, LiveResult, Owners, listening
from carhome.history.postgres import PostgresHistoryStore
from carhome.history.routes import OPERATIONS as HISTORY_OPERATIONS
from carhome.history.routes import HistoryRoutes
from carhome.history.service import History
from carhome.http.operations import Operation
from carhome.http.problems import Problem
from carhome.hub import Command, Decision, Hub
from carhome.hub.commands import Ack, CommandStatus
from carhome.hub.model import Device, Home
from carhome.hub.persistence import StateRow
from carhome.parts import Context
from carhome.parts.keys import API_URL, DESCRIBED, POSTGRES
from carhome.pgdatabase import PgDatabase
from carhome.spec import DeviceSpec
from carhome.store.postgres import PostgresStore

log: Final = logging.getLogger(__name__)

NOT_HERE: Final = "Served by the home's worker in a fleet: not available on an API node yet."
"""What a route of a part an API node does not run answers (the problem's ``detail``)."""


def _elsewhere_operations() -> tuple[Operation[Any], ...]:
    from carhome.access import keyroutes  # noqa: PLC0415 - the routes' declarations only
    from carhome.automations import routes as automations  # noqa: PLC0415
    from carhome.energy import routes as charging  # noqa: PLC0415
    from carhome.say import routes as say  # noqa: PLC0415

    return (
        *charging.OPERATIONS,
        *keyroutes.OPERATIONS,
        *automations.READ_OPERATIONS,
        *automations.CHANGE_OPERATIONS,
        *automations.SCENE_OPERATIONS,
        *say.OPERATIONS,
    )


async def _not_here(_handlers: object, request: Request) -> Response:
    raise Problem(
        501,
        "not-on-api-node",
        "Not served by an API node",
        NOT_HERE,
        code="not_on_api_node",
        path=request.url.path,
    )


@dataclass(frozen=True)
class ElsewherePart:
    """The routes of the parts an API node does not run: each a problem saying so (after
    access control, as the real route would be: a caller not logged in gets its 401)."""

    name: str = "elsewhere"
    section: None = None

    @contextlib.asynccontextmanager
    async def start(self, context: Context, section: object | None) -> AsyncIterator[None]:
        stand_ins = [dataclasses.replace(op, handler=_not_here) for op in _elsewhere_operations()]
        context.routes.add(stand_ins, None)
        yield


@dataclass(frozen=True)
class HistoryReadPart:
    """The history routes over the fleet's PostgreSQL tables, read only: this node tracks no
    car (the history service is never entered, so it hears nothing and writes nothing)."""

    name: str = "history"
    section: None = None

    @contextlib.asynccontextmanager
    async def start(self, context: Context, section: object | None) -> AsyncIterator[History]:
        store = PostgresHistoryStore(context.need(POSTGRES))
        await store.open()
        try:
            history = History(context.hub, store)
            context.routes.add(HISTORY_OPERATIONS, HistoryRoutes(context.hub, history))
            yield history
        finally:
            await store.close()


HISTORY: Final = HistoryReadPart()
ELSEWHERE: Final = ElsewherePart()

PARTS: Final = (ELSEWHERE, ACCESS, HISTORY, API)
"""What an API node runs, in order: the stand-ins first (the key routes the access part adds
need the devices' connectors: the stand-ins, matched first, answer for them), access control
guarding the hub before the API serves it."""


class FleetView:
    """The ``Store`` of an API node's hub: the fleet's store read, and the homes' owners as
    its outbox. Homes and devices are not changed from an API node."""

    def __init__(self, store: PostgresStore, owners: Owners) -> None:
        self.store = store
        self.owners = owners

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def save_home(self, home: Home) -> None:
        raise StoreError(f"home {home.id!r}: an API node changes no home; add homes to the fleet's store")

    async def homes(self) -> list[Home]:
        return await self.store.homes()

    async def save_device(self, device: Device) -> None:
        raise StoreError(f"device {device.id!r}: an API node changes no device; add it to the fleet's store")

    async def save_devices(self, devices: Sequence[Device]) -> None:
        for device in devices:
            await self.save_device(device)

    async def remove_device(self, home: str, device: str) -> None:
        raise StoreError(
            f"device {device!r}: an API node removes no device; remove it from the fleet's store"
        )

    async def devices(self) -> list[Device]:
        return await self.store.devices()

    async def save_states(self, rows: Sequence[StateRow]) -> None:
        return None  # the owners keep the states

    async def states(self) -> list[StateRow]:
        return await self.store.states()

    async def outbox_put(self, command: Command) -> None:
        try:
            await self.owners.submit(command)
        except DuplicateCommand:
            kept = await self.store.outbox_get(command.id)
            if kept is None or (kept.created, kept.member) != (command.created, command.member):
                raise
            # this node's own ask, kept by the owner before its answer was lost (or came late)

    def outbox_update(self, command: Command) -> Awaitable[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)  # the owner writes the command's statuses
        return done

    async def outbox_get(self, command_id: str) -> Command | None:
        return await self.store.outbox_get(command_id)

    async def outbox_pending(self) -> list[Command]:
        return []  # the owners redeliver theirs

    async def commands(self, home: str | None = None, limit: int = 100) -> list[Command]:
        return await self.store.commands(home, limit)


class _Unguarded:
    """The gatekeeper until access control guards the hub: nothing goes."""

    async def decide(self, command: Command, spec: DeviceSpec) -> Decision:
        return Decision(False, "access control is not running (the API node is starting or stopping)")


class Mirror:
    """Applies the workers' live records to an API node's hub."""

    def __init__(self, hub: Hub, store: PostgresStore) -> None:
        self.hub = hub
        self.store = store
        self.records = 0
        """Live records of devices this node knows, taken in (an older value dropped counts)."""
        self._reading: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, live: Live) -> None:
        hub = self.hub
        record = live.record
        try:
            hub.device(record.home, record.device)
        except UnknownDevice:
            self._read_home(record.home)
            return
        self.records += 1
        if isinstance(live, LiveChange):
            c = live.record
            held = hub.state(c.home, c.device).get(c.prop)
            if held is not None and held.ts > c.ts:
                return  # a new owner's replay of what it took over: older than what was shown
            hub.report(c.home, c.device, {c.prop: c.value}, ts=c.ts, source=c.source, trusted=True)
        elif isinstance(live, LiveAvailability):
            hub.set_available(live.record.home, live.record.device, live.record.online)
        elif isinstance(live, LiveEvent):
            e = live.record
            hub.event(e.home, e.device, e.name, e.fields, ts=e.ts, source=e.source)
        elif isinstance(live, LiveResult):
            self._result(live)

    def _result(self, live: LiveResult) -> None:
        """A command's result: settles the command this node made, else is passed on."""
        result = live.record
        command = result.command
        mine = self.hub.commands.get(command.id)
        if mine is None or mine.status.final:
            self.hub.bus.publish(result)
        elif result.status.final:
            status = "acked" if result.status is CommandStatus.ACKED else result.status.value
            self.hub.ack(
                command.home,
                command.device,
                Ack(id=command.id, status=status, result=command.result, error=command.error),  # type: ignore[arg-type]
            )
        elif mine.status is CommandStatus.QUEUED:
            mine.status = result.status
            mine.sent_at = command.sent_at
            self.hub.bus.publish(result)

    def _read_home(self, home: str) -> None:
        """Read ``home``'s record, devices and states again (a device added since this node
        started); the records until then are covered by the states read."""
        if home in self._reading:
            return
        self._reading.add(home)
        task = asyncio.create_task(self._reload(home), name=f"api-read-home-{home}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reload(self, home: str) -> None:
        try:
            hub = self.hub
            homes = await self.store.homes_in([home])
            if not homes:
                return
            if home not in {h.id for h in hub.homes()}:
                hub.add_home_unsaved(homes[0])
            known = {d.id for d in hub.devices(home)}
            for device in await self.store.devices_in([home]):
                if device.id not in known and device.type in hub.specs:
                    hub.add_device_unsaved(device)
            for row in await self.store.states_in([home]):
                if row.device not in known:
                    hub.report(
                        row.home,
                        row.device,
                        {row.prop: row.value},
                        ts=row.ts,
                        source=row.source,
                        trusted=True,
                    )
        except StoreError as exc:
            log.warning("home %s: not read again: %s", home, exc)
        finally:
            self._reading.discard(home)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class ApiNode:
    """A running API node: where it listens, its hub and how it reaches the owners."""

    url: str
    hub: Hub
    owners: Owners
    mirror: Mirror


@contextlib.asynccontextmanager
async def api_node(
    config: Config,
    fleet: FleetConfig,
    *,
    data_dir: Path | None = None,
    owner: Callable[[Access], Awaitable[object]] | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[ApiNode]:
    """Run an API node of ``fleet`` as ``config``'s ``api:`` and ``access:`` say, while the
    block runs, connected to the NATS cluster as ``fleet.nats_user`` (the API nodes' user,
    ``carhome.fleet.cluster.API_USER``); ``owner`` makes a member before the API serves (as
    ``carhome demo`` does)."""
    from carhome.fleet.cluster import Login  # noqa: PLC0415 - NATS loads only for a fleet role
    from carhome.fleet.jetstream import connect  # noqa: PLC0415

    if not fleet.nats:
        raise ConfigError("an API node reaches the workers over NATS: give fleet.nats")
    clock = clock or SystemClock()
    directory = Path(data_dir if data_dir is not None else config.hub.data_dir)
    nc = await connect(
        list(fleet.nats), Login(fleet.nats_user, fleet.nats_password or ""), name="carhome-api"
    )
    try:
        async with PgDatabase(fleet.database) as database, PostgresStore(database) as store:
            owners = Owners(nc, fleet.partitions, clock=clock)
            hub = Hub(
                store=FleetView(store, owners), clock=clock, gatekeeper=_Unguarded(), persist_states=False
            )
            async with hub:
                mirror = Mirror(hub, store)
                try:
                    async with listening(nc, mirror):
                        context = Context(hub=hub, clock=clock, data=directory)
                        context.provide(POSTGRES, database)
                        context.provide(DESCRIBED, OPERATIONS)
                        if owner is not None:
                            context.provide(OWNER, owner)
                        async with compose(PARTS, config, context):
                            yield ApiNode(context.need(API_URL), hub, owners, mirror)
                finally:
                    await mirror.close()
    finally:
        await nc.close()


def _nothing(*_: Any) -> None:
    return None


async def serve(config: Config, fleet: FleetConfig, announce: Callable[[ApiNode], None] = _nothing) -> None:
    """Run an API node until SIGTERM or SIGINT: what ``carhome api`` runs."""
    ended = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, ended.set)
    async with api_node(config, fleet) as node:
        announce(node)
        await ended.wait()
