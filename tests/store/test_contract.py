"""The ``Store`` contract, run on every implementation: what the hub may rely on."""

from __future__ import annotations

import msgspec
import pytest

from carhome.errors import DuplicateCommand, StoreError
from carhome.hub import Command, CommandStatus, Device, Home, Place, StateRow, Store

from .command_rig import T0, command

# -- homes -----------------------------------------------------------------------------------


async def test_a_new_store_is_empty(store: Store) -> None:
    assert await store.homes() == []
    assert await store.devices() == []
    assert await store.states() == []
    assert await store.outbox_pending() == []
    assert await store.commands() == []


async def test_homes_round_trip_with_their_places(store: Store) -> None:
    home = Home(
        id="h1",
        name="Yizhuang",
        lat=39.7953,
        lon=116.506,
        radius_m=120.0,
        timezone="Asia/Shanghai",
        places=(Place("work", 39.9, 116.4, 300.0),),
    )
    await store.save_home(home)
    await store.save_home(Home(id="h2", name="Other", lat=0.0, lon=0.0))
    homes = {h.id: h for h in await store.homes()}
    assert homes["h1"] == home
    assert set(homes) == {"h1", "h2"}


async def test_saving_a_home_again_replaces_it(store: Store) -> None:
    await store.save_home(Home(id="h1", name="Old", lat=1.0, lon=2.0))
    await store.save_home(Home(id="h1", name="New", lat=3.0, lon=4.0))
    assert await store.homes() == [Home(id="h1", name="New", lat=3.0, lon=4.0)]


# -- devices ---------------------------------------------------------------------------------


async def test_devices_round_trip_and_replace(store: Store) -> None:
    car = Device(home="h1", id="car", type="car", name="Car")
    lamp = Device(home="h1", id="lamp", type="light", room="hall", connector="miio")
    other = Device(home="h2", id="car", type="car")
    for device in (car, lamp, other):
        await store.save_device(device)
    renamed = msgspec.structs.replace(car, name="Family car")
    await store.save_device(renamed)
    devices = {(d.home, d.id): d for d in await store.devices()}
    assert devices == {("h1", "car"): renamed, ("h1", "lamp"): lamp, ("h2", "car"): other}


async def test_remove_device_removes_only_that_device(store: Store) -> None:
    await store.save_device(Device(home="h1", id="car", type="car"))
    await store.save_device(Device(home="h2", id="car", type="car"))
    await store.remove_device("h1", "car")
    await store.remove_device("h1", "never-there")  # not an error
    assert await store.devices() == [Device(home="h2", id="car", type="car")]


# -- states ----------------------------------------------------------------------------------


async def test_states_round_trip_every_value_type(store: Store) -> None:
    rows = [
        StateRow("h1", "car", "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", 80.5, T0, "mqtt"),
        StateRow("h1", "car", "Vehicle.Cabin.Door.Row1.DriverSide.IsLocked", True, T0, "mqtt"),
        StateRow("h1", "purifier", "fan_level", 2, T0 + 1.25, ""),
        StateRow("h1", "purifier", "mode", "auto", T0, "miio"),
        StateRow("h1", "purifier", "note", None, T0, "hub"),
        StateRow("h1", "purifier", "list", [1, "a", {"b": False}], T0, "hub"),
    ]
    await store.save_states(rows)
    got = {(r.home, r.device, r.prop): r for r in await store.states()}
    assert got == {(r.home, r.device, r.prop): r for r in rows}
    # int and float stay what they were (2 is not 2.0, 80.5 not "80.5")
    assert type(got["h1", "purifier", "fan_level"].value) is int
    assert type(got["h1", "car", "Vehicle.Cabin.Door.Row1.DriverSide.IsLocked"].value) is bool


async def test_save_states_upserts_the_latest_value_per_property(store: Store) -> None:
    await store.save_states(
        [StateRow("h1", "purifier", "pm25", 10, T0, "a"), StateRow("h1", "purifier", "on", True, T0, "a")]
    )
    await store.save_states([StateRow("h1", "purifier", "pm25", 35, T0 + 5, "b")])
    await store.save_states([])
    got = {r.prop: r for r in await store.states()}
    assert got == {
        "pm25": StateRow("h1", "purifier", "pm25", 35, T0 + 5, "b"),
        "on": StateRow("h1", "purifier", "on", True, T0, "a"),
    }


