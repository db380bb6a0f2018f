"""Discovery by hello handshake, and the simulator checked against python-miio's own client."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc

import pytest
from miio_rig import TOKEN, on_the_miio_port

from carhome.connectors.miio import discover, identify
from carhome.testing import FakeClock
from carhome.testing.miio_device import SimulatedMiioDevice, air_purifier_3h, light_lamp22


async def test_discovery_finds_the_device_id_and_identify_its_model(
    clock: FakeClock, purifier: SimulatedMiioDevice
) -> None:
    [found] = await discover(["127.0.0.1"], clock=clock, port=purifier.port)
    assert (found.host, found.port, found.device_id) == ("127.0.0.1", purifier.port, 0x0A1B2C3D)
    assert found.token is None  # current firmware never reveals it
    info = await identify(found.host, TOKEN, clock=clock, port=found.port)
    assert (info.model, info.device_id) == ("zhimi.airpurifier.mb3", 0x0A1B2C3D)


async def test_discovery_reports_a_token_only_when_the_device_reveals_it(clock: FakeClock) -> None:
    async with light_lamp22(token=TOKEN, device_id=9, clock=clock, reveal_token=True) as sim:
        [found] = await discover(["127.0.0.1"], clock=clock, port=sim.port)
    assert found.token == TOKEN
    assert TOKEN not in repr(found)


async def test_discovery_of_a_silent_address_ends_at_its_timeout(
    clock: FakeClock, purifier: SimulatedMiioDevice
) -> None:
    purifier.silent = True
    search = asyncio.ensure_future(discover(["127.0.0.1"], clock=clock, port=purifier.port, timeout=3))
    await clock.advance(3)  # its timeout, on the fake clock
    assert search.done()
    assert search.result() == []
    assert purifier.hellos == 0


# python-miio's synchronous client opens a socket per request and never closes it.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_python_miio_own_client_talks_to_the_simulator(clock: FakeClock) -> None:
    # imported here, after carhome's connector has imported python-miio with its
    # deprecation warning silenced
    from miio.miot_device import MiotDevice  # noqa: PLC0415

    sim = await on_the_miio_port(air_purifier_3h, clock)
    try:
        # one client: a device answers a request id it has seen from its cache
        miot = MiotDevice(
            sim.host, TOKEN, timeout=2, model=sim.model, mapping={"mode": {"siid": 2, "piid": 5}}
        )
        info = await asyncio.to_thread(miot.send, "miIO.info")
        written = await asyncio.to_thread(miot.set_property, "mode", 2)
        read = await asyncio.to_thread(miot.get_property_by, 2, 5)
    finally:
        await sim.stop()
        gc.collect()  # its leaked sockets are reported here, under this test's filter
    assert info["model"] == "zhimi.airpurifier.mb3"
    assert written == [{"did": "mode", "siid": 2, "piid": 5, "code": 0}]
    assert read == [{"did": "2-5", "siid": 2, "piid": 5, "code": 0, "value": 2}]
    assert sim.refused == 0


async def test_the_simulator_drops_packets_that_are_not_genuine(purifier: SimulatedMiioDevice) -> None:
    # python-miio's codec builds the genuine packet; each broken copy must be dropped unanswered.
    from miio.protocol import Message  # noqa: PLC0415 - imported quietly by carhome's connector

    header = {"length": 0, "unknown": 0, "device_id": b"\x0a\x1b\x2c\x3d", "ts": dt.datetime(1970, 1, 1)}
    request = {"id": 7, "method": "miIO.info", "params": []}
    packet = Message.build(
        {"data": {"value": request}, "header": {"value": header}, "checksum": 0}, token=bytes.fromhex(TOKEN)
    )
    flipped_checksum = packet[:20] + bytes([packet[20] ^ 1]) + packet[21:]
    flipped_payload = packet[:-1] + bytes([packet[-1] ^ 1])
    wrong_length = packet[:2] + (len(packet) + 16).to_bytes(2, "big") + packet[4:]
    for broken in (flipped_checksum, flipped_payload, wrong_length, b"\x21\x31", b"hello" * 8):
        assert purifier.handle(broken) is None
    assert purifier.refused == 5
    assert purifier.executed == []
    assert purifier.handle(packet) is not None  # the genuine one is answered
    assert [r["method"] for r in purifier.executed] == ["miIO.info"]
