"""A charger that reboots mid-transaction is followed to the transaction it starts next.

After a ``BootNotification`` the transaction before it is not named by any command until the
charger reports on it again; a new transaction on the connector ends it. So no charging
profile or remote stop goes to the transaction the reboot ended, and what the hub shows
follows the live one.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from carhome.connectors.ocpp import OcppServer
from carhome.hub import Hub
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox

WallboxFactory = Callable[..., SimulatedWallbox]


async def test_after_a_reboot_commands_follow_the_transaction_the_charger_started(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory, clock: FakeClock
) -> None:
    async def run(kind: str, target: str, args: dict[str, object] | None = None) -> str:
        command = await hub.submit("h1", "wallbox", kind, target, args, member="alice", face="test")  # type: ignore[arg-type]
        return (await hub.commands.wait(command.id, timeout=5)).status.value

    async with make_wallbox() as box:
        await box.boot()
        box.register_wh = 7_000.0
        dead = await box.start("RFID-ALICE")
        await clock.advance(60)
        await box.meter(300.0, 7_400.0)
        await box.reboot(end_lost=False)  # the transaction is gone with the power; no stop comes
        assert await run("set", "current_limit", {"value": 10}) == "acked"
        await clock.advance(60)
        live = await box.start("RFID-ALICE")
        await clock.advance(60)
        await box.meter(200.0, 7_400.0)
        assert await run("set", "current_limit", {"value": 12}) == "acked"
        assert await run("action", "stop_charging") == "acked"
    assert hub.value("h1", "wallbox", "energy") == pytest.approx(0.2)
    profiles = [p for action, p in box.received if action == "SetChargingProfile"]
    bodies = [p.get("cs_charging_profiles") or p["charging_profile"] for p in profiles]
    purposes = [(b["charging_profile_purpose"], b.get("transaction_id")) for b in bodies]
    live_id = int(live) if box.version == "1.6" else live
    # between the reboot and the new start there is no transaction to name
    assert purposes == [("TxDefaultProfile", None), ("TxProfile", live_id)]
    stop = [p for action, p in box.received if action.endswith("StopTransaction")]
    assert [str(p["transaction_id"]) for p in stop] == [live]
    old, new = server.transactions_of("CP-1")
    assert (old.id, old.ended, old.energy_wh()) == (dead, "replaced", 300.0)
    assert (new.id, new.active, new.energy_wh()) == (live, True, 200.0)


async def test_a_stop_the_charger_sends_after_its_reboot_ends_the_old_transaction(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory, clock: FakeClock
) -> None:
    async with make_wallbox() as box:
        await box.boot()
        box.register_wh = 7_000.0
        await box.start("RFID-ALICE")
        await clock.advance(60)
        await box.meter(300.0, 7_400.0)
        await box.reboot()  # back up, it ends the lost transaction itself
    [tx] = server.transactions_of("CP-1")
    assert (tx.ended, tx.energy_wh()) == ("charger", 300.0)
    assert hub.value("h1", "wallbox", "energy") == pytest.approx(0.3)
