"""The official kuksa-client against carhome: what a vehicle app written for KUKSA does."""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio
import pytest
from kuksa.val.v2 import types_pb2 as types_v2
from kuksa.val.v2 import val_pb2 as val_v2
from kuksa_client.grpc import Datapoint, DataType, EntryType, VSSClientError
from kuksa_client.grpc.aio import VSSClient
from kuksa_rig import CAR, HOME

from carhome.connectors.kuksa import KuksaServer
from carhome.hub import Hub
from carhome.spec import vss
from carhome.testing import AckingDevice

SPEED = vss.SPEED
LIMIT = vss.CHARGE_LIMIT


async def test_server_info_names_carhome(client: VSSClient) -> None:
    info = await client.get_server_info()
    assert info is not None
    assert info.name == "carhome"


async def test_current_values_are_the_hubs(hub: Hub, client: VSSClient) -> None:
    hub.report(HOME, CAR, {SPEED: 42.5, vss.SOC: 81.0, vss.IS_MOVING: True})
    values = await client.get_current_values([SPEED, vss.SOC, vss.IS_MOVING, vss.ODOMETER])
    assert values[SPEED].value == 42.5
    assert values[vss.SOC].value == 81.0
    assert values[vss.IS_MOVING].value is True
    assert values[vss.ODOMETER] is None  # never reported
    assert values[SPEED].timestamp is not None
    assert values[SPEED].timestamp.timestamp() == hub.clock.time()


async def test_metadata_from_the_vss_catalog(client: VSSClient) -> None:
    meta = await client.get_metadata([LIMIT, SPEED, vss.START_STOP_CHARGING])
    assert meta[LIMIT].data_type is DataType.UINT8
    assert meta[LIMIT].entry_type is EntryType.ACTUATOR
    assert meta[LIMIT].unit == "percent"
    assert (meta[LIMIT].value_restriction.min, meta[LIMIT].value_restriction.max) == (0, 100)
    assert meta[SPEED].data_type is DataType.FLOAT
    assert meta[SPEED].entry_type is EntryType.SENSOR
    assert meta[vss.START_STOP_CHARGING].value_restriction.allowed_values == ["START", "STOP"]


async def test_branch_get_returns_every_signal_below(hub: Hub, client: VSSClient) -> None:
    hub.report(HOME, CAR, {vss.DOOR_LOCKED[0]: True})
    values = await client.get_current_values(["Vehicle.Cabin.Door.Row1.DriverSide"])
    assert set(values) == {
        vss.DOOR_LOCKED[0],
        vss.DOOR_OPEN[0],
        vss.WINDOW_POSITION[0],
    }
    assert values[vss.DOOR_LOCKED[0]].value is True


async def test_set_target_value_sends_a_set_command_as_the_member(
    client: VSSClient, car: AckingDevice
) -> None:
    await client.set_target_values({LIMIT: Datapoint(80)})
    [command] = car.received
    assert (command.kind, command.target, command.args) == ("set", LIMIT, {"value": 80})
    assert (command.member, command.face) == ("olga", "kuksa")
    targets = await client.get_target_values([LIMIT])
    assert targets[LIMIT].value == 80


async def test_float_targets_keep_their_decimal_value(client: VSSClient, car: AckingDevice) -> None:
    await client.set_target_values({vss.HVAC_SET_POINT: Datapoint(21.3)})
    assert car.received[0].args == {"value": 21.3}


async def test_door_lock_target_runs_the_lock_action(client: VSSClient, car: AckingDevice) -> None:
    await client.set_target_values({vss.DOOR_LOCKED[0]: Datapoint(False)})
    [command] = car.received
    assert (command.kind, command.target) == ("action", "unlock")


async def test_subscribe_gets_current_then_changes(hub: Hub, client: VSSClient) -> None:
    hub.report(HOME, CAR, {SPEED: 10.0})
    stream = client.subscribe_current_values([SPEED, vss.SOC])
    first = await anext(stream)
    assert first[SPEED].value == 10.0
    assert first[vss.SOC].value is None
    hub.report(HOME, CAR, {SPEED: 20.0, vss.ODOMETER: 5.0})  # the odometer is not subscribed
    hub.report(HOME, CAR, {vss.SOC: 55.0})
    seen: dict[str, object] = {}
    while len(seen) < 2:
        update = await anext(stream)
        seen.update({path: dp.value for path, dp in update.items()})
    assert seen == {SPEED: 20.0, vss.SOC: 55.0}
    await stream.aclose()


