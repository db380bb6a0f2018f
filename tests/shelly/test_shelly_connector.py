"""The Shelly connector and a fake Shelly speaking recorded payloads, through a real Mosquitto."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest
from fake_shelly import FIXTURES, FakeShelly, fixture
from shelly_rig import HOME, Watch

from carhome.connectors.shelly import ShellyConnector, ShellyDeviceConfig
from carhome.hub import CommandStatus, Hub
from carhome.testing import FakeClock
from mqtt.conftest import FAST, Mosquitto

pytestmark = pytest.mark.mosquitto

PRO3EM = "shellypro3em-aabbccddeeff"
PLUS1PM = "shellyplus1pm-aabbccddeeff"


@dataclass(frozen=True)
class Fed:
    """A hub device fed by a component of a Shelly at ``prefix`` whose status is the one
    recorded in the file ``status``."""

    name: str
    prefix: str
    component: str
    status: str


BOILER = Fed("boiler", PLUS1PM, "switch:0", "plus1pm_status.json")
GRID = Fed("grid", PRO3EM, "em:0", "pro3em_triphase_status.json")


@asynccontextmanager
async def feeding(hub: Hub, broker: Mosquitto, fed: Fed) -> AsyncIterator[tuple[FakeShelly, ShellyConnector]]:
    """The fake Shelly, and the connector taking ``fed`` from it."""
    config = ShellyDeviceConfig(home=HOME, device=fed.name, prefix=fed.prefix, component=fed.component)
    async with (
        FakeShelly(broker.url, fed.prefix, fixture(fed.status)) as shelly,
        ShellyConnector(hub, broker.url, [config], backoff=FAST) as connector,
    ):
        yield shelly, connector


def values(hub: Hub, name: str) -> dict[str, Any]:
    return {p: s.value for p, s in hub.state(HOME, name).items()}


async def test_a_pro_3em_is_a_three_phase_grid_meter_from_its_recorded_status(
    shelly_hub: Hub, mosquitto: Mosquitto, watch: Watch
) -> None:
    async with feeding(shelly_hub, mosquitto, GRID):
        await watch.until(lambda: shelly_hub.value(HOME, "grid", "export_energy") is not None)
        assert shelly_hub.available(HOME, "grid") is True
    assert shelly_hub.available(HOME, "grid") is False  # carhome no longer hears it
    assert values(shelly_hub, "grid") == {
        "power": 558.965,
        "power_l1": 375.5,
        "power_l2": 170.8,
        "power_l3": 12.7,
        "current_l1": 2.392,
        "current_l2": 1.037,
        "current_l3": 0.428,
        "voltage_l1": 229.0,
        "voltage_l2": 229.0,
        "voltage_l3": 229.2,
        "frequency": 50.0,
        "import_energy": pytest.approx(2589.77339),  # emdata:0 total_act, Wh
        "export_energy": pytest.approx(1.02661),
    }
    assert {s.source for s in shelly_hub.state(HOME, "grid").values()} == {"shelly"}
    assert shelly_hub.rejections.total == 0


async def test_notify_status_updates_what_changed_and_keeps_the_rest(
    shelly_hub: Hub, mosquitto: Mosquitto, watch: Watch
) -> None:
    async with feeding(shelly_hub, mosquitto, GRID) as (shelly, _):
        await watch.until(lambda: shelly_hub.value(HOME, "grid", "power") == 558.965)
        # the sun came out: the house exports on phase A (a partial NotifyStatus)
        shelly.notify(
            {"ts": 1707327000.12, "em:0": {"id": 0, "total_act_power": -1204.5, "a_act_power": -1590.2}}
        )
        await watch.until(lambda: shelly_hub.value(HOME, "grid", "power") == -1204.5)
    assert shelly_hub.value(HOME, "grid", "power_l1") == -1590.2
    assert shelly_hub.value(HOME, "grid", "power_l2") == 170.8  # not in the notification: kept
    assert shelly_hub.value(HOME, "grid", "current_l3") == 0.428


async def test_a_plus_1pm_is_a_metered_relay_that_switches_by_rpc(
    shelly_hub: Hub, mosquitto: Mosquitto, watch: Watch
) -> None:
    async with feeding(shelly_hub, mosquitto, BOILER) as (shelly, connector):
        await watch.until(lambda: shelly_hub.value(HOME, "boiler", "temperature") is not None)
        assert values(shelly_hub, "boiler") == {
            "on": False,
            "power": 0.0,
            "current": 0.0,
            "voltage": 232.8,
            "energy": pytest.approx(0.110046),
            "temperature": 30.3,
        }
        on = await shelly_hub.submit(HOME, "boiler", "action", "turn_on", member="owner", face="test")
        on = await shelly_hub.commands.wait(on.id)
        toggled = await shelly_hub.submit(HOME, "boiler", "action", "toggle", member="owner", face="test")
        toggled = await shelly_hub.commands.wait(toggled.id)
        set_on = await shelly_hub.submit(
            HOME, "boiler", "set", "on", {"value": True}, member="owner", face="test"
        )
        set_on = await shelly_hub.commands.wait(set_on.id)
        assert connector.stats.acked == 3
    assert (on.status, on.result) == (CommandStatus.ACKED, {"on": True, "was_on": False})
    assert (toggled.status, toggled.result) == (CommandStatus.ACKED, {"on": False, "was_on": True})
    assert (set_on.status, set_on.result) == (CommandStatus.ACKED, {"on": True, "was_on": False})
    methods = [(r["method"], r.get("params")) for r in shelly.requests if r["method"] != "Shelly.GetStatus"]
    assert methods == [
        ("Switch.Set", {"id": 0, "on": True}),
        ("Switch.Toggle", {"id": 0}),
        ("Switch.Set", {"id": 0, "on": True}),
    ]
    assert all(r["src"] == connector.src for r in shelly.requests)
    assert shelly.status["switch:0"]["output"] is True
    assert shelly_hub.value(HOME, "boiler", "on") is True


async def test_the_documented_notify_status_frame_switches_the_relay(
    shelly_hub: Hub, mosquitto: Mosquitto, watch: Watch
) -> None:
    prefix = "shellypro4pm-f008d1d8b8b8"  # the device of the documentation's example
    async with feeding(shelly_hub, mosquitto, replace(BOILER, prefix=prefix)) as (shelly, _):
        await watch.until(lambda: shelly_hub.value(HOME, "boiler", "on") is False)
        shelly.publish("events/rpc", (FIXTURES / "notify_status_switch.json").read_bytes())
        await watch.until(lambda: shelly_hub.value(HOME, "boiler", "on") is True)
    assert shelly_hub.value(HOME, "boiler", "voltage") == 232.8  # the rest of the status stands


async def test_an_error_frame_fails_the_command_with_the_shellys_code_and_message(
    shelly_hub: Hub, mosquitto: Mosquitto, watch: Watch
) -> None:
    heater = replace(BOILER, name="heater", component="switch:3")  # a switch the Plus 1PM has not
    async with feeding(shelly_hub, mosquitto, heater) as (_, connector):
        await watch.until(lambda: shelly_hub.available(HOME, "heater") is True)
        command = await shelly_hub.submit(HOME, "heater", "action", "turn_on", member="owner", face="test")
        done = await shelly_hub.commands.wait(command.id)
        assert connector.stats.failed == 1
    assert done.status is CommandStatus.FAILED
    assert done.error == "the Shelly refused Switch.Set: Shelly error -105 (not found): Bad id=3"


async def test_no_answer_fails_the_command_when_the_timeout_passes(
    shelly_hub: Hub, mosquitto: Mosquitto, watch: Watch, clock: FakeClock
) -> None:
    async with feeding(shelly_hub, mosquitto, BOILER) as (shelly, _):
        await watch.until(lambda: shelly_hub.value(HOME, "boiler", "on") is False)
        shelly.answer = False
        shelly.request_seen.clear()
        command = await shelly_hub.submit(HOME, "boiler", "action", "turn_on", member="owner", face="test")
        await shelly.request_seen.wait()
        await clock.advance(5)
        done = await shelly_hub.commands.wait(command.id)
    assert done.status is CommandStatus.FAILED
    assert done.error is not None
    assert "no answer within 5 s" in done.error
    assert "whether it switched shows in its next status" in done.error


async def test_online_false_marks_it_offline_and_its_commands_fail_at_once(
    shelly_hub: Hub, mosquitto: Mosquitto, watch: Watch
) -> None:
    async with feeding(shelly_hub, mosquitto, BOILER) as (shelly, _):
        await watch.until(lambda: shelly_hub.available(HOME, "boiler") is True)
        shelly.publish("online", b"false", retain=True)  # what its will says when it drops
        await watch.until(lambda: shelly_hub.available(HOME, "boiler") is False)
        sent = len(shelly.requests)
        command = await shelly_hub.submit(HOME, "boiler", "action", "turn_on", member="owner", face="test")
        done = await shelly_hub.commands.wait(command.id)
        assert len(shelly.requests) == sent  # nothing sent to a device that is away
        shelly.publish("online", b"true", retain=True)
        await watch.until(lambda: shelly_hub.available(HOME, "boiler") is True)
    assert done.status is CommandStatus.FAILED
    assert done.error == f"the Shelly {PLUS1PM} is offline (its online topic says false)"


async def test_bad_payloads_are_rejected_counted_logged_once_and_the_stream_goes_on(
    shelly_hub: Hub, mosquitto: Mosquitto, watch: Watch, caplog: pytest.LogCaptureFixture
) -> None:
    async with feeding(shelly_hub, mosquitto, GRID) as (shelly, connector):
        await watch.until(lambda: shelly_hub.value(HOME, "grid", "power") == 558.965)
        with caplog.at_level(logging.WARNING, logger="carhome.rejected"):
            shelly.publish("events/rpc", b"{not json")
            shelly.publish("events/rpc", b'{"method": "NotifyStatus", "params": {"em:0": 5}}')
            shelly.publish("events/rpc", b'["NotifyStatus"]')
            shelly.publish("online", b"maybe")
            shelly.publish("events/rpc", b"{" + b" " * (70 * 1024) + b"}")
            shelly.notify(
                {"ts": 1707327000.5, "em:0": {"id": 0, "total_act_power": 12.5, "a_current": "lots"}}
            )
            await watch.until(lambda: shelly_hub.value(HOME, "grid", "power") == 12.5)
    counts = shelly_hub.rejections.counts
    assert (counts["bad_payload"], counts["too_large"], counts["wrong_type"]) == (4, 1, 1)
    assert shelly_hub.value(HOME, "grid", "current_l1") == 2.392  # the bad value did not replace it
    logged = [r.getMessage() for r in caplog.records if r.name == "carhome.rejected"]
    assert len(logged) == 3  # one per cause: bad_payload, too_large, wrong_type
    assert connector.stats.rejected == 6
    total = shelly_hub.rejections.total
    print(f"bad Shelly payloads: {total} rejected, {len(logged)} logged, the good one applied")


@pytest.mark.parametrize(
    ("fed", "expected"),
    [
        pytest.param(
            Fed("grid1", "shellyproem50-08f9e0e8af2c", "em1:0", "pro_em_status.json"),
            {
                "power": -332.2,  # exporting
                "power_l1": -332.2,
                "current_l1": 1.473,
                "voltage_l1": 226.9,
                "frequency": 50.0,
                "import_energy": pytest.approx(1.26415),
                "export_energy": pytest.approx(144.79228),
            },
            id="pro-em-channel-exporting",
        ),
        pytest.param(
            Fed("pm", "shellypmminig3-84fce638d818", "pm1:0", "pm_mini_gen3_status.json"),
            {
                "power": 1780.1,
                "power_l1": 1780.1,
                "current_l1": 7.434,
                "voltage_l1": 239.9,
                "frequency": 50.1,
                "import_energy": pytest.approx(3.551682),
                "export_energy": 0.0,
            },
            id="pm-mini",
        ),
    ],
)
async def test_a_single_phase_meter_is_a_grid_meter_from_its_recorded_status(
    shelly_hub: Hub, mosquitto: Mosquitto, watch: Watch, fed: Fed, expected: dict[str, Any]
) -> None:
    async with feeding(shelly_hub, mosquitto, fed):
        await watch.until(lambda: values(shelly_hub, fed.name).keys() == expected.keys())
    assert values(shelly_hub, fed.name) == expected


async def test_generic_status_updates_on_status_topics_are_read_too(
    shelly_hub: Hub, mosquitto: Mosquitto, watch: Watch
) -> None:
    status = fixture("plus1pm_status.json")
    async with feeding(shelly_hub, mosquitto, BOILER) as (shelly, _):
        await watch.until(lambda: shelly_hub.value(HOME, "boiler", "on") is False)
        switch = {**status["switch:0"], "output": True, "apower": 1995.3}
        shelly.publish("status/switch:0", switch)  # status_ntf: the whole component
        await watch.until(lambda: shelly_hub.value(HOME, "boiler", "power") == 1995.3)
    assert shelly_hub.value(HOME, "boiler", "on") is True


async def test_a_redelivered_command_is_answered_from_memory_not_sent_twice(
    shelly_hub: Hub, mosquitto: Mosquitto, watch: Watch
) -> None:
    async with feeding(shelly_hub, mosquitto, BOILER) as (shelly, connector):
        await watch.until(lambda: shelly_hub.available(HOME, "boiler") is True)
        command = await shelly_hub.submit(HOME, "boiler", "action", "toggle", member="owner", face="test")
        await shelly_hub.commands.wait(command.id)
        await connector.deliver(command)  # the router sends it again (after a reconnect)
        await connector.deliver(command)
    toggles = [r for r in shelly.requests if r["method"] == "Switch.Toggle"]
    assert len(toggles) == 1
    assert connector.stats.delivered == 1
    assert shelly.status["switch:0"]["output"] is True
