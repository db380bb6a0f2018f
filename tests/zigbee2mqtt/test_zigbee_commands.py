"""Commands to Zigbee devices: ``/set`` as Zigbee2MQTT reads it, acknowledged by the state
that shows them done (Zigbee2MQTT acknowledges nothing), failed when none does, never sent
past their expiry nor twice."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from zigbee_rig import BLIND, BULB, CONFIRM, PLUG, SWITCH, Bridge, config, listed, next_change

from carhome.connectors.zigbee2mqtt import Zigbee2MqttConnector
from carhome.hub import Command, CommandStatus, Home, Hub
from carhome.store.sqlite import SqliteStore
from carhome.testing import FakeClock
from mqtt.conftest import FAST, TIMEOUT, Mosquitto


async def submit(
    hub: Hub, device: str, kind: str, target: str, args: dict[str, Any] | None = None, ttl: float = 60
) -> Command:
    return await hub.submit("h1", device, kind, target, args, member="m", face="test", ttl=ttl)  # type: ignore[arg-type]


async def result(hub: Hub, command: Command) -> Command:
    return await hub.commands.wait(command.id, timeout=TIMEOUT)


async def test_a_set_is_published_and_acked_by_the_state_that_shows_it(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    await listed(bridge, zigbee)
    command = await submit(hub, BULB, "set", "brightness", {"value": 230})
    assert await bridge.next_set("bulb") == {"brightness": 230}
    assert command.status is CommandStatus.SENT
    bridge.recorded("bulb_after_set")  # {"state": "ON", "brightness": 230}, as Zigbee2MQTT answers it
    done = await result(hub, command)
    assert (done.status, done.result) == (CommandStatus.ACKED, {"brightness": 230})
    assert hub.value("h1", BULB, "state") is True


async def test_an_action_on_an_endpoint_goes_to_its_property(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    await listed(bridge, zigbee)
    command = await submit(hub, SWITCH, "action", "turn_on_left")
    assert await bridge.next_set("kitchen/wall_switch") == {"state_left": "ON"}
    bridge.publish("kitchen/wall_switch", {"state_left": "OFF", "state_right": "ON"})  # not yet
    bridge.publish("kitchen/wall_switch", {"state_left": "ON", "power": 40})
    assert (await result(hub, command)).result == {"state_left": True}


async def test_no_state_showing_it_done_fails_it_with_what_the_device_said(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector, clock: FakeClock
) -> None:
    await listed(bridge, zigbee)
    command = await submit(hub, BULB, "set", "brightness", {"value": 100})
    await bridge.next_set("bulb")
    changed = next_change(hub, BULB, "brightness")
    bridge.publish("bulb", {"brightness": 40})
    await asyncio.wait_for(changed, TIMEOUT)
    await clock.advance(CONFIRM)
    done = await result(hub, command)
    assert done.status is CommandStatus.FAILED
    assert done.error is not None
    assert "no state from bulb showed brightness = 100 within 10 s" in done.error
    assert "it last reported brightness = 40" in done.error


async def test_a_light_may_round_what_it_was_asked(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    await listed(bridge, zigbee)
    command = await submit(hub, BULB, "set", "brightness", {"value": 200})
    await bridge.next_set("bulb")
    bridge.publish("bulb", {"brightness": 199})  # within half a percent of 0..254
    assert (await result(hub, command)).status is CommandStatus.ACKED


async def test_toggle_stop_and_write_only_values(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    await listed(bridge, zigbee)
    toggle = await submit(hub, PLUG, "action", "toggle")
    assert await bridge.next_set("power_plug") == {"state": "TOGGLE"}
    bridge.recorded("plug_on")  # any report of the state confirms a toggle
    assert (await result(hub, toggle)).result == {"state": True}
    blink = await submit(hub, BULB, "set", "effect", {"value": "blink"})
    assert await bridge.next_set("bulb") == {"effect": "blink"}
    done = await result(hub, blink)  # never published back: acked once sent, said unconfirmed
    assert (done.status, done.result) == (
        CommandStatus.ACKED,
        {"sent": {"effect": "blink"}, "confirmed": False},
    )


async def test_a_cover_on_its_way_confirms_it(hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector) -> None:
    await listed(bridge, zigbee)
    bridge.recorded("blind_closed")
    opening = await submit(hub, BLIND, "action", "open")
    assert await bridge.next_set("bedroom/blind") == {"state": "OPEN"}
    bridge.recorded("blind_opening")  # position 12, state OPEN
    assert (await result(hub, opening)).result == {"state": "OPEN"}
    closing = await submit(hub, BLIND, "action", "close")
    assert await bridge.next_set("bedroom/blind") == {"state": "CLOSE"}
    bridge.publish("bedroom/blind", {"position": 8, "state": "OPEN"})  # on its way down
    assert (await result(hub, closing)).result == {"state": "OPEN", "moving": True}


async def test_nothing_is_sent_past_its_expiry_nor_twice(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector, clock: FakeClock
) -> None:
    await listed(bridge, zigbee)
    late = hub.commands.make(
        home="h1", device=PLUG, kind="action", target="turn_off", member="m", face="test", ttl=5
    )
    await clock.advance(5)
    await zigbee.deliver(late)  # the transport checks the expiry itself
    first = await submit(hub, PLUG, "action", "turn_on")
    await zigbee.deliver(first)  # delivered again (after a reconnect): not sent again
    second = await submit(hub, BULB, "action", "turn_off")
    # messages of one client arrive in order: had the others gone out, they would come first
    assert await bridge.next_set("power_plug") == {"state": "ON"}
    assert await bridge.next_set("bulb") == {"state": "OFF"}
    bridge.publish("power_plug", {"state": "OFF"})  # neither the late turn_off nor the turn_on
    bridge.publish("power_plug", {"state": "ON"})
    assert (await result(hub, first)).status is CommandStatus.ACKED
    assert zigbee.stats.expired == 1
    assert zigbee.stats.delivered == 2
    assert second.status is CommandStatus.SENT


async def test_a_command_sent_before_a_restart_is_waited_for_not_sent_again(
    tmp_path: Path, mosquitto: Mosquitto, bridge: Bridge, clock: FakeClock
) -> None:
    database = tmp_path / "carhome.db"
    async with Hub(store=SqliteStore(database), clock=clock) as hub:
        await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
        async with Zigbee2MqttConnector(hub, config(mosquitto.url), backoff=FAST) as zigbee:
            await listed(bridge, zigbee)
            command = await submit(hub, PLUG, "action", "turn_on")
            assert await bridge.next_set("power_plug") == {"state": "ON"}
            await hub.flush()
    async with Hub(store=SqliteStore(database), clock=clock) as hub:
        assert [c.id for c in hub.commands.pending()] == [command.id]
        async with Zigbee2MqttConnector(hub, config(mosquitto.url), backoff=FAST) as zigbee:
            await listed(bridge, zigbee)
            bridge.recorded("plug_on")
            done = await result(hub, command)
            assert done.status is CommandStatus.ACKED
            assert zigbee.stats.delivered == 0
