"""The ``carhome`` command against a real hub over loopback HTTP."""

from __future__ import annotations

import json
import re
import socket

import pytest
from hub_thread import Carhome, HubThread

from carhome.api import write_hub_address
from carhome.hub import Hub
from carhome.spec import vss

# -- devices and state -----------------------------------------------------------------


def test_devices_lists_every_home(carhome: Carhome, hub_thread: HubThread) -> None:
    hub_thread.call(lambda hub: hub.set_available("h1", "car", True))
    result = carhome("devices")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["HOME", "DEVICE", "TYPE", "NAME", "ROOM", "CONNECTOR", "ONLINE"]
    car = next(line for line in lines if " car " in line)
    assert car.split()[:3] == ["h1", "car", "car"]
    assert car.split()[-1] == "yes"
    assert sum("purifier" in line for line in lines) == 2


def test_devices_of_one_home_as_json(carhome: Carhome) -> None:
    result = carhome("devices", "--home", "h2", "--json")
    assert result.exit_code == 0
    assert [(d["home"], d["id"]) for d in json.loads(result.output)] == [("h2", "purifier")]


def test_devices_of_an_unknown_home_is_an_error(carhome: Carhome) -> None:
    result = carhome("devices", "--home", "h9")
    assert result.exit_code == 1
    assert "there is no home 'h9'; known homes: h1, h2" in result.stderr


def test_state_shows_value_unit_age_and_source_with_short_names(
    carhome: Carhome, hub_thread: HubThread
) -> None:
    def report(hub: Hub) -> None:
        hub.report("h1", "car", {vss.SOC: 80.5, vss.HVAC_SET_POINT: 21.0, vss.RANGE: 305_000}, source="mqtt")

    hub_thread.call(report)
    result = carhome("state", "car")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[2:]}
    assert rows["StateOfCharge.Current"][1:] == ["80.5", "%", "0s", "mqtt"]
    assert rows["Driver.Temperature"][1:3] == ["21", "°C"]
    assert rows["Powertrain.Range"][1:3] == ["305", "km"]
    # distinct doors keep enough of their path to tell them apart
    assert "Row1.DriverSide.IsLocked" in rows
    assert rows["Row1.DriverSide.IsLocked"][1:] == ["-", "-", "-"]


def test_state_full_names_and_only_reported(carhome: Carhome, hub_thread: HubThread) -> None:
    hub_thread.call(lambda hub: hub.report("h1", "car", {vss.SPEED: 42.0}, source="sim"))
    result = carhome("state", "h1/car", "--full", "--reported")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.output.splitlines()[2:]]
    assert vss.SPEED in names
    assert vss.LATITUDE not in names


def test_state_as_json(carhome: Carhome, hub_thread: HubThread) -> None:
    hub_thread.call(lambda hub: hub.report("h1", "purifier", {"pm25": 12}, source="mqtt"))
    body = json.loads(carhome("state", "h1/purifier", "--json").output)
    assert body["state"]["pm25"]["value"] == 12
    assert body["device"]["room"] == "living_room"


def test_a_device_in_two_homes_needs_its_home(carhome: Carhome) -> None:
    result = carhome("state", "purifier")
    assert result.exit_code == 2
    assert "'purifier' is in several homes (h1/purifier, h2/purifier)" in result.stderr


def test_an_unknown_device_lists_the_known_ones(carhome: Carhome) -> None:
    result = carhome("state", "toaster")
    assert result.exit_code == 2
    assert "no device 'toaster'; known devices: h1/car" in result.stderr


def test_an_unknown_device_with_a_home_is_the_hubs_404(carhome: Carhome) -> None:
    result = carhome("state", "h1/toaster")
    assert result.exit_code == 1
    assert "home 'h1' has no device 'toaster'" in result.stderr


# -- commands --------------------------------------------------------------------------


def test_call_with_typed_arguments_waits_for_the_ack(carhome: Carhome, hub_thread: HubThread) -> None:
    result = carhome("call", "car", "climate_on", "temperature=21.5")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "acked: climate_on on h1/car"
    assert "result:" in result.output
    assert hub_thread.device is not None
    sent = hub_thread.device.received[-1]
    assert (sent.target, sent.args, sent.member, sent.face) == (
        "climate_on",
        {"temperature": 21.5},
        "cli-test",
        "api",
    )


def test_call_closes_the_trunk(carhome: Carhome, hub_thread: HubThread) -> None:
    result = carhome("call", "car", "close_trunk")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "acked: close_trunk on h1/car"
    assert hub_thread.device is not None
    assert hub_thread.device.received[-1].target == "close_trunk"


def test_call_that_the_device_refuses_exits_3(carhome: Carhome) -> None:
    result = carhome("call", "car", "unlock")
    assert result.exit_code == 3
    assert result.output.strip() == "failed: unlock on h1/car: a door is open"


def test_call_that_expires_exits_3(carhome: Carhome) -> None:
    result = carhome("call", "car", "climate_off", "--ttl", "5")
    assert result.exit_code == 3
    assert result.output.startswith("expired: climate_off on h1/car")


def test_call_without_waiting_prints_the_accepted_command(carhome: Carhome) -> None:
    result = carhome("call", "car", "open_trunk", "--no-wait", "--json")
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert body["status"] == "sent"
    assert body["target"] == "open_trunk"


