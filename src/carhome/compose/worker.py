"""The fleet worker role: a process that owns partitions and keeps their homes' state from their logs.

``Worker`` is the ``carhome.fleet.Owner`` a ``Membership`` reports leases to. For each
partition it holds it runs one hub (``Hub``) over that partition's homes, so a partition
comes and goes whole: taking it loads a hub, handing it back closes one, and nothing of a
partition's homes is shared with another's (one hub per partition, not one per worker: a
partition moves between workers as a unit, and a per-partition hub is dropped with it,
timers, pending commands and subscriptions included, instead of picked out of a shared one).

- **Taking** partition p (``acquired``): its homes are those ``partition_of(home, P) == p``,
  found by the server from each home's stored hash (``PostgresStore.home_ids_of_partition``);
  their homes, devices, last states and pending commands are read from the fleet's
  PostgreSQL store into the partition's hub, one query each, the four at once, on a pool of
  their own (``LOADING``): never behind the commits of the partitions already served. Each
  take logs its steps once it first committed (``partition p (epoch e) took: homes … hub …
  parts … batch … commit …``, seconds since the lease came). Every device's availability is unknown
  (``Hub.available`` is None) until it speaks again: the node it was connected to may have
  died without publishing its last will. Then the partition's log is read after the lease's
  checkpoint.
- **Applying** a batch of the log: each payload decoded as the MQTT connector does
  (``carhome.mqtt.payloads``), states through ``Hub.report``, acks, events and
  online/offline status, entry after entry. A state value older (by the device's ``ts``) than the
  one the hub holds is dropped: a redelivered message never overwrites newer state. The
  state rows the batch reported (a value reported again too: its newer time is what the
  next owner compares with) and the checkpoint covering it commit in **one transaction
  fenced by the lease's epoch** (``Partitions.commit_checkpoint``); a refused one (``Fenced``)
  ends the partition here, a failed one is tried again as it was.
- **Releasing** (``releasing``): waits for the batch in flight to commit, then closes the
  partition's hub. **Stopping** (``stop``, the membership's watchdog): no write starts
  after it; reading is cancelled at once, a commit in flight ends as the fence decides, and
  ``serve`` cuts the pool off rather than wait for calls the stop broke.

The outbox (commands the partition's hub makes, and their statuses) is written in
transactions fenced by the epoch too, each write as it comes: a zombie's are refused.

``serve(fleet, log)`` runs a worker until SIGTERM: what ``carhome worker`` runs. The log is
given (``carhome.fleet.log.PartitionLog``); the JetStream one comes with the NATS cluster.
Beside each partition's hub ``carhome worker`` runs its commands to the devices over the
cluster, its automations and its charging (``carhome.compose.partition``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Generic, Protocol, TypeVar, runtime_checkable

import asyncpg

from carhome.clock import Clock, SystemClock
from carhome.errors import DuplicateCommand, InvalidChange, StoreError, UnknownDevice
from carhome.fleet.config import FleetConfig
from carhome.fleet.log import Entry, PartitionLog, partition_of
from carhome.fleet.membership import Membership
from carhome.fleet.partitions import Fenced, Lease, Partitions, fenced, writer_settings
from carhome.fleet.republish import republishing
from carhome.hub import Command, Hub
from carhome.hub.model import Device, Home
from carhome.hub.persistence import StateRow
from carhome.hub.states import Change
from carhome.mqtt.malformed import MalformedMessage
from carhome.mqtt.payloads import decode_ack, decode_event, decode_state, decode_status
from carhome.pgdatabase import PgDatabase
from carhome.spec import SPECS, DeviceSpec
from carhome.store.postgres import PostgresStore, command_writer, write_states

_T = TypeVar("_T")

log: Final = logging.getLogger(__name__)

SOURCE: Final = "mqtt"
COMMITTING: Final = 4
"""Connections of a worker's pool for its fenced writes: each batch's states and checkpoint,
the outbox, the takes and hand-backs of its membership."""
LOADING: Final = 4
"""Connections of its other pool: what a partition's hub reads as it is taken (and the store
and the parts beside the hubs write outside the fence). A take's reads never queue behind
the commits of the partitions the worker already serves: a worker taking over a dead one's
partitions while its own take the stream at full rate loads them on connections of their own."""
RETRY_FIRST: Final = 0.2
RETRY_MOST: Final = 5.0

Also = Callable[[asyncpg.Connection, Lease, Sequence[Entry]], Awaitable[object]]
"""Further writes committed with each batch, in its fenced transaction (given the batch's entries)."""

WithHub = Callable[[Hub, Lease], contextlib.AbstractAsyncContextManager[object]]
"""What runs beside a partition's hub while it is served (its automations, say): entered once
the hub is loaded, before the log is read; left before the hub closes. When what it yields
``Settles``, each batch's checkpoint commits only once it settled."""


@runtime_checkable
class Settles(Protocol):
    """What runs beside a hub and acts on what a batch applied (an automation run firing on
    a state): ``settled`` returns once what the batch set off is durable (its commands in the
    outbox), so the checkpoint never covers a firing whose command a takeover would not make."""

    async def settled(self) -> None: ...


Beside = Callable[[PgDatabase], contextlib.AbstractAsyncContextManager[WithHub | None]]
"""What opens, given the fleet's database, the ``WithHub`` of every partition a worker serves."""

StateReport = tuple[str, str, Mapping[str, Any], float | None]


class PartitionStore:
    """The hub's ``Store`` for one partition's hub: the fleet's store, read for ``homes`` only.

    Opening and closing belong to the worker (one pool for every partition). States are
    not written through it: the worker commits them with the partition's checkpoint. The
    outbox is written in transactions fenced by the lease's epoch: a zombie's commands and
    their statuses are refused (``Fenced``), never kept (one transaction per write, not the
    store's group commit)."""

    def __init__(
        self, store: PostgresStore, homes: Sequence[str], partitions: Partitions, lease: Lease
    ) -> None:
        self._store = store
        self._homes = list(homes)
        self._partitions = partitions
        self._lease = lease
        self._read_homes = _ReadAhead(lambda: store.homes_in(self._homes))
        self._read_devices = _ReadAhead(lambda: store.devices_in(self._homes))
        self._read_states = _ReadAhead(lambda: store.states_in(self._homes))
        self._read_pending = _ReadAhead(lambda: store.outbox_pending_in(self._homes))

    async def open(self) -> None:
        """Read what the hub loads as it opens, the four reads at once (each one query over
        the partition's homes), instead of one after the other as the hub asks for them."""
        await asyncio.gather(
            self._read_homes.ahead(),
            self._read_devices.ahead(),
            self._read_states.ahead(),
            self._read_pending.ahead(),
        )

    async def close(self) -> None:
        return None

    async def _fenced(self, doing: str, write: Callable[[asyncpg.Connection], Awaitable[bool]]) -> bool:
        lease = self._lease

        async def fenced_write(conn: asyncpg.Connection) -> bool:
            await fenced(conn, lease.partition, lease.epoch)
            return await write(conn)

        return await self._partitions.database.write(doing, fenced_write)

    async def save_home(self, home: Home) -> None:
        await self._store.save_home(home)

    async def homes(self) -> list[Home]:
        return await self._read_homes()

    async def save_device(self, device: Device) -> None:
        await self._store.save_device(device)

    async def save_devices(self, devices: Sequence[Device]) -> None:
        await self._store.save_devices(devices)

    async def remove_device(self, home: str, device: str) -> None:
        await self._store.remove_device(home, device)

    async def devices(self) -> list[Device]:
        return await self._read_devices()

    async def save_states(self, rows: Sequence[StateRow]) -> None:
        await self._store.save_states(rows)

    async def states(self) -> list[StateRow]:
        return await self._read_states()

    async def outbox_put(self, command: Command) -> None:
        if not await self._fenced("keeping a command", command_writer(command, put=True)):
            raise DuplicateCommand(command.id)

    def outbox_update(self, command: Command) -> Awaitable[None]:
        write = command_writer(command, put=False)  # encoded now, as the call was made

        async def update() -> None:
            await self._fenced("recording a command's status", write)

        return update()

    async def outbox_get(self, command_id: str) -> Command | None:
        return await self._store.outbox_get(command_id)

    async def outbox_pending(self) -> list[Command]:
        return await self._read_pending()

    async def commands(self, home: str | None = None, limit: int = 100) -> list[Command]:
        return await self._store.commands(home, limit)


class _ReadAhead(Generic[_T]):
    """One of the reads a partition's hub makes as it opens: made ``ahead`` of its asking,
    handed out once, then made anew at each call."""

    def __init__(self, read: Callable[[], Awaitable[_T]]) -> None:
        self._read = read
        self._ahead: _T | None = None

    async def ahead(self) -> None:
        self._ahead = await self._read()

    async def __call__(self) -> _T:
        found, self._ahead = self._ahead, None
        return found if found is not None else await self._read()


class _Tenure:
    """One held partition: its lease, its hub once loaded, the task applying its log."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.hub: Hub | None = None
        self.task: asyncio.Task[None] | None = None
        self.applying = asyncio.Lock()  # held from a batch's first change to its commit
        self.changed: dict[tuple[str, str, str], StateRow] = {}
        self.at = lease.checkpoint
        """The log position the committed state covers."""
        self.taken = 0.0
        """When the lease came (``time.perf_counter``): a take's steps are logged from it."""

    def __call__(self, change: Change) -> None:
        self.changed[(change.home, change.device, change.prop)] = StateRow(
            change.home, change.device, change.prop, change.value, change.ts, change.source
        )


class Worker:
    """The ``Owner`` of a fleet worker: one hub per held partition, fed by ``log``.

    ``store`` is the fleet's hub store (opened by the caller), ``partitions`` its partitions
    (the fence); ``also`` adds writes to each batch's transaction; ``with_hub`` runs beside
    each partition's hub."""

    def __init__(
        self,
        partitions: Partitions,
        store: PostgresStore,
        log: PartitionLog,
        *,
        clock: Clock | None = None,
        specs: Mapping[str, DeviceSpec] = SPECS,
        also: Also | None = None,
        with_hub: WithHub | None = None,
    ) -> None:
        self.partitions = partitions
        self.store = store
        self.log = log
        self.clock: Clock = clock or SystemClock()
        self.specs = specs
        self._also = also
        self._with_hub = with_hub
        self._tenures: dict[int, _Tenure] = {}
        self._stopped = False
        self._serving: dict[int, asyncio.Event] = {}
        self._loading = 0
        self._loaded = asyncio.Event()  # set while no partition is being loaded
        self._loaded.set()

    def serving(self, partition: int) -> asyncio.Event:
        """Set once ``partition``'s hub is loaded and its log is being read (before it is
        held, to wait for that)."""
        return self._serving.setdefault(partition, asyncio.Event())

    def hubs(self) -> dict[int, Hub]:
        """The hub of each partition held and loaded now."""
        return {p: t.hub for p, t in self._tenures.items() if t.hub is not None}

    def hub_of(self, home: str) -> Hub | None:
        """The hub holding ``home``, if this worker serves it now."""
        tenure = self._tenures.get(partition_of(home, self.partitions.count))
        return None if tenure is None else tenure.hub

    # -- Owner ----------------------------------------------------------------------------

    async def acquired(self, lease: Lease) -> None:
        if self.stopped:
            return
        tenure = _Tenure(lease)
        tenure.taken = time.perf_counter()
        self._tenures[lease.partition] = tenure
        tenure.task = asyncio.create_task(self._serve(tenure), name=f"fleet-partition-{lease.partition}")

    async def releasing(self, lease: Lease) -> None:
        tenure = self._tenures.get(lease.partition)
        if tenure is None or tenure.lease.epoch != lease.epoch:
            return
        async with tenure.applying:  # the batch in flight commits first
            if tenure.task is not None:
                tenure.task.cancel()
        if tenure.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await tenure.task
        self._tenures.pop(lease.partition, None)
        self._serving.pop(lease.partition, None)

    @property
    def stopped(self) -> bool:
        """Whether the watchdog stopped this worker (no write starts any more)."""
        return self._stopped

    def _stopping(self) -> bool:
        return self._stopped  # a call: read anew after each await, where mypy narrows an attribute

    def stop(self, reason: str) -> None:
        """No write starts from now on. A partition reading its log is cancelled now; one
        committing a batch ends when that commit does (the fence refuses it if its epoch
        is over): cancelling a query in flight can leave its connection unusable, and the
        pool waiting for it when it closes."""
        self._stopped = True
        log.error("fleet worker stops writing: %s", reason)
        for tenure in self._tenures.values():
            if tenure.task is not None and not tenure.applying.locked():
                tenure.task.cancel()

    async def close(self) -> None:
        """End every partition's work (after the membership ended)."""
        tasks = [t.task for t in self._tenures.values() if t.task is not None]
        for tenure in self._tenures.values():
            if tenure.task is not None and not tenure.applying.locked():
                tenure.task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tenures.clear()

    # -- one partition --------------------------------------------------------------------

    async def _serve(self, tenure: _Tenure) -> None:
        """Serve the partition until it is released, fenced or the worker stops; after any
        other failure, again from what was committed, with a new hub loaded from the store."""
        lease = tenure.lease
        delay = RETRY_FIRST
        while not self.stopped:
            try:
                await self._serve_once(tenure)
            except Fenced:
                log.warning(
                    "partition %d: epoch %d is over; another worker serves it now",
                    lease.partition,
                    lease.epoch,
                )
                return
            except Exception:
                if self._stopping():
                    return
                log.exception(
                    "partition %d: serving it failed; again from %d in %.1f s",
                    lease.partition,
                    tenure.at,
                    delay,
                )
            else:
                return
            await self.clock.sleep(delay)
            delay = min(delay * 2, RETRY_MOST)

    async def _serve_once(self, tenure: _Tenure) -> None:
        lease = tenure.lease
        p = lease.partition
        tenure.changed.clear()
        loading = self._loading_begun()
        try:
            async with contextlib.AsyncExitStack() as stack:
                async with tenure.applying:  # a stop cancels no query in flight
                    steps = _Steps(tenure.taken)
                    homes = await self.store.home_ids_of_partition(p, self.partitions.count)
                    steps("homes")
                    hub = Hub(
                        store=PartitionStore(self.store, homes, self.partitions, lease),
                        clock=self.clock,
                        specs=self.specs,
                        persist_states=False,
                    )
                    await stack.enter_async_context(hub)
                    steps("hub")
                    settles = None
                    if self._with_hub is not None:
                        beside = await stack.enter_async_context(self._with_hub(hub, lease))
                        settles = beside if isinstance(beside, Settles) else None
                    steps("parts")
                loading = self._loading_done(loading)
                tenure.hub = hub
                hub.bus.subscribe(tenure)
                self.serving(p).set()
                log.info("partition %d (epoch %d): %d homes, from %d", p, lease.epoch, len(homes), tenure.at)
                async for batch in self.log.read(p, tenure.at):
                    if self.stopped:
                        return
                    if batch:
                        if not self._loaded.is_set():  # a take loading goes first
                            await self._loaded.wait()
                        if steps.pending:
                            steps("batch")
                        async with tenure.applying:
                            self._apply(tenure, hub, batch)
                            if settles is not None:
                                await settles.settled()
                            # the commands the batch caused are durable (or refused) first
                            await hub.submits_done()
                            await self._commit(tenure, batch)
                        if steps.pending:
                            steps("commit")
                            log.info("partition %d (epoch %d) took: %s", p, lease.epoch, steps)
                            steps.pending = False
        finally:
            self._loading_done(loading)
            tenure.hub = None

    def _loading_begun(self) -> bool:
        """A partition is being loaded: the others' batches wait until no take is (its
        reads and its hub's building go before the batches of the partitions served already,
        which the survivor of a failure has as many of as it takes over). True: loading."""
        self._loading += 1
        self._loaded.clear()
        return True

    def _loading_done(self, loading: bool) -> bool:
        """The load ``_loading_begun`` began ended (if ``loading``): False, not loading now."""
        if loading:
            self._loading -= 1
            if self._loading == 0:
                self._loaded.set()
        return False

    def _apply(self, tenure: _Tenure, hub: Hub, batch: Sequence[Entry]) -> None:
        """A batch of the log into the hub, entry after entry: each state compared by time
        with what the entries before it left (a redelivered message may follow, in one
        batch, the newer one it was overtaken by)."""
        for entry in batch:
            try:
                if entry.kind == "state":
                    _report(tenure, hub, _newer(hub, entry))
                else:
                    _other(hub, entry)
            except MalformedMessage as exc:
                hub.rejections.record(
                    InvalidChange(
                        home=entry.home, device=entry.device, prop=None, code=exc.code, reason=exc.reason
                    )
                )

    async def _commit(self, tenure: _Tenure, batch: Sequence[Entry]) -> None:
        """The batch's changed states and its checkpoint, in one fenced transaction; a
        failure other than ``Fenced`` is tried again, the same rows and checkpoint."""
        lease = tenure.lease
        rows = list(tenure.changed.values())
        also = self._also

        async def writes(conn: asyncpg.Connection) -> None:
            await write_states(conn, rows)
            if also is not None:
                await also(conn, lease, batch)

        delay = RETRY_FIRST
        while True:
            try:
                await self.partitions.commit_checkpoint(lease.partition, lease.epoch, batch[-1].seq, writes)
            except Fenced:
                raise
            except StoreError as exc:
                if self.stopped:
                    raise
                log.warning(
                    "partition %d: committing failed (%s); trying again in %.1f s",
                    lease.partition,
                    exc,
                    delay,
                )
                await self.clock.sleep(delay)
                if self._stopping():  # no write starts after a stop, a retry neither
                    raise StoreError(f"partition {lease.partition}: the worker stopped; not written") from exc
                delay = min(delay * 2, RETRY_MOST)
                continue
            tenure.changed.clear()
            tenure.at = batch[-1].seq
            return


class _Steps:
    """A take's steps, each the seconds since the lease came (logged once it first committed)."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.at: dict[str, float] = {}
        self.pending = True

    def __call__(self, step: str) -> None:
        self.at[step] = time.perf_counter() - self.start

    def __str__(self) -> str:
        return " ".join(f"{step} {seconds:.3f}" for step, seconds in self.at.items())


def _report(tenure: _Tenure, hub: Hub, state: StateReport) -> None:
    """One state into the hub, and each value it took into the batch's rows, whether it
    changed or not: a value reported again moves the property's time forward, and the
    stored time is what the next owner compares a redelivered older message with."""
    home, device, values, ts = state
    if not values or not hub.report(home, device, values, ts=ts, source=SOURCE).applied:
        return
    held = hub.state(home, device)
    for prop in values:
        kept = held.get(prop)
        if kept is not None:
            tenure.changed[(home, device, prop)] = StateRow(
                home, device, prop, kept.value, kept.ts, kept.source
            )


def _newer(hub: Hub, entry: Entry) -> StateReport:
    """A state entry decoded, without the values older (by its ``ts``) than the hub's."""
    values, ts = decode_state(entry.payload)
    if ts is not None:
        try:
            held = hub.state(entry.home, entry.device)
        except UnknownDevice:
            held = {}  # the hub rejects the report, counted as any unknown device is
        values = {k: v for k, v in values.items() if (s := held.get(k)) is None or s.ts <= ts}
    return entry.home, entry.device, values, ts


def _other(hub: Hub, entry: Entry) -> None:
    """An ack, event or status entry, applied in its turn."""
    if entry.kind == "ack":
        hub.ack(entry.home, entry.device, decode_ack(entry.payload))
    elif entry.kind == "status":
        if entry.payload:  # a cleared retained status says nothing
            hub.set_available(entry.home, entry.device, decode_status(entry.payload))
    elif entry.kind == "event":
        message = decode_event(entry.payload)
        hub.event(entry.home, entry.device, message.name, message.fields, ts=message.ts, source=SOURCE)


def together(*hooks: WithHub | None) -> WithHub | None:
    """One ``WithHub`` running ``hooks`` in order beside a hub (left in reverse); what it
    yields ``Settles`` when one of theirs does."""
    present = [hook for hook in hooks if hook is not None]
    if len(present) <= 1:
        return present[0] if present else None

    @contextlib.asynccontextmanager
    async def running(hub: Hub, lease: Lease) -> AsyncIterator[object]:
        async with contextlib.AsyncExitStack() as stack:
            values = [await stack.enter_async_context(hook(hub, lease)) for hook in present]
            yield next((v for v in values if isinstance(v, Settles)), None)

    return running


async def serve(
    fleet: FleetConfig,
    log_of: Callable[[FleetConfig], contextlib.AbstractAsyncContextManager[PartitionLog]],
    *,
    also: Also | None = None,
    joined: Callable[[Worker, Membership], None] | None = None,
    worker: type[Worker] = Worker,
    with_hub_of: Callable[[FleetConfig], contextlib.AbstractAsyncContextManager[WithHub]] | None = None,
    beside: Beside | None = None,
) -> str:
    """Run the worker ``fleet`` configures until SIGTERM (or SIGINT), reading the log that
    ``log_of(fleet)`` opens; why it ended (a watchdog stop says so). ``also`` adds writes to
    each batch's transaction, ``joined`` is told once the worker is a member, ``with_hub_of(fleet)``
    opens what runs beside each partition's hub (the API nodes' requests and live subjects);
    so does ``beside``, given the fleet's database (its commands, automations and charging:
    ``carhome.compose.partition``), for as long as the worker runs."""
    ended = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, ended.set)
    settings = writer_settings(fleet.idle_timeout, fleet.worker)
    async with (
        PgDatabase(fleet.database, settings=settings, pool_size=COMMITTING) as committing,
        PgDatabase(fleet.database, settings=settings, pool_size=LOADING) as database,
        PostgresStore(database) as store,
        log_of(fleet) as partition_log,
        contextlib.nullcontext(None) if beside is None else beside(database) as parts,
        contextlib.nullcontext(None) if with_hub_of is None else with_hub_of(fleet) as answering,
        republishing(fleet) as republisher,
    ):
        partitions = Partitions(committing, fleet.partitions)
        # the devices are asked to re-publish once the other hooks run (``republisher.beside``)
        with_hub = together(parts, answering, republisher.with_hub)
        owner = worker(partitions, store, partition_log, also=also, with_hub=with_hub)
        try:
            async with Membership(
                partitions, fleet.worker, owner, heartbeat=fleet.heartbeat, idle_timeout=fleet.idle_timeout
            ) as membership:
                if joined is not None:
                    joined(owner, membership)
                stopped = asyncio.create_task(membership.stopped.wait())
                signalled = asyncio.create_task(ended.wait())
                await asyncio.wait((stopped, signalled), return_when=asyncio.FIRST_COMPLETED)
                stopped.cancel()
                signalled.cancel()
                reason = membership.reason or "stopped by a signal"
        finally:
            if owner.stopped:
                committing.terminate()  # calls cut off by the stop may never end cleanly
                database.terminate()
            await owner.close()
    return reason
