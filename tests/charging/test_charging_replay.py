"""A charging decision made again after a restart is not a second command.

The controller's command ids are derived from the home, the car, the device, the slot and
the command, so a controller that starts again within the same slot — the hub restarted, or
another worker took the home over — and decides the same finds the commands already made
and follows them instead of sending them again.
"""

from __future__ import annotations

from pathlib import Path

from charging_parts import EVENING, TARIFF, report_soc, settings, setup, until

from carhome.energy import Mode
from carhome.energy.controller import ChargingController
from carhome.hub import Device, Home, Hub
from carhome.spec import vss
from carhome.store import SqliteStore
from carhome.testing import FakeClock


async def test_a_controller_started_again_in_the_slot_sends_nothing_twice(tmp_path: Path) -> None:
    clock = FakeClock()
    clock.set(EVENING)
    db = tmp_path / "hub.db"
    counts: list[tuple[int, int]] = []  # (the controller's commands, commands on the hub)
    for _ in range(2):  # the same decision, before and after a restart of the hub
        async with Hub(store=SqliteStore(db), clock=clock) as hub:
            if not hub.homes():
                await hub.add_home(Home(id="h1", name="Home", lat=39.8, lon=116.5))
                await hub.add_device(Device(home="h1", id="car", type="car"))
                # No transport: what the controller sends stays queued, as when the car is asleep.
                report_soc(hub, 60.0)
                hub.report("h1", "car", {vss.CABLE_CONNECTED: True, vss.CHARGE_LIMIT: 70}, source="test")
            async with ChargingController(hub, setup(charger_device=None), settings(Mode.NOW), TARIFF) as ctl:
                await until(ctl, lambda: ctl.status.commands == 2)
                counts.append((ctl.status.commands, len(await hub.store.commands("h1"))))
                pending = sorted((c.target, c.args["value"]) for c in hub.commands.pending())
    print(f"charging decisions replayed: {counts[-1][1]} commands for {len(counts)} controllers")
    assert counts == [(2, 2), (2, 2)]
    assert pending == [(vss.CHARGE_LIMIT, 80), (vss.START_STOP_CHARGING, "START")]
