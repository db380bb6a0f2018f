"""A device asked to resend: its status and every property again, each with its own time."""

from __future__ import annotations

import msgspec

from carhome.mqtt import MqttDeviceClient
from carhome.mqtt.payloads import encode_resend
from carhome.testing import FakeClock

from .conftest import FAST, RawClient, Recorder, TcpProxy

STATE = "carhome/h1/purifier/state"
STATUS = "carhome/h1/purifier/status"
RESEND = "carhome/h1/purifier/resend"


async def test_a_resend_ask_gets_the_status_and_every_property_with_its_own_time(
    broker_url: str, recorder: Recorder
) -> None:
    clock = FakeClock()
    async with RawClient(broker_url) as hub:
        resent = await _asked_to_resend(hub, broker_url, recorder, clock)
        # the device's goodbye, once it has closed: nothing came between the answer and it
        assert (await hub.next(STATUS))[1] == b"offline"
        after = hub.rest()
    assert resent == [
        {"humidity": 40, "ts": 100.0},
        {"pm25": 12, "ts": 200.0},
        {"mode": "auto", "ts": clock.time()},
    ]
    assert after == []  # nothing more than the asked, then its goodbye


async def _asked_to_resend(
    hub: RawClient, broker_url: str, recorder: Recorder, clock: FakeClock
) -> list[object]:
    async with MqttDeviceClient("h1", "purifier", broker_url, recorder, clock=clock, backoff=FAST) as device:
        await hub.subscribe(STATE)
        await hub.subscribe(STATUS)
        assert (await hub.next(STATUS))[1] == b"online"
        await device.publish_state({"pm25": 10, "humidity": 40}, ts=100.0)
        await device.publish_state({"pm25": 12}, ts=200.0, qos=1)
        await device.publish_state({"mode": "auto"})  # no ts: the device's time now
        # QoS 0 and QoS 1 may pass each other
        originals = sorted([(await hub.next(STATE))[1] for _ in range(3)])
        assert originals == sorted(
            [b'{"pm25":10,"humidity":40,"ts":100.0}', b'{"pm25":12,"ts":200.0}', b'{"mode":"auto"}']
        )

        hub.publish(RESEND, b"[", qos=1)  # malformed: counted, not answered
        hub.publish(RESEND, encode_resend("test"), qos=1)
        assert (await hub.next(STATUS))[1] == b"online"
        resent: list[object] = [msgspec.json.decode((await hub.next(STATE))[1]) for _ in range(3)]
    assert device.stats.resends == 1
    assert device.stats.malformed == 1
    return resent


async def test_a_device_back_after_a_lost_link_says_its_state_again(
    broker_url: str, recorder: Recorder
) -> None:
    """A QoS 1 report not PUBACKed when the link broke went with the old session: the device
    says its state again once it is back."""
    clock = FakeClock()
    port = int(broker_url.rsplit(":", 1)[1])
    async with (
        RawClient(broker_url) as hub,
        TcpProxy(port) as proxy,
        MqttDeviceClient("h1", "purifier", proxy.url, recorder, clock=clock, backoff=FAST) as device,
    ):
        await hub.subscribe(STATE)
        await device.publish_state({"pm25": 10}, ts=100.0, qos=1)
        assert (await hub.next(STATE))[1] == b'{"pm25":10,"ts":100.0}'
        await proxy.cut()
        await proxy.__aenter__()  # listening again: the device comes back after its backoff
        again = await clock.jump_through(hub.next(STATE), horizon=1)
    assert again[1] == b'{"pm25":10,"ts":100.0}'
    assert device.stats.resends == 0  # nobody asked
