"""Builders for the load management tests: the fuse, a three-phase car and wallbox, a wait."""

from __future__ import annotations

import asyncio
from datetime import time
from zoneinfo import ZoneInfo

from charging_parts import GUARD_S

from carhome.energy import Charger, Mode, Soc, TimeOfUseTariff, TouWindow, WeeklyDeparture
from carhome.energy.controller import CarSettings, CarSetup
from carhome.energy.site import GridConfig
from carhome.energy.units import Energy
from carhome.testing.wallbox import SimulatedWallbox

UTC_ZONE = ZoneInfo("UTC")
FUSE = 25.0
VOLTS = 230.0
FLAT = TimeOfUseTariff((TouWindow(time(0), time(0), 0.3),), UTC_ZONE)
GRID = GridConfig(meter="grid", main_fuse=FUSE)


def car_setup(car: str, wallbox: str) -> CarSetup:
    return CarSetup(
        home="h1",
        car=car,
        member="owner",
        charger_device=wallbox,
        charger=Charger(wallbox, max_current=16, min_current=6, phases=3, voltage=VOLTS),
        capacity=Energy(75),
        zone=UTC_ZONE,
    )


def now_mode(mode: Mode = Mode.NOW) -> CarSettings:
    weekly = WeeklyDeparture(tuple((d, time(7)) for d in range(7)), UTC_ZONE)
    return CarSettings(mode=mode, target=Soc.percent(90), departure=weekly)


async def limit_reaches(box: SimulatedWallbox, amps: float) -> None:
    """Wait (bounded) until the charger has accepted a profile of ``amps``."""
    async with asyncio.timeout(GUARD_S):
        while box.limit_a != amps:
            box.request_seen.clear()
            await box.request_seen.wait()
