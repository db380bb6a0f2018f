"""The hub the crash test kills: submits commands forever, printing each id once accepted.

Run as ``python crash_child.py DB``. A line is printed only after ``submit`` returned, so
every printed id is a command the hub acknowledged; the parent kills this process with
SIGKILL at some point and then checks that every printed id is in the outbox. Each round
also reports state, so the write-behind's transactions run beside the outbox's.
"""

from __future__ import annotations

import asyncio
import sys

from carhome.hub import Device, Home, Hub
from carhome.store import SqliteStore
from carhome.testing import FakeClock


async def main(path: str) -> None:
    clock = FakeClock()
    async with Hub(store=SqliteStore(path), clock=clock) as hub:
        if not hub.homes():
            await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.506))
            await hub.add_device(Device(home="h1", id="purifier", type="air_purifier"))
        print("ready", flush=True)
        n = 0
        while True:
            command = await hub.submit(
                "h1",
                "purifier",
                "set",
                "fan_level",
                {"value": n % 3 + 1},
                member="alice",
                face="crash-test",
                ttl=3600,
            )
            sys.stdout.write(command.id + "\n")
            sys.stdout.flush()
            hub.report("h1", "purifier", {"pm25": n % 1000})
            n += 1
            if n % 25 == 0:
                await hub.flush()  # a state transaction now and then, between outbox writes


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
