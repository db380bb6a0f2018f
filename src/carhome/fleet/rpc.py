"""Between API nodes and workers: commands by request/reply, a partition's changes on live subjects.

An API node (``carhome api``) holds no partition. What a member asks of a home goes to the
worker holding the home's partition, and what that worker's hub learns comes back:

| subject | published by | heard by | what |
|---|---|---|---|
| ``fleet.cmd.<p>`` | an API node (request) | p's owner | a ``Command``, made and admitted by the API node |
| its reply inbox | p's owner | the asking node | ``Accepted`` or ``Refused`` (why, as a code) |
| ``fleet.live.<p>.<home>`` | p's owner | every API node | each record of the partition hub's bus (``Live``) |

**Commands.** The API node makes the command (id, expiry, checked arguments) and its
gatekeeper decides on it; ``Owners.submit`` hands it to the owner, whose partition hub keeps
it in the partition's fenced outbox and delivers it (``Hub.commands.submit``): ``Accepted``
once it is durable there. ``Refused`` says why: ``duplicate`` (the id is taken: a retry of a
command made before), ``fenced`` (the answering worker's epoch is over: a zombie), ``not_here``
(the worker does not hold the home now), ``invalid``/``error``. During a handover there is
no responder, or a zombie answers ``fenced``, or the new owner ``not_here`` until it loaded
the partition: ``submit`` asks again, with the same command (so the same id: the new owner
refuses a second copy as ``duplicate``), until ``bound`` seconds passed, then raises
``OwnerUnavailable`` (a 503 with ``Retry-After``). A reply lost after the owner kept the
command is no loss either: the retry finds the id taken.

**Live.** ``publishing(nc, hub, partition)`` runs beside a partition's hub (the worker's
``with_hub`` hook, with ``responding``): every change, event, command result and availability
of its bus is published, in order, on ``fleet.live.<p>.<home>`` (msgspec JSON). The subjects
do not change with the owner, so an API node's subscription (``listening``) outlives a
handover: a WebSocket on an API node sees a short pause, not a reconnect. Records a new
owner publishes again after its takeover (it replays its log from the checkpoint) carry
values the API node's hub holds already, and change nothing there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Final, Literal

import msgspec
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

from carhome.clock import Clock, SystemClock
from carhome.errors import CarhomeError, ConnectorError, DuplicateCommand, InvalidCommand
from carhome.fleet.cluster import Login
from carhome.fleet.jetstream import connect
from carhome.fleet.log import partition_of
from carhome.fleet.partitions import Fenced
from carhome.hub import Change, Command, Hub, Result
from carhome.hub.bus import KINDS
from carhome.hub.events import Event
from carhome.hub.states import Availability

log: Final = logging.getLogger(__name__)

COMMANDS: Final = "fleet.cmd"
LIVE: Final = "fleet.live"
ASK_TIMEOUT: Final = 2.0
"""Seconds one request waits for its reply."""
BOUND: Final = 15.0
"""Seconds ``Owners.submit`` keeps asking through a handover before it gives up (a worker's
death is noticed within the fleet's idle timeout, 5 s by default, and its partitions are
served again within about a second more)."""
RETRY_FIRST: Final = 0.1
RETRY_MOST: Final = 1.0
LIVE_QUEUE: Final = 50_000
"""Records a partition keeps unpublished at most (the oldest dropped, counted, past it)."""


def command_subject(partition: int) -> str:
    return f"{COMMANDS}.{partition}"


def live_subject(partition: int, home: str) -> str:
    return f"{LIVE}.{partition}.{home}"


LIVE_ALL: Final = f"{LIVE}.>"


class Accepted(msgspec.Struct, frozen=True, tag="accepted"):
    """The owner keeps the command (durably, in its partition's outbox) and delivers it."""

    command: Command


RefusalCode = Literal["duplicate", "fenced", "not_here", "invalid", "error"]


class Refused(msgspec.Struct, frozen=True, tag="refused"):
    code: RefusalCode
    detail: str


Reply = Accepted | Refused


class LiveChange(msgspec.Struct, frozen=True, tag="change"):
    record: Change


class LiveEvent(msgspec.Struct, frozen=True, tag="event"):
    record: Event


class LiveResult(msgspec.Struct, frozen=True, tag="result"):
    record: Result


class LiveAvailability(msgspec.Struct, frozen=True, tag="availability"):
    record: Availability


Live = LiveChange | LiveEvent | LiveResult | LiveAvailability
"""One record of a partition hub's bus, as it travels on its live subject."""

_ENCODER: Final = msgspec.json.Encoder()
_COMMAND: Final = msgspec.json.Decoder(Command)
_REPLY: Final = msgspec.json.Decoder(Reply)
_LIVE: Final = msgspec.json.Decoder(Live)


def _wrapped(record: object) -> Live:
    if isinstance(record, Change):
        return LiveChange(record)
    if isinstance(record, Event):
        return LiveEvent(record)
    if isinstance(record, Result):
        return LiveResult(record)
    if isinstance(record, Availability):
        return LiveAvailability(record)
    raise TypeError(f"not a record of the bus: {type(record).__name__}")  # pragma: no cover


def decode_live(payload: bytes) -> Live:
    """A live message (``msgspec.ValidationError``/``DecodeError`` if it is not one)."""
    return _LIVE.decode(payload)


class OwnerUnavailable(ConnectorError):
    """No worker took a command for a home within the bound: its partition is changing hands
    (or no worker runs). ``retry_after`` is the seconds a client should wait."""

    def __init__(self, home: str, partition: int, waited: float, last: str, retry_after: float = 2.0) -> None:
        super().__init__(
            f"no worker serves home {home!r} (partition {partition}) after {waited:.1f} s ({last});"
            " its partition is moving to another worker: send the command again shortly"
            " with the same Idempotency-Key"
        )
        self.home = home
        self.partition = partition
        self.retry_after = retry_after


# -- the worker's side ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def responding(nc: Client, hub: Hub, partition: int, count: int) -> AsyncIterator[None]:
    """Answer ``fleet.cmd.<partition>`` for ``hub`` (the partition's hub, of ``count``
    partitions) while the block runs: each command submitted to the hub, which keeps it in
    the partition's fenced outbox and delivers it."""

    async def answer(msg: Msg) -> None:
        reply = await _submitted(hub, msg.data, count, partition)
        if msg.reply:
            with contextlib.suppress(nats.errors.Error):  # the asker retries
                await msg.respond(_ENCODER.encode(reply))

    subscription = await nc.subscribe(command_subject(partition), cb=answer)
    try:
        yield
    finally:
        with contextlib.suppress(nats.errors.Error):
            await subscription.unsubscribe()


async def _submitted(hub: Hub, payload: bytes, count: int, partition: int) -> Reply:  # noqa: PLR0911 - one answer per outcome
    try:
        command = _COMMAND.decode(payload)
    except msgspec.DecodeError as exc:
        return Refused("invalid", f"not a command: {exc}")
    if partition_of(command.home, count) != partition or command.home not in {h.id for h in hub.homes()}:
        return Refused("not_here", f"home {command.home!r} is not served here")
    try:
        kept = await hub.commands.submit(command)
    except DuplicateCommand as exc:
        return Refused("duplicate", str(exc))
    except Fenced as exc:
        return Refused("fenced", str(exc))
    except InvalidCommand as exc:
        return Refused("invalid", str(exc))
    except CarhomeError as exc:
        log.warning("command %s for %s not kept: %s", command.id, command.home, exc)
        return Refused("error", str(exc))
    return Accepted(kept)


@contextlib.asynccontextmanager
async def publishing(nc: Client, hub: Hub, partition: int) -> AsyncIterator[None]:
    """Publish every record of ``hub``'s bus on ``fleet.live.<partition>.<home>``, in order,
    while the block runs (what is left queued when it ends is published first)."""
    queue: deque[Live] = deque(maxlen=LIVE_QUEUE)
    ready = asyncio.Event()
    dropped = 0

    def push(record: object) -> None:
        nonlocal dropped
        if len(queue) == LIVE_QUEUE:
            dropped += 1
        queue.append(_wrapped(record))
        ready.set()

    async def send() -> None:
        while True:
            await ready.wait()
            ready.clear()
            await _send(nc, partition, queue)

    subscriptions = [hub.bus.subscribe(push, kind=kind) for kind in KINDS]
    task = asyncio.create_task(send(), name=f"fleet-live-{partition}")
    try:
        yield
    finally:
        for subscription in subscriptions:
            subscription.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(nats.errors.Error):
            await _send(nc, partition, queue)
        if dropped:
            log.warning("partition %d: %d live records dropped (API nodes too slow)", partition, dropped)


async def _send(nc: Client, partition: int, queue: deque[Live]) -> None:
    while queue:
        live = queue.popleft()
        try:
            await nc.publish(live_subject(partition, live.record.home), _ENCODER.encode(live))
        except nats.errors.Error as exc:  # reconnecting: the client buffers; closed: nothing to do
            log.warning("partition %d: a live record not published: %s", partition, exc)


# -- the API node's side ----------------------------------------------------------------------


class Owners:
    """Reaches a home's owner for an API node: ``submit`` a command by request/reply."""

    def __init__(
        self, nc: Client, partitions: int, *, clock: Clock | None = None, bound: float = BOUND
    ) -> None:
        self.nc = nc
        self.partitions = partitions
        self.clock: Clock = clock or SystemClock()
        self.bound = bound
        self.retries = 0
        """Requests asked again (no responder, a zombie, a worker still loading)."""

    async def submit(self, command: Command) -> Command:
        """Hand ``command`` to its home's owner; the command as the owner keeps it.

        ``DuplicateCommand`` if its id is taken (the owner has it: an earlier try of this
        request, or another request under the same key); ``InvalidCommand`` if the owner
        cannot take it; ``OwnerUnavailable`` if no worker took it within the bound."""
        partition = partition_of(command.home, self.partitions)
        subject = command_subject(partition)
        payload = _ENCODER.encode(command)
        started = self.clock.time()
        delay = RETRY_FIRST
        while True:
            try:
                msg = await self.nc.request(subject, payload, timeout=ASK_TIMEOUT)
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError) as exc:
                last = "no worker answered" if isinstance(exc, nats.errors.NoRespondersError) else "no reply"
            except nats.errors.Error as exc:
                last = f"NATS: {exc!r}"
            else:
                reply = _REPLY.decode(msg.data)
                if isinstance(reply, Accepted):
                    return reply.command
                if reply.code == "duplicate":
                    raise DuplicateCommand(command.id)
                if reply.code in {"invalid", "error"}:
                    raise InvalidCommand(device=command.device, target=command.target, reason=reply.detail)
                last = f"{reply.code}: {reply.detail}"
            waited = self.clock.time() - started
            if waited + delay > self.bound:
                raise OwnerUnavailable(command.home, partition, waited, last)
            self.retries += 1
            log.info("command %s for %s: %s; asking again in %.1f s", command.id, command.home, last, delay)
            await self.clock.sleep(delay)
            delay = min(delay * 2, RETRY_MOST)


