"""The fleet's bottom layer: partitions, their leases, failover and fencing on PostgreSQL.

A fleet spreads homes over P partitions (NATS maps a home to its partition); worker
processes share the partitions out among themselves with advisory-lock leases, take over
the partitions of a worker that died or hung, and fence a stale owner's writes by epoch.
``partitions`` owns the table, the leases' epochs and the fence; ``membership`` a worker's
session, heartbeat, watchdog and share; ``rendezvous`` who should own what.
"""

from carhome.fleet.membership import Membership, Owner, holders, live
from carhome.fleet.partitions import (
    Fenced,
    Lease,
    LockSpace,
    Partition,
    Partitions,
    fenced,
    let_go,
    take,
    take_all,
    writer_settings,
)
from carhome.fleet.rendezvous import assign, shares, weight

__all__ = [
    "Fenced",
    "Lease",
    "LockSpace",
    "Membership",
    "Owner",
    "Partition",
    "Partitions",
    "assign",
    "fenced",
    "holders",
    "let_go",
    "live",
    "shares",
    "take",
    "take_all",
    "weight",
    "writer_settings",
]
