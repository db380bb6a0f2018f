"""A fleet worker of the worker role, as the failover tests run it: a real process.

Run as ``python role_child.py URL WORKER PARTITIONS HEARTBEAT IDLE_TIMEOUT [--zombie-writes N]``.
It serves the fleet in the database at URL as ``carhome worker`` does
(``carhome.compose.worker.serve``), its partitions' logs read from ``test_log``
(``tablelog.TableLog``). Each batch it commits also inserts one row per entry into
``fleet_test_applied`` (partition, seq, worker, epoch), in the batch's fenced transaction:
what the test counts.

Its lines (``rig.Worker`` reads them): ``joined W``, ``acquired P EPOCH CHECKPOINT``,
``released P``, ``at P SEQ`` as a batch is committed, ``stopped REASON`` when the watchdog
fired; with ``--zombie-writes N``, once resumed after SIGSTOP, it tries N more commits of a
state row for each partition it held, under the epochs it held them with, through the fence
its worker writes through (``Partitions.commit_checkpoint``), and prints ``zombie ACCEPTED
of TRIED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Sequence

import asyncpg
from tablelog import TableLog

from carhome.compose.worker import Also, Worker, serve
from carhome.fleet import Fenced, Lease, Membership, Partitions
from carhome.fleet.config import FleetConfig
from carhome.fleet.log import Entry
from carhome.hub.persistence import StateRow
from carhome.pgdatabase import PgDatabase
from carhome.store.postgres import write_states


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


HELD: dict[int, Lease] = {}
"""The leases this process's worker was given, kept after a stop: what a zombie believes it holds."""


class Saying(Worker):
    """The worker, saying what it is given and gives back."""

    async def acquired(self, lease: Lease) -> None:
        HELD[lease.partition] = lease
        await super().acquired(lease)
        say(f"acquired {lease.partition} {lease.epoch} {lease.checkpoint}")

    async def releasing(self, lease: Lease) -> None:
        await super().releasing(lease)
        HELD.pop(lease.partition, None)
        say(f"released {lease.partition}")

    def stop(self, reason: str) -> None:
        super().stop(reason)
        say(f"stopped {reason}")


def recorder(worker: str) -> Also:
    async def also(conn: asyncpg.Connection, lease: Lease, batch: Sequence[Entry]) -> None:
        await conn.executemany(
            "INSERT INTO fleet_test_applied (partition, seq, worker, epoch) VALUES ($1, $2, $3, $4)",
            [(lease.partition, e.seq, worker, lease.epoch) for e in batch],
        )
        say(f"at {lease.partition} {batch[-1].seq}")

    return also


async def zombie(url: str, count: int, leases: dict[int, Lease], tries: int) -> None:
    accepted = tried = 0
    async with PgDatabase(url, pool_size=1) as database:
        partitions = Partitions(database, count)
        for partition, lease in sorted(leases.items()):
            for _ in range(tries):
                tried += 1

                async def writes(conn: asyncpg.Connection) -> None:
                    await write_states(conn, [StateRow("zombie", "zombie", "pm25", 1, 0.0, "zombie")])

                try:
                    await partitions.commit_checkpoint(partition, lease.epoch, lease.checkpoint + 1, writes)
                except Fenced:
                    continue
                accepted += 1
    say(f"zombie {accepted} of {tried}")


async def main(argv: list[str]) -> None:
    url, worker, count, heartbeat, idle = argv[:5]
    zombie_writes = int(argv[6]) if argv[5:6] == ["--zombie-writes"] else 0
    fleet = FleetConfig(
        database=url,
        worker=worker,
        partitions=int(count),
        heartbeat=float(heartbeat),
        idle_timeout=float(idle),
    )
    resumed = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGCONT, resumed.set)

    @contextlib.asynccontextmanager
    async def log_of(fleet: FleetConfig) -> AsyncIterator[TableLog]:
        async with TableLog(fleet.database) as log:
            yield log

    def joined(_: Worker, membership: Membership) -> None:
        say(f"joined {membership.worker}")

    await serve(fleet, log_of, also=recorder(worker), joined=joined, worker=Saying)
    if zombie_writes:
        await resumed.wait()
        await zombie(url, int(count), HELD, zombie_writes)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(sys.argv[1:]))
