"""Who owns which partition: even shares, and a membership change moves about 1/N of them."""

from __future__ import annotations

import math
import random

from carhome.fleet import assign, shares

PARTITIONS = 64
RUNS = 40


def worker_ids(rng: random.Random, count: int) -> list[str]:
    return [f"worker-{rng.randrange(16**8):08x}" for _ in range(count)]


def balance(owner: dict[int, str]) -> float:
    counts = shares(owner).values()
    return min(counts) / max(counts)


def moved(before: dict[int, str], after: dict[int, str]) -> int:
    return sum(before[p] != after[p] for p in range(PARTITIONS))


def test_every_partition_has_one_live_owner_and_the_shares_are_even() -> None:
    rng = random.Random(15)
    worst = 1.0
    for _ in range(RUNS):
        for members in (2, 3):
            workers = worker_ids(rng, members)
            owner = assign(workers, PARTITIONS)
            assert sorted(owner) == list(range(PARTITIONS))
            assert set(owner.values()) == set(workers)
            assert max(shares(owner).values()) <= math.ceil(PARTITIONS / members)
            worst = min(worst, balance(owner))
    print(
        f"partition_balance (smallest share / largest), worst of {RUNS} runs of 2 and 3 workers: {worst:.2f}"
    )
    assert worst >= 0.9


def test_the_same_members_give_the_same_owners_in_any_order() -> None:
    workers = worker_ids(random.Random(7), 3)
    assert assign(workers, PARTITIONS) == assign(list(reversed(workers)), PARTITIONS)
    assert assign([], PARTITIONS) == {}


def test_a_third_worker_moves_about_a_third_of_the_partitions() -> None:
    rng = random.Random(16)
    counts = []
    sideways = 0
    for _ in range(RUNS):
        workers = worker_ids(rng, 3)
        before, after = assign(workers[:2], PARTITIONS), assign(workers, PARTITIONS)
        counts.append(moved(before, after))
        # the bound may push a partition from one old worker to the other, rarely
        sideways += sum(before[p] != after[p] != workers[2] for p in range(PARTITIONS))
    print(
        f"a 3rd worker joining 2 moves {min(counts)}–{max(counts)} of {PARTITIONS} partitions"
        f" (mean {sum(counts) / len(counts):.1f}; a third is {PARTITIONS / 3:.1f});"
        f" between the two others: {sideways} in {RUNS} runs"
    )
    # the newcomer's share has to move (20 to 22 of 64); little beyond it does
    assert min(counts) >= PARTITIONS - 2 * math.ceil(PARTITIONS / 3)
    assert max(counts) <= math.ceil(PARTITIONS / 3) + 5
    assert sum(counts) / len(counts) <= PARTITIONS / 3 + 2


def test_modulo_placement_would_move_most_partitions() -> None:
    """The churn the rendezvous avoids: ``partition mod members`` moves two thirds."""
    by_modulo = sum((p % 2) != (p % 3) for p in range(PARTITIONS))
    rendezvous = moved(assign(["a", "b"], PARTITIONS), assign(["a", "b", "c"], PARTITIONS))
    print(f"2 → 3 workers: modulo placement moves {by_modulo}, rendezvous {rendezvous} of {PARTITIONS}")
    assert rendezvous < by_modulo
