"""State in, commands out and acks back, through a real broker (each kind in turn)."""

from __future__ import annotations

import asyncio

import msgspec

from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Availability, CommandStatus, Hub
from carhome.mqtt import MqttDeviceClient
from carhome.mqtt.payloads import encode_command
from carhome.spec import vss
from carhome.testing import FakeClock

from .conftest import FAST, TIMEOUT, RawClient, Recorder, TcpProxy


async def test_state_reaches_hub_state(hub: Hub, purifier: MqttDeviceClient, changes) -> None:
    fan = changes("h1", "purifier", "fan_level")
    await purifier.publish_state({"on": True, "pm25": 35, "fan_level": 2}, ts=hub.clock.time() - 5)
    change = await asyncio.wait_for(fan, TIMEOUT)
    assert change.value == 2
    state = hub.state("h1", "purifier")
    assert {p: s.value for p, s in state.items()} == {"on": True, "pm25": 35, "fan_level": 2}
    assert state["pm25"].ts == hub.clock.time() - 5
    assert state["pm25"].source == "mqtt"


async def test_car_state_by_vss_path(
    hub: Hub, connector: MqttConnector, broker_url: str, recorder: Recorder, changes
) -> None:
    soc = changes("h1", "car", vss.SOC)
    async with MqttDeviceClient("h1", "car", broker_url, recorder, clock=hub.clock) as car:
        await car.publish_state({vss.SOC: 81.5})
        assert (await asyncio.wait_for(soc, TIMEOUT)).value == 81.5


async def test_command_round_trip(hub: Hub, purifier: MqttDeviceClient, recorder: Recorder) -> None:
    command = await hub.submit(
        "h1", "purifier", "set", "fan_level", {"value": 3}, member="alice", face="test"
    )
    done = await hub.commands.wait(command.id, timeout=TIMEOUT)
    assert done.status is CommandStatus.ACKED
    assert done.result == {"ran": "fan_level"}
    assert recorder.calls == [("set", "fan_level", {"value": 3})]

    action = await hub.submit("h1", "purifier", "action", "turn_on", member="alice", face="test")
    assert (await hub.commands.wait(action.id, timeout=TIMEOUT)).status is CommandStatus.ACKED
    assert recorder.calls[-1] == ("action", "turn_on", {})


async def test_refused_command_fails_with_the_reason(
    hub: Hub, purifier: MqttDeviceClient, recorder: Recorder
) -> None:
    recorder.refuse["turn_on"] = "the filter door is open"
    command = await hub.submit("h1", "purifier", "action", "turn_on", member="alice", face="test")
    done = await hub.commands.wait(command.id, timeout=TIMEOUT)
    assert done.status is CommandStatus.FAILED
    assert done.error == "the filter door is open"
    assert purifier.stats.failed == 1


async def test_command_past_expiry_is_never_executed(
    hub: Hub, clock: FakeClock, broker_url: str, purifier: MqttDeviceClient, recorder: Recorder
) -> None:
    async with RawClient(broker_url) as raw:
        await raw.subscribe("carhome/h1/purifier/ack")
        # The device runs commands one at a time: hold the first while the second expires.
        recorder.hold = asyncio.Event()
        first = await hub.submit("h1", "purifier", "action", "turn_on", member="a", face="test")
        await asyncio.wait_for(recorder.started.wait(), TIMEOUT)
        late = await hub.submit("h1", "purifier", "action", "turn_off", member="a", face="test", ttl=5)
        await clock.advance(6)
        assert (await hub.commands.wait(late.id, timeout=TIMEOUT)).status is CommandStatus.EXPIRED
        recorder.hold.set()
        acks = {}
        while len(acks) < 2:
            _, payload, _ = await raw.next("carhome/h1/purifier/ack")
            ack = msgspec.json.decode(payload)
            acks[ack["id"]] = ack
    assert acks[first.id]["status"] == "acked"
    assert acks[late.id]["status"] == "expired"
    assert [target for _, target, _ in recorder.calls] == ["turn_on"]
    assert purifier.stats.expired == 1


async def test_duplicate_delivery_is_executed_once(
    hub: Hub, broker_url: str, purifier: MqttDeviceClient, recorder: Recorder
) -> None:
    command = await hub.submit("h1", "purifier", "set", "on", {"value": True}, member="a", face="test")
    assert (await hub.commands.wait(command.id, timeout=TIMEOUT)).status is CommandStatus.ACKED
    async with RawClient(broker_url) as raw:
        await raw.subscribe("carhome/h1/purifier/ack")
        for _ in range(2):
            raw.publish("carhome/h1/purifier/cmd", encode_command(command), qos=1)
        for _ in range(2):  # the stored ack, sent again each time
            _, payload, _ = await raw.next("carhome/h1/purifier/ack")
            assert msgspec.json.decode(payload) == {
                "id": command.id,
                "status": "acked",
                "result": {"ran": "on"},
                "error": None,
            }
    assert recorder.calls == [("set", "on", {"value": True})]
    assert purifier.stats.duplicates == 2


async def test_last_will_marks_device_offline(
    hub: Hub, connector: MqttConnector, broker_url: str, recorder: Recorder
) -> None:
    seen: asyncio.Queue[bool] = asyncio.Queue()
    hub.bus.subscribe(lambda change: seen.put_nowait(change.online), kind=Availability)
    port = int(broker_url.rsplit(":", 1)[1])
    async with (
        TcpProxy(port) as proxy,
        MqttDeviceClient("h1", "purifier", proxy.url, recorder, clock=hub.clock),
    ):
        assert await asyncio.wait_for(seen.get(), TIMEOUT) is True
        assert hub.available("h1", "purifier") is True
        await proxy.cut()  # no DISCONNECT: the broker publishes the will
        assert await asyncio.wait_for(seen.get(), TIMEOUT) is False
        assert hub.available("h1", "purifier") is False


async def test_clean_close_says_offline(
    hub: Hub, connector: MqttConnector, broker_url: str, recorder: Recorder
) -> None:
    seen: asyncio.Queue[bool] = asyncio.Queue()
    hub.bus.subscribe(lambda change: seen.put_nowait(change.online), kind=Availability)
    async with MqttDeviceClient("h1", "purifier", broker_url, recorder, clock=hub.clock):
        assert await asyncio.wait_for(seen.get(), TIMEOUT) is True
    assert await asyncio.wait_for(seen.get(), TIMEOUT) is False


HUB_STATUS = "carhome-hub/home-hub/status"


async def test_hub_status_is_retained_and_its_will_says_offline(hub: Hub, broker_url: str) -> None:
    port = int(broker_url.rsplit(":", 1)[1])
    async with RawClient(broker_url) as raw:
        await raw.subscribe("carhome-hub/+/status")
        async with TcpProxy(port) as proxy, MqttConnector(hub, proxy.url, hub_id="home-hub", backoff=FAST):
            assert await raw.next(HUB_STATUS) == (HUB_STATUS, b"online", False)
            await proxy.cut()
            assert await raw.next(HUB_STATUS) == (HUB_STATUS, b"offline", False)
    async with RawClient(broker_url) as late:
        await late.subscribe("carhome-hub/+/status")
        assert await late.next(HUB_STATUS) == (HUB_STATUS, b"offline", True)
