"""Shared pieces of the miIO tests: a hub with Xiaomi devices, and waiting without sleeping."""

from __future__ import annotations

import asyncio
import errno
import random
from collections.abc import Callable
from typing import Any

import pytest

from carhome.hub import Availability as Seen
from carhome.hub import Device, Home, Hub
from carhome.testing import FakeClock
from carhome.testing.miio_device import SimulatedMiioDevice

TOKEN = "00112233445566778899aabbccddeeff"
OTHER_TOKEN = "ffeeddccbbaa99887766554433221100"
HOME = "h1"


async def add_devices(hub: Hub) -> None:
    await hub.add_home(Home(id=HOME, name="Yizhuang", lat=39.7953, lon=116.5060))
    for device, kind in (("purifier", "air_purifier"), ("light", "light"), ("vacuum", "robot_vacuum")):
        await hub.add_device(Device(home=HOME, id=device, type=kind, connector="miio"))
    await hub.add_device(Device(home=HOME, id="lamp", type="light"))  # an MQTT device


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


async def advance_until(
    clock: FakeClock, done: Callable[[], bool], *, step: float = 1.0, most: int = 600
) -> None:
    """Move the fake clock in steps until ``done()``; fail if it never comes."""
    for _ in range(most):
        if done():
            return
        await clock.advance(step)
    raise AssertionError(f"condition not met after {most * step:g} s of fake time")


MIIO_PORT = 54321
"""python-miio's client always sends to this port."""


async def on_the_miio_port(
    make: Callable[..., SimulatedMiioDevice], clock: FakeClock, **kw: Any
) -> SimulatedMiioDevice:
    """A started simulator from ``make`` on UDP 54321 of some free 127/8 address."""
    for _ in range(20):
        host = f"127.{random.randrange(1, 255)}.{random.randrange(1, 255)}.{random.randrange(2, 254)}"
        sim = make(token=TOKEN, device_id=0x1234, clock=clock, host=host, port=MIIO_PORT, **kw)
        try:
            await sim.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        return sim
    pytest.fail("no free loopback address for port 54321")
