"""How a slot without power is held: a 0 A profile where the spec allows it, else the car.

Today's wallbox spec takes 6–32 A, so by default a pause ends the session (see
test_charging_controller.py). A spec that allows 0 A lets the controller hold the session
with a 0 A profile and never stop or start it; ``pause_via_car`` holds it through the car's
StartStopCharging (ordinary commands, no signature needed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from charging_parts import PASSWORD, TARIFF, actions, charging, plug_in, report_soc, settings, setup, until

from carhome.connectors.ocpp import Charger as OcppCharger
from carhome.connectors.ocpp import OcppServer
from carhome.energy import Mode
from carhome.energy.controller import ChargingController
from carhome.hub import Device, Home, Hub
from carhome.spec import SPECS, vss
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox, Version, charging_profile


def wallbox_from_zero() -> dict[str, object]:
    spec = SPECS["wallbox"]
    limit = dataclasses.replace(spec.properties["current_limit"], minimum=0)
    return {
        **SPECS,
        "wallbox": dataclasses.replace(spec, properties={**spec.properties, "current_limit": limit}),
    }


@pytest.fixture
async def zero_hub(evening: FakeClock) -> AsyncIterator[Hub]:
    async with Hub(store=MemoryStore(), clock=evening, specs=wallbox_from_zero()) as hub:  # type: ignore[arg-type]
        await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
        await hub.add_device(Device(home="h1", id="car", type="car"))
        await hub.add_device(Device(home="h1", id="wallbox", type="wallbox", connector="ocpp"))
        yield hub


@pytest.fixture
async def zero_wallbox(
    zero_hub: Hub, evening: FakeClock, version: Version
) -> AsyncIterator[SimulatedWallbox]:
    chargers = {"CP-1": OcppCharger(home="h1", device="wallbox", password=PASSWORD)}
    async with OcppServer(zero_hub, "127.0.0.1", 0, chargers=chargers) as server:
        url = f"ws://127.0.0.1:{server.port}/ocpp"
        async with SimulatedWallbox(url, "CP-1", version=version, password=PASSWORD, clock=evening) as box:
            await box.boot()
            await server.wait_connected("CP-1")
            yield box


async def test_a_0_amp_spec_holds_the_session_with_a_0_amp_profile(
    zero_hub: Hub, zero_wallbox: SimulatedWallbox, evening: FakeClock
) -> None:
    box = zero_wallbox
    report_soc(zero_hub, 60.0)
    async with ChargingController(zero_hub, setup(), settings(target=75), TARIFF) as controller:
        idle = charging_profile(await box.wait_request("SetChargingProfile"))
        box.received.clear()
        await plug_in(box)  # the wallbox opens its session itself (free charging)
        await charging(box)
        await until(controller, lambda: controller.status.in_session)
        await evening.advance(6 * 3600)  # midnight, the cheapest hour
        await until(controller, lambda: bool(box.limit_a))
    assert (idle.purpose, idle.limit) == ("TxDefaultProfile", 0.0)
    assert actions(box) == ["SetChargingProfile"]  # never a stop or a start
    go = charging_profile(box.received[0][1])
    assert (go.purpose, go.limit, go.transaction_id) == ("TxProfile", 32.0, box.tx_id)


async def test_pause_via_car_tells_the_car_and_never_ends_the_session(
    hub: Hub, wallbox: SimulatedWallbox, evening: FakeClock
) -> None:
    report_soc(hub, 60.0)
    car_setup = dataclasses.replace(setup(), pause_via_car=True)
    async with ChargingController(hub, car_setup, settings(Mode.NOW), TARIFF) as controller:
        await plug_in(wallbox)
        await charging(wallbox)  # opened by the wallbox itself
        await until(controller, lambda: controller.status.commands >= 4)
        hub.report("h1", "car", {vss.IS_CHARGING: True}, source="test")
        controller.set_mode(Mode.OFF)
        await until(controller, lambda: controller.status.commands >= 5)
    to_car = [(c.target, c.args["value"]) for c in hub.commands.pending() if c.device == "car"]
    assert to_car == [
        (vss.CHARGE_LIMIT, 80),
        (vss.START_STOP_CHARGING, "START"),
        (vss.START_STOP_CHARGING, "STOP"),
    ]
    assert [charging_profile(p).limit for a, p in wallbox.received if a == "SetChargingProfile"] == [
        6.0,
        32.0,
    ]
    assert set(actions(wallbox)) == {"SetChargingProfile"}  # the session was never stopped or started


async def test_pause_via_car_without_a_session_says_so_by_code(hub: Hub, wallbox: SimulatedWallbox) -> None:
    """Plugged in with no session open: the problem carries its code, which the faces put
    in their own words (the web in Chinese too), and its English sentence."""
    report_soc(hub, 60.0)
    car_setup = dataclasses.replace(setup(), pause_via_car=True)
    async with ChargingController(hub, car_setup, settings(Mode.NOW), TARIFF) as controller:
        await plug_in(wallbox)
        await until(controller, lambda: controller.status.problem_code is not None)
        assert controller.status.problem_code == "no_session"
        assert controller.status.problem is not None
        assert "start one at the charger" in controller.status.problem
