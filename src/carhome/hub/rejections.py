"""Bad input at the edges: counted by reason and logged once per cause.

A connector that rejects a payload or a value records it here. The count per reason code is
exposed (the local API and the CLI show it); the log gets one warning for each distinct
cause (home, device, property, reason code), so a device stuck sending garbage does not
flood it.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Final

from carhome.errors import InvalidChange

log: Final = logging.getLogger("carhome.rejected")

HUB_WIDE: Final = "-"
"""The home of a rejection that belongs to no home (bad input on a connection nobody logged in on)."""

_MAX_CAUSES: Final = 10_000


class RejectionLog:
    """Counts rejected input by reason and logs each distinct cause once."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._seen: set[tuple[str, str, str | None, str]] = set()
        self.last: list[InvalidChange] = []

    @property
    def total(self) -> int:
        return self.counts.total()

    def record(self, error: InvalidChange) -> None:
        self.counts[error.code] += 1
        self.last.append(error)
        if len(self.last) > 100:
            del self.last[:50]
        cause = (error.home, error.device, error.prop, error.code)
        if cause in self._seen:
            return
        if len(self._seen) < _MAX_CAUSES:
            self._seen.add(cause)
        log.warning("rejected: %s (further rejections for this cause are counted, not logged)", error)
