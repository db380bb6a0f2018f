"""The Tesla table: telemetry fields to VSS signals and units, held to fleet-telemetry's own
test payloads, to values from the documentation of the stream, and to carhome's catalog."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tesla_rig import fixture

from carhome.connectors.tesla import FIELDS, FieldError, Fields
from carhome.spec import SPECS, vss

CAR = SPECS["car"].properties


def decoded(fields: dict[str, str]) -> dict[str, Any]:
    table = Fields()
    out: dict[str, Any] = {}
    for name, payload in fields.items():
        values = table.decode(name, payload.encode())
        if values:
            out.update(values)
    return out


def test_every_field_maps_to_car_signals_with_a_conversion_for_its_unit() -> None:
    signals = {t.path for row in FIELDS for t in row.targets}
    assert signals <= CAR.keys()
    assert len({row.field for row in FIELDS}) == len(FIELDS)
    Fields()  # compiles: every unit converts to its signal's
    print(f"Tesla mapping: {len(FIELDS)} fields → {len(signals)} VSS signals")


def test_fleet_telemetrys_own_test_payloads() -> None:
    recorded = fixture("datastore_test.json")["fields"]
    table = Fields()
    assert table.decode("BatteryLevel", recorded["BatteryLevel"].encode()) == {vss.SOC_DISPLAYED: 75.5}
    assert table.decode("Location", recorded["Location"].encode()) == {
        vss.LATITUDE: 37.7749,
        vss.LONGITUDE: -122.4194,
    }
    assert table.decode("TimeToFullCharge", recorded["TimeToFullCharge"].encode()) is None  # invalid now
    assert table.decode("VehicleName", recorded["VehicleName"].encode()) == {}  # not carhome's


def test_values_streamed_as_strings_and_their_units() -> None:
    strings = fixture("stream_strings.json")
    values = decoded(strings["tessie"]) | decoded(strings["teslemetry"])
    assert values[vss.ODOMETER] == pytest.approx(11270.940 * 1.609344)  # miles → km
    assert values[vss.RANGE] == round(131.519 * 1609.344)  # miles → m, an integer signal
    assert values[vss.SPEED] == pytest.approx(34.797 * 1.609344)  # mph → km/h
    assert values[vss.IS_MOVING] is True
    assert values[vss.ENERGY] == 42.88
    assert values[vss.CHARGE_CURRENT] == 48.0
    assert values[vss.HEADING] == 81.639
    assert (values[vss.LATITUDE], values[vss.LONGITUDE]) == (30.2226645, -97.6213806)
    for path, value in values.items():
        assert CAR[path].check(value) == value


def test_enums_doors_and_booleans() -> None:
    values = decoded(fixture("typed.json"))
    assert values[vss.IS_CHARGING] is True
    assert values[vss.CABLE_CONNECTED] is True
    assert values[vss.CABLE_LOCKED] is True
    assert values[vss.AC_ACTIVE] is True
    assert values[vss.TIME_TO_COMPLETE] == 4500  # 1.25 h
    assert values[vss.CHARGE_RATE] == pytest.approx(22 * 1.609344)
    assert all(values[p] is True for p in vss.DOOR_LOCKED)
    assert [values[p] for p in vss.DOOR_OPEN] == [False, False, False, True]
    assert values[vss.TRUNK_OPEN] is False
    assert values[vss.IS_MOVING] is False
    for path, value in values.items():
        assert CAR[path].check(value) == value
    table = Fields()
    # an enum's word without its prefix, a boolean as a string: what other software versions send
    assert table.decode("DetailedChargeState", b'"Disconnected"') == {
        vss.IS_CHARGING: False,
        vss.CABLE_CONNECTED: False,
    }
    assert table.decode("DetailedChargeState", b'"DetailedChargeStateUnknown"') == {}
    assert table.decode("Locked", b'"false"') == dict.fromkeys(vss.DOOR_LOCKED, False)


@pytest.mark.parametrize(
    ("field", "payload", "code", "reason"),
    [
        ("Soc", b'"lots"', "bad_value", "'lots' is not a number"),
        ("Soc", b"true", "bad_value", "expected a number"),
        ("Soc", b'"1e999"', "bad_value", "not a finite number"),
        ("Locked", b'"maybe"', "bad_value", "is not true or false"),
        ("DetailedChargeState", b'"DetailedChargeStateFlying"', "bad_value", "known: Unknown, Disconnected"),
        ("Location", b'{"latitude": 1}', "bad_value", "expected an object"),
        ("DoorState", b'"DriverFront"', "bad_value", "six doors"),
        ("Odometer", b'"11270.9', "bad_json", "not JSON"),
    ],
)
def test_values_no_car_sends_are_field_errors_with_their_reason(
    field: str, payload: bytes, code: str, reason: str
) -> None:
    with pytest.raises(FieldError) as caught:
        Fields().decode(field, payload)
    assert caught.value.code == code
    assert reason in caught.value.reason
    assert caught.value.reason.startswith(f"field {field}: ")


@given(field=st.sampled_from([row.field for row in FIELDS]), payload=st.binary(max_size=64))
def test_the_decoder_takes_any_bytes(field: str, payload: bytes) -> None:
    try:
        Fields().decode(field, payload)
    except FieldError as exc:
        assert exc.code in ("bad_json", "bad_value")  # noqa: PT017 - any bytes: an error is expected
