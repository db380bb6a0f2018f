"""Shared pieces of the miIO tests: a hub with Xiaomi devices, and waiting without sleeping."""

from __future__ import annotations

import errno
import random
from collections.abc import Callable
from typing import Any

import pytest

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
