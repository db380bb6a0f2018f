"""Failover with real worker processes: killed, stopped and cut off, nothing lost, no zombie write.

Two workers share a fleet of 16 partitions, each partition a log of 100 messages applied in
fenced batches (``worker_child.py``). Then worker ``a`` is killed with SIGKILL, stopped
with SIGSTOP (and resumed as a zombie), or its PostgreSQL session is terminated; worker
``b`` must take all of ``a``'s partitions and finish every log from the checkpoints, with
no message lost or applied twice. The only timings are wall bounds on waits for events
(each line a worker prints), and the figures printed.
"""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator

import pytest

from .rig import HEARTBEAT, IDLE_TIMEOUT, Rig, Worker

pytestmark = pytest.mark.postgres

PARTITIONS = 16
MESSAGES = 100
SERVED_AGAIN_BOUND = 5.0  # seconds: the fleet's aim is under 10 s


@pytest.fixture
async def rig(postgres_url: str) -> AsyncIterator[Rig]:
    rig = Rig(postgres_url, PARTITIONS, MESSAGES)
    await rig.prepare()
    try:
        yield rig
    finally:
        await rig.close()


async def two_workers(rig: Rig, *a_extra: str) -> tuple[Worker, Worker]:
    """``a`` alone holds every partition, then ``b`` joins: half each, ``a`` mid-stream."""
    a = await rig.start("a", *a_extra)
    await rig.until("a holds every partition", lambda: len(a.held) == PARTITIONS)
    b = await rig.start("b")
    half = PARTITIONS // 2
    await rig.until("a and b hold half each", lambda: len(a.held) == half and len(b.held) == half)
    await rig.until(
        "a applies its partitions",
        lambda: len(a.held) == half and all(a.at.get(p, 0) > 0 for p in a.held),
    )
    assert not a.done, "the logs are meant to be mid-stream when a fails; lengthen them"
    return a, b


async def finished(rig: Rig, b: Worker) -> tuple[int, int]:
    """Wait until ``b`` finished every log; (lost, applied twice)."""
    await rig.until("b holds every partition", lambda: len(b.held) == PARTITIONS)
    await rig.until("every log applied", lambda: len(b.done) == PARTITIONS)
    return await rig.applied()


async def test_a_killed_worker_s_partitions_are_served_again_with_nothing_lost(rig: Rig) -> None:
    a, b = await two_workers(rig)
    epochs = dict(a.held)
    killed = time.monotonic()
    a.signal(signal.SIGKILL)
    await rig.until("b holds every partition", lambda: len(b.held) == PARTITIONS)
    served_again = time.monotonic() - killed
    lost, twice = await finished(rig, b)
    print(f"served_again_s {served_again:.2f}, lost {lost}, applied_twice {twice}")
    assert all(b.held[p] > epoch for p, epoch in epochs.items())
    assert lost == 0
    assert twice == 0
    assert served_again < SERVED_AGAIN_BOUND


async def test_a_stopped_worker_loses_its_partitions_in_the_timeout_and_its_zombie_writes_are_refused(
    rig: Rig,
) -> None:
    zombie_writes = 5
    a, b = await two_workers(rig, "--zombie-writes", str(zombie_writes))
    epochs = dict(a.held)
    stopped = time.monotonic()
    a.signal(signal.SIGSTOP)
    await rig.until(
        "b holds every partition", lambda: len(b.held) == PARTITIONS, bound=IDLE_TIMEOUT + 10 * HEARTBEAT
    )
    moved = time.monotonic() - stopped
    a.signal(signal.SIGCONT)
    await rig.until("the zombie tried its writes", lambda: a.zombie is not None)
    assert a.zombie is not None
    accepted, tried = a.zombie
    lost, twice = await finished(rig, b)
    print(
        f"moved_after_stop_s {moved:.2f} (idle_session_timeout {IDLE_TIMEOUT} s),"
        f" zombie_writes_accepted {accepted} of {tried}, lost {lost}, applied_twice {twice}"
    )
    assert a.stopped is not None, "the resumed worker's watchdog must stop it"
    assert all(b.held[p] > epoch for p, epoch in epochs.items())
    assert tried == zombie_writes * len(epochs)
    assert accepted == 0
    assert lost == 0
    assert twice == 0
    # not before the server ended the silent session: the partitions moved because of it
    assert moved > IDLE_TIMEOUT / 2


async def test_a_worker_whose_session_is_terminated_stops_and_its_partitions_move(rig: Rig) -> None:
    a, b = await two_workers(rig)
    cut = time.monotonic()
    assert await rig.terminate("a") == 1
    await rig.until("a's watchdog stops it", lambda: a.stopped is not None)
    await rig.until("b holds every partition", lambda: len(b.held) == PARTITIONS)
    served_again = time.monotonic() - cut
    assert await a.process.wait() == 0
    assert a.stopped is not None
    assert "membership session failed" in a.stopped
    lost, twice = await finished(rig, b)
    print(f"terminated session: served_again_s {served_again:.2f}, lost {lost}, applied_twice {twice}")
    assert lost == 0
    assert twice == 0
    assert served_again < SERVED_AGAIN_BOUND
