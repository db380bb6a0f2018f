"""Shared pieces of the Shelly tests: the hub's devices, and waiting on the hub without sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from carhome.hub import Availability, Hub
from mqtt.conftest import TIMEOUT

HOME = "h1"
DEVICES = {
    "grid": "grid_meter",  # a Pro 3EM, em:0
    "boiler": "relay",  # a Plus 1PM, switch:0
    "heater": "relay",  # switch:3 on that Plus 1PM, which has no such switch
    "grid1": "grid_meter",  # a Pro EM, em1:0
    "pm": "grid_meter",  # a PM Mini Gen3, pm1:0
}


class Watch:
    """Wakes on every change and availability of the hub; ``until`` waits for a condition."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._changed = asyncio.Event()
        hub.bus.subscribe(lambda _change: self._changed.set())
        hub.bus.subscribe(lambda _seen: self._changed.set(), kind=Availability)

    async def until(self, done: Callable[[], bool]) -> None:
        async def wait() -> None:
            while not done():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), TIMEOUT)
