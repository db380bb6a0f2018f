"""The home devices: their dynamics, their commands and their refusals."""

from __future__ import annotations

import pytest

from carhome.errors import DeviceRefused
from carhome.sim import (
    Outdoor,
    SimAirConditioner,
    SimAirPurifier,
    SimCar,
    SimDevice,
    SimDoorLock,
    SimGarageDoor,
    SimLight,
    SimPhone,
    SimRiceCooker,
    SimRobotVacuum,
    SimWallbox,
)
from carhome.sim.routes import YIZHUANG_HOME
from carhome.spec import SPECS

from .conftest import check_against_spec, run


def outdoor(temperature: float = 0.0, pm25: float = 35.0) -> Outdoor:
    return Outdoor(fixed_temperature=temperature, pm25=pm25)


def every_device() -> list[SimDevice]:
    out = outdoor()
    car = SimCar(out, lat=YIZHUANG_HOME[0], lon=YIZHUANG_HOME[1])
    return [
        SimAirPurifier(out),
        SimAirConditioner(out),
        SimLight(),
        SimDoorLock(),
        SimRiceCooker(),
        SimGarageDoor(),
        SimRobotVacuum(),
        SimWallbox(),
        SimPhone(home_lat=1.0, home_lon=2.0),
        car,
    ]


@pytest.mark.parametrize("device", every_device(), ids=lambda d: d.type)
def test_every_device_reports_its_spec_and_is_a_sim_device(device: SimDevice) -> None:
    assert isinstance(device, SimDevice)
    first = device.step(0.0)
    check_against_spec(device.type, first)
    readable = {name for name, p in SPECS[device.type].properties.items() if not p.derived}
    assert set(first) == readable  # every property the spec lists, nothing else
    assert device.step(0.0) == {}


# -- air purifier -------------------------------------------------------------------------


def test_purifier_clears_the_air_and_it_creeps_back_when_off() -> None:
    purifier = SimAirPurifier(outdoor(pm25=80.0), pm25=120.0)
    purifier.actions["turn_on"]({})
    run(purifier, 1800, dt=10)
    cleared = purifier.state()["pm25"]
    assert cleared < 40  # auto mode slows its fan as the air clears
    purifier.actions["turn_off"]({})
    run(purifier, 3 * 3600, dt=60)
    assert purifier.state()["pm25"] > cleared + 30  # leaking in from the dirty outside


def test_purifier_auto_mode_picks_its_fan_level_from_the_air() -> None:
    purifier = SimAirPurifier(outdoor(), pm25=150.0)
    purifier.actions["turn_on"]({})
    assert purifier.step(0)["fan_level"] == 3
    run(purifier, 3600, dt=30)
    assert purifier.state()["fan_level"] == 1


async def test_purifier_fan_level_switches_to_manual() -> None:
    purifier = SimAirPurifier(outdoor())
    await purifier.execute("set", "fan_level", {"value": 3})
    assert purifier.step(0).items() >= {"mode": "favorite", "fan_level": 3}.items()
    with pytest.raises(DeviceRefused, match="one of 'auto'"):
        await purifier.execute("set", "mode", {"value": "turbo"})


async def test_purifier_with_a_spent_filter_refuses_to_run() -> None:
    purifier = SimAirPurifier(outdoor(), filter_life=0.0)
    with pytest.raises(DeviceRefused, match="replace it"):
        await purifier.execute("action", "turn_on", {})


# -- air conditioner ----------------------------------------------------------------------


async def test_ac_heats_the_room_to_its_target_in_winter() -> None:
    ac = SimAirConditioner(outdoor(-5.0), temperature=12.0)
    await ac.execute("set", "target_temperature", {"value": 22.0})
    await ac.execute("action", "turn_on", {})
    run(ac, 2 * 3600, dt=30)
    assert ac.state()["temperature"] == pytest.approx(22.0, abs=0.3)


async def test_ac_cool_mode_never_heats() -> None:
    ac = SimAirConditioner(outdoor(30.0), temperature=20.0)
    await ac.execute("set", "mode", {"value": "cool"})
    await ac.execute("set", "target_temperature", {"value": 26.0})
    await ac.execute("action", "turn_on", {})
    run(ac, 1800, dt=30)
    assert 20.0 < ac.state()["temperature"] <= 26.05
    assert ac.heat_w() <= 0


async def test_ac_off_drifts_toward_outside() -> None:
    ac = SimAirConditioner(outdoor(35.0), temperature=24.0)
    run(ac, 6 * 3600, dt=60)
    assert 28.0 < ac.state()["temperature"] < 35.0


# -- light --------------------------------------------------------------------------------


