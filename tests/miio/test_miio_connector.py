"""The miIO connector against simulated devices on loopback UDP, with a real hub."""

from __future__ import annotations

import pytest
from miio_rig import HOME, OTHER_TOKEN, TOKEN, advance_until

from availability_rig import Availability
from carhome.connectors.miio import MiioConnector, MiioDevice
from carhome.errors import ConfigError
from carhome.hub import Command, CommandStatus, Hub
from carhome.testing import FakeClock
from carhome.testing.miio_device import SimulatedMiioDevice, in_range, light_lamp22


def _device(sim: SimulatedMiioDevice, device: str, *, token: str = TOKEN) -> MiioDevice:
    return MiioDevice(home=HOME, device=device, host=sim.host, port=sim.port, token=token, model=sim.model)


async def _run(hub: Hub, command: Command) -> Command:
    return await hub.commands.wait(command.id)


async def test_state_reaches_the_hub_converted(
    miio_hub: Hub, purifier: SimulatedMiioDevice, availability: Availability
) -> None:
    async with MiioConnector(miio_hub, [_device(purifier, "purifier")], poll_interval=30):
        await availability.wait("purifier", online=True)
    state = miio_hub.state(HOME, "purifier")
    assert {p: s.value for p, s in state.items()} == {
        "on": False,
        "fan_level": 1,
        "mode": "auto",  # MIoT mode 0
        "pm25": 35,
        "humidity": 41,
        "filter_life": 87,
    }
    assert {s.source for s in state.values()} == {"miio"}
    assert purifier.hellos == 1


async def test_polls_again_each_interval(
    miio_hub: Hub, clock: FakeClock, purifier: SimulatedMiioDevice, availability: Availability
) -> None:
    async with MiioConnector(miio_hub, [_device(purifier, "purifier")], poll_interval=30) as connector:
        await availability.wait("purifier", online=True)
        purifier.properties[(3, 6)].value = 12
        purifier.properties[(2, 5)].value = 2
        await advance_until(clock, lambda: miio_hub.value(HOME, "purifier", "pm25") == 12)
        assert miio_hub.value(HOME, "purifier", "mode") == "favorite"
        assert connector.stats.polls == 2


async def test_set_command_changes_the_device_and_is_acked(
    miio_hub: Hub, purifier: SimulatedMiioDevice, availability: Availability
) -> None:
    async with MiioConnector(miio_hub, [_device(purifier, "purifier")]):
        await availability.wait("purifier", online=True)
        command = await miio_hub.submit(
            HOME, "purifier", "set", "mode", {"value": "sleep"}, member="alice", face="test"
        )
        done = await _run(miio_hub, command)
    assert done.status is CommandStatus.ACKED
    assert purifier.value(2, 5) == 1  # sleep is MIoT mode 1
    assert miio_hub.value(HOME, "purifier", "mode") == "sleep"
    [write] = [r for r in purifier.executed if r["method"] == "set_properties"]
    assert write["params"] == [{"did": "2-5", "siid": 2, "piid": 5, "value": 1}]


async def test_switch_actions_write_and_toggle_the_power(
    miio_hub: Hub, purifier: SimulatedMiioDevice, availability: Availability
) -> None:
    async with MiioConnector(miio_hub, [_device(purifier, "purifier")]):
        await availability.wait("purifier", online=True)
        on = await _run(
            miio_hub, await miio_hub.submit(HOME, "purifier", "action", "turn_on", member="a", face="t")
        )
        assert (on.status, purifier.value(2, 2)) == (CommandStatus.ACKED, True)
        purifier.properties[(2, 2)].value = False  # switched off by hand: the hub does not know yet
        toggled = await _run(
            miio_hub, await miio_hub.submit(HOME, "purifier", "action", "toggle", member="a", face="t")
        )
    assert toggled.status is CommandStatus.ACKED
    assert purifier.value(2, 2) is True  # toggled from what the device said, not from the hub's copy
    assert miio_hub.value(HOME, "purifier", "on") is True


async def test_a_device_error_code_becomes_a_failed_ack_with_the_reason(
    miio_hub: Hub, purifier: SimulatedMiioDevice, availability: Availability
) -> None:
    purifier.fail_writes[(2, 4)] = -4004
    async with MiioConnector(miio_hub, [_device(purifier, "purifier")]):
        await availability.wait("purifier", online=True)
        done = await _run(
            miio_hub,
            await miio_hub.submit(HOME, "purifier", "set", "fan_level", {"value": 3}, member="a", face="t"),
        )
    assert done.status is CommandStatus.FAILED
    assert done.error == "the device refused fan_level: MIoT code -4004: the device failed to carry it out"
    assert purifier.value(2, 4) == 1
    assert miio_hub.value(HOME, "purifier", "fan_level") == 1


