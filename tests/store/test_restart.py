"""A hub restarted on the same database (a SQLite file, a PostgreSQL database) comes back with
its state and its pending commands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from carhome.hub import Ack, CommandStatus, Device, Home, Hub
from carhome.spec import vss
from carhome.store import PostgresStore, SqliteStore
from carhome.testing import FakeClock, RecordingTransport
from carhome.testing.postgres import ThrowawayCluster
from pgcluster import schema_name

YIZHUANG = (39.7953, 116.5060)
HOME = Home(id="h1", name="Yizhuang", lat=YIZHUANG[0], lon=YIZHUANG[1])
CAR = Device(home="h1", id="car", type="car", name="Car")
PURIFIER = Device(home="h1", id="purifier", type="air_purifier", room="living_room")
LAMP = Device(home="h1", id="lamp", type="light", connector="miio")
TIMEOUT = 5.0

Reopen = Callable[[], SqliteStore | PostgresStore]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Reopen:
    """Makes a new, unopened store on one and the same database each time it is called."""
    if request.param == "sqlite":
        return lambda: SqliteStore(tmp_path / "hub.db")
    cluster: ThrowawayCluster = request.getfixturevalue("postgres_cluster")
    url = await cluster.create_schema(schema_name())
    return lambda: PostgresStore(url)


async def test_a_restarted_hub_has_its_devices_states_and_pending_commands(reopen: Reopen) -> None:
    clock = FakeClock()
    async with Hub(store=reopen(), clock=clock) as hub:
        await hub.add_home(HOME)
        for device in (CAR, PURIFIER, LAMP):
            await hub.add_device(device)
        hub.report(
            "h1", "car", {vss.SOC: 81.5, vss.LATITUDE: YIZHUANG[0], vss.LONGITUDE: YIZHUANG[1]}, source="mqtt"
        )
        hub.report("h1", "purifier", {"on": True, "pm25": 12, "mode": "auto"}, source="mqtt")
        await hub.remove_device("h1", "lamp")
        await clock.advance(1)
        lock = await hub.submit("h1", "car", "action", "lock", member="alice", face="api", ttl=3600)
        fan = await hub.submit(
            "h1", "purifier", "set", "fan_level", {"value": 3}, member="alice", face="automation", ttl=3600
        )
        before = {(d.home, d.id): hub.state(d.home, d.id) for d in hub.devices()}
        assert before[("h1", "car")][vss.SOC].value == 81.5
        assert before[("h1", "car")]["place"].value == "home"  # derived, stored like the rest

    # a minute later (still within both commands' expiry) the hub starts again
    await clock.advance(60)
    async with Hub(store=reopen(), clock=clock) as hub:
        assert hub.homes() == [HOME]
        assert sorted(hub.devices(), key=lambda d: d.id) == [CAR, PURIFIER]
        after = {(d.home, d.id): hub.state(d.home, d.id) for d in hub.devices()}
        assert after == before
        pending = hub.commands.pending()
        assert [c.id for c in pending] == [lock.id, fan.id]
        assert pending[1].args == {"value": 3}
        assert all(c.status is CommandStatus.QUEUED for c in pending)


async def test_a_command_that_expired_while_the_hub_was_down_ends_expired(reopen: Reopen) -> None:
    clock = FakeClock()
    async with Hub(store=reopen(), clock=clock) as hub:
        await hub.add_home(HOME)
        await hub.add_device(PURIFIER)
        long = await hub.submit("h1", "purifier", "action", "turn_on", member="alice", face="api", ttl=3600)
        short = await hub.submit("h1", "purifier", "action", "turn_off", member="alice", face="api", ttl=60)

    clock.set(clock.time() + 600)  # down for ten minutes: past short's expiry only
    async with Hub(store=reopen(), clock=clock) as hub:
        assert [c.id for c in hub.commands.pending()] == [long.id]
        expired = hub.commands.get(short.id)
        assert expired is not None
        assert expired.status is CommandStatus.EXPIRED
        assert expired.error == "expired while the hub was down"

    # and that outcome is itself durable
    async with reopen() as store:
        assert [c.id for c in await store.outbox_pending()] == [long.id]
        stored = {c.id: c for c in await store.commands()}
        assert stored[short.id].status is CommandStatus.EXPIRED
        assert stored[short.id].done_at == clock.time()


async def test_restored_commands_are_redelivered_when_a_transport_attaches(reopen: Reopen) -> None:
    clock = FakeClock()
    async with Hub(store=reopen(), clock=clock) as hub:
        await hub.add_home(HOME)
        await hub.add_devices([CAR, PURIFIER, LAMP])
        lock = await hub.submit("h1", "car", "action", "lock", member="alice", face="api", ttl=3600)
        fan = await hub.submit(
            "h1", "purifier", "set", "fan_level", {"value": 2}, member="alice", face="api", ttl=3600
        )
        lamp = await hub.submit("h1", "lamp", "action", "turn_on", member="alice", face="api", ttl=3600)
        doomed = await hub.submit("h1", "car", "action", "unlock", member="alice", face="api", ttl=30)

    await clock.advance(120)
    mqtt = RecordingTransport()
    async with Hub(store=reopen(), clock=clock) as hub:
        hub.commands.attach("mqtt", mqtt)
        await mqtt.until(lambda delivered: len(delivered) >= 2, wait=TIMEOUT)
        await asyncio.wait_for(hub.commands.drain(), TIMEOUT)
        # oldest first, only mqtt's, never the expired one
        assert [c.id for c in mqtt.delivered] == [lock.id, fan.id]
        assert hub.commands.get(doomed.id).status is CommandStatus.EXPIRED  # type: ignore[union-attr]
        assert hub.commands.get(lamp.id).status is CommandStatus.QUEUED  # type: ignore[union-attr]
        assert hub.commands.get(lock.id).status is CommandStatus.SENT  # type: ignore[union-attr]
        await clock.advance(1)
        hub.ack("h1", "car", Ack(lock.id, "acked", result={"locked": True}))

    # the third run: the acked command is done, the sent one is sent again (devices dedupe by id)
    again = RecordingTransport()
    async with Hub(store=reopen(), clock=clock) as hub:
        assert {c.id: c.status for c in hub.commands.pending()} == {
            fan.id: CommandStatus.SENT,
            lamp.id: CommandStatus.QUEUED,
        }
        hub.commands.attach("mqtt", again)
        await again.until(lambda delivered: len(delivered) >= 1, wait=TIMEOUT)
        await asyncio.wait_for(hub.commands.drain(), TIMEOUT)
        assert [c.id for c in again.delivered] == [fan.id]
    async with reopen() as store:
        acked = next(c for c in await store.commands() if c.id == lock.id)
        assert acked.status is CommandStatus.ACKED
        assert acked.result == {"locked": True}
