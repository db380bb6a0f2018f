"""``Availability``: the hub's availability changes, recorded for connector tests."""

from __future__ import annotations

import asyncio

from carhome.hub import Availability as Seen
from carhome.hub import Hub


class Availability:
    """Records the hub's availability changes; tests await the one they expect."""

    def __init__(self, hub: Hub) -> None:
        self.seen: list[tuple[str, bool]] = []
        self._changed = asyncio.Event()
        hub.bus.subscribe(self._on, kind=Seen)

    def _on(self, seen: Seen) -> None:
        self.seen.append((seen.device, seen.online))
        self._changed.set()

    async def wait(self, device: str, online: bool) -> None:
        """Wait (on real events, no clock) until ``device`` was last seen ``online``."""
        while not self.seen or self.last(device) is not online:
            self._changed.clear()
            await self._changed.wait()

    def last(self, device: str) -> bool | None:
        states = [online for d, online in self.seen if d == device]
        return states[-1] if states else None
