"""Two cars on one 16 A line, each with its own controller, planned together.

Planned alone, each car would take the whole line in the cheapest hours; planned
together (the planner's shared-connection plan) they split it, and both still reach their
targets by the morning. Whichever controller replans, the other carries out the same plan.
"""

from __future__ import annotations

from datetime import time

import numpy as np
from charging_parts import EVENING, TARIFF, UTC_ZONE, report_soc, until

from carhome.energy import Charger, Connection, Mode, Soc, WeeklyDeparture
from carhome.energy.controller import CarSettings, CarSetup, ChargingController
from carhome.energy.joint import SharedLine
from carhome.energy.units import Energy
from carhome.hub import Device, Hub
from carhome.spec import vss
from carhome.testing import FakeClock

LINE = Connection("garage", max_current=16, phases=3)


def car_setup(car: str) -> CarSetup:
    return CarSetup(
        home="h1",
        car=car,
        member="owner",
        charger_device=None,
        charger=Charger(f"{car}-wallbox", max_current=16, min_current=6, phases=3, connection=LINE),
        capacity=Energy(60),
        zone=UTC_ZONE,
    )


def settings() -> CarSettings:
    weekly = WeeklyDeparture(tuple((d, time(7)) for d in range(7)), UTC_ZONE)
    return CarSettings(mode=Mode.SMART, target=Soc.percent(80), departure=weekly)


async def test_two_cars_on_one_line_share_it_and_both_reach_their_targets(hub: Hub, clock: FakeClock) -> None:
    clock.set(EVENING)
    await hub.add_device(Device(home="h1", id="car2", type="car", name="Second car"))
    report_soc(hub, 30.0)
    hub.report("h1", "car2", {vss.SOC: 40.0}, source="test")
    for car in ("car", "car2"):
        hub.report("h1", car, {vss.CABLE_CONNECTED: True}, source="test")
    line = SharedLine("garage")
    first = ChargingController(hub, car_setup("car"), settings(), TARIFF, line=line)
    second = ChargingController(hub, car_setup("car2"), settings(), TARIFF, line=line)
    async with first, second:
        await until(first, lambda: first.plan is not None and len(first.plan.cars) == 2)
        await until(second, lambda: second.plan is first.plan)
        plan = first.plan
        assert plan is not None
        power = np.array([c.power_kw for c in plan.cars])
        # one car replans for both: the second's target changes, and the first follows
        second.set_target(Soc.percent(70))
        await until(second, lambda: second.plan is not plan)
        await until(first, lambda: first.plan is second.plan)
    line_kw = LINE.max_power.kw
    print(f"shared line: at most {power.sum(axis=0).max():.2f} of {line_kw:.2f} kW in any slot")
    assert plan.shortfall_kwh == 0.0
    assert np.all(power.sum(axis=0) <= line_kw + 1e-6)
    assert all(np.any(row > 0) for row in power)
    # alone, each would have taken the whole line at midnight: together they never do
    midnight = next(t for t, s in enumerate(plan.starts) if s.hour == 0)
    assert power[:, midnight].sum() <= line_kw + 1e-6
    assert {c.car_id for c in second.plan.cars} == {"car", "car2"}  # type: ignore[union-attr]
