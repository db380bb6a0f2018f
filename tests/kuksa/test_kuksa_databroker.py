"""The databroker connector: a car's signals from a KUKSA databroker into the hub.

carhome's own ``KuksaServer`` stands in for the in-vehicle databroker: a second hub plays
the car's side, and the connector on the home hub subscribes to it over real gRPC.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from kuksa_rig import CAR, HOME, TOKENS

from carhome.connectors.kuksa import KuksaDatabrokerConnector, KuksaServer
from carhome.connectors.kuksa.databroker import parse_target
from carhome.errors import ConfigError, SpecError
from carhome.hub import Change, Device, Home, Hub
from carhome.mqtt import Backoff
from carhome.spec import SPECS, vss
from carhome.spec.devices import CAR as CAR_SPEC
from carhome.store import MemoryStore
from carhome.testing import FakeClock

BACKOFF = Backoff(first=1.0, most=4.0, jitter=0.0)


async def vehicle_hub(clock: FakeClock, *, signals: tuple[str, ...] | None = None) -> Hub:
    """The car's side; with ``signals``, a car whose databroker has only those."""
    specs = dict(SPECS)
    if signals is not None:
        specs["car"] = replace(CAR_SPEC, properties={p: CAR_SPEC.properties[p] for p in signals})
    hub = Hub(store=MemoryStore(), clock=clock, specs=specs)
    await hub.__aenter__()
    await hub.add_home(Home(id="vehicle", name="In the car", lat=0.0, lon=0.0))
    await hub.add_device(Device(home="vehicle", id="self", type="car"))
    return hub


@pytest.fixture
async def broker_side(clock: FakeClock) -> AsyncIterator[Hub]:
    hub = await vehicle_hub(clock)
    yield hub
    await hub.__aexit__(None, None, None)


def expect(hub: Hub, prop: str, value: object) -> asyncio.Future[Change]:
    """A future for the change of ``prop`` to ``value`` on the home hub's car."""
    future: asyncio.Future[Change] = asyncio.get_running_loop().create_future()

    def seen(change: Change) -> None:
        if change.value == value and not future.done():
            future.set_result(change)
            sub.cancel()

    sub = hub.bus.subscribe(seen, home=HOME, device=CAR, name=prop)
    return future


async def arrived(future: asyncio.Future[Change]) -> Change:
    # a guard against hanging, not a timing assertion
    return await asyncio.wait_for(future, 30)


def databroker(hub: Hub, port: int = 0) -> KuksaServer:
    return KuksaServer(hub, home="vehicle", device="self", port=port, authenticate=TOKENS.get)


async def test_signals_flow_into_the_hub(hub: Hub, broker_side: Hub) -> None:
    broker_side.report("vehicle", "self", {vss.SOC: 70.0})
    async with databroker(broker_side) as server:
        connector = KuksaDatabrokerConnector(
            hub, f"grpc://{server.address}", home=HOME, device=CAR, paths=[vss.SOC, vss.SPEED], token="t-olga"
        )
        async with connector:
            await connector.wait_connected()
            assert hub.available(HOME, CAR) is True
            assert hub.value(HOME, CAR, vss.SOC) == 70.0  # the current value comes first
            speed = expect(hub, vss.SPEED, 31.5)
            broker_side.report("vehicle", "self", {vss.SPEED: 31.5, vss.ODOMETER: 9.0})
            assert (await arrived(speed)).source == "kuksa-databroker"
    assert hub.value(HOME, CAR, vss.ODOMETER) is None  # not followed


async def test_reconnects_with_backoff_after_the_databroker_restarts(
    hub: Hub, broker_side: Hub, clock: FakeClock
) -> None:
    async with databroker(broker_side) as server:
        port = server.port
        connector = KuksaDatabrokerConnector(
            hub, server.address, home=HOME, device=CAR, paths=[vss.SOC], token="t-olga", backoff=BACKOFF
        )
        await connector.__aenter__()
        await connector.wait_connected()
    try:
        await connector.wait_connected(False)
        assert hub.available(HOME, CAR) is False
        attempts = connector.attempts
        async with databroker(broker_side, port):
            broker_side.report("vehicle", "self", {vss.SOC: 42.0})
            # retries wait on the hub's clock: each is passed as soon as the connector waits it
            await clock.jump_through(connector.wait_connected(), horizon=BACKOFF.most)
            assert connector.attempts > attempts
            assert hub.value(HOME, CAR, vss.SOC) == 42.0
            assert hub.available(HOME, CAR) is True
    finally:
        await connector.__aexit__(None, None, None)


async def test_signals_the_databroker_lacks_are_skipped(hub: Hub, clock: FakeClock) -> None:
    small = await vehicle_hub(clock, signals=(vss.SPEED,))
    try:
        async with databroker(small) as server:
            connector = KuksaDatabrokerConnector(
                hub,
                server.address,
                home=HOME,
                device=CAR,
                paths=[vss.SPEED, vss.SOC],
                token="t-olga",
                backoff=BACKOFF,
            )
            async with connector:
                await clock.jump_through(connector.wait_connected(), horizon=BACKOFF.most)
                assert connector.missing == {vss.SOC}
                speed = expect(hub, vss.SPEED, 12.0)
                small.report("vehicle", "self", {vss.SPEED: 12.0})
                await arrived(speed)
    finally:
        await small.__aexit__(None, None, None)


def test_unknown_signal_is_a_spec_error(hub: Hub) -> None:
    with pytest.raises(SpecError, match=r"Vehicle\.Nope"):
        KuksaDatabrokerConnector(hub, "127.0.0.1:55555", home=HOME, device=CAR, paths=["Vehicle.Nope"])


def test_only_cars_are_fed(hub: Hub) -> None:
    with pytest.raises(ConfigError, match="air_purifier"):
        KuksaDatabrokerConnector(hub, "127.0.0.1:55555", home=HOME, device="purifier")


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("grpc://127.0.0.1:55555", "127.0.0.1:55555"),
        ("localhost:1234", "localhost:1234"),
        ("grpc://[::1]:5", "[::1]:5"),
    ],
)
def test_databroker_urls(url: str, target: str) -> None:
    assert parse_target(url) == target


@pytest.mark.parametrize("url", ["grpcs://car:55555", "grpc://car", "grpc://car:1/path", "http://car:1"])
def test_bad_databroker_urls(url: str) -> None:
    with pytest.raises(ConfigError, match="databroker URL"):
        parse_target(url)
