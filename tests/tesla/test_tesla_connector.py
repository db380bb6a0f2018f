"""The Tesla connector against a real Mosquitto and fleet-telemetry's MQTT datastore.

A streamed record lands as the car's VSS state and connectivity sets its availability; bad
values are rejected, counted and logged once per cause while their neighbours apply; other
VINs and unmapped fields are left alone; and every command fails at once, saying why: a
Tesla cannot be commanded through fleet-telemetry.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from tesla_rig import VIN, FleetTelemetry, available, fixture, model3_config, until

from carhome.api import create_app
from carhome.connectors.tesla import NOT_COMMANDABLE, TeslaTelemetryConnector
from carhome.hub import Hub
from carhome.spec import vss
from mqtt.conftest import FAST, Mosquitto

pytestmark = pytest.mark.mosquitto


async def test_a_streamed_record_lands_as_vss_state_and_connectivity_sets_availability(
    hub: Hub, connector: TeslaTelemetryConnector, server: FleetTelemetry
) -> None:
    strings = fixture("stream_strings.json")
    server.connectivity(VIN, strings["connectivity"])
    await available(hub)
    sent = server.fields(VIN, fixture("typed.json")) + server.fields(VIN, strings["tessie"])
    await until(lambda: connector.stats.received >= sent + 1, "the record taken")

    state = {name: s.value for name, s in hub.state("h1", "model3").items()}
    assert state[vss.SOC] == 74.8
    assert state[vss.ODOMETER] == pytest.approx(18138.82, abs=0.01)  # 11270.940 mi
    assert state[vss.IS_CHARGING] is True
    assert state[vss.CHARGE_LIMIT] == 80
    assert state[vss.DOOR_OPEN[3]] is True
    assert {s.source for s in hub.state("h1", "model3").values() if s.source != "hub"} == {"tesla"}
    assert (connector.stats.rejected, hub.rejections.total) == (0, 0)
    assert connector.stats.unmapped == 9  # Gear, two other ranges, pack and AC charging, module temperatures

    server.connectivity(VIN, strings["disconnected"])
    await available(hub, up=False)

    transport = httpx.ASGITransport(app=create_app(hub, member="ana"))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        [listed] = [d for d in (await client.get("/api/devices")).json() if d["id"] == "model3"]
        detail = (await client.get("/api/devices/h1/model3")).json()
    assert (listed["type"], listed["connector"], listed["online"]) == ("car", "tesla", False)
    assert detail["state"][vss.SOC]["value"] == 74.8


async def test_a_live_field_says_the_car_is_connected(
    hub: Hub, connector: TeslaTelemetryConnector, server: FleetTelemetry
) -> None:
    assert hub.available("h1", "model3") is None  # nothing said yet
    server.fields(VIN, {"VehicleSpeed": '"34.797"'})
    await available(hub)
    assert hub.value("h1", "model3", vss.SPEED) == pytest.approx(56.0, abs=0.001)


async def test_bad_values_are_rejected_counted_logged_once_and_their_neighbours_apply(
    hub: Hub, connector: TeslaTelemetryConnector, server: FleetTelemetry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="carhome.rejected")
    bad: dict[str, str | bytes] = {
        "Soc": '"lots"',
        "BatteryLevel": '"7',  # cut off
        "DetailedChargeState": '"DetailedChargeStateFlying"',
        "Location": '{"latitude": 95.0, "longitude": 10.0}',  # JSON and a location, off the globe
        "InsideTemp": b"1" * 5000,  # larger than carhome reads
    }
    server.fields(VIN, bad)
    server.connectivity(VIN, b'{"Status": "ASLEEP"}')
    server.fields(VIN, {"TimeToFullCharge": "null"})  # not bad: the car says it is invalid now
    server.fields(VIN, {"Odometer": "11270.940"})  # a good one after them
    await until(lambda: connector.stats.received >= len(bad) + 3, "every message taken")
    await until(lambda: hub.value("h1", "model3", vss.ODOMETER) is not None, "the good value applied")

    assert dict(hub.rejections.counts) == {
        "bad_value": 2,
        "bad_json": 1,
        "too_large": 1,
        "bad_connectivity": 1,
        "out_of_range": 1,  # the latitude, by the hub; the longitude of the same fix applies
    }
    assert connector.stats.invalid == 1
    logged = [r.getMessage() for r in caplog.records if r.name == "carhome.rejected"]
    assert len(logged) == 5  # once per cause
    assert any("field Soc: 'lots' is not a number" in line for line in logged)
    total = hub.rejections.total
    print(f"Tesla bad inputs: {len(bad) + 1}, rejected and counted: {total}, logged: {len(logged)}")


async def test_every_command_to_a_tesla_fails_at_once_saying_why(
    hub: Hub, connector: TeslaTelemetryConnector
) -> None:
    commands = [
        await hub.submit("h1", "model3", "action", "lock", member="ana", face="cli"),
        await hub.submit("h1", "model3", "action", "climate_on", member="ana", face="cli"),
        await hub.submit("h1", "model3", "action", "start_charging", member="ana", face="cli"),
        await hub.submit("h1", "model3", "set", vss.CHARGE_LIMIT, {"value": 80}, member="ana", face="cli"),
    ]
    for command in commands:
        done = await hub.commands.wait(command.id, timeout=10)
        assert (done.status.value, done.error) == ("failed", NOT_COMMANDABLE)
    assert connector.stats.refused == len(commands)
    assert "vehicle-command protocol" in NOT_COMMANDABLE


async def test_other_vins_and_unmapped_fields_are_left_alone_under_fleet_telemetrys_own_base(
    hub: Hub, model3: str, mosquitto: Mosquitto
) -> None:
    recorded = fixture("datastore_test.json")
    base, vin = recorded["topic_base"], recorded["vin"]
    config = model3_config(mosquitto.url, topic_base=base, vin=vin)
    async with (
        TeslaTelemetryConnector(hub, config, backoff=FAST) as connector,
        FleetTelemetry(mosquitto.port, topic_base=base) as server,
    ):
        server.fields("5YJSA1E26HF999999", {"BatteryLevel": "12"})  # a car carhome does not follow
        server.fields(vin, recorded["fields"])
        await until(lambda: connector.stats.received >= len(recorded["fields"]), "the record taken")
    assert hub.value("h1", "model3", vss.SOC_DISPLAYED) == 75.5
    assert hub.value("h1", "model3", vss.LATITUDE) == 37.7749
    assert (connector.stats.unmapped, connector.stats.invalid) == (1, 1)  # VehicleName; TimeToFullCharge
    assert connector.stats.received == len(recorded["fields"])  # the other VIN's never reached it
