"""The OVMS tables: metrics to VSS signals and units, commands to shell commands, answers to acks.

Held to carhome's VSS catalog (itself held to the VSS 5.0 release by tests/spec), to the
firmware's metric units, and to the answers its shell prints (``fixtures/responses.json``).
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ovms_rig import RESPONSES, SESSION

from carhome.connectors.ovms import METRICS, CarMetrics, MetricError
from carhome.connectors.ovms.commands import Unsupported, ack_of, shell_command
from carhome.connectors.ovms.metrics import Kind, parse
from carhome.hub import Command
from carhome.spec import SPECS, vss


def test_every_metric_maps_to_car_signals_in_every_unit_setting() -> None:
    signals: set[str] = set()
    for distance, temperature, rhd in itertools.product(
        ("km", "miles"), ("celsius", "fahrenheit"), (False, True)
    ):
        table = CarMetrics(distance=distance, temperature=temperature, right_hand_drive=rhd)  # type: ignore[arg-type]
        for row in METRICS:
            assert table.find(row.topic) is row
    for row in METRICS:
        for target in row.targets:
            assert target.path in vss.BY_PATH
            assert target.path in SPECS["car"].properties
            signals.add(target.path)
    print(f"OVMS mapping: {len(METRICS)} metrics → {len(signals)} VSS signals")
    assert len({row.metric for row in METRICS}) == len(METRICS)


def test_the_recorded_session_decodes_to_vss_values_in_their_units() -> None:
    table = CarMetrics()
    decoded: dict[str, object] = {}
    for suffix, value in SESSION["messages"]:
        decoded.update(table.decode(suffix.removeprefix("metric/"), value))
    assert decoded[vss.SPEED] == 0.0
    assert decoded[vss.IS_MOVING] is False
    assert decoded[vss.NET_CAPACITY] == 36  # uint16: rounded
    assert decoded[vss.HEADING] == 271.5
    assert decoded[vss.OUTSIDE_TEMPERATURE] == 12.0
    assert decoded[vss.HVAC_SET_POINT] == 22.0
    assert decoded[vss.CHARGE_CURRENT] == 28.5
    for path, value in decoded.items():  # every value passes the car's own spec
        assert SPECS["car"].properties[path].check(value) == value


def test_a_module_in_miles_and_fahrenheit_and_a_right_hand_drive_car() -> None:
    table = CarMetrics(distance="miles", temperature="fahrenheit", right_hand_drive=True)
    assert table.decode("v/p/speed", "50") == {vss.SPEED: pytest.approx(80.4672), vss.IS_MOVING: True}
    assert table.decode("v/b/range/est", "100") == {vss.RANGE: 160_934}
    assert table.decode("v/p/odometer", "10") == {vss.ODOMETER: pytest.approx(16.09344)}
    assert table.decode("v/e/cabintemp", "212") == {vss.CABIN_TEMPERATURE: pytest.approx(100.0)}
    assert table.decode("v/e/temp", "32") == {vss.OUTSIDE_TEMPERATURE: pytest.approx(0.0)}
    # OVMS's front left door is the passenger's in a right-hand-drive car
    assert table.decode("v/d/fl", "yes") == {"Vehicle.Cabin.Door.Row1.PassengerSide.IsOpen": True}
    assert table.decode("v/d/rr", "no") == {"Vehicle.Cabin.Door.Row2.DriverSide.IsOpen": False}
    assert table.decode("v/b/soc", "50") == {vss.SOC: 50.0}  # percent stays percent


@given(kind=st.sampled_from(list(Kind)), text=st.text(max_size=40))
def test_the_metric_parser_takes_any_text_and_keeps_only_what_ovms_writes(kind: Kind, text: str) -> None:
    try:
        value = parse(kind, text)
    except MetricError as exc:
        failed = exc
    else:
        failed = None
    if failed is not None:
        assert (failed.code, bool(failed.reason)) == ("bad_value", True)
        return
    if kind is Kind.BOOL:
        assert text in ("yes", "no")
        return
    # what C++ streams print: ASCII digits, a sign, a point, an exponent; finite
    assert text.isascii()
    assert text == text.strip()
    assert "_" not in text
    assert not math.isnan(value)
    assert abs(value) != float("inf")
    assert float(text) == value


def command(kind: str, target: str, **args: object) -> Command:
    return Command(
        id="c1", home="h1", device="leaf", kind=kind, target=target, args=dict(args),  # type: ignore[arg-type]
        member="ana", face="cli", created=0.0, expires=30.0,
    )  # fmt: skip


def test_carhome_commands_become_the_ovms_shell_commands() -> None:
    sent = {
        shell_command(command("action", "start_charging"), None),
        shell_command(command("action", "stop_charging"), None),
        shell_command(command("action", "climate_on"), None),
        shell_command(command("action", "climate_off"), None),
        shell_command(command("set", vss.AC_ACTIVE, value=True), None),
        shell_command(command("action", "lock"), "0815"),
        shell_command(command("action", "unlock"), "0815"),
    }
    assert sent == {
        "charge start", "charge stop", "climatecontrol on", "climatecontrol off", "lock 0815", "unlock 0815",
    }  # fmt: skip
    for unsupported in (
        command("action", "open_trunk"),
        command("action", "set_charge_limit", limit=80),
        command("set", vss.CHARGE_LIMIT, value=80),
        command("set", vss.START_STOP_CHARGING, value="START"),  # charging starts by the action alone
        command("action", "lock"),  # without a PIN
    ):
        with pytest.raises(Unsupported):
            shell_command(unsupported, None)


def test_the_firmwares_answers_become_acks() -> None:
    for verb in ("charge start", "charge stop", "climatecontrol on", "climatecontrol off", "lock", "unlock"):
        ack = ack_of("c1", RESPONSES[verb])
        assert (ack.status, ack.result) == ("acked", RESPONSES[verb].strip())
    for verb, answer in RESPONSES["failures"].items():
        ack = ack_of("c1", answer)
        assert ack.status == "failed", verb
        assert ack.error == "the OVMS module answered: " + " ".join(answer.split())
