"""Commands: checked, written to the outbox, delivered, acknowledged, failed or expired.

The fakes stand only at the router's public seams: a ``Transport`` that records what it
delivers, a ``Gatekeeper`` that refuses, and ``Store``s that hold or watch the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from carhome.errors import CommandDenied, CommandTimeout, InvalidCommand, UnknownDevice
from carhome.hub import Ack, Command, CommandStatus, Device, Gatekeeper, Home, Hub, Result, Store
from carhome.hub.commands import MAX_TTL
from carhome.spec import vss
from carhome.store import MemoryStore
from carhome.testing import FakeClock, GatedStore, RecordingTransport, Refuse, settle

WAIT = 1.0  # bound on every wait for an event, in real seconds; nothing here sleeps


async def open_hub(store: Store, clock: FakeClock, gatekeeper: Gatekeeper | None = None) -> Hub:
    hub = Hub(store=store, clock=clock, gatekeeper=gatekeeper)
    await hub.__aenter__()
    if not await store.homes():
        await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
        await hub.add_device(Device(home="h1", id="car", type="car"))
        await hub.add_device(Device(home="h1", id="purifier", type="air_purifier"))
    return hub


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
async def wired(hub: Hub, transport: RecordingTransport) -> Hub:
    """The shared hub with a working MQTT transport attached."""
    hub.commands.attach("mqtt", transport)
    await hub.commands.drain()
    return hub


async def turn_on(hub: Hub, *, ttl: float = 30.0, member: str = "alice") -> Command:
    return await hub.submit(
        "h1", "purifier", "set", "on", {"value": True}, member=member, face="test", ttl=ttl
    )


def status(command: Command) -> CommandStatus:
    """The status now (a call, so type checkers do not carry an earlier narrowing over)."""
    return command.status


async def stored(hub: Hub, command: Command) -> Command:
    await hub.commands.drain()
    (row,) = [c for c in await hub.store.commands() if c.id == command.id]
    return row


# -- the happy path ---------------------------------------------------------------------------


async def test_queued_sent_acked(wired: Hub, transport: RecordingTransport, clock: FakeClock) -> None:
    results: list[Result] = []
    wired.bus.subscribe(results.append, kind=Result, home="h1", device="purifier", name="on")
    command = await turn_on(wired)
    assert command.status is CommandStatus.SENT
    assert command.sent_at == clock.time()
    assert transport.delivered == [command]
    assert command.args == {"value": True}
    assert (command.member, command.face, command.expires) == ("alice", "test", clock.time() + 30)
    assert (await stored(wired, command)).status is CommandStatus.SENT
    assert [(r.status, r.command) for r in results] == [(CommandStatus.SENT, command)]
    await clock.advance(2)
    done = wired.ack("h1", "purifier", Ack(command.id, "acked", result={"on": True}))
    assert done is command
    assert status(command) is CommandStatus.ACKED
    assert command.result == {"on": True}
    assert command.done_at == clock.time()
    assert [(r.status, r.final, r.command) for r in results] == [
        (CommandStatus.SENT, False, command),
        (CommandStatus.ACKED, True, command),
    ]
    assert wired.commands.pending() == []
    assert wired.commands.get(command.id) is command
    assert await wired.commands.wait(command.id, timeout=WAIT) is command
    assert (await stored(wired, command)).status is CommandStatus.ACKED


async def test_a_failed_ack_keeps_the_devices_error(wired: Hub) -> None:
    command = await turn_on(wired)
    wired.ack("h1", "purifier", Ack(command.id, "failed", error="filter door open"))
    assert command.status is CommandStatus.FAILED
    assert command.error == "filter door open"
    assert (await stored(wired, command)).error == "filter door open"


async def test_an_action_with_arguments_is_checked_and_normalised(
    wired: Hub, transport: RecordingTransport
) -> None:
    command = await wired.submit(
        "h1", "car", "action", "set_charge_limit", {"limit": 80.0}, member="alice", face="test"
    )
    assert command.args == {"limit": 80}
    assert transport.delivered == [command]


async def test_waiting_for_a_result_sees_it_arrive(wired: Hub) -> None:
    command = await turn_on(wired)
    waiter = asyncio.ensure_future(wired.commands.wait(command.id, timeout=WAIT))
    await settle()
    assert not waiter.done()
    wired.ack("h1", "purifier", Ack(command.id, "acked"))
    assert await asyncio.wait_for(waiter, WAIT) is command


async def test_waiting_past_the_callers_limit_raises_command_timeout(wired: Hub) -> None:
    command = await turn_on(wired)
    with pytest.raises(CommandTimeout, match=command.id):
        await wired.commands.wait(command.id, timeout=0)


async def test_a_broken_result_subscriber_does_not_stop_the_others(
    wired: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Command] = []

    def broken(_: Result) -> None:
        raise RuntimeError("boom")

    wired.bus.subscribe(broken, kind=Result)
    kept = wired.bus.subscribe(lambda r: r.final and seen.append(r.command), kind=Result)
    command = await turn_on(wired)
    wired.ack("h1", "purifier", Ack(command.id, "acked"))
    assert seen == [command]
    assert "failed on h1/purifier on (Result)" in caplog.text
    kept.close()
    wired.ack("h1", "purifier", Ack((await turn_on(wired)).id, "acked"))
    assert seen == [command]


# -- expiry -----------------------------------------------------------------------------------


async def test_a_command_past_its_expiry_ends_expired_and_a_late_ack_is_ignored(
    wired: Hub, clock: FakeClock
) -> None:
    command = await turn_on(wired, ttl=5)
    await clock.advance(4.9)
    assert command.status is CommandStatus.SENT
    await clock.advance(0.2)
    assert await wired.commands.wait(command.id, timeout=WAIT) is command
    assert status(command) is CommandStatus.EXPIRED
    assert command.error == "no result before expiry"
    assert wired.ack("h1", "purifier", Ack(command.id, "acked")) is None
    assert status(command) is CommandStatus.EXPIRED
    assert wired.commands.late_acks == 1
    assert (await stored(wired, command)).status is CommandStatus.EXPIRED


async def test_commands_expire_in_deadline_order(wired: Hub, clock: FakeClock) -> None:
    late = await turn_on(wired, ttl=20)
    early = await turn_on(wired, ttl=10)
    await clock.advance(15)
    await wired.commands.wait(early.id, timeout=WAIT)
    assert (early.status, late.status) == (CommandStatus.EXPIRED, CommandStatus.SENT)
    await clock.advance(10)
    await wired.commands.wait(late.id, timeout=WAIT)
    assert late.status is CommandStatus.EXPIRED


async def test_an_acked_command_is_not_expired_later(wired: Hub, clock: FakeClock) -> None:
    command = await turn_on(wired, ttl=5)
    wired.ack("h1", "purifier", Ack(command.id, "acked"))
    await clock.advance(10)
    assert command.status is CommandStatus.ACKED


# -- acks that must be ignored ----------------------------------------------------------------


@pytest.mark.parametrize(("home", "device"), [("h1", "car"), ("h2", "purifier")])
async def test_an_ack_from_another_device_is_ignored(wired: Hub, home: str, device: str) -> None:
    command = await turn_on(wired)
    assert wired.ack(home, device, Ack(command.id, "acked")) is None
    assert command.status is CommandStatus.SENT
    assert wired.commands.late_acks == 0


async def test_an_ack_for_an_unknown_id_is_ignored(wired: Hub, caplog: pytest.LogCaptureFixture) -> None:
    command = await turn_on(wired)
    with caplog.at_level(logging.INFO, logger="carhome.hub.commands"):
        assert wired.ack("h1", "purifier", Ack("0" * 32, "acked")) is None
    assert "ignored ack" in caplog.text
    assert command.status is CommandStatus.SENT


async def test_a_duplicate_ack_is_ignored(wired: Hub) -> None:
    command = await turn_on(wired)
    wired.ack("h1", "purifier", Ack(command.id, "acked", result=1))
    assert wired.ack("h1", "purifier", Ack(command.id, "failed", error="again")) is None
    assert (command.status, command.result, command.error) == (CommandStatus.ACKED, 1, None)
    assert wired.commands.late_acks == 1


# -- refusal and durability -------------------------------------------------------------------


async def test_a_gatekeeper_denial_raises_and_nothing_is_stored_or_sent(clock: FakeClock) -> None:
    store = MemoryStore()
    gate = Refuse("guests may not run the purifier at night")
    hub = await open_hub(store, clock, gate)
    transport = RecordingTransport()
    hub.commands.attach("mqtt", transport)
    try:
        with pytest.raises(CommandDenied) as info:
            await turn_on(hub, member="guest")
        assert (info.value.member, info.value.device, info.value.target) == ("guest", "purifier", "on")
        assert str(info.value) == "guest may not on on purifier: guests may not run the purifier at night"
        assert [(c.member, s.type) for c, s in gate.asked] == [("guest", "air_purifier")]
        await hub.commands.drain()
        assert await store.commands() == []
        assert transport.attempts == 0
        assert hub.commands.pending() == []
    finally:
        await hub.__aexit__(None, None, None)


async def test_the_outbox_write_completes_before_submit_returns(clock: FakeClock) -> None:
    store = GatedStore()
    hub = await open_hub(store, clock)
    transport = RecordingTransport()
    hub.commands.attach("mqtt", transport)
    try:
        store.gate.clear()
        submit = asyncio.ensure_future(turn_on(hub))
        await asyncio.wait_for(store.writing.wait(), WAIT)
        await settle()
        assert not submit.done()
        assert transport.attempts == 0
        assert await store.commands() == []
        store.gate.set()
        command = await asyncio.wait_for(submit, WAIT)
        assert [c.id for c in await store.commands()] == [command.id]
        assert transport.delivered == [command]
    finally:
        await hub.__aexit__(None, None, None)


async def test_a_transport_error_leaves_the_command_queued_until_attach_delivers_it(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    down = RecordingTransport(down=True)
    hub.commands.attach("mqtt", down)
    await hub.commands.drain()  # the connector came up (and went down) before the command
    command = await turn_on(hub)
    assert command.status is CommandStatus.QUEUED
    assert down.attempts == 1
    assert "not sent yet: broker unreachable" in caplog.text
    assert hub.commands.pending() == [command]
    up = RecordingTransport()
    hub.commands.attach("mqtt", up)
    await asyncio.wait_for(up.sent.wait(), WAIT)
    await hub.commands.drain()
    assert up.delivered == [command]
    assert status(command) is CommandStatus.SENT


async def test_without_a_transport_commands_wait_queued(hub: Hub, clock: FakeClock) -> None:
    command = await turn_on(hub)
    assert command.status is CommandStatus.QUEUED
    await clock.advance(40)
    await hub.commands.wait(command.id, timeout=WAIT)
    late = RecordingTransport()
    hub.commands.attach("mqtt", late)
    await hub.commands.drain()
    assert late.attempts == 0  # expired: never delivered


async def test_redelivery_only_touches_its_own_connector(hub: Hub) -> None:
    await hub.add_device(Device(home="h1", id="box", type="wallbox", connector="ocpp"))
    mqtt_cmd = await turn_on(hub)
    ocpp_cmd = await hub.submit("h1", "box", "action", "stop_charging", member="a", face="t")
    ocpp = RecordingTransport()
    hub.commands.attach("ocpp", ocpp)
    await hub.commands.drain()
    assert ocpp.delivered == [ocpp_cmd]
    assert mqtt_cmd.status is CommandStatus.QUEUED


async def test_after_detach_commands_wait_again(wired: Hub) -> None:
    wired.commands.detach("mqtt")
    assert (await turn_on(wired)).status is CommandStatus.QUEUED


# -- invalid commands -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "kind", "target", "args", "ttl", "message"),
    [
        (
            "purifier",
            "set",
            "pm25",
            {"value": 5},
            30,
            "purifier pm25: property 'pm25' is read-only; allowed: fan_level, mode, on",
        ),
        (
            "purifier",
            "set",
            "fan_level",
            {"value": 7},
            30,
            "purifier fan_level: 7 is out of range; allowed: int from 1 to 3",
        ),
        (
            "purifier",
            "set",
            "fan_level",
            {"level": 2},
            30,
            "purifier fan_level: a set command takes one argument 'value'",
        ),
        (
            "purifier",
            "set",
            "speed",
            {"value": 2},
            30,
            "purifier speed: air_purifier has no property 'speed'; allowed: fan_level, filter_life,",
        ),
        ("car", "action", "fly", {}, 30, "car fly: car has no action 'fly'; allowed: climate_off,"),
        (
            "car",
            "action",
            "set_charge_limit",
            {},
            30,
            "car set_charge_limit: missing argument 'limit'; allowed: int from 50 to 100 percent",
        ),
        (
            "car",
            "action",
            "set_charge_limit",
            {"limit": 80, "now": True},
            30,
            "car set_charge_limit: unknown argument 'now'; allowed: limit",
        ),
        ("car", "set", vss.SOC, {"value": 50.0}, 30, f"car {vss.SOC}: property '{vss.SOC}' is read-only"),
        (
            "purifier",
            "set",
            "on",
            {"value": True},
            0,
            f"purifier on: ttl 0 s is out of range; allowed: more than 0 and at most {MAX_TTL:.0f} s",
        ),
        ("purifier", "set", "on", {"value": True}, -1, "purifier on: ttl -1 s is out of range"),
        ("purifier", "set", "on", {"value": True}, MAX_TTL + 1, "ttl 86401.0 s is out of range"),
    ],
)
async def test_invalid_commands_say_what_is_wrong(
    wired: Hub,
    transport: RecordingTransport,
    device: str,
    kind: Any,
    target: str,
    args: dict[str, Any],
    ttl: float,
    message: str,
) -> None:
    with pytest.raises(InvalidCommand) as info:
        await wired.submit("h1", device, kind, target, args, member="alice", face="test", ttl=ttl)
    assert message in str(info.value)
    assert (info.value.device, info.value.target) == (device, target)
    assert transport.attempts == 0
    assert await wired.store.commands() == []


async def test_a_command_to_an_unknown_device_names_the_known_ones(wired: Hub) -> None:
    with pytest.raises(UnknownDevice, match="known devices: car, purifier"):
        await wired.submit("h1", "toaster", "set", "on", {"value": True}, member="a", face="t")


# -- restart ----------------------------------------------------------------------------------


async def test_restore_expires_overdue_commands_and_resumes_the_rest(clock: FakeClock) -> None:
    store = MemoryStore()
    first = await open_hub(store, clock)
    overdue = await turn_on(first, ttl=10)
    alive = await turn_on(first, ttl=600)
    done = await turn_on(first, ttl=600)
    first.ack("h1", "purifier", Ack(done.id, "acked"))
    await first.__aexit__(None, None, None)

    clock.set(clock.time() + 60)  # the hub was down for a minute
    second = await open_hub(store, clock)
    try:
        assert [c.id for c in second.commands.pending()] == [alive.id]
        expired = second.commands.get(overdue.id)
        assert expired is not None
        assert expired.status is CommandStatus.EXPIRED
        assert expired.error == "expired while the hub was down"
        assert (await stored(second, overdue)).status is CommandStatus.EXPIRED
        assert second.commands.get(done.id) is None
        transport = RecordingTransport()
        second.commands.attach("mqtt", transport)
        await asyncio.wait_for(transport.sent.wait(), WAIT)
        assert [c.id for c in transport.delivered] == [alive.id]
        assert second.ack("h1", "purifier", Ack(alive.id, "acked")) is not None
    finally:
        await second.__aexit__(None, None, None)
