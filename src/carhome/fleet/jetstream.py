"""The partitions' streams on JetStream, and ``JetStreamLog``: a worker's reads of them.

- ``connect`` opens a NATS connection to the fleet's cluster (every server's URL, so the
  client fails over between them), as ``fleet-worker`` or ``fleet-admin``.
- ``ensure_streams`` makes (or brings to the wanted config) one stream per partition:
  ``stream(p)`` capturing ``stream_subjects(p)``, file storage, ``replicas`` copies (R3 on a
  3-server cluster). Running it again changes nothing.
- ``until_led`` waits until every partition's stream has a leader (after a server came back).
- ``open_log`` connects and gives a ``JetStreamLog`` for as long as it is open (a worker's log).
- ``JetStreamLog`` is the JetStream ``PartitionLog``: ``read(p, after)`` yields partition
  ``p``'s entries from stream sequence ``after + 1`` on, in order, in batches. It reads with
  an ephemeral pull consumer (in memory, one replica, no acks: the checkpoint is the stream
  sequence a worker commits with its state, not anything the server keeps). When that
  consumer goes — its server died, the stream's leader moved, the connection failed over —
  it makes a new one from the sequence after the last it yielded, so a leader change costs
  a pause, never a gap or a repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext, api

from carhome.errors import BrokerUnavailable
from carhome.fleet.cluster import Login
from carhome.fleet.log import Entry, entry, stream, stream_subjects

log: Final = logging.getLogger(__name__)

_AGAIN: Final = 0.25
"""Seconds between two tries to set up a stream while the cluster cannot."""

_TROUBLE: Final = (nats.errors.Error, TimeoutError)
"""What a JetStream call raises while a server is gone or a stream has no leader: timeouts,
no responders, 503s, a connection failing over (all ``nats.errors.Error`` or a timeout)."""


async def connect(
    urls: list[str],
    login: Login,
    *,
    name: str = "carhome-fleet",
    reconnected: Callable[[], Awaitable[None]] | None = None,
) -> Client:
    """A NATS connection to the cluster at ``urls`` as ``login``, reconnecting for ever
    (``reconnected`` awaited after each reconnection).

    ``BrokerUnavailable`` if no server answers at first."""
    try:
        return await nats.connect(
            servers=urls,
            user=login.user,
            password=login.password,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            connect_timeout=5,
            allow_reconnect=True,
            reconnected_cb=reconnected,
        )
    except (TimeoutError, nats.errors.Error, OSError) as exc:
        raise BrokerUnavailable(
            f"cannot reach the fleet's NATS cluster at {', '.join(urls)} as {login.user}: {exc!r};"
            " check fleet.nats (the cluster's URLs) and the user's password"
        ) from exc


def stream_config(partition: int, replicas: int) -> api.StreamConfig:
    """The stream of ``partition``: file storage, ``replicas`` copies, kept until removed by
    the fleet (limits retention, no age limit: a worker may start from an old checkpoint)."""
    return api.StreamConfig(
        name=stream(partition),
        subjects=stream_subjects(partition),
        storage=api.StorageType.FILE,
        num_replicas=replicas,
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.OLD,
    )


async def ensure_streams(
    js: JetStreamContext, partitions: int, replicas: int, *, timeout: float = 30.0
) -> list[str]:
    """Make sure every partition's stream exists with the wanted subjects and replicas, and
    has a leader (within ``timeout`` seconds); return the names of those made or changed
    (none when run again).

    While JetStream refuses or does not answer (a cluster still forming, without a meta
    leader, or fewer servers up than ``replicas``), it asks again until ``timeout``; then
    ``BrokerUnavailable``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    changed = []
    for p in range(partitions):
        wanted = stream_config(p, replicas)
        while True:
            try:
                if await _ensure_stream(js, wanted):
                    changed.append(stream(p))
                break
            except _TROUBLE as exc:
                if loop.time() >= deadline:
                    raise BrokerUnavailable(
                        f"JetStream did not set up the stream of partition {p} ({replicas} replicas)"
                        f" within {timeout} s: {str(exc) or repr(exc)}; the cluster needs at least {replicas}"
                        " servers up"
                    ) from exc
                log.info("JetStream cannot set up the stream of partition %d yet (%s); asking again", p, exc)
                # Real seconds: a cluster elects its meta leader in real time.
                await asyncio.sleep(_AGAIN)
    if changed:
        log.info("partition streams made or changed: %s", ", ".join(changed))
    await until_led(js, partitions, timeout=timeout)
    return changed


async def _ensure_stream(js: JetStreamContext, wanted: api.StreamConfig) -> bool:
    """Make or change one stream to ``wanted``; whether it was made or changed."""
    try:
        info = await js.stream_info(wanted.name or "")
    except nats.js.errors.NotFoundError:
        await js.add_stream(wanted)
        return True
    have = info.config
    if have.subjects != wanted.subjects or have.num_replicas != wanted.num_replicas:
        await js.update_stream(wanted)
        return True
    return False


