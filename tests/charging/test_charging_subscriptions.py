"""The charging controller listens on the hub's bus to its own car and charger only, and a
controller that has stopped is called by nothing: every subscription it made is closed."""

from __future__ import annotations

import asyncio
import gc
import weakref

from charging_parts import GUARD_S, TARIFF, report_soc, settings, setup

from carhome.energy.controller import ChargingController
from carhome.hub import Availability, Change, Device, Hub, Result
from carhome.spec import vss
from carhome.testing import FakeClock


async def test_a_closed_controller_is_called_by_nothing(hub: Hub, evening: FakeClock) -> None:
    await hub.add_device(Device(home="h1", id="wallbox", type="wallbox", connector="ocpp"))
    await hub.add_device(Device(home="h1", id="van", type="car"))
    report_soc(hub, 60.0)
    before = {kind: hub.bus.count(kind) for kind in (Change, Result, Availability)}

    controller = ChargingController(hub, setup(), settings(), TARIFF)
    async with controller:
        # its car and charger, nobody else's
        assert hub.bus.watched("h1", "wallbox", "status")
        assert hub.bus.watched("h1", "car", vss.CABLE_CONNECTED)
        assert hub.bus.watched("h1", "wallbox", "availability", Availability)
        assert hub.bus.watched("h1", "car", "current_limit", Result)
        assert not hub.bus.watched("h1", "van", "availability", Availability)
        assert not hub.bus.watched("h1", "purifier", "on", Result)
        # one per property it plans from, per device for availability and results
        opened = {kind: hub.bus.count(kind) - before[kind] for kind in before}
        assert opened == {Change: 4, Result: 2, Availability: 2}
        # and it hears them: the charger coming online wakes it
        async with asyncio.timeout(GUARD_S):
            await controller.stepped.wait()
            controller.stepped.clear()
            hub.set_available("h1", "wallbox", True)
            await controller.stepped.wait()
    after = {kind: hub.bus.count(kind) for kind in (Change, Result, Availability)}
    assert after == before

    alive = weakref.ref(controller)
    del controller
    await callbacks_run()
    gc.collect()
    # the hub keeps nothing of it: nothing it publishes from now on can reach it
    assert alive() is None
    hub.set_available("h1", "wallbox", False)
    hub.set_available("h1", "car", True)
    hub.report("h1", "wallbox", {"status": "preparing"})
    left = sum(after.values()) - sum(before.values())
    print(
        f"closed charging controller: subscriptions left {left}, kept alive by the hub: {alive() is not None}"
    )


async def callbacks_run() -> None:
    """Return once the loop has run the callbacks scheduled so far (it runs them in order):
    the finished task's own completion holds it, and so the controller, until then."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.call_soon(done.set_result, None)
    await done