def test_call_with_a_bad_argument_shows_the_allowed_values(carhome: Carhome) -> None:
    result = carhome("call", "car", "climate_on", "temperature=40")
    assert result.exit_code == 1
    assert (
        "argument 'temperature': 40.0 is out of range; allowed: float from 15 to 28 celsius" in result.stderr
    )


def test_call_argument_syntax_is_a_usage_error(carhome: Carhome) -> None:
    result = carhome("call", "car", "climate_on", "temperature")
    assert result.exit_code == 2
    assert "is not ARG=VALUE" in result.stderr


def test_set_by_unique_ending_of_a_vss_path(carhome: Carhome, hub_thread: HubThread) -> None:
    result = carhome("set", "car", "Driver.Temperature", "22")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["acked: Driver.Temperature = 22 on h1/car", "result: 22"]
    assert hub_thread.device is not None
    sent = hub_thread.device.received[-1]
    assert (sent.kind, sent.target, sent.args) == ("set", vss.HVAC_SET_POINT, {"value": 22.0})


def test_set_a_string_without_quotes(carhome: Carhome) -> None:
    result = carhome("set", "h1/purifier", "mode", "sleep", "--json")
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert (body["status"], body["args"]) == ("acked", {"value": "sleep"})


def test_set_out_of_range_says_what_is_allowed(carhome: Carhome) -> None:
    result = carhome("set", "h1/purifier", "fan_level", "9")
    assert result.exit_code == 1
    assert "9 is out of range; allowed: int from 1 to 3" in result.stderr


def test_set_an_ambiguous_ending_lists_the_candidates(carhome: Carhome) -> None:
    result = carhome("set", "car", "Window.Position", "10")
    assert result.exit_code == 2
    assert "matches several" in result.stderr
    assert "Row1.DriverSide.Window.Position" in result.stderr


def test_set_prefers_the_writable_property_when_an_ending_is_shared(
    carhome: Carhome, hub_thread: HubThread
) -> None:
    # "ChargeLimit" is one property; "IsChargingCableLocked" is read-only. Case is ignored.
    result = carhome("set", "car", "chargelimit", "80")
    assert result.exit_code == 0, result.output
    assert hub_thread.device is not None
    assert hub_thread.device.received[-1].target == vss.CHARGE_LIMIT


def test_set_an_unknown_property(carhome: Carhome) -> None:
    result = carhome("set", "h1/purifier", "turbo", "true")
    assert result.exit_code == 2
    assert "no property 'turbo'; known:" in result.stderr
    assert "mode" in result.stderr


def test_commands_lists_recent_commands(carhome: Carhome, hub_thread: HubThread) -> None:
    clock = hub_thread.clock
    hub_thread.call(lambda hub: clock.set(clock.time() + 1))  # newer than any command so far
    carhome("call", "car", "lock")
    result = carhome("commands", "--limit", "3")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[:6] == ["ID", "AGE", "DEVICE", "KIND", "TARGET", "STATUS"]
    assert lines[1].split()[2:6] == ["h1/car", "action", "lock", "acked"]
    assert len(lines) == 4


def test_rejections_show_counts_and_messages(carhome: Carhome, hub_thread: HubThread) -> None:
    hub_thread.call(lambda hub: hub.report("h1", "purifier", {"humidity": 140}))
    result = carhome("rejections")
    assert result.exit_code == 0
    assert "out_of_range" in result.output
    assert "h1/purifier property 'humidity': 140 is out of range" in result.output
    body = json.loads(carhome("rejections", "--json").output)
    assert body["counts"]["out_of_range"] >= 1


def test_health_says_ok_or_degraded_and_why(carhome: Carhome, hub_thread: HubThread) -> None:
    result = carhome("health")
    assert result.exit_code == 0
    first = result.output.splitlines()[0]
    assert re.fullmatch(r"ok: 2 homes, 3 devices, (1 pending command|\d+ pending commands)", first), first
    hub_thread.trouble = "no heartbeat came back through the broker for 20 s"
    try:
        result = carhome("health")
        body = json.loads(carhome("health", "--json").output)
    finally:
        hub_thread.trouble = None
    assert result.exit_code == 1
    assert result.output == "degraded:\n  - no heartbeat came back through the broker for 20 s\n"
    assert body["problems"] == ["no heartbeat came back through the broker for 20 s"]


# -- finding the hub -------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_hub_says_how_to_start_one(carhome: Carhome) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = carhome("devices", "--hub", url, hub=False)
    assert result.exit_code == 1
    said = result.stderr.strip()
    assert said.startswith(f"Error: cannot reach the hub at {url}: "), said
    assert said.endswith("(is a hub running there? start one with `carhome demo`)"), said


def test_finds_the_hub_a_running_hub_announced(carhome: Carhome, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(carhome.state_home))
    write_hub_address(carhome.url)
    result = carhome("devices", "--home", "h2", hub=False)
    assert result.exit_code == 0, result.output
    assert "purifier" in result.output


def test_carhome_hub_variable_beats_the_announcement(
    carhome: Carhome, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(carhome.state_home))
    write_hub_address(f"http://127.0.0.1:{_closed_port()}")
    result = carhome("devices", hub=False, env={"CARHOME_HUB": carhome.url})
    assert result.exit_code == 0, result.output


def test_something_that_is_not_a_hub(carhome: Carhome) -> None:
    result = carhome("devices", "--hub", carhome.url + "/nothing-here", hub=False)
    assert result.exit_code == 1
    assert "no such endpoint" in result.stderr