async def until_led(js: JetStreamContext, partitions: int, *, timeout: float = 30.0) -> None:
    """Wait until every partition's stream has a leader: until then, what devices report to it
    is PUBACKed and lost (FLEET.md's first trap). A server that comes back says it is healthy
    before the streams it led have elected new leaders (measured: seconds later)."""

    async def led(p: int) -> None:
        while True:
            with contextlib.suppress(*_TROUBLE):
                info = await js.stream_info(stream(p))
                if info.cluster is None or info.cluster.leader is not None:
                    return
            # Real seconds: an election takes real time.
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(asyncio.gather(*(led(p) for p in range(partitions))), timeout)
    except TimeoutError:
        raise BrokerUnavailable(
            f"not every partition stream has a leader after {timeout} s; check that enough"
            " servers of the cluster are up"
        ) from None


@contextlib.asynccontextmanager
async def open_log(
    urls: list[str], login: Login, *, batch: int = 256, idle: float = 1.0, retry: float = 0.25
) -> AsyncIterator[JetStreamLog]:
    """The partitions' logs of the cluster at ``urls``, read as ``login`` (``fleet-worker``),
    for as long as the context is open: what a worker's ``log_of`` opens."""
    connection = await connect(urls, login, name="carhome-worker")
    try:
        yield JetStreamLog(connection.jetstream(), batch=batch, idle=idle, retry=retry)
    finally:
        await connection.close()


class JetStreamLog:
    """The partitions' logs on JetStream (``carhome.fleet.log.PartitionLog``).

    ``batch`` is the most entries one batch holds; ``idle`` (seconds) how long one pull
    waits for the first message before asking whether its consumer still exists;
    ``retry`` the pause before making a consumer again after JetStream refused.
    """

    def __init__(self, js: JetStreamContext, *, batch: int = 256, idle: float = 1.0, retry: float = 0.25):
        self._js = js
        self._batch = batch
        self._idle = idle
        self._retry = retry
        self.consumers_made = 0
        """Consumers made so far: one per ``read``, and one per recovery (a leader change)."""

    async def read(self, partition: int, after: int) -> AsyncIterator[list[Entry]]:
        """Batches of partition ``partition``'s entries after stream sequence ``after``, in
        order, as they come, until the iteration is closed."""
        last = after
        pull: _Pull | None = None
        try:
            while True:
                if pull is None:
                    pull = await self._consumer(partition, last)
                    if pull is None:
                        # Real seconds: JetStream needs real time to elect a stream leader.
                        await asyncio.sleep(self._retry)
                        continue
                try:
                    messages = await pull.subscription.fetch(self._batch, timeout=self._idle)
                except TimeoutError:  # nats-py's own, or asyncio's for a pull that expired empty
                    # Nothing came: a quiet partition, or a consumer gone with its server.
                    if not await self._alive(pull):
                        log.info(
                            "partition %d: its consumer is gone; reading again after %d", partition, last
                        )
                        await self._drop(pull)
                        pull = None
                    continue
                except _TROUBLE as exc:
                    log.info(
                        "partition %d: reading after %d failed (%r); reading again from there",
                        partition,
                        last,
                        exc,
                    )
                    await self._drop(pull)
                    pull = None
                    continue
                batch = []
                for message in messages:
                    seq = message.metadata.sequence.stream
                    if seq <= last:
                        continue  # a pull answered twice across a reconnect: yielded already
                    batch.append(entry(seq, message.subject, message.data))
                    last = seq
                if batch:
                    yield batch
        finally:
            if pull is not None:
                await self._drop(pull)

    async def _consumer(self, partition: int, last: int) -> _Pull | None:
        name = f"read-{partition}-{secrets.token_hex(8)}"
        config = api.ConsumerConfig(
            name=name,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=last + 1,
            ack_policy=api.AckPolicy.NONE,
            inactive_threshold=30.0,  # the server drops it if its reader went without a word
            num_replicas=1,
            mem_storage=True,
        )
        try:
            await self._js.add_consumer(stream(partition), config)
            pull = await self._js.pull_subscribe_bind(stream=stream(partition), name=name)
        except _TROUBLE as exc:
            log.info("partition %d: no consumer from %d yet (%r); trying again", partition, last + 1, exc)
            return None
        self.consumers_made += 1
        return _Pull(stream(partition), name, pull)

    async def _alive(self, pull: _Pull) -> bool:
        try:
            await self._js.consumer_info(pull.stream, pull.name)
        except _TROUBLE:
            return False
        return True

    async def _drop(self, pull: _Pull) -> None:
        # The consumer itself may be gone with its server; the server drops what is left of
        # it after ``inactive_threshold``, so a failed delete costs nothing.
        with contextlib.suppress(*_TROUBLE):
            await pull.subscription.unsubscribe()
            await self._js.delete_consumer(pull.stream, pull.name)


@dataclass(frozen=True, slots=True)
class _Pull:
    """One ephemeral consumer of a partition's stream, and the subscription that pulls from it."""

    stream: str
    name: str
    subscription: JetStreamContext.PullSubscription
