"""The last good series of a provider, on disk, so a restart during an outage still plans.

One JSON file per home and kind in the hub's data directory: the provider, when it was
fetched, and the series. Written whole to a temporary file and renamed (a crash leaves the
old file or the new, never half of one), readable by the hub's user only. A file that
does not decode is ignored (and the next good answer replaces it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from carhome.errors import CarhomeError
from carhome.files import write_atomically
from carhome.prices.series import SlotSeries


class Cached(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    fetched_at: float  # clock seconds
    start: datetime
    slot_s: int
    values: list[float]
    unit: str = ""

    def series(self) -> SlotSeries:
        return SlotSeries.of(self.start, self.values, slot=timedelta(seconds=self.slot_s), unit=self.unit)


def read(path: Path, provider: str) -> Cached | None:
    """The cached series of ``provider`` at ``path``, or None (missing, another provider's, unreadable)."""
    try:
        cached = msgspec.json.decode(path.read_bytes(), type=Cached)
        cached.series()  # checks it: finite values, an aware start
    except (OSError, msgspec.DecodeError, ValueError, CarhomeError):  # a series that does not check: absent
        return None
    return cached if cached.provider == provider else None


def write(path: Path, provider: str, fetched_at: float, series: SlotSeries) -> None:
    """Replace the file at ``path`` with ``series`` (atomically, mode 0600)."""
    body = msgspec.json.encode(
        Cached(
            provider=provider,
            fetched_at=fetched_at,
            start=series.start,
            slot_s=int(series.slot.total_seconds()),
            values=list(series.values),
            unit=series.unit,
        )
    )
    write_atomically(path, body)