async def test_a_value_the_light_refuses_fails_and_one_it_takes_is_acked(
    miio_hub: Hub, clock: FakeClock, availability: Availability
) -> None:
    # This lamp's colour temperature ends at 5000 K, narrower than carhome's light spec.
    sim = light_lamp22(token=TOKEN, device_id=7, clock=clock)
    sim.properties[(2, 3)].valid = in_range(2700, 5000)
    async with sim, MiioConnector(miio_hub, [_device(sim, "light")]):
        await availability.wait("light", online=True)
        assert miio_hub.value(HOME, "light", "brightness") == 60
        refused = await _run(
            miio_hub,
            await miio_hub.submit(
                HOME, "light", "set", "color_temperature", {"value": 6000}, member="a", face="t"
            ),
        )
        taken = await _run(
            miio_hub,
            await miio_hub.submit(HOME, "light", "set", "brightness", {"value": 80}, member="a", face="t"),
        )
    assert refused.status is CommandStatus.FAILED
    assert refused.error is not None
    assert "MIoT code -4005: the device does not accept this value" in refused.error
    assert sim.value(2, 3) == 4000
    assert taken.status is CommandStatus.ACKED
    assert sim.value(2, 2) == 80


async def test_vacuum_actions_run_miot_actions_and_refusals_fail(
    miio_hub: Hub, vacuum: SimulatedMiioDevice, availability: Availability
) -> None:
    async with MiioConnector(miio_hub, [_device(vacuum, "vacuum")]) as connector:
        await availability.wait("vacuum", online=True)
        assert miio_hub.value(HOME, "vacuum", "status") == "docked"  # MIoT 6, charging
        started = await _run(
            miio_hub, await miio_hub.submit(HOME, "vacuum", "action", "start", member="a", face="t")
        )
        assert started.status is CommandStatus.ACKED
        assert vacuum.value(3, 2) == 1
        await connector.poll(HOME, "vacuum")
        assert miio_hub.value(HOME, "vacuum", "status") == "cleaning"
        home = await _run(
            miio_hub, await miio_hub.submit(HOME, "vacuum", "action", "return_home", member="a", face="t")
        )
        assert home.status is CommandStatus.ACKED
        vacuum.properties[(2, 1)].value = 5  # too low to start again
        low = await _run(
            miio_hub, await miio_hub.submit(HOME, "vacuum", "action", "start", member="a", face="t")
        )
    assert low.status is CommandStatus.FAILED
    assert low.error == "the device refused start: MIoT code -4004: the device failed to carry it out"
    actions = [(r["params"]["siid"], r["params"]["aiid"]) for r in vacuum.executed if r["method"] == "action"]
    assert actions == [(3, 1), (2, 1), (3, 1)]


async def test_a_wrong_token_gives_a_clear_error_and_the_device_offline(
    miio_hub: Hub, clock: FakeClock, purifier: SimulatedMiioDevice, availability: Availability
) -> None:
    device = _device(purifier, "purifier", token=OTHER_TOKEN)
    async with MiioConnector(miio_hub, [device], timeout=5) as connector:
        await purifier.refused_seen.wait()
        await advance_until(clock, lambda: availability.last("purifier") is False)
        error = connector.last_error(HOME, "purifier")
    assert miio_hub.available(HOME, "purifier") is False
    assert error is not None
    assert "the token is probably wrong" in error
    assert purifier.hellos >= 1  # it answers the hello, which needs no token
    assert purifier.executed == []
    assert miio_hub.state(HOME, "purifier") == {}


async def test_an_unreachable_device_goes_offline_and_comes_back(
    miio_hub: Hub, clock: FakeClock, purifier: SimulatedMiioDevice, availability: Availability
) -> None:
    async with MiioConnector(miio_hub, [_device(purifier, "purifier")], poll_interval=30) as connector:
        await availability.wait("purifier", online=True)
        await purifier.stop()
        assert await connector.poll(HOME, "purifier") is False
        assert miio_hub.available(HOME, "purifier") is False
        error = connector.last_error(HOME, "purifier")
        assert error is not None
        assert "refused" in error or "no answer" in error
        await purifier.start()
        await advance_until(clock, lambda: availability.last("purifier") is True)
    assert availability.seen == [("purifier", True), ("purifier", False), ("purifier", True)]


