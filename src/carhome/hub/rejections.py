"""Bad input at the edges: counted by reason and logged once per cause.

A connector that rejects a payload or a value records it here. The count per reason code is
exposed (the local API and the CLI show it); the log gets one warning for each distinct
cause, so a device stuck sending garbage does not flood it.

A cause is the kind of fault (the reason code) and the device it came from — never a name
the sender chose: a property name, or the device and home of a topic that names no device
of the hub (those all share one cause per code). So however many distinct names arrive,
the causes are bounded by the hub's devices times the codes; and the set of causes seen is
capped besides (``MAX_CAUSES``: past it, one warning says new causes are no longer
logged). Each logged line is cut to ``MAX_LINE`` characters, since a reason may quote
what was sent, and carries its cause (``home/device code``) as the record's ``cause``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Final

from carhome.errors import InvalidChange

log: Final = logging.getLogger("carhome.rejected")

HUB_WIDE: Final = "-"
"""The home of a rejection that belongs to no home (bad input on a connection nobody logged in on)."""

MAX_CAUSES: Final = 10_000
MAX_LINE: Final = 400
LAST: Final = 100
"""How many of the latest rejections are kept with their messages."""

_ELSEWHERE: Final = "?"


class RejectionLog:
    """Counts rejected input by reason and logs each distinct cause once.

    ``known(home, device)`` says whether a device is one of the hub's; rejections of any
    other share a cause per code.
    """

    def __init__(self, known: Callable[[str, str], bool] = lambda home, device: True) -> None:
        self.counts: Counter[str] = Counter()
        self.last: list[InvalidChange] = []
        self._known = known
        self._seen: set[tuple[str, str, str]] = set()

    @property
    def total(self) -> int:
        return self.counts.total()

    def record(self, error: InvalidChange, times: int = 1) -> None:
        """Count ``error`` (``times`` values rejected for one reason at once), and log it if
        its cause is new."""
        self.counts[error.code] += times
        self.last.append(error)
        if len(self.last) > LAST:
            del self.last[: LAST // 2]
        home, device = (error.home, error.device)
        if not self._known(home, device):
            home = device = _ELSEWHERE
        cause = (home, device, error.code)
        if cause in self._seen or len(self._seen) > MAX_CAUSES:
            return
        self._seen.add(cause)
        if len(self._seen) > MAX_CAUSES:
            log.warning(
                "rejected input of more than %d causes; new causes are counted, not logged", MAX_CAUSES
            )
            return
        message = str(error)
        if len(message) > MAX_LINE:
            message = message[: MAX_LINE - 1] + "…"
        further = "from other devices" if home == _ELSEWHERE else "of this device"
        log.warning(
            "rejected: %s (further %s rejections %s are counted, not logged)",
            message,
            error.code,
            further,
            extra={"cause": f"{home}/{device} {error.code}"},
        )
