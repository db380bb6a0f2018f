"""Partitions never cause late execution, and a link back within the TTL delivers everything.

A ``FaultProxy`` sits between the four counters and the broker (the hub reaches the broker
directly) and, in a seeded order, cuts the devices' links (an outage: connections reset,
new ones refused), stalls them (bytes held, then delivered late) and leaves them half-open
(bytes dropped, nobody told: only the keepalive finds out). Each fault lasts, in the hub's
and the devices' time, either less than the commands' TTL or twice as long. Commands are
sent just before each short fault (in flight when it hits) and during every fault.

Figures: ``commands lost: 0`` (every command final, and the device agrees: acked ⇔ run
once), ``late executions: 0`` (nothing runs at or after its expiry, by the device's
clock) and ``in-TTL delivered: 100 %`` (every command sent during a fault shorter than
its TTL ends acked).
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from carhome.hub import Command, CommandStatus, Hub
from carhome.store import SqliteStore
from carhome.testing import FakeClock, FaultProxy
from mqtt.brokers import BrokerProcess

from .conftest import BOUND, CHAOS_SPECS, Counters, lost

TTL = 60.0
FAULTS = [(kind, long) for kind in ("cut", "hold", "half_open") for long in (False, True)] * 2
SEED = 4242
BEFORE = 2  # sent just before a short fault: in flight when it hits
DURING = 3  # sent while the link is down
RECONNECT = 1.0  # seconds ahead the clock may jump while the links come back (backoff ≤ 0.24 s)


@pytest.mark.timeout(300)
async def test_link_faults_lose_nothing_and_run_nothing_late(
    broker: BrokerProcess, tmp_path: Path, clock: FakeClock
) -> None:
    rng = random.Random(SEED)
    faults = list(FAULTS)
    rng.shuffle(faults)
    everything: list[Command] = []
    in_ttl: list[Command] = []
    async with (
        Hub(store=SqliteStore(tmp_path / "hub.db"), clock=clock, specs=CHAOS_SPECS) as hub,
        FaultProxy("127.0.0.1", broker.port) as proxy,
        Counters(
            hub, clock, tmp_path, hub_url=broker.url, device_url=proxy.url, keepalive=1, connect_timeout=1.0
        ) as home,
    ):

        async def send(n: int) -> list[Command]:
            made = [await home.send(rng.choice(home.names), ttl=TTL) for _ in range(n)]
            everything.extend(made)
            return made

        for kind, long in faults:
            if not long:
                in_ttl += await send(BEFORE)
            if kind == "cut":
                proxy.cut()
            elif kind == "hold":
                proxy.hold()
            else:
                closes = proxy.stats.client_closes
                proxy.half_open()
            during = await send(DURING)
            if kind == "half_open":
                # the devices find out by their keepalive alone (real seconds: 2 × keepalive)
                async with asyncio.timeout(BOUND):
                    await proxy.until(lambda s, c=closes: s.client_closes >= c + len(home.names))
            outage = 2 * TTL if long else rng.uniform(1.0, TTL / 2)
            await clock.advance(outage)
            proxy.restore()
            if not long:
                in_ttl += during
            # the links wait their reconnect backoff on the fake clock: short sleeps pass at
            # once while the test waits, the commands' TTL does not
            await clock.jump_through(home.finals.all_final(everything), horizon=RECONNECT)
            # and every device is back before the next fault (or it would have no link to lose)
            await clock.jump_through(home.until_online(set(home.names)), horizon=RECONNECT)
        missing = lost(home, everything)
        late = home.late(everything)
        delivered = sum(c.status is CommandStatus.ACKED for c in in_ttl)
        twice = home.executions.twice()
        refused_late = sum(client.stats.expired for client in home.devices.values())
    print(
        f"\n{broker.name}: link faults: {len(faults)} (cut, stall, half-open; shorter and longer than"
        f" the TTL), commands: {len(everything)}, commands lost: {len(missing)}, late executions: {late},"
        f" in-TTL delivered: {100 * delivered / len(in_ttl):.0f} % of {len(in_ttl)}"
    )
    assert missing == []
    assert late == 0
    assert delivered == len(in_ttl)
    assert twice == 0
    # the long cuts and stalls did make commands expire, and they were never run (a device
    # behind a half-open link notices by its keepalive, in real seconds, and may reconnect
    # and take its commands before the outage's simulated time has passed)
    expired = [c for c in everything if c.status is CommandStatus.EXPIRED]
    assert len(expired) >= DURING * sum(long and kind != "half_open" for kind, long in faults)
    assert all(home.executed(c) == 0 for c in expired)
    assert refused_late > 0  # stalled commands did reach the devices after their expiry
