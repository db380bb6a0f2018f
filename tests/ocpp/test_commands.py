"""carhome commands to an OCPP charger, acknowledged by the charger's answer."""

from __future__ import annotations

from collections.abc import Callable

from carhome.connectors.ocpp import OcppServer
from carhome.hub import Hub
from carhome.testing.wallbox import SimulatedWallbox

WallboxFactory = Callable[..., SimulatedWallbox]


async def _run(hub: Hub, kind: str, target: str, args: dict[str, object] | None = None) -> str:
    command = await hub.submit("h1", "wallbox", kind, target, args, member="alice", face="test")  # type: ignore[arg-type]
    done = await hub.commands.wait(command.id, timeout=5)
    return done.status.value


async def test_remote_start_and_stop_are_acked(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory
) -> None:
    async with make_wallbox() as box:
        await box.boot()
        assert await _run(hub, "action", "start_charging") == "acked"
        start = "RemoteStartTransaction" if box.version == "1.6" else "RequestStartTransaction"
        payload = await box.wait_request(start)
        tag = payload["id_tag"] if box.version == "1.6" else payload["id_token"]["id_token"]
        assert tag == "RFID-ALICE"  # the asking member's own token
        tx_id = await box.start("RFID-ALICE")
        assert await _run(hub, "action", "stop_charging") == "acked"
        stop = "RemoteStopTransaction" if box.version == "1.6" else "RequestStopTransaction"
        assert str((await box.wait_request(stop))["transaction_id"]) == tx_id


async def test_stop_without_transaction_fails(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory
) -> None:
    async with make_wallbox() as box:
        await box.boot()
        assert await _run(hub, "action", "stop_charging") == "failed"


async def test_current_limit_sets_a_profile(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory
) -> None:
    async with make_wallbox() as box:
        await box.boot()
        assert await _run(hub, "set", "current_limit", {"value": 16}) == "acked"
        profile = await box.wait_request("SetChargingProfile")
        body = profile["cs_charging_profiles"] if box.version == "1.6" else profile["charging_profile"]
        assert body["charging_profile_purpose"] == "TxDefaultProfile"
        schedule = body["charging_schedule"]
        schedule = schedule if isinstance(schedule, dict) else schedule[0]
        assert schedule["charging_schedule_period"][0]["limit"] == 16
        assert hub.value("h1", "wallbox", "current_limit") == 16
        box.received.clear()
        await box.start("RFID-ALICE")
        assert await _run(hub, "set", "current_limit", {"value": 10}) == "acked"
        profile = await box.wait_request("SetChargingProfile")
        body = profile["cs_charging_profiles"] if box.version == "1.6" else profile["charging_profile"]
        assert body["charging_profile_purpose"] == "TxProfile"


async def test_rejected_profile_fails(hub: Hub, server: OcppServer, make_wallbox: WallboxFactory) -> None:
    async with make_wallbox(accept=False) as box:
        await box.boot()
        assert await _run(hub, "set", "current_limit", {"value": 16}) == "failed"
        assert hub.value("h1", "wallbox", "current_limit") is None


async def test_unlock_connector(hub: Hub, server: OcppServer, make_wallbox: WallboxFactory) -> None:
    async with make_wallbox() as box:
        await box.boot()
        assert await _run(hub, "action", "unlock_connector") == "acked"
        await box.wait_request("UnlockConnector")


async def test_command_waits_for_the_charger_to_connect_and_boot(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory
) -> None:
    command = await hub.submit("h1", "wallbox", "action", "unlock_connector", member="alice", face="test")
    assert command.status.value == "queued"
    async with make_wallbox() as box:
        await box.boot()
        done = await hub.commands.wait(command.id, timeout=5)
        assert done.status.value == "acked"
        assert [a for a, _ in box.received] == ["UnlockConnector"]
    # OCPP: nothing before the BootNotification is answered (the frames came in this order)
    assert box.frames == ["answer", "UnlockConnector"]
