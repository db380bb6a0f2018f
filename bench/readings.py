"""What the benches measure with: the process's resident memory, percentiles of timings."""

from __future__ import annotations

import resource


def rss_mb() -> float:
    """This process's resident memory now, in MiB."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def percentile(values: list[float], p: float) -> float | None:
    """The ``p``-th percentile of the sorted ``values`` (nearest rank), ``None`` of none."""
    if not values:
        return None
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]