async def test_subscribe_to_a_branch_expands_it(hub: Hub, client: VSSClient) -> None:
    stream = client.subscribe_current_values(["Vehicle.Cabin.HVAC"])
    first = await anext(stream)
    assert set(first) == {vss.CABIN_TEMPERATURE, vss.HVAC_SET_POINT, vss.AC_ACTIVE}
    hub.report(HOME, CAR, {vss.CABIN_TEMPERATURE: 19.5})
    update = await anext(stream)
    assert update[vss.CABIN_TEMPERATURE].value == 19.5
    await stream.aclose()


async def test_unknown_path_is_not_found(client: VSSClient) -> None:
    with pytest.raises(VSSClientError) as caught:
        await client.get_current_values(["Vehicle.Speedo"])
    assert caught.value.error["code"] == 404
    assert "Vehicle.Speedo" in caught.value.error["message"]


async def test_unknown_path_subscription_is_not_found(client: VSSClient) -> None:
    with pytest.raises(VSSClientError) as caught:
        await anext(client.subscribe_current_values(["Vehicle.Warp.Drive"]))
    assert caught.value.error["code"] == grpc.StatusCode.NOT_FOUND.value[0]  # v2: a gRPC status
    assert "Vehicle.Warp.Drive" in caught.value.error["message"]


async def test_out_of_range_target_is_refused_and_nothing_sent(client: VSSClient, car: AckingDevice) -> None:
    with pytest.raises(VSSClientError) as caught:
        await client.set_target_values({LIMIT: Datapoint(150)})
    [error] = caught.value.errors
    assert error["path"] == LIMIT
    assert error["error"]["code"] == 400
    assert "out of range" in error["error"]["message"]
    assert car.received == []


async def test_a_sensor_cannot_be_actuated(client: VSSClient, car: AckingDevice) -> None:
    with pytest.raises(VSSClientError) as caught:
        await client.set_target_values({SPEED: Datapoint(50.0)})
    assert "not an actuator" in caught.value.errors[0]["error"]["message"]
    assert car.received == []


async def test_provider_publishes_current_values(hub: Hub, server: KuksaServer) -> None:
    async with VSSClient("127.0.0.1", server.port, token="t-feeder") as feeder:
        await feeder.set_current_values({SPEED: Datapoint(77.25), vss.IS_CHARGING: Datapoint(True)})
    state = hub.state(HOME, CAR)
    assert state[SPEED].value == 77.25
    assert state[vss.IS_CHARGING].value is True
    assert state[SPEED].source == "kuksa"


async def test_an_app_may_not_publish_values(hub: Hub, client: VSSClient) -> None:
    with pytest.raises(VSSClientError) as caught:
        await client.set_current_values({SPEED: Datapoint(300.0)})
    assert caught.value.error["code"] == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert "not a provider" in caught.value.error["message"]
    assert hub.value(HOME, CAR, SPEED) is None