async def test_light_follows_commands() -> None:
    light = SimLight()
    await light.execute("action", "toggle", {})
    assert light.step(0)["on"] is True
    await light.execute("action", "turn_off", {})
    await light.execute("set", "brightness", {"value": 30})
    await light.execute("set", "color_temperature", {"value": 2700})
    assert light.step(0) == {"brightness": 30, "color_temperature": 2700}  # on again, as before
    with pytest.raises(DeviceRefused, match="out of range"):
        await light.execute("set", "brightness", {"value": 0})


# -- door lock ----------------------------------------------------------------------------


async def test_lock_unlocks_remotely_and_says_how() -> None:
    lock = SimDoorLock()
    await lock.execute("action", "unlock", {})
    assert lock.step(0)["locked"] is False
    assert [(e.name, e.fields) for e in lock.drain_events()] == [("unlocked_by", {"method": "remote"})]


async def test_lock_refuses_to_lock_an_open_door() -> None:
    lock = SimDoorLock()
    lock.unlock_by("fingerprint")
    lock.open_door()
    with pytest.raises(DeviceRefused, match="door is open"):
        await lock.execute("action", "lock", {})
    lock.close_door()
    await lock.execute("action", "lock", {})
    assert lock.state()["locked"] is True


async def test_a_flat_lock_cannot_move() -> None:
    lock = SimDoorLock(battery=0.0)
    with pytest.raises(DeviceRefused, match="flat"):
        await lock.execute("action", "unlock", {})


def test_lock_rings_and_its_battery_lasts_about_a_year() -> None:
    lock = SimDoorLock(battery=50.0)
    lock.ring()
    assert [e.name for e in lock.drain_events()] == ["doorbell"]
    run(lock, 100 * 86_400, dt=3600)
    assert lock.state()["battery"] == 40


# -- rice cooker --------------------------------------------------------------------------


async def test_rice_cooker_runs_its_program_then_keeps_warm() -> None:
    cooker = SimRiceCooker()
    await cooker.execute("action", "start", {"program": "white_rice"})
    assert cooker.step(0).items() >= {"status": "cooking", "program": "white_rice", "remaining": 45}.items()
    run(cooker, 20 * 60, dt=30)
    assert cooker.state()["remaining"] == 25
    assert cooker.state()["temperature"] > 95
    assert cooker.drain_events() == []
    run(cooker, 25 * 60, dt=30)
    assert cooker.state()["status"] == "keeping_warm"
    assert cooker.state()["remaining"] == 0
    assert [e.name for e in cooker.drain_events()] == ["finished"]
    run(cooker, 3600, dt=60)
    assert cooker.state()["temperature"] == pytest.approx(70, abs=3)


async def test_rice_cooker_refuses_a_second_program_and_an_idle_cancel() -> None:
    cooker = SimRiceCooker()
    with pytest.raises(DeviceRefused, match="nothing to cancel"):
        await cooker.execute("action", "cancel", {})
    await cooker.execute("action", "start", {"program": "quick"})
    with pytest.raises(DeviceRefused, match="already cooking quick"):
        await cooker.execute("action", "start", {"program": "porridge"})
    with pytest.raises(DeviceRefused, match="missing argument 'program'"):
        await cooker.execute("action", "start", {})
    await cooker.execute("action", "cancel", {})
    assert cooker.state()["status"] == "idle"


# -- garage door --------------------------------------------------------------------------


async def test_garage_door_takes_its_time() -> None:
    door = SimGarageDoor()
    door.step(0)
    await door.execute("action", "open", {})
    assert door.step(0) == {"state": "opening"}
    run(door, 6)
    assert door.state() == {"state": "opening", "position": 50}
    run(door, 6)
    assert door.state() == {"state": "open", "position": 100}
    await door.execute("action", "close", {})
    run(door, 3)
    await door.execute("action", "stop", {})
    assert door.step(0) == {"state": "stopped"}
    assert door.state()["position"] == 75


async def test_an_obstacle_reverses_a_closing_door_and_blocks_closing() -> None:
    door = SimGarageDoor(open_=True)
    await door.execute("action", "close", {})
    run(door, 4)
    door.obstacle = True
    run(door, 1)
    assert door.state()["state"] == "opening"
    assert [e.name for e in door.drain_events()] == ["obstructed"]
    run(door, 12)
    with pytest.raises(DeviceRefused, match="doorway"):
        await door.execute("action", "close", {})


# -- robot vacuum -------------------------------------------------------------------------


async def test_vacuum_cleans_returns_finishes_and_charges() -> None:
    vacuum = SimRobotVacuum(floor_m2=60.0)
    await vacuum.execute("action", "start", {})
    run(vacuum, 1800, dt=10)
    half = vacuum.state()
    assert half["status"] == "cleaning"
    assert half["cleaned_area"] == pytest.approx(36.0)
    assert half["battery"] == 75
    run(vacuum, 1800, dt=10)
    assert [e.name for e in vacuum.drain_events()] == ["finished"]
    assert vacuum.state()["status"] == "docked"
    low = vacuum.state()["battery"]
    run(vacuum, 3600, dt=60)
    assert vacuum.state()["battery"] > low + 30