async def test_a_batch_naming_a_property_twice_keeps_its_last_row(store: Store) -> None:
    await store.save_states(
        [
            StateRow("h1", "purifier", "pm25", 10, T0, "a"),
            StateRow("h1", "purifier", "on", True, T0, "a"),
            StateRow("h1", "purifier", "pm25", 12, T0 + 1, "b"),
        ]
    )
    got = {r.prop: r for r in await store.states()}
    assert got == {
        "pm25": StateRow("h1", "purifier", "pm25", 12, T0 + 1, "b"),
        "on": StateRow("h1", "purifier", "on", True, T0, "a"),
    }


async def test_a_large_batch_is_kept_whole(store: Store) -> None:
    rows = [StateRow("h1", f"d{i % 50}", f"p{i}", i, T0 + i, "bench") for i in range(5_000)]
    await store.save_states(rows)
    assert sorted(await store.states(), key=lambda r: r.ts) == rows


# -- the outbox ------------------------------------------------------------------------------


async def test_outbox_put_keeps_every_field(store: Store) -> None:
    full = Command(
        id="x1",
        home="h1",
        device="purifier",
        kind="set",
        target="mode",
        args={"value": "sleep"},
        member="bob",
        face="automation",
        created=T0,
        expires=T0 + 30,
        status=CommandStatus.SENT,
        sent_at=T0 + 1,
        signature="c2lnbmF0dXJl",
    )
    await store.outbox_put(full)
    assert await store.outbox_pending() == [full]
    assert await store.commands() == [full]


async def test_outbox_put_keeps_the_command_as_it_was_when_put(store: Store) -> None:
    cmd = command(1)
    await store.outbox_put(cmd)
    # the router mutates its command after the put; that alone must not reach the store
    cmd.status = CommandStatus.ACKED
    [kept] = await store.outbox_pending()
    assert kept.status is CommandStatus.QUEUED
    assert kept is not cmd


async def test_outbox_pending_is_oldest_first_and_only_open(store: Store) -> None:
    for n in (3, 1, 4, 2, 5):
        await store.outbox_put(command(n))
    sent = msgspec.structs.replace(command(4), status=CommandStatus.SENT, sent_at=T0 + 4.5)
    await store.outbox_update(sent)
    for n, status in ((2, CommandStatus.ACKED), (5, CommandStatus.FAILED), (1, CommandStatus.EXPIRED)):
        await store.outbox_update(
            msgspec.structs.replace(command(n), status=status, done_at=T0 + 9, error="x")
        )
    pending = await store.outbox_pending()
    assert [c.id for c in pending] == ["c3", "c4"]
    assert pending[1] == sent


async def test_outbox_pending_keeps_submission_order_within_one_clock_tick(store: Store) -> None:
    for n in range(20):
        await store.outbox_put(command(n, created=T0))
    assert [c.id for c in await store.outbox_pending()] == [f"c{n}" for n in range(20)]


async def test_outbox_update_records_the_result(store: Store) -> None:
    cmd = command(1)
    await store.outbox_put(cmd)
    cmd.status = CommandStatus.ACKED
    cmd.done_at = T0 + 2
    cmd.result = {"locked": True}
    await store.outbox_update(cmd)
    assert await store.outbox_pending() == []
    assert await store.commands() == [cmd]


async def test_outbox_update_of_an_unknown_id_keeps_the_command(store: Store) -> None:
    cmd = msgspec.structs.replace(command(7), status=CommandStatus.SENT)
    await store.outbox_update(cmd)
    assert await store.outbox_pending() == [cmd]


# -- command ids are unique for good, and final is final --------------------------------------


async def test_a_taken_id_is_refused_and_the_kept_record_stays(store: Store) -> None:
    owners = msgspec.structs.replace(command(1), member="olivia", signature="b3duZXI=")
    await store.outbox_put(owners)
    for reuse in (
        msgspec.structs.replace(command(1), member="gus"),  # another member of the home
        msgspec.structs.replace(command(2, home="h2"), id=owners.id),  # another home's command
        msgspec.structs.replace(owners, status=CommandStatus.ACKED),  # the same, claimed done
    ):
        with pytest.raises(DuplicateCommand) as refused:
            await store.outbox_put(reuse)
        assert refused.value.command_id == owners.id
        assert "new id" in str(refused.value)
    assert await store.commands() == [owners]
    assert await store.outbox_get(owners.id) == owners


async def test_a_finished_id_stays_taken(store: Store) -> None:
    cmd = command(1)
    await store.outbox_put(cmd)
    await store.outbox_update(msgspec.structs.replace(cmd, status=CommandStatus.EXPIRED, done_at=T0 + 70))
    with pytest.raises(DuplicateCommand):
        await store.outbox_put(command(1, created=T0 + 100))
    assert [c.status for c in await store.commands()] == [CommandStatus.EXPIRED]


