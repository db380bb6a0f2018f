"""Devices asked to publish their whole state again, so a stream-leader loss loses no device state.

NATS's MQTT PUBACK does not wait for the partition stream that captures a report (FLEET.md,
"Known traps"): reports a device sent while its partition's stream had no leader were
PUBACKed and are not in the stream. A device that said its last state then is silent would
stay wrong for ever. So a worker asks the devices of a partition, on their ``resend`` topic
(``carhome/<home>/<device>/resend``, NATS ``carhome.<home>.<device>.resend``), to publish
their status and every property again, each property with its own time; the worker applies
by device time, so a value older than one it holds changes nothing (``carhome.mqtt.device``
answers). One ask per device, not one per home: a device reads only its own topics (the
ACL table's ``TO_DEVICE`` rule), and the worker knows each device of its hub.

``Republisher`` asks:

- when a worker takes a partition: ``with_hub`` (the worker's hook beside each partition's
  hub) asks its devices once the hub is loaded, and keeps the hub for the asks below while
  it is served;
- when a partition stream's leader changes: it hears JetStream's advisory
  ``$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.<stream>`` (the workers' NATS user may
  subscribe it: ``carhome.fleet.cluster.worker_permissions``) and asks the devices of that
  partition, if it holds it;
- when its own connection came back (its server died: the advisory may have come while it
  was away), the devices of every partition it holds.

Every round first waits (bounded) until the partition's stream has a leader, then asks at
most ``rate`` devices a second across all partitions, ``burst`` at a time; a new round of a
partition replaces the one running (its devices may have answered into a leaderless stream).
Events a device reported in the gap stay lost: they are not state, and nothing sends them again.

``republishing(fleet)`` opens one for a worker (a NATS connection of its own as the
worker's user); without ``fleet.nats`` (another log) it asks nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Final, Self

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from carhome.clock import Clock, SystemClock
from carhome.fleet.cluster import LEADER_ELECTED, Login
from carhome.fleet.config import FleetConfig
from carhome.fleet.jetstream import connect
from carhome.fleet.log import stream
from carhome.fleet.partitions import Lease
from carhome.hub import Hub
from carhome.mqtt.payloads import encode_resend
from carhome.mqtt.topics import ROOT, Kind

log: Final = logging.getLogger(__name__)

RATE: Final = 2000.0
"""Devices asked per second by one worker, all partitions together: 10,000 homes of 3
devices over 64 partitions are about 470 devices a partition, a quarter of a second each."""
BURST: Final = 100
LED_WITHIN: Final = 30.0
"""Seconds a round waits for its stream to have a leader before it asks anyway."""
KEPT: Final = 1024
TAKEOVER: Final = "takeover"
LEADER: Final = "leader"
RECONNECT: Final = "reconnect"

WithHub = Callable[[Hub, Lease], AbstractAsyncContextManager[object]]
"""A worker's hook beside each partition's hub (``carhome.compose.worker.WithHub``)."""


def resend_subject(home: str, device: str) -> str:
    """The NATS subject of a device's ``resend`` topic."""
    return f"{ROOT}.{home}.{device}.{Kind.RESEND.value}"


