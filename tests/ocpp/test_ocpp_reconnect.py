"""A charger that drops mid-transaction and reconnects loses no meter value and no transaction."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from carhome.connectors.ocpp import OcppServer
from carhome.hub import Hub
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox

WallboxFactory = Callable[..., SimulatedWallbox]


async def test_queued_meter_values_and_stop_arrive_after_reconnect(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory, clock: FakeClock
) -> None:
    box = make_wallbox()
    await box.connect()
    await box.boot()
    box.register_wh = 10_000.0
    tx_id = await box.start("RFID-BOB")
    await clock.advance(60)
    await box.meter(100.0, 6000.0)

    await box.disconnect()
    await server.wait_connected("CP-1", connected=False)
    for _ in range(3):  # readings taken while offline are queued
        await clock.advance(60)
        await box.meter(100.0, 6000.0)
    await clock.advance(60)
    await box.stop()
    assert len(box.queue) == 4

    # the charger also resends a message that was sent before the drop: accepted once
    box.queue.insert(0, box.queue[0])
    await box.connect()
    assert box.queue == []
    await box.disconnect()

    [tx] = server.transactions_of("CP-1")
    assert tx.id == tx_id
    assert not tx.active
    readings = {s.energy_wh for s in tx.samples.values()}
    assert {10_100.0, 10_200.0, 10_300.0, 10_400.0} <= readings
    # one sample per reading taken, the resent one counted once (2.0.1 adds start and end)
    assert len(tx.samples) == (4 if box.version == "1.6" else 6)
    assert tx.stop_wh == 10_400.0
    assert hub.value("h1", "wallbox", "energy") == pytest.approx(0.4)


async def test_resent_start_keeps_its_transaction(
    server: OcppServer, make_wallbox: WallboxFactory, clock: FakeClock
) -> None:
    async with make_wallbox() as box:
        await box.boot()
        first = await box.start("RFID-BOB")
        if box.version == "1.6":
            # the same StartTransaction again (its confirmation was lost): same id back
            again = await box.start("RFID-BOB")
            assert again == first
        assert len(server.transactions_of("CP-1")) == 1
