"""A hub with a recorded history, serving the local API on a loopback port in its own thread.

The CLI runs ``asyncio.run`` per command, so the hub it talks to lives in a second thread
with its own event loop, on a fake clock. ``fill`` runs there before serving: it drives the
car home → work → home and charges it, so the tables have something to show.
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from carhome.api import ApiServer, create_app
from carhome.energy import TimeOfUseTariff, TouWindow
from carhome.history import History
from carhome.history.routes import history_routes
from carhome.hub import Device, Home, Hub, Place
from carhome.spec import vss
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.testing.thread import ServingThread

HOME = Home(  # with a place the car drives to
    id="h1",
    name="Yizhuang",
    lat=39.7953,
    lon=116.5060,
    timezone="Asia/Shanghai",
    places=(Place("work", 39.7850, 116.5500),),
)
TARIFF = TimeOfUseTariff(
    (TouWindow(time(22, 0), time(6, 0), 0.3), TouWindow(time(6, 0), time(22, 0), 1.0)),
    ZoneInfo("Asia/Shanghai"),
)
START = 1_767_571_200.0  # 2026-01-05 08:00 in Beijing


async def fill(hub: Hub, clock: FakeClock) -> None:
    """Home → work in the morning, back in the evening, a charge at night."""
    where = {"home": (HOME.lat, HOME.lon), "work": (39.7850, 116.5500)}

    def at(place: str) -> dict[str, float]:
        lat, lon = where[place]
        return {vss.LATITUDE: lat, vss.LONGITUDE: lon}

    odometer, energy = 100.0, 50.0
    hub.report("h1", "car", {vss.SPEED: 0.0, vss.ODOMETER: odometer, vss.ENERGY: energy, **at("home")})
    for leave_at, to in ((START, "work"), (START + 10 * 3600, "home")):
        await clock.advance(leave_at - clock.time())
        for _ in range(10):
            await clock.advance(60)
            odometer, energy = round(odometer + 0.7, 1), round(energy - 0.1, 1)
            hub.report("h1", "car", {vss.SPEED: 45.0, vss.ODOMETER: odometer, vss.ENERGY: energy})
        hub.report("h1", "car", {vss.SPEED: 0.0, **at(to)})
        await clock.advance(600)
    hub.report("h1", "car", {vss.IS_CHARGING: True})
    for _ in range(8):
        await clock.advance(900)
        energy = round(energy + 1.5, 1)
        hub.report("h1", "car", {vss.ENERGY: energy})
    hub.report("h1", "car", {vss.IS_CHARGING: False})
    await clock.advance(1800)


class HistoryServer(ServingThread):
    """``start()``, then ``url`` is the API; ``stop()`` ends it."""

    def __init__(self) -> None:
        super().__init__("test-history-hub")
        self.clock = FakeClock(START - 3600)

    async def serve(self) -> None:
        async with Hub(store=MemoryStore(), clock=self.clock) as hub:
            await hub.add_home(HOME)
            await hub.add_device(Device(home="h1", id="car", type="car"))
            async with History(hub, tariff=TARIFF) as history:
                await fill(hub, self.clock)
                app = create_app(hub)
                app.router.routes.extend(history_routes(hub, history))
                async with ApiServer(app, port=0) as server:
                    await self.serving(server.url)