async def test_a_silent_device_is_offline_after_the_timeout(
    miio_hub: Hub, clock: FakeClock, purifier: SimulatedMiioDevice, availability: Availability
) -> None:
    purifier.silent = True
    async with MiioConnector(miio_hub, [_device(purifier, "purifier")], timeout=5, attempts=2) as connector:
        await advance_until(clock, lambda: availability.last("purifier") is False)
        error = connector.last_error(HOME, "purifier")
    assert error is not None
    assert error.startswith("no answer to the miIO hello on UDP port")


async def test_an_expired_command_is_never_sent_again(
    miio_hub: Hub, clock: FakeClock, purifier: SimulatedMiioDevice, availability: Availability
) -> None:
    async with MiioConnector(miio_hub, [_device(purifier, "purifier")], timeout=5, attempts=3) as connector:
        await availability.wait("purifier", online=True)
        purifier.silent = True  # the first send is lost on the way
        command = await miio_hub.submit(
            HOME, "purifier", "set", "on", {"value": True}, member="a", face="t", ttl=3
        )
        await advance_until(clock, lambda: connector.stats.expired == 1)
        purifier.silent = False
        await connector.poll(HOME, "purifier")  # the device is back: nothing late reaches it
        await miio_hub.commands.drain()
    assert command.status is CommandStatus.EXPIRED
    assert not [r for r in purifier.executed if r["method"] == "set_properties"]
    assert purifier.value(2, 2) is False
    assert connector.stats.acked == 0


async def test_a_command_expired_while_queued_behind_a_slow_poll_is_never_executed(
    miio_hub: Hub, clock: FakeClock, purifier: SimulatedMiioDevice, availability: Availability
) -> None:
    async with MiioConnector(miio_hub, [_device(purifier, "purifier")], timeout=5) as connector:
        await availability.wait("purifier", online=True)
        purifier.silent = True
        await clock.advance(30)  # the next poll starts and waits on the silent device
        command = await miio_hub.submit(
            HOME, "purifier", "set", "mode", {"value": "favorite"}, member="a", face="t", ttl=2
        )
        purifier.silent = False
        await advance_until(clock, lambda: connector.stats.expired == 1)
    assert command.status is CommandStatus.EXPIRED
    assert not [r for r in purifier.executed if r["method"] == "set_properties"]


async def test_a_command_delivered_twice_runs_once(
    miio_hub: Hub, purifier: SimulatedMiioDevice, availability: Availability
) -> None:
    async with MiioConnector(miio_hub, [_device(purifier, "purifier")]) as connector:
        await availability.wait("purifier", online=True)
        command = await miio_hub.submit(HOME, "purifier", "action", "toggle", member="a", face="t")
        await connector.deliver(command)  # a redelivery while it runs
        done = await _run(miio_hub, command)
        await connector.deliver(command)  # and one after it finished
        await miio_hub.commands.drain()
    assert done.status is CommandStatus.ACKED
    assert len([r for r in purifier.executed if r["method"] == "set_properties"]) == 1
    assert purifier.value(2, 2) is True


async def test_devices_it_cannot_serve_are_refused_with_what_to_do(
    miio_hub: Hub, purifier: SimulatedMiioDevice
) -> None:
    with pytest.raises(ConfigError, match="has no device 'nope'"):
        async with MiioConnector(miio_hub, [_device(purifier, "nope")]):
            pass
    lamp = MiioDevice(home=HOME, device="lamp", host="127.0.0.1", token=TOKEN, model="yeelink.light.lamp22")
    with pytest.raises(ConfigError, match="give it `connector: miio`"):
        async with MiioConnector(miio_hub, [lamp]):
            pass
    with pytest.raises(ConfigError, match="is a air_purifier, but the hub has a light"):
        async with MiioConnector(miio_hub, [_device(purifier, "light")]):
            pass
    with pytest.raises(ConfigError, match="32 hexadecimal digits"):
        MiioDevice(home=HOME, device="light", host="127.0.0.1", token="abc", model="yeelink.light.lamp22")
    with pytest.raises(ConfigError, match="mapped models: dreame"):
        MiioDevice(home=HOME, device="light", host="127.0.0.1", token=TOKEN, model="yeelink.light.ceiling1")


def test_a_device_never_shows_its_token() -> None:
    device = MiioDevice(
        home=HOME, device="light", host="127.0.0.1", token=TOKEN, model="yeelink.light.lamp22"
    )
    assert TOKEN not in repr(device)
