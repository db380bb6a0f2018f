"""Devices with their own spec: registered by a connector that learns what a device offers
from the device itself, checked against that spec, stored, and waiting after a restart
until their connector registers them again."""

from __future__ import annotations

from pathlib import Path

import pytest

from carhome.errors import CommandDenied, InvalidCommand, SpecError
from carhome.hub import Device, Home, Hub
from carhome.spec import Access, ActionSpec, DeviceSpec, Format, PropertySpec
from carhome.store import MemoryStore
from carhome.store.sqlite import SqliteStore
from carhome.testing import FakeClock, RecordingTransport, Refuse

H1 = Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060)
TYPE = "zigbee:TEST-1"


def sensor_spec(*, humidity: bool = True, top: float = 60.0) -> DeviceSpec:
    props = [
        PropertySpec("temperature", Format.FLOAT, "celsius", -40.0, top),
        PropertySpec("level", Format.INT, None, 0, 254, access=Access.RWN),
    ]
    if humidity:
        props.append(PropertySpec("humidity", Format.FLOAT, "percent", 0.0, 100.0))
    return DeviceSpec(
        type=TYPE,
        title="A sensor",
        category="home",
        properties={p.name: p for p in props},
        actions={"unlock": ActionSpec("unlock", domain="home_lock", sets=("level",))},
    )


LAMP = Device(home="h1", id="zigbee-0011223344556677", type=TYPE, name="lamp", connector="zigbee2mqtt")


async def test_a_device_with_its_own_spec_is_checked_against_it(hub: Hub) -> None:
    await hub.add_device(LAMP, spec=sensor_spec())
    assert hub.spec("h1", LAMP.id) == sensor_spec()
    report = hub.report("h1", LAMP.id, {"temperature": 21.5, "humidity": 140.0, "pm25": 3})
    assert report.applied == 1
    assert sorted(r.code for r in report.rejected) == ["out_of_range", "unknown_property"]
    assert hub.value("h1", LAMP.id, "temperature") == 21.5
    with pytest.raises(InvalidCommand, match="out of range"):
        await hub.submit("h1", LAMP.id, "set", "level", {"value": 300}, member="m", face="test")
    with pytest.raises(InvalidCommand, match="read-only"):
        await hub.submit("h1", LAMP.id, "set", "temperature", {"value": 20.0}, member="m", face="test")


async def test_the_gatekeeper_sees_the_devices_own_spec(clock: FakeClock) -> None:
    refuse = Refuse("not today")
    async with Hub(store=MemoryStore(), clock=clock, gatekeeper=refuse) as hub:
        await hub.add_home(H1)
        await hub.add_device(LAMP, spec=sensor_spec())
        with pytest.raises(CommandDenied):
            await hub.submit("h1", LAMP.id, "action", "unlock", member="m", face="test")
    [(_, spec)] = refuse.asked
    assert spec.actions["unlock"].domain == "home_lock"


async def test_a_command_to_such_a_device_goes_to_its_connector(hub: Hub) -> None:
    transport = RecordingTransport()
    hub.commands.attach("zigbee2mqtt", transport)
    await hub.add_device(LAMP, spec=sensor_spec())
    command = await hub.submit("h1", LAMP.id, "set", "level", {"value": 12}, member="m", face="test")
    assert [c.id for c in transport.delivered] == [command.id]


async def test_its_own_spec_must_carry_its_type_and_no_built_in_one(hub: Hub) -> None:
    with pytest.raises(SpecError, match="give both one type"):
        await hub.add_device(Device(home="h1", id="other", type="zigbee:OTHER"), spec=sensor_spec())
    light = DeviceSpec(type="light", title="x", category="home", properties={})
    with pytest.raises(SpecError, match="built-in type"):
        await hub.add_device(Device(home="h1", id="lamp", type="light"), spec=light)
    with pytest.raises(SpecError, match="unknown type 'zigbee:TEST-1'"):
        await hub.add_device(LAMP)  # no spec given, and no built-in one of its type


async def test_registering_again_with_a_changed_spec_keeps_what_it_still_takes(hub: Hub) -> None:
    await hub.add_device(LAMP, spec=sensor_spec())
    hub.report("h1", LAMP.id, {"temperature": 50.0, "humidity": 40.0, "level": 3})
    await hub.add_device(LAMP, spec=sensor_spec(humidity=False, top=45.0))
    assert {p: s.value for p, s in hub.state("h1", LAMP.id).items()} == {"level": 3}


async def test_after_a_restart_it_waits_with_its_states_for_its_connector(
    tmp_path: Path, clock: FakeClock
) -> None:
    database = tmp_path / "carhome.db"
    async with Hub(store=SqliteStore(database), clock=clock) as hub:
        await hub.add_home(H1)
        await hub.add_device(Device(home="h1", id="car", type="car"))
        await hub.add_device(LAMP, spec=sensor_spec())
        gone = Device(home="h1", id="zigbee-gone", type=TYPE, connector="zigbee2mqtt")
        await hub.add_device(gone, spec=sensor_spec())
        hub.report("h1", LAMP.id, {"temperature": 21.5, "humidity": 40.0})
    async with Hub(store=SqliteStore(database), clock=clock) as hub:
        # the hub starts although no built-in spec has the type; the device waits unlisted
        assert [d.id for d in hub.devices("h1")] == ["car"]
        assert hub.report("h1", LAMP.id, {"temperature": 1.0}).rejected[0].code == "unknown_device"
        await hub.add_device(LAMP, spec=sensor_spec(humidity=False))
        assert {p: s.value for p, s in hub.state("h1", LAMP.id).items()} == {"temperature": 21.5}
        await hub.remove_device("h1", "zigbee-gone")
    async with Hub(store=SqliteStore(database), clock=clock) as hub:
        assert {(d.home, d.id) for d in await hub.store.devices()} == {("h1", "car"), ("h1", LAMP.id)}
