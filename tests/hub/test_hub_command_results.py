"""Final means durable: a result is written to the outbox before anyone is told.

The store here holds every outbox update until the test lets it through (``HeldStore``), so
the tests can look at the router while a result is decided but not yet on disk: the command
is still pending there for every reader — ``get``, ``wait``, the result listeners (what the
API, the WebSocket and the automations hear) — and becomes final for all of them only once
the write is done. A write that fails leaves it pending and is tried again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from carhome.hub import Ack, Command, CommandStatus, Device, Home, Hub, Result
from carhome.hub.commands import RESULT_RETRY
from carhome.testing import FakeClock, HeldStore, RecordingTransport

WAIT = 1.0  # bound on every wait for an event, in real seconds; nothing here sleeps


@pytest.fixture
def store() -> HeldStore:
    return HeldStore()


@pytest.fixture
async def held(store: HeldStore, clock: FakeClock) -> AsyncIterator[Hub]:
    """A hub on the held store, with a purifier behind a working transport."""
    async with Hub(store=store, clock=clock) as hub:
        await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
        await hub.add_device(Device(home="h1", id="purifier", type="air_purifier"))
        hub.commands.attach("mqtt", RecordingTransport())
        await hub.commands.drain()
        try:
            yield hub
        finally:
            store.gate.set()  # nothing held past the test


async def turn_on(hub: Hub, *, ttl: float = 30.0, member: str = "alice") -> Command:
    return await hub.submit("h1", "purifier", "set", "on", {"value": True}, member=member, face="t", ttl=ttl)


async def kept(store: HeldStore, command: Command) -> CommandStatus:
    found = await store.outbox_get(command.id)
    assert found is not None
    return found.status


async def written(store: HeldStore, count: int) -> None:
    """Let the held updates through and wait until ``count`` of them are done."""

    async def done() -> None:
        while store.updates < count:
            store.updated.clear()
            await store.updated.wait()

    store.gate.set()
    await asyncio.wait_for(done(), WAIT)


async def test_an_ack_is_told_only_once_it_is_on_disk(held: Hub, store: HeldStore) -> None:
    command = await turn_on(held)
    await held.commands.drain()  # "sent" is on disk
    told: list[Command] = []
    held.bus.subscribe(lambda result: told.append(result.command), kind=Result)
    waiter = asyncio.ensure_future(held.commands.wait(command.id, timeout=WAIT))
    store.gate.clear()
    store.updating.clear()

    assert held.ack("h1", "purifier", Ack(command.id, "acked", result={"on": True})) is command
    await asyncio.wait_for(store.updating.wait(), WAIT)
    for _ in range(10):
        await asyncio.sleep(0)
    # decided, not yet durable: nobody hears of it, every reader still sees it pending
    assert await kept(store, command) is CommandStatus.SENT
    assert command.status is CommandStatus.SENT
    assert held.commands.get(command.id) is command
    assert [c.id for c in held.commands.pending()] == [command.id]
    assert told == []
    assert not waiter.done()

    await written(store, 2)
    assert await asyncio.wait_for(waiter, WAIT) is command
    assert (command.status, command.result) == (CommandStatus.ACKED, {"on": True})
    assert await kept(store, command) is CommandStatus.ACKED
    assert told == [command]
    assert held.commands.pending() == []


async def test_the_first_answer_is_the_one_kept_while_it_is_written(held: Hub, store: HeldStore) -> None:
    command = await turn_on(held)
    await held.commands.drain()
    store.gate.clear()
    held.ack("h1", "purifier", Ack(command.id, "acked", result=1))
    # a redelivery answered again, differently (a device that rebooted meanwhile)
    assert held.ack("h1", "purifier", Ack(command.id, "failed", error="foreign_epoch")) is None
    await written(store, 2)
    await held.commands.wait(command.id, timeout=WAIT)
    assert (command.status, command.result, command.error) == (CommandStatus.ACKED, 1, None)
    assert await kept(store, command) is CommandStatus.ACKED
    assert held.commands.late_acks == 1


async def test_an_expiry_is_told_only_once_it_is_on_disk(
    held: Hub, store: HeldStore, clock: FakeClock
) -> None:
    command = await turn_on(held, ttl=5)
    await held.commands.drain()
    told: list[Command] = []
    held.bus.subscribe(lambda result: told.append(result.command), kind=Result)
    await clock.advance(0)  # the expiry task is waiting on the clock
    store.gate.clear()
    await clock.advance(6)
    assert command.status is CommandStatus.SENT
    assert told == []
    await written(store, 2)
    await held.commands.wait(command.id, timeout=WAIT)
    assert told == [command]
    assert command.status is CommandStatus.EXPIRED
    assert await kept(store, command) is CommandStatus.EXPIRED


async def test_a_withdrawal_is_told_only_once_it_is_on_disk(held: Hub, store: HeldStore) -> None:
    held.commands.detach("mqtt")
    command = await turn_on(held, member="fred")
    store.gate.clear()
    gone = held.commands.withdraw("fred", "fred was revoked")
    assert gone == [command]
    assert command.status is CommandStatus.QUEUED
    assert held.commands.withdraw("fred", "again") == []  # decided already
    await written(store, 1)
    await held.commands.wait(command.id, timeout=WAIT)
    assert (command.status, command.error) == (CommandStatus.FAILED, "fred was revoked")
    assert await kept(store, command) is CommandStatus.FAILED


async def test_a_result_that_cannot_be_written_stays_pending_and_is_written_later(
    held: Hub, store: HeldStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    command = await turn_on(held, ttl=60)
    await held.commands.drain()
    told: list[Command] = []
    held.bus.subscribe(lambda result: told.append(result.command), kind=Result)
    store.failures = 1
    held.ack("h1", "purifier", Ack(command.id, "acked"))
    await held.commands.drain()
    assert "could not record the result" in caplog.text
    assert command.status is CommandStatus.SENT
    assert await kept(store, command) is CommandStatus.SENT
    assert told == []
    # not final: a redelivery's answer is not a second outcome, and the hub does not expire it
    assert held.ack("h1", "purifier", Ack(command.id, "failed", error="again")) is None
    await clock.advance(RESULT_RETRY)
    await held.commands.wait(command.id, timeout=WAIT)
    assert told == [command]
    assert command.status is CommandStatus.ACKED
    assert await kept(store, command) is CommandStatus.ACKED
