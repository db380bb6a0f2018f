"""A cable going in or out of a charger's connector is the wallbox's ``plugged`` event on the
hub's bus, told by the connector's status, over each OCPP version."""

from __future__ import annotations

from collections.abc import Callable

from carhome.connectors.ocpp import OcppServer
from carhome.hub import Event, Hub
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox

WallboxFactory = Callable[..., SimulatedWallbox]


async def test_plugging_in_and_out_is_the_plugged_event(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory, clock: FakeClock
) -> None:
    seen: list[Event] = []
    hub.bus.subscribe(seen.append, kind=Event, home="h1", device="wallbox", name="plugged")
    async with make_wallbox() as box:
        await box.boot()
        car_there = (
            ("Preparing", "Charging", "SuspendedEV", "Finishing") if box.version == "1.6" else ("Occupied",)
        )
        await box.status("Available")  # where it stands on connecting: no plug
        assert seen == []
        await clock.advance(10)
        for status in car_there:
            await box.status(status)  # the first says the cable went in; the rest, still in
        plugged_at = clock.time()
        await clock.advance(10)
        await box.status("Faulted")  # says nothing of the cable
        await box.status("Available")
        await box.status("Available")
        await box.status("Unavailable")
    assert [(e.fields, e.ts, e.source) for e in seen] == [
        ({"plugged": True}, plugged_at, "ocpp"),
        ({"plugged": False}, clock.time(), "ocpp"),
    ]
    assert hub.rejections.total == 0