async def test_no_token_is_unauthenticated(server: KuksaServer) -> None:
    async with VSSClient("127.0.0.1", server.port) as anonymous:
        with pytest.raises(VSSClientError) as caught:
            await anonymous.get_current_values([SPEED])
    assert caught.value.error["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert "Bearer" in caught.value.error["message"]


async def test_a_wrong_token_is_unauthenticated(server: KuksaServer, car: AckingDevice) -> None:
    async with VSSClient("127.0.0.1", server.port, token="t-forged") as forged:
        with pytest.raises(VSSClientError) as caught:
            await forged.set_target_values({LIMIT: Datapoint(60)})
    assert caught.value.error["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert car.received == []


async def test_offline_car_is_unavailable(hub: Hub, client: VSSClient, car: AckingDevice) -> None:
    hub.set_available(HOME, CAR, False)
    with pytest.raises(VSSClientError) as caught:
        await client.set_target_values({LIMIT: Datapoint(70)})
    error = caught.value.errors[0]["error"]
    assert error["code"] == 503
    assert "offline" in error["message"]
    assert car.received == []


# -- the spec's range, told and enforced on every write path -------------------------------
#
# The car's climate takes set points from 15 to 28 °C; VSS gives the signal no range. An app
# must learn the range from the metadata, and a value outside it must be refused to the app
# with INVALID_ARGUMENT on every call that writes it, never accepted and left to fail at the
# car. v2 Actuate and BatchActuate go through the official client's own v2 stub (it has no
# method for them), PublishValue through its set_current_values.

SET_POINT = vss.HVAC_SET_POINT


def _v2_set_point(value: float) -> Any:
    return val_v2.ActuateRequest(
        signal_id=types_v2.SignalID(path=SET_POINT), value=types_v2.Value(float=value)
    )


async def test_the_set_point_metadata_carries_the_specs_range(client: VSSClient) -> None:
    meta = await client.get_metadata([SET_POINT])  # v1 Get, metadata view
    assert (meta[SET_POINT].value_restriction.min, meta[SET_POINT].value_restriction.max) == (15.0, 28.0)
    listed = await client.client_stub_v2.ListMetadata(
        val_v2.ListMetadataRequest(root=SET_POINT), metadata=client.generate_metadata_header(None)
    )
    [v2] = listed.metadata
    assert (v2.min.float, v2.max.float) == (15.0, 28.0)
    # a bound that is only the datatype's own (uint16 capacity: 0 to 65,535) is not repeated
    capacity = (await client.get_metadata([vss.NET_CAPACITY]))[vss.NET_CAPACITY]
    assert capacity.value_restriction is None


async def test_an_out_of_range_set_point_is_refused_on_every_write_path(
    hub: Hub, server: KuksaServer, client: VSSClient, car: AckingDevice
) -> None:
    header = client.generate_metadata_header(None)
    refusals: dict[str, tuple[object, str]] = {}

    with pytest.raises(VSSClientError) as v1:
        await client.set_target_values({SET_POINT: Datapoint(99.0)})
    [entry] = v1.value.errors
    refusals["v1 Set"] = (entry["error"]["code"], entry["error"]["message"])

    with pytest.raises(grpc.aio.AioRpcError) as actuate:
        await client.client_stub_v2.Actuate(_v2_set_point(99.0), metadata=header)
    refusals["v2 Actuate"] = (actuate.value.code(), actuate.value.details() or "")

    batch = val_v2.BatchActuateRequest(actuate_requests=[_v2_set_point(22.0), _v2_set_point(99.0)])
    with pytest.raises(grpc.aio.AioRpcError) as batched:
        await client.client_stub_v2.BatchActuate(batch, metadata=header)
    refusals["v2 BatchActuate"] = (batched.value.code(), batched.value.details() or "")

    hub.report(HOME, CAR, {SET_POINT: 21.0})
    async with VSSClient("127.0.0.1", server.port, token="t-feeder") as feeder:
        with pytest.raises(VSSClientError) as published:
            await feeder.set_current_values({SET_POINT: Datapoint(99.0)})
    refusals["v2 PublishValue"] = (published.value.error["code"], published.value.error["message"])

    expected = {
        "v1 Set": 400,
        "v2 Actuate": grpc.StatusCode.INVALID_ARGUMENT,
        "v2 BatchActuate": grpc.StatusCode.INVALID_ARGUMENT,
        "v2 PublishValue": grpc.StatusCode.INVALID_ARGUMENT.value[0],
    }
    assert {call: code for call, (code, _) in refusals.items()} == expected
    for call, (_, message) in refusals.items():
        assert f"{SET_POINT}: 99.0 is out of range; allowed: float from 15 to 28 celsius" in message, call
    accepted = len(car.received) + (hub.value(HOME, CAR, SET_POINT) != 21.0)
    print(f"out-of-range set points accepted: {accepted} of {len(refusals)} write paths")
    assert accepted == 0  # the batch's good 22 °C went with its bad neighbour: nothing was sent

    await client.set_target_values({SET_POINT: Datapoint(28.0)})  # the edge is in range
    assert [c.args for c in car.received] == [{"value": 28.0}]
