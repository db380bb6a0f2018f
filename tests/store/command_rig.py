"""The commands the store tests keep."""

from __future__ import annotations

from carhome.hub import Command
from carhome.testing import FakeClock

T0 = FakeClock().time()


def command(
    n: int, *, home: str = "h1", device: str = "car", created: float | None = None, ttl: float = 60.0
) -> Command:
    """Command ``c<n>`` to lock ``device`` of ``home``, made ``n`` s after ``T0`` (or at
    ``created``), for ``ttl`` s."""
    at = T0 + n if created is None else created
    return Command(
        id=f"c{n}",
        home=home,
        device=device,
        kind="action",
        target="lock",
        args={},
        member="alice",
        face="api",
        created=at,
        expires=at + ttl,
    )