async def test_vacuum_goes_home_on_a_low_battery_without_finishing() -> None:
    vacuum = SimRobotVacuum(floor_m2=500.0, battery=30.0)
    await vacuum.execute("action", "start", {})
    run(vacuum, 3600, dt=10)
    assert vacuum.state()["status"] == "docked"
    assert vacuum.drain_events() == []


async def test_vacuum_refusals() -> None:
    vacuum = SimRobotVacuum(battery=10.0)
    with pytest.raises(DeviceRefused, match="let it charge"):
        await vacuum.execute("action", "start", {})
    with pytest.raises(DeviceRefused, match="not cleaning"):
        await vacuum.execute("action", "pause", {})
    with pytest.raises(DeviceRefused, match="already docked"):
        await vacuum.execute("action", "return_home", {})


# -- wallbox ------------------------------------------------------------------------------


def _car_and_wallbox(soc: float = 60.0) -> tuple[SimCar, SimWallbox]:
    car = SimCar(outdoor(), lat=YIZHUANG_HOME[0], lon=YIZHUANG_HOME[1], soc=soc)
    wallbox = SimWallbox()
    wallbox.attach(car)
    return car, wallbox


def _step(car: SimCar, wallbox: SimWallbox, seconds: float, dt: float = 1.0) -> None:
    for _ in range(round(seconds / dt)):
        check_against_spec("car", car.step(dt))
        check_against_spec("wallbox", wallbox.step(dt))


async def test_wallbox_follows_the_car_plug() -> None:
    car, wallbox = _car_and_wallbox()
    _step(car, wallbox, 2)
    assert wallbox.status() == "available"
    car.plug_in(wallbox)
    _step(car, wallbox, 2)
    assert wallbox.status() == "preparing"
    assert [(e.name, e.fields) for e in wallbox.drain_events()] == [("plugged", {"plugged": True})]
    _step(car, wallbox, 5)
    assert wallbox.state().items() >= {"status": "charging", "power": 7040.0}.items()
    assert car.charging
    _step(car, wallbox, 3600, dt=20.0)
    assert wallbox.state()["energy"] == pytest.approx(7.04, abs=0.02)
    await wallbox.execute("set", "current_limit", {"value": 16})
    _step(car, wallbox, 2)
    assert wallbox.state()["power"] == 3520.0
    await wallbox.execute("action", "stop_charging", {})
    _step(car, wallbox, 2)
    assert wallbox.status() == "suspended_evse"
    assert not car.charging
    await wallbox.execute("action", "start_charging", {})
    _step(car, wallbox, 2)
    assert wallbox.status() == "charging"
    car.unplug()
    _step(car, wallbox, 1)
    assert wallbox.state().items() >= {"status": "available", "power": 0.0}.items()
    assert [e.fields for e in wallbox.drain_events()] == [{"plugged": False}]


async def test_wallbox_is_suspended_by_a_full_car() -> None:
    car, wallbox = _car_and_wallbox(soc=80.5)
    car.plug_in(wallbox)
    _step(car, wallbox, 10)
    assert wallbox.status() == "suspended_ev"


async def test_wallbox_refusals() -> None:
    car, wallbox = _car_and_wallbox()
    for action in ("start_charging", "stop_charging", "unlock_connector"):
        with pytest.raises(DeviceRefused, match="plug"):
            await wallbox.execute("action", action, {})
    car.plug_in(wallbox)
    _step(car, wallbox, 10)
    with pytest.raises(DeviceRefused, match="stop charging before"):
        await wallbox.execute("action", "unlock_connector", {})
    with pytest.raises(DeviceRefused, match="out of range"):
        await wallbox.execute("set", "current_limit", {"value": 40})
    await wallbox.execute("action", "stop_charging", {})
    _step(car, wallbox, 1)
    await wallbox.execute("action", "unlock_connector", {})
    assert (
        car.state()[
            "Vehicle.Powertrain.TractionBattery.Charging.ChargingPort.AnyPosition.IsChargingCableLocked"
        ]
        is False
    )


# -- phone --------------------------------------------------------------------------------


async def test_phone_presence_follows_where_it_is() -> None:
    phone = SimPhone(home_lat=39.7953, home_lon=116.5060)
    assert phone.step(0)["present"] is True
    phone.move_to(39.7858, 116.5610)
    assert phone.step(0).items() >= {"present": False, "latitude": 39.7858}.items()
    assert await phone.execute("action", "ring", {}) == {"ringing": True}


def test_phone_battery_drains_and_gets_charged() -> None:
    phone = SimPhone(home_lat=0.0, home_lon=0.0, battery=30.0)
    run(phone, 2 * 3600, dt=60)
    assert phone.state()["battery"] == 22
    run(phone, 3600, dt=60)  # reaches the low mark after half an hour, then charges
    assert phone.state()["battery"] > 45
