"""The hub the crash tests kill: a hub and its devices in one process, under load, as the
embedded hub runs with its simulated home.

Run as ``python crash_child.py DB DATA BROKER_URL RUN [--settle]``. The hub (its outbox in
DB: a SQLite file, or a store URL such as ``postgresql://…``; the injected clock starting a
little later each run) connects to the broker the
parent runs, and so do its devices: three counters, each the real device library with a
data directory under DATA, whose handler writes each value it runs to DATA/executed.log
before it answers (a ``kill -9`` does not lose what a process wrote to a file). A fourth
device, ``absent``, never connects: its commands expire.

It prints, one line each, flushed at once:

- ``accepted ID`` once ``submit`` returned: the command is in the outbox;
- ``final ID STATUS`` when the hub's result listener hears of it — what the API, the
  WebSocket and the automations would be told;
- ``ready`` once every counter is online.

Six senders submit commands for ever (each a value of its own; one in 13 is refused by the
device, so some end ``failed``); the clock moves a second every ten commands. The parent
kills the process at some point with SIGKILL. With ``--settle`` nothing new is sent: the
hub finishes what it has (the absent device's commands expire), prints ``settled`` and exits.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from carhome.connectors.mqtt import MqttConnector
from carhome.errors import DeviceRefused
from carhome.hub import Availability, Device, Home, Hub, Result
from carhome.mqtt import Backoff, MqttDeviceClient
from carhome.spec import SPECS, DeviceSpec
from carhome.spec.properties import Access, Format, PropertySpec
from carhome.store import SqliteStore, open_store
from carhome.testing import FakeClock

T0 = 1_767_225_600.0
COUNTERS = ("c0", "c1", "c2")
ABSENT = "absent"
SENDERS = 6
BOUND = 30.0
FAST = Backoff(first=0.02, most=0.2)
COUNTER = DeviceSpec(
    type="counter",
    title="Counter",
    category="test",
    properties={"value": PropertySpec("value", Format.INT, None, 0, 2**31 - 1, access=Access.RWN)},
)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Journal:
    """A counter's handler: runs a value (writes it down) or refuses it."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
        value = int(args["value"])
        if value % 13 == 0:
            raise DeviceRefused("thirteen: refused by the test device")
        os.write(self._fd, f"{value}\n".encode())
        return {"value": value}


async def main(db: str, data: Path, url: str, run: int, settle: bool) -> None:
    clock = FakeClock(T0 + 10 * run)
    journal = os.open(data / "executed.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    store = open_store(db) if "://" in db else SqliteStore(db)
    async with Hub(store=store, clock=clock, specs={**SPECS, "counter": COUNTER}) as hub:
        if not hub.homes():
            await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.506))
            await hub.add_devices([Device(home="h1", id=d, type="counter") for d in (*COUNTERS, ABSENT)])
        hub.bus.subscribe(
            lambda r: r.final and say(f"final {r.command.id} {r.status.value}"), kind=Result, home="h1"
        )
        online: set[str] = set()
        all_online = asyncio.Event()

        def seen(change: Availability) -> None:
            (online.add if change.online else online.discard)(change.device)
            if online >= set(COUNTERS):
                all_online.set()

        hub.bus.subscribe(seen, kind=Availability, home="h1")
        devices = [
            MqttDeviceClient(
                "h1", d, url, Journal(journal), clock=clock, backoff=FAST, data=data / "devices" / d
            )
            for d in COUNTERS
        ]
        async with MqttConnector(hub, url, backoff=FAST, client_id="crash-hub"):
            for device in devices:
                await device.__aenter__()
            await asyncio.wait_for(all_online.wait(), BOUND)
            say("ready")
            if settle:
                changed = asyncio.Event()
                hub.bus.subscribe(lambda r: r.final and changed.set(), kind=Result)
                await clock.advance(5)  # past the absent device's commands' expiry
                while hub.commands.pending():
                    changed.clear()
                    await asyncio.wait_for(changed.wait(), BOUND)
                say("settled")
            else:
                await _send(hub, clock, run)
            for device in devices:
                await device.__aexit__(None, None, None)
    os.close(journal)


async def _send(hub: Hub, clock: FakeClock, run: int) -> None:
    made = 0

    async def sender(lane: int) -> None:
        nonlocal made
        n = 0
        while True:
            value = run * 1_000_000 + n * SENDERS + lane
            n += 1
            device = ABSENT if value % 11 == 0 else COUNTERS[value % len(COUNTERS)]
            command = await hub.submit(
                "h1",
                device,
                "set",
                "value",
                {"value": value},
                member="crash-test",
                face="test",
                ttl=2 if device == ABSENT else 3600,
            )
            say(f"accepted {command.id}")
            made += 1
            if made % 10 == 0:
                await clock.advance(1)

    await asyncio.gather(*(sender(lane) for lane in range(SENDERS)))


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(args[0], Path(args[1]), args[2], int(args[3]), "--settle" in args[4:]))
