"""What a bomb costs the hub: its event loop's longest stall, the process's peak memory
growth, and its log lines per cause.

``LoopLag`` is a probe task on the hub's loop: it asks to be woken every ``TICK`` seconds
and records how late it woke — the longest the loop was held by anything else. It waits
for nothing (no test waits on it), it measures; the figure is reported, and only a
generous bound is asserted. ``PeakMemory`` resets the kernel's high-water mark of the
process's resident memory (``/proc/self/clear_refs``) and reads how far it rose. ``LogTally``
keeps every warning the hub logs, grouped by cause: a rejection's ``cause`` (what
``carhome.hub.rejections`` logs it under), or the message's template for any other line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import resource
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Final

TICK: Final = 0.005
MB: Final = 1024 * 1024


class LoopLag:
    """The longest stall of the loop ``start`` was called on, in seconds, since ``reset``."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._probe(), name="loop-lag-probe")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def reset(self) -> None:
        self.worst = 0.0

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(TICK)  # real time on purpose: this measures the real loop's stalls
            self.worst = max(self.worst, loop.time() - before - TICK)


def _status(field: str) -> int:
    """A ``/proc/self/status`` figure, in bytes."""
    found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    if found is None:  # pragma: no cover - Linux has both fields
        raise RuntimeError(f"no {field} in /proc/self/status")
    return int(found.group(1)) * 1024


class PeakMemory:
    """How far the process's resident memory rose above where it was at ``__enter__``."""

    def __init__(self) -> None:
        self.growth = 0
        self._start = 0
        self._exact = True

    def __enter__(self) -> PeakMemory:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        except OSError:  # pragma: no cover - a kernel without it: ru_maxrss only grows
            self._exact = False
        self._start = _status("VmRSS") if self._exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return self

    def __exit__(self, *exc: object) -> None:
        if self._exact:
            self.growth = max(0, _status("VmHWM") - self._start)
        else:  # pragma: no cover
            self.growth = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self._start) * 1024

    @property
    def mb(self) -> float:
        return self.growth / MB


class LogTally(logging.Handler):
    """Every warning (and worse) logged under ``carhome``, counted by cause."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: Counter[str] = Counter()
        self.bytes = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.lines[str(getattr(record, "cause", record.msg))] += 1
        self.bytes += len(self.format(record))

    @property
    def most_per_cause(self) -> int:
        return max(self.lines.values(), default=0)

    @contextlib.contextmanager
    def watching(self) -> Iterator[LogTally]:
        logger = logging.getLogger("carhome")
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)