async def test_an_update_never_rewrites_another_commands_record(store: Store) -> None:
    cmd = command(1)
    await store.outbox_put(cmd)
    for other in (
        msgspec.structs.replace(cmd, home="h2", status=CommandStatus.ACKED),
        msgspec.structs.replace(cmd, device="lock", status=CommandStatus.ACKED),
        msgspec.structs.replace(cmd, created=T0 + 30, member="gus", status=CommandStatus.FAILED),
    ):
        await store.outbox_update(other)
    assert await store.outbox_get(cmd.id) == cmd
    assert await store.outbox_pending() == [cmd]


async def test_a_final_status_is_never_rewritten(store: Store) -> None:
    cmd = command(1)
    await store.outbox_put(cmd)
    acked = msgspec.structs.replace(cmd, status=CommandStatus.ACKED, done_at=T0 + 2, result={"locked": True})
    await store.outbox_update(acked)
    # a late "sent" and a second outcome (a redelivered command refused by a rebooted device)
    await store.outbox_update(msgspec.structs.replace(cmd, status=CommandStatus.SENT, sent_at=T0 + 1))
    await store.outbox_update(
        msgspec.structs.replace(cmd, status=CommandStatus.FAILED, error="foreign_epoch: old epoch")
    )
    assert await store.outbox_get(cmd.id) == acked
    assert await store.outbox_pending() == []


async def test_outbox_get_finds_a_command_by_id_whatever_its_status(store: Store) -> None:
    assert await store.outbox_get("c1") is None
    await store.outbox_put(command(1))
    await store.outbox_put(command(2))
    done = msgspec.structs.replace(command(2), status=CommandStatus.FAILED, error="x")
    await store.outbox_update(done)
    assert await store.outbox_get("c1") == command(1)
    assert await store.outbox_get("c2") == done


async def test_commands_are_newest_first_per_home_and_limited(store: Store) -> None:
    for n in range(10):
        await store.outbox_put(command(n, home="h1" if n % 2 else "h2"))
    await store.outbox_update(msgspec.structs.replace(command(9), status=CommandStatus.ACKED))
    assert [c.id for c in await store.commands()] == [f"c{n}" for n in range(9, -1, -1)]
    assert [c.id for c in await store.commands(limit=3)] == ["c9", "c8", "c7"]
    assert [c.id for c in await store.commands("h1")] == ["c9", "c7", "c5", "c3", "c1"]
    assert [c.id for c in await store.commands("h2", limit=2)] == ["c8", "c6"]
    assert await store.commands("nowhere") == []
    assert (await store.commands(limit=1))[0].status is CommandStatus.ACKED


async def test_save_devices_saves_many_and_replaces(store: Store) -> None:
    await store.save_home(Home(id="h1", name="H", lat=39.8, lon=116.5))
    devices = [Device(home="h1", id=f"light{i}", type="light") for i in range(50)]
    await store.save_devices(devices)
    await store.save_devices([Device(home="h1", id="light0", type="light", name="Hall")])
    saved = {d.id: d for d in await store.devices()}
    assert set(saved) == {f"light{i}" for i in range(50)}
    assert saved["light0"].name == "Hall"


async def test_a_failed_write_leaves_the_store_usable(database_store: Store) -> None:
    store = database_store
    with pytest.raises(StoreError, match="cannot be stored as JSON"):
        await store.save_states(
            [StateRow("h1", "car", "a", 1, T0, ""), StateRow("h1", "car", "b", object(), T0, "")]
        )
    with pytest.raises(StoreError, match="saving states failed"):
        # the third row breaks a NOT NULL constraint inside the batch's transaction
        await store.save_states(
            [
                StateRow("h1", "car", "a", 1, T0, ""),
                StateRow("h1", "car", "b", 2, T0, ""),
                StateRow("h1", "car", "c", 3, None, ""),  # type: ignore[arg-type]
            ]
        )
    assert await store.states() == []  # the whole batch or nothing
    await store.outbox_put(command(1))
    assert len(await store.outbox_pending()) == 1


async def test_open_and_close_are_idempotent_and_the_store_reopens(database_store: Store) -> None:
    store = database_store
    await store.open()  # opened already
    await store.outbox_put(command(1))
    await store.close()
    await store.close()
    await store.open()
    assert [c.id for c in await store.outbox_pending()] == [command(1).id]
