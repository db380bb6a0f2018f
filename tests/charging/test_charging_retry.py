"""A charger that keeps refusing is asked again once a minute, not as fast as it answers.

Each attempt is a command, an access decision on record and a message to the charger; the
controller holds a failed target for ``RETRY_S`` of clock time however often it wakes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from charging_parts import GUARD_S, PASSWORD, TARIFF, report_soc, settings, setup, until

from carhome.connectors.ocpp import OcppServer
from carhome.energy import Mode
from carhome.energy.controller import RETRY_S, ChargingController
from carhome.hub import Hub
from carhome.testing import Allow, FakeClock
from carhome.testing.wallbox import SimulatedWallbox, Version


async def step(controller: ChargingController) -> None:
    """Wake the controller and wait for the step it takes."""
    controller.stepped.clear()
    controller.wake()
    await asyncio.wait_for(controller.stepped.wait(), GUARD_S)


async def test_a_rejected_profile_is_asked_again_once_a_minute(
    hub: Hub, server: OcppServer, evening: FakeClock, version: Version
) -> None:
    async def no_profiles(action: str, payload: dict[str, Any]) -> bool:
        return action != "SetChargingProfile"

    gate = Allow("counted")  # one decision, one audit entry
    hub.commands.gatekeeper = gate
    report_soc(hub, 60.0)
    url = f"ws://127.0.0.1:{server.port}/ocpp"
    box = SimulatedWallbox(
        url, "CP-1", version=version, password=PASSWORD, clock=evening, on_request=no_profiles
    )

    def profiles() -> int:
        return sum(action == "SetChargingProfile" for action, _ in box.received)

    async with box, ChargingController(hub, setup(), settings(Mode.NOW), TARIFF) as controller:
        await box.boot()
        await until(controller, lambda: controller.status.failed_commands == 1)
        for _ in range(30):  # 30 s, the controller woken every second of it
            await evening.advance(1)
            await step(controller)
            await until(controller, lambda: not hub.commands.pending())  # its answer is in
        in_30_s, decisions = profiles(), len(gate.asked)
        await evening.advance(RETRY_S - 30)
        await until(controller, lambda: controller.status.failed_commands == 2)
        after_a_minute = profiles()
    assert (in_30_s, decisions) == (1, 1)
    assert after_a_minute == 2
    print(f"profiles sent in 30 s to a charger that rejects them: {in_30_s} (audit entries: {decisions})")