@contextlib.asynccontextmanager
async def listening(nc: Client, take: Callable[[Live], None]) -> AsyncIterator[None]:
    """Hand every live record of every partition to ``take`` while the block runs."""

    async def received(msg: Msg) -> None:
        try:
            live = decode_live(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("not a live record on %s: %s", msg.subject, exc)
            return
        take(live)

    subscription = await nc.subscribe(LIVE_ALL, cb=received, pending_msgs_limit=LIVE_QUEUE)
    try:
        yield
    finally:
        with contextlib.suppress(nats.errors.Error):
            await subscription.unsubscribe()


HubHook = Callable[[Hub, Any], contextlib.AbstractAsyncContextManager[object]]
"""A worker's ``with_hub`` hook (``carhome.compose.worker.WithHub``): given a partition's hub
and its lease."""


def beside_hubs(nc: Client, partitions: int) -> HubHook:
    """The ``with_hub`` hook that answers and publishes for each partition's hub over ``nc``."""

    @contextlib.asynccontextmanager
    async def with_hub(hub: Hub, lease: Any) -> AsyncIterator[None]:
        partition: int = lease.partition
        async with publishing(nc, hub, partition), responding(nc, hub, partition, partitions):
            yield

    return with_hub


@contextlib.asynccontextmanager
async def worker_side(urls: Sequence[str], login: Login, partitions: int) -> AsyncIterator[HubHook]:
    """A worker's NATS connection for the API nodes, as ``login``, while the block runs; the
    hook to run beside each partition's hub."""
    nc = await connect(list(urls), login, name="carhome-worker-rpc")
    try:
        yield beside_hubs(nc, partitions)
    finally:
        with contextlib.suppress(nats.errors.Error):
            await nc.drain()
