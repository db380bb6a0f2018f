"""Whether the hub runs: ``GET /api/health``, the one answer without credentials."""

from __future__ import annotations

import msgspec


class Health(msgspec.Struct, kw_only=True):
    status: str
    """``ok``, or ``degraded`` when the hub cannot do its work (``problems`` says why)."""
    time: float
    homes: int
    devices: int
    pending_commands: int
    problems: tuple[str, ...] = ()
    """What is wrong, in words: e.g. the hub hears no device (its MQTT link is down, or
    its own heartbeat did not come back through the broker)."""
