"""Which live worker should own which partition: rendezvous hashing with a bound per worker.

Every worker computes the same answer from the same inputs (the live workers' ids and the
partition count), with no coordination: each (worker, partition) pair has a stable weight
(blake2b of both, the same on every machine and Python), and partitions go to the heaviest
pairs first, each worker taking at most ``ceil(P / members)``. Plain rendezvous hashing
(each partition to its heaviest worker) moves only the partitions of the worker that came or
went, but its shares are binomial (64 partitions over 2 workers: 27 / 37 is common); the
bound makes the shares even (the smallest over the largest ≥ 0.9 from 64 partitions) and
still moves about ``P / N`` partitions when the N-th worker comes or goes, because the pairs
taken first are the same pairs whatever the set of workers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping


def weight(worker: str, partition: int) -> int:
    """The stable weight of ``worker`` for ``partition`` (higher wins)."""
    digest = hashlib.blake2b(f"{worker}\x00{partition}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign(workers: Iterable[str], partitions: int) -> dict[int, str]:
    """Each of ``partitions`` partitions mapped to one of ``workers`` (empty if none lives)."""
    members = sorted(set(workers))
    if not members:
        return {}
    most = math.ceil(partitions / len(members))
    pairs = sorted(
        ((weight(worker, p), worker, p) for worker in members for p in range(partitions)), reverse=True
    )
    owner: dict[int, str] = {}
    load = dict.fromkeys(members, 0)
    for _, worker, p in pairs:
        if p not in owner and load[worker] < most:
            owner[p] = worker
            load[worker] += 1
    return owner


def shares(owner: Mapping[int, str]) -> dict[str, int]:
    """How many partitions each worker of ``owner`` has."""
    counts: dict[str, int] = {}
    for worker in owner.values():
        counts[worker] = counts.get(worker, 0) + 1
    return counts
