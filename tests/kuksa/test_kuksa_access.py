"""Actuation over KUKSA passes carhome's access policy like every other face."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from kuksa_client.grpc import Datapoint, VSSClientError
from kuksa_client.grpc.aio import VSSClient
from kuksa_rig import CAR, HOME, TOKENS, policy

from carhome.connectors.kuksa import KuksaServer
from carhome.connectors.kuksa.proto import grpc_v2, types_v2, val_v2
from carhome.hub import Device, Home, Hub
from carhome.spec import vss
from carhome.store import MemoryStore
from carhome.testing import AckingDevice, FakeClock


@pytest.fixture
async def guarded(clock: FakeClock) -> AsyncIterator[tuple[KuksaServer, AckingDevice]]:
    """A hub whose commands pass the policy gatekeeper, serving its car over KUKSA."""
    async with Hub(store=MemoryStore(), clock=clock, gatekeeper=policy(clock)) as hub:
        await hub.add_home(Home(id=HOME, name="Yizhuang", lat=39.7953, lon=116.5060))
        await hub.add_device(Device(home=HOME, id=CAR, type="car"))
        car = AckingDevice(hub)
        hub.commands.attach("mqtt", car)
        async with KuksaServer(hub, home=HOME, device=CAR, port=0, authenticate=TOKENS.get) as server:
            yield server, car


async def test_owner_may_set_the_charge_limit(guarded: tuple[KuksaServer, AckingDevice]) -> None:
    server, car = guarded
    async with VSSClient("127.0.0.1", server.port, token="t-olga") as owner:
        await owner.set_target_values({vss.CHARGE_LIMIT: Datapoint(90)})
    assert [c.member for c in car.received] == ["olga"]


async def test_a_guest_may_not_actuate_through_kuksa(guarded: tuple[KuksaServer, AckingDevice]) -> None:
    server, car = guarded
    async with VSSClient("127.0.0.1", server.port, token="t-gina") as guest:
        # reading is fine; her grant covers the car, but the policy keeps guests off this face
        assert await guest.get_current_values([vss.SPEED]) == {vss.SPEED: None}
        with pytest.raises(VSSClientError) as caught:
            await guest.set_target_values({vss.CHARGE_LIMIT: Datapoint(90)})
    error = caught.value.errors[0]["error"]
    assert error["code"] == 403
    assert "gina may not" in error["message"]
    assert "kuksa" in error["message"]
    assert car.received == []


async def test_an_unsigned_door_command_is_refused_even_for_the_owner(
    guarded: tuple[KuksaServer, AckingDevice],
) -> None:
    server, car = guarded
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = grpc_v2.VALStub(channel)
        request = val_v2.ActuateRequest(
            signal_id=types_v2.SignalID(path=vss.DOOR_LOCKED[0]), value=types_v2.Value(bool=False)
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Actuate(request, metadata=(("authorization", "Bearer t-olga"),))
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "unsigned" in (caught.value.details() or "")
    assert car.received == []
