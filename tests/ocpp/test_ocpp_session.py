"""A whole charging session over each OCPP version, against the ocpp library's charge point."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from carhome.connectors.ocpp import OcppServer
from carhome.hub import Hub
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox

WallboxFactory = Callable[..., SimulatedWallbox]


async def test_boot_status_authorize_start_meter_stop(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory, clock: FakeClock
) -> None:
    async with make_wallbox() as box:
        assert await box.boot() == "Accepted"
        assert hub.available("h1", "wallbox") is True
        assert (await box.heartbeat()).startswith("2026-01-01")
        await box.status("Available")
        assert hub.value("h1", "wallbox", "status") == "available"
        assert await box.authorize("RFID-ALICE") == "Accepted"
        assert await box.authorize("RFID-STRANGER") == "Invalid"
        box.register_wh = 1000.0
        tx_id = await box.start("RFID-ALICE")
        await clock.advance(60)
        await box.meter(500.0, 7400.0)
        assert hub.value("h1", "wallbox", "power") == 7400.0
        assert hub.value("h1", "wallbox", "energy") == pytest.approx(0.5)
        await clock.advance(60)
        await box.meter(250.0, 3700.0)
        await clock.advance(60)
        await box.stop()
    [tx] = server.transactions_of("CP-1")
    assert tx.id == tx_id
    assert tx.member == "alice"
    assert not tx.active
    assert tx.stop_wh == 1750.0
    assert len(tx.samples) >= 2
    assert hub.value("h1", "wallbox", "energy") == pytest.approx(0.75)
    assert hub.value("h1", "wallbox", "power") == 0.0
    await server.wait_connected("CP-1", connected=False)
    assert hub.available("h1", "wallbox") is False


async def test_transaction_ids_are_unpredictable(
    server: OcppServer, make_wallbox: WallboxFactory, clock: FakeClock
) -> None:
    async with make_wallbox() as box:
        await box.boot()
        ids = []
        for _ in range(3):
            # a start with the time and register of one already made is that one, resent
            await clock.advance(60)
            ids.append(await box.start("RFID-BOB"))
            await box.stop()
    assert len(set(ids)) == 3
    if box.version == "1.6":
        assert all(int(i) > 0 for i in ids)
        assert sorted(int(i) for i in ids) != list(range(int(min(ids)), int(min(ids)) + 3))
