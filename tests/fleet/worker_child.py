"""A fleet worker the failover tests kill, stop and cut off: a real process with a membership.

Run as ``python worker_child.py URL WORKER PARTITIONS MESSAGES HEARTBEAT IDLE_TIMEOUT
[--zombie-writes N]``. The worker joins the fleet of PARTITIONS partitions in the database
at URL and applies each partition it holds: the partition's log is the messages 1 to
MESSAGES, consumed from the lease's checkpoint in batches of ``BATCH``, each batch inserted
into ``fleet_test_applied`` (partition, seq, worker, epoch) and committed with its
checkpoint in one fenced transaction (``Partitions.commit_checkpoint``).

It prints, one line each, flushed at once:

- ``acquired P EPOCH CHECKPOINT`` and ``released P`` as partitions come and go;
- ``at P CHECKPOINT`` after each commit, ``done P`` at the end of a partition's log;
- ``fenced P EPOCH`` when a commit was refused;
- ``stopped REASON`` when the watchdog fired (then it exits);
- with ``--zombie-writes N``: once resumed after SIGSTOP (SIGCONT), it tries N more
  commits for each partition it held, under the epochs it held them with, as a zombie that
  has not noticed yet would, and prints ``zombie ACCEPTED of TRIED``.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import asyncpg

from carhome.fleet import Fenced, Lease, Membership, Partitions, writer_settings
from carhome.pgdatabase import PgDatabase

BATCH = 5
PACE = 0.1  # seconds between two batches of one partition: a log that lasts a while


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Applier:
    """The worker's Owner: one applying task per held partition."""

    def __init__(self, partitions: Partitions, worker: str, messages: int) -> None:
        self.partitions = partitions
        self.worker = worker
        self.messages = messages
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.flushing: set[int] = set()
        self.leases: dict[int, Lease] = {}  # kept after a stop: what a zombie believes it holds
        self.stopped = asyncio.Event()

    async def acquired(self, lease: Lease) -> None:
        say(f"acquired {lease.partition} {lease.epoch} {lease.checkpoint}")
        self.leases[lease.partition] = lease
        self.flushing.discard(lease.partition)
        self.tasks[lease.partition] = asyncio.create_task(self.apply(lease), name=f"apply-{lease.partition}")

    async def releasing(self, lease: Lease) -> None:
        self.flushing.add(lease.partition)  # the applier ends after its commit in flight
        task = self.tasks.pop(lease.partition, None)
        if task is not None:
            await task
        self.leases.pop(lease.partition, None)
        say(f"released {lease.partition}")

    def stop(self, reason: str) -> None:
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()
        say(f"stopped {reason}")
        self.stopped.set()

    async def commit(self, partition: int, epoch: int, first: int, last: int) -> None:
        async def writes(conn: asyncpg.Connection) -> None:
            await conn.executemany(
                "INSERT INTO fleet_test_applied (partition, seq, worker, epoch) VALUES ($1, $2, $3, $4)",
                [(partition, seq, self.worker, epoch) for seq in range(first, last + 1)],
            )

        await self.partitions.commit_checkpoint(partition, epoch, last, writes)

    async def apply(self, lease: Lease) -> None:
        done = lease.checkpoint
        while done < self.messages and lease.partition not in self.flushing:
            last = min(done + BATCH, self.messages)
            try:
                await self.commit(lease.partition, lease.epoch, done + 1, last)
            except Fenced:
                say(f"fenced {lease.partition} {lease.epoch}")
                return
            done = last
            say(f"at {lease.partition} {done}")
            await asyncio.sleep(PACE)
        if done >= self.messages:
            say(f"done {lease.partition}")

    async def zombie(self, tries: int) -> None:
        accepted = tried = 0
        for partition, lease in sorted(self.leases.items()):
            for _ in range(tries):
                tried += 1
                try:
                    await self.commit(partition, lease.epoch, lease.checkpoint + 1, lease.checkpoint + 1)
                except Fenced:
                    continue
                accepted += 1
        say(f"zombie {accepted} of {tried}")


async def main(argv: list[str]) -> None:
    url, worker, count, messages, heartbeat, idle = argv[:6]
    zombie_writes = int(argv[7]) if argv[6:7] == ["--zombie-writes"] else 0
    settings = writer_settings(float(idle), worker)
    async with PgDatabase(url, pool_size=2, settings=settings) as database:
        partitions = Partitions(database, int(count))
        applier = Applier(partitions, worker, int(messages))
        resumed = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGCONT, resumed.set)
        async with Membership(
            partitions, worker, applier, heartbeat=float(heartbeat), idle_timeout=float(idle)
        ) as membership:
            say(f"joined {worker}")
            await membership.stopped.wait()
        if zombie_writes:
            await resumed.wait()
            await applier.zombie(zombie_writes)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
