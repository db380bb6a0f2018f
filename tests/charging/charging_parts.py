"""Builders for the charging tests: a car setup, user settings, a tariff, SoC reports, a
plugged-in car with its controller, and the charging API over it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import httpx

from carhome.api import create_app
from carhome.energy import Charger, Mode, Soc, TimeOfUseTariff, TouWindow, WeeklyDeparture
from carhome.energy.controller import CarSettings, CarSetup, ChargingController
from carhome.energy.routes import charging_routes
from carhome.energy.units import Energy
from carhome.hub import Hub
from carhome.spec import vss
from carhome.testing.wallbox import SimulatedWallbox

PASSWORD = "charging-test-password"
EVENING = datetime(2026, 1, 1, 18, 0, tzinfo=UTC).timestamp()
UTC_ZONE = ZoneInfo("UTC")

# cheapest from midnight to 01:00, cheap to 02:00, dear the rest of the day
TARIFF = TimeOfUseTariff(
    (TouWindow(time(0), time(1), 0.1), TouWindow(time(1), time(2), 0.2), TouWindow(time(2), time(0), 1.0)),
    UTC_ZONE,
)


def setup(*, charger_device: str | None = "wallbox") -> CarSetup:
    return CarSetup(
        home="h1",
        car="car",
        member="owner",
        charger_device=charger_device,
        charger=Charger("wallbox", max_current=32, min_current=6, phases=1, voltage=230),
        capacity=Energy(75),
        efficiency=0.9,
        zone=UTC_ZONE,
    )


def settings(mode: Mode = Mode.SMART, target: float = 80) -> CarSettings:
    weekly = WeeklyDeparture(tuple((d, time(7)) for d in range(7)), UTC_ZONE)
    return CarSettings(mode=mode, target=Soc.percent(target), departure=weekly)


def report_soc(hub: Hub, soc: float) -> None:
    hub.report("h1", "car", {vss.SOC: soc}, source="test")


GUARD_S = 10.0  # real seconds before a wait that should have ended long ago fails


async def until(controller: ChargingController, condition: Callable[[], bool]) -> None:
    """Wait for controller steps until ``condition`` holds."""
    async with asyncio.timeout(GUARD_S):
        while not condition():
            controller.stepped.clear()
            controller.wake()
            await controller.stepped.wait()


def start_action(box: SimulatedWallbox) -> str:
    return "RemoteStartTransaction" if box.version == "1.6" else "RequestStartTransaction"


def stop_action(box: SimulatedWallbox) -> str:
    return "RemoteStopTransaction" if box.version == "1.6" else "RequestStopTransaction"


def actions(box: SimulatedWallbox) -> list[str]:
    return [name for name, _ in box.received]


async def plug_in(box: SimulatedWallbox) -> None:
    await box.status("Preparing" if box.version == "1.6" else "Occupied")


async def charging(box: SimulatedWallbox) -> None:
    """The wallbox does what a real one does after a remote start: a transaction, Charging."""
    await box.start("carhome")  # 2.0.1: the Started event says Charging
    if box.version == "1.6":
        await box.status("Charging")


async def stopped(box: SimulatedWallbox) -> None:
    """The transaction ends; the car is still plugged in."""
    await box.stop()
    await plug_in(box)


@contextlib.asynccontextmanager
async def plugged_car(hub: Hub) -> AsyncIterator[ChargingController]:
    """The car at 60 %, its cable in, planned to 75 % on ``TARIFF`` by a controller with no
    charger device, once it has a plan."""
    report_soc(hub, 60.0)
    hub.report("h1", "car", {vss.CABLE_CONNECTED: True}, source="test")
    async with ChargingController(hub, setup(charger_device=None), settings(target=75), TARIFF) as controller:
        await until(controller, lambda: controller.plan is not None and controller.status.plugged)
        yield controller


@contextlib.asynccontextmanager
async def charging_api(hub: Hub, controller: ChargingController) -> AsyncIterator[httpx.AsyncClient]:
    """The hub's API with the charging routes of ``controller``, over ASGI."""
    app = create_app(hub)
    app.router.routes.extend(charging_routes(hub, {controller.key: controller}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://carhome.test") as client:
        yield client


async def start_session(controller: ChargingController, box: SimulatedWallbox) -> None:
    """Plug the car in at ``box``; wait until the controller started it and it charges."""
    await plug_in(box)
    await box.wait_request(start_action(box))
    await charging(box)
    await until(controller, lambda: controller.status.in_session)
