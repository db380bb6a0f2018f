"""The commands the SQLite and PostgreSQL store tests keep."""

from __future__ import annotations

from carhome.hub import Command

T0 = 1_767_225_600.0


def command(n: int, *, home: str = "h1") -> Command:
    """Command ``c<n>`` of ``home``, made ``n`` s after ``T0``, for a minute."""
    return Command(
        id=f"c{n}",
        home=home,
        device="car",
        kind="action",
        target="lock",
        args={},
        member="alice",
        face="api",
        created=T0 + n,
        expires=T0 + n + 60,
    )
