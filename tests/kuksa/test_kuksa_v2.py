"""kuksa.val.v2 calls through the generated stubs: the ones kuksa-client has no method for."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from kuksa_rig import CAR, HOME, OWNER

from carhome.connectors.kuksa import KuksaServer
from carhome.connectors.kuksa.proto import types_v2, val_v2
from carhome.hub import Hub
from carhome.spec import vss
from carhome.testing import AckingDevice


def path(p: str) -> Any:
    return types_v2.SignalID(path=p)


def actuate(p: str, **value: Any) -> Any:
    return val_v2.ActuateRequest(signal_id=path(p), value=types_v2.Value(**value))


async def status_of(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), caught.value.details() or ""


async def test_get_value_and_values(hub: Hub, stub: Any) -> None:
    hub.report(HOME, CAR, {vss.SOC: 64.0, vss.RANGE: 250_000})
    one = await stub.GetValue(val_v2.GetValueRequest(signal_id=path(vss.SOC)), metadata=OWNER)
    assert one.data_point.value.float == 64.0
    many = await stub.GetValues(
        val_v2.GetValuesRequest(signal_ids=[path(vss.RANGE), path(vss.SPEED)]), metadata=OWNER
    )
    assert many.data_points[0].value.uint32 == 250_000
    assert many.data_points[1].value.WhichOneof("typed_value") is None  # not reported yet


async def test_list_metadata_gives_ids_that_address_signals(hub: Hub, stub: Any) -> None:
    listed = await stub.ListMetadata(val_v2.ListMetadataRequest(root="Vehicle.**.IsLocked"), metadata=OWNER)
    assert {m.path for m in listed.metadata} == {*vss.DOOR_LOCKED, vss.TRUNK_LOCKED}
    first = next(m for m in listed.metadata if m.path == vss.DOOR_LOCKED[0])
    assert first.entry_type == types_v2.ENTRY_TYPE_ACTUATOR
    assert first.data_type == types_v2.DATA_TYPE_BOOLEAN
    hub.report(HOME, CAR, {vss.DOOR_LOCKED[0]: True})
    by_id = await stub.GetValue(
        val_v2.GetValueRequest(signal_id=types_v2.SignalID(id=first.id)), metadata=OWNER
    )
    assert by_id.data_point.value.bool is True


async def test_list_metadata_of_everything_has_no_derived_properties(stub: Any) -> None:
    listed = await stub.ListMetadata(val_v2.ListMetadataRequest(root="Vehicle"), metadata=OWNER)
    assert {m.path for m in listed.metadata} == {s.path for s in vss.CATALOG}
    limit = next(m for m in listed.metadata if m.path == vss.CHARGE_LIMIT)
    assert (limit.min.uint32, limit.max.uint32) == (0, 100)


async def test_actuate_and_batch_actuate(stub: Any, car: AckingDevice) -> None:
    await stub.Actuate(actuate(vss.WINDOW_POSITION[0], uint32=30), metadata=OWNER)
    batch = val_v2.BatchActuateRequest(
        actuate_requests=[actuate(p, bool=True) for p in vss.DOOR_LOCKED]
        + [actuate(vss.AC_ACTIVE, bool=True)]
    )
    await stub.BatchActuate(batch, metadata=OWNER)
    sent = [(c.kind, c.target, c.args) for c in car.received]
    # four doors asked to lock are one lock command
    assert sent == [
        ("set", vss.WINDOW_POSITION[0], {"value": 30}),
        ("action", "lock", {}),
        ("set", vss.AC_ACTIVE, {"value": True}),
    ]


async def test_the_trunk_actuator_opens_and_closes(stub: Any, car: AckingDevice) -> None:
    await stub.Actuate(actuate(vss.TRUNK_OPEN, bool=True), metadata=OWNER)
    await stub.Actuate(actuate(vss.TRUNK_OPEN, bool=False), metadata=OWNER)
    assert [(c.kind, c.target) for c in car.received] == [("action", "open_trunk"), ("action", "close_trunk")]


async def test_a_bad_entry_in_a_batch_sends_nothing(stub: Any, car: AckingDevice) -> None:
    batch = val_v2.BatchActuateRequest(
        actuate_requests=[actuate(vss.AC_ACTIVE, bool=True), actuate(vss.CHARGE_LIMIT, uint32=101)]
    )
    code, message = await status_of(stub.BatchActuate(batch, metadata=OWNER))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert vss.CHARGE_LIMIT in message
    assert "out of range" in message
    assert car.received == []


@pytest.mark.parametrize(
    ("request_", "code", "words"),
    [
        (
            actuate(vss.CHARGE_LIMIT, string="eighty"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "is a uint8; got a string",
        ),
        (actuate(vss.AC_ACTIVE, uint32=1), grpc.StatusCode.INVALID_ARGUMENT, "is a boolean"),
        (actuate(vss.START_STOP_CHARGING, string="PAUSE"), grpc.StatusCode.INVALID_ARGUMENT, "not allowed"),
        (actuate(vss.SPEED, float=10.0), grpc.StatusCode.INVALID_ARGUMENT, "sensor, not an actuator"),
        (actuate(vss.DOOR_OPEN[0], bool=True), grpc.StatusCode.FAILED_PRECONDITION, "takes no command"),
        (actuate("Vehicle.Cabin.Sunroof.Position", int32=1), grpc.StatusCode.NOT_FOUND, "no signal"),
        (val_v2.ActuateRequest(signal_id=path(vss.AC_ACTIVE)), grpc.StatusCode.INVALID_ARGUMENT, "no value"),
        (
            val_v2.ActuateRequest(signal_id=types_v2.SignalID(id=9999), value=types_v2.Value(bool=True)),
            grpc.StatusCode.NOT_FOUND,
            "id 9999",
        ),
    ],
)
async def test_refused_actuations(
    stub: Any, car: AckingDevice, request_: Any, code: grpc.StatusCode, words: str
) -> None:
    got, message = await status_of(stub.Actuate(request_, metadata=OWNER))
    assert got is code
    assert words in message
    assert car.received == []


async def test_subscribe_by_id_and_revocation_ends_the_stream(
    hub: Hub, stub: Any, tokens: dict[str, str]
) -> None:
    listed = await stub.ListMetadata(val_v2.ListMetadataRequest(root=vss.SPEED), metadata=OWNER)
    speed_id = listed.metadata[0].id
    stream = stub.SubscribeById(val_v2.SubscribeByIdRequest(signal_ids=[speed_id]), metadata=OWNER)
    first = await anext(aiter(stream))
    assert first.entries[speed_id].value.WhichOneof("typed_value") is None
    hub.report(HOME, CAR, {vss.SPEED: 33.0})
    update = await anext(aiter(stream))
    assert update.entries[speed_id].value.float == 33.0
    del tokens["t-olga"]
    hub.report(HOME, CAR, {vss.SPEED: 34.0})
    code, _ = await status_of(anext(aiter(stream)))
    assert code is grpc.StatusCode.UNAUTHENTICATED


async def test_subscribe_keeps_every_value_of_a_burst(hub: Hub, stub: Any) -> None:
    stream = stub.Subscribe(val_v2.SubscribeRequest(signal_paths=[vss.SOC]), metadata=OWNER)
    await anext(aiter(stream))
    for soc in (21.0, 20.0, 19.0):  # a crossing and back, before the stream turns
        hub.report(HOME, CAR, {vss.SOC: soc})
    seen = [(await anext(aiter(stream))).entries[vss.SOC].value.float for _ in range(3)]
    assert seen == [21.0, 20.0, 19.0]
    stream.cancel()


async def test_empty_subscribe_is_invalid(stub: Any) -> None:
    code, _ = await status_of(anext(aiter(stub.Subscribe(val_v2.SubscribeRequest(), metadata=OWNER))))
    assert code is grpc.StatusCode.INVALID_ARGUMENT


async def test_publish_value_needs_a_provider_and_a_valid_value(hub: Hub, stub: Any) -> None:
    feeder = (("authorization", "Bearer t-feeder"),)
    point = types_v2.Datapoint(value=types_v2.Value(float=55.5))
    await stub.PublishValue(
        val_v2.PublishValueRequest(signal_id=path(vss.SOC), data_point=point), metadata=feeder
    )
    assert hub.value(HOME, CAR, vss.SOC) == 55.5
    bad = types_v2.Datapoint(value=types_v2.Value(float=120.0))
    code, message = await status_of(
        stub.PublishValue(
            val_v2.PublishValueRequest(signal_id=path(vss.SOC), data_point=bad), metadata=feeder
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "out of range" in message
    code, _ = await status_of(
        stub.PublishValue(
            val_v2.PublishValueRequest(signal_id=path(vss.SOC), data_point=point), metadata=OWNER
        )
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED


async def test_every_call_needs_a_token(server: KuksaServer, stub: Any) -> None:
    calls = [
        stub.GetServerInfo(val_v2.GetServerInfoRequest()),
        stub.GetValue(val_v2.GetValueRequest(signal_id=path(vss.SPEED))),
        stub.ListMetadata(val_v2.ListMetadataRequest(root="Vehicle")),
        stub.Actuate(actuate(vss.AC_ACTIVE, bool=True)),
    ]
    for call in calls:
        code, _ = await status_of(call)
        assert code is grpc.StatusCode.UNAUTHENTICATED
    code, _ = await status_of(anext(aiter(stub.Subscribe(val_v2.SubscribeRequest(signal_paths=[vss.SPEED])))))
    assert code is grpc.StatusCode.UNAUTHENTICATED


async def test_offline_car_actuation_is_unavailable(hub: Hub, stub: Any, car: AckingDevice) -> None:
    hub.set_available(HOME, CAR, False)
    code, message = await status_of(stub.Actuate(actuate(vss.AC_ACTIVE, bool=True), metadata=OWNER))
    assert code is grpc.StatusCode.UNAVAILABLE
    assert "offline" in message
    hub.set_available(HOME, CAR, True)
    await stub.Actuate(actuate(vss.AC_ACTIVE, bool=True), metadata=OWNER)
    assert len(car.received) == 1