class Republisher:
    """Asks the devices of the partitions a worker serves to publish their state again.

    ``connection`` is the worker's NATS connection (``None``: ask nothing, a log other than
    the cluster's); enter it to hear the leader elections."""

    def __init__(
        self,
        connection: Client | None,
        partitions: int,
        *,
        clock: Clock | None = None,
        rate: float = RATE,
        burst: int = BURST,
    ) -> None:
        self._nc = connection
        self._partitions = partitions
        self._clock: Clock = clock or SystemClock()
        self._rate = rate
        self._burst = max(1, burst)
        self._held: dict[int, Hub] = {}
        self._rounds: dict[int, asyncio.Task[None]] = {}
        self._pace = asyncio.Lock()
        self._subscriptions: list[Subscription] = []
        self.asked = 0
        """Devices asked so far."""
        self.rounds: deque[tuple[int, str, int]] = deque(maxlen=KEPT)
        """The last ``KEPT`` finished rounds: the partition, why, how many devices were asked."""
        self.changed = asyncio.Condition()
        """Notified after each finished round."""

    async def __aenter__(self) -> Self:
        nc = self._nc
        if nc is not None:
            for p in range(self._partitions):
                self._subscriptions.append(
                    await nc.subscribe(f"{LEADER_ELECTED}.{stream(p)}", cb=self._elected)
                )
            await nc.flush()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for subscription in self._subscriptions:
            with contextlib.suppress(nats.errors.Error):
                await subscription.unsubscribe()
        self._subscriptions.clear()
        for p in list(self._rounds):
            await self._cancel(p)

    # -- who asks, when ---------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def with_hub(self, hub: Hub, lease: Lease) -> AsyncIterator[None]:
        """The worker's ``with_hub``: ask the partition's devices now (it was just taken), and
        again on a leader change while it is served."""
        p = lease.partition
        self._held[p] = hub
        self.ask(p, TAKEOVER)
        try:
            yield
        finally:
            if self._held.get(p) is hub:
                del self._held[p]
                await self._cancel(p)

    def beside(self, other: WithHub | None) -> WithHub:
        """``with_hub`` entered after ``other`` (another hook beside each partition's hub)."""
        if other is None:
            return self.with_hub

        @contextlib.asynccontextmanager
        async def both(hub: Hub, lease: Lease) -> AsyncIterator[None]:
            async with other(hub, lease), self.with_hub(hub, lease):
                yield

        return both

    def ask(self, partition: int, reason: str) -> None:
        """Ask the devices of ``partition`` (if held), replacing a round of it still running."""
        hub = self._held.get(partition)
        if hub is None or self._nc is None:
            return
        running = self._rounds.pop(partition, None)
        if running is not None:
            running.cancel()
        self._rounds[partition] = asyncio.create_task(
            self._round(partition, hub, reason), name=f"fleet-resend-{partition}"
        )

    async def reconnected(self) -> None:
        """The connection came back: an advisory may have come while it was away."""
        for p in list(self._held):
            self.ask(p, RECONNECT)

    async def _elected(self, message: Msg) -> None:
        name = message.subject.rsplit(".", 1)[-1]
        for p in self._held:
            if stream(p) == name:
                log.info("partition %d: its stream has a new leader; asking its devices to resend", p)
                self.ask(p, LEADER)
                return

    async def _cancel(self, partition: int) -> None:
        task = self._rounds.pop(partition, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- one round --------------------------------------------------------------------------

    async def _round(self, partition: int, hub: Hub, reason: str) -> None:
        nc = self._nc
        assert nc is not None  # asked only with a connection
        try:
            await self._until_led(nc, partition)
            devices = [(d.home, d.id) for d in hub.devices()]
            payload = encode_resend(reason)
            asked = 0
            for start in range(0, len(devices), self._burst):
                async with self._pace:  # the rate is the worker's, not each partition's
                    for home, device in devices[start : start + self._burst]:
                        await nc.publish(resend_subject(home, device), payload)
                        asked += 1
                        self.asked += 1
                    await nc.flush()
                    await self._clock.sleep(self._burst / self._rate)
        except (nats.errors.Error, TimeoutError) as exc:
            # the connection is away; when it is back, ``reconnected`` asks again
            log.warning("partition %d: asking its devices to resend failed (%r)", partition, exc)
            return
        finally:
            if self._rounds.get(partition) is asyncio.current_task():
                del self._rounds[partition]
        log.info("partition %d: %d devices asked to resend (%s)", partition, asked, reason)
        async with self.changed:
            self.rounds.append((partition, reason, asked))
            self.changed.notify_all()

    async def _until_led(self, nc: Client, partition: int) -> None:
        """Until the partition's stream has a leader (an answer sent before is lost again),
        at most ``LED_WITHIN`` seconds."""
        js = nc.jetstream()
        waited = 0.0
        while waited < LED_WITHIN:
            with contextlib.suppress(nats.errors.Error, TimeoutError):
                info = await js.stream_info(stream(partition))
                if info.cluster is None or info.cluster.leader is not None:
                    return
            await self._clock.sleep(0.05)
            waited += 0.05
        log.warning("partition %d: its stream has no leader after %.0f s; asking anyway", partition, waited)


@contextlib.asynccontextmanager
async def republishing(fleet: FleetConfig, *, clock: Clock | None = None) -> AsyncIterator[Republisher]:
    """A worker's ``Republisher``, on a NATS connection of its own to ``fleet.nats`` as
    ``fleet.nats_user``; one that asks nothing when the fleet names no NATS cluster."""
    if not fleet.nats:
        async with Republisher(None, fleet.partitions, clock=clock) as idle:
            yield idle
        return
    login = Login(fleet.nats_user, fleet.nats_password or "")
    republisher: Republisher | None = None

    async def reconnected() -> None:
        if republisher is not None:
            await republisher.reconnected()

    nc = await connect(list(fleet.nats), login, name="carhome-worker-resend", reconnected=reconnected)
    try:
        async with Republisher(nc, fleet.partitions, clock=clock) as republisher:
            yield republisher
    finally:
        await nc.close()
