"""What the benches measure with: resident memory, CPU time of a process, percentiles of timings."""

from __future__ import annotations

import os
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


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) process ``pid`` has used so far, in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        # the fields after the command name, which may hold spaces, inside parentheses
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
