"""The bridge listens on the hub's bus — changes, availability, command results of the
devices it publishes — through subscriptions it closes when it stops: a stopped bridge is
called by nothing."""

from __future__ import annotations

import asyncio
import gc
import weakref

from ha_fakes import MEMBER, HomeAssistant

from carhome.connectors.homeassistant import HomeAssistantBridge
from carhome.hub import Availability, Change, Event, Hub, Result
from carhome.spec import vss
from mqtt.conftest import FAST

KINDS = (Change, Event, Result, Availability)
AVAILABILITY = "carhome/h1/purifier/ha/availability"


def counts(hub: Hub) -> dict[str, int]:
    return {kind.__name__: hub.bus.count(kind) for kind in KINDS}


async def test_a_stopped_bridge_keeps_no_subscription(hub: Hub, broker_url: str, ha: HomeAssistant) -> None:
    before = counts(hub)
    await ha.subscribe(AVAILABILITY)
    bridge = HomeAssistantBridge(hub, broker_url, member=MEMBER, backoff=FAST)
    async with bridge:
        now = counts(hub)
        assert {k: now[k] - before[k] for k in now} == {
            "Change": 1,
            "Event": 0,
            "Result": 1,
            "Availability": 1,
        }
        await ha.until(AVAILABILITY, lambda p, _r: p == b"online")
        hub.set_available("h1", "purifier", False)  # it hears the hub's availability
        await ha.until(AVAILABILITY, lambda p, _r: p == b"offline")
    assert counts(hub) == before
    states = bridge.stats.states

    hub.report("h1", "car", {vss.SOC: 42.0})
    hub.set_available("h1", "purifier", True)
    alive = weakref.ref(bridge)
    del bridge
    await callbacks_run()
    gc.collect()
    assert alive() is None  # nothing the hub keeps holds it: nothing can call it
    print(f"stopped bridge: {states} states published while open, subscriptions left 0")


async def callbacks_run() -> None:
    """Return once the loop has run the callbacks scheduled so far (in order)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.call_soon(done.set_result, None)
    await done
