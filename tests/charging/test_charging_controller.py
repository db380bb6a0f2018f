"""The charging controller against a real hub and real OCPP connections (1.6J and 2.0.1).

The plan's setpoints must reach the simulated wallbox as charging profiles, and the
controller must replan and act when prices, the plug or the mode change. Time is a fake
clock; waits are on events (with a guard against hanging), never on sleeps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from charging_parts import (
    TARIFF,
    actions,
    charging,
    plug_in,
    report_soc,
    settings,
    setup,
    start_action,
    start_session,
    stop_action,
    stopped,
    until,
)

from carhome.connectors.ocpp import OcppServer
from carhome.energy import Mode, SlotSeries
from carhome.energy.controller import ChargingController
from carhome.hub import Hub
from carhome.spec import vss
from carhome.testing import Allow, FakeClock, Refuse
from carhome.testing.wallbox import SimulatedWallbox, charging_profile


async def test_the_plan_reaches_the_charger_as_a_profile_at_the_cheap_slot(
    hub: Hub, wallbox: SimulatedWallbox, evening: FakeClock
) -> None:
    report_soc(hub, 60.0)  # 60 → 75 % takes 1.7 h at full power: midnight to about 01:45
    async with ChargingController(hub, setup(), settings(target=75), TARIFF) as controller:
        idle = charging_profile(await wallbox.wait_request("SetChargingProfile"))
        wallbox.received.clear()
        await plug_in(wallbox)
        await until(controller, lambda: controller.status.plugged and controller.plan is not None)
        assert controller.status.setpoint is not None
        assert not controller.status.setpoint.on  # 18:00 is dear: wait for midnight
        assert wallbox.received == []
        await evening.advance(6 * 3600)
        profile = charging_profile(await wallbox.wait_request("SetChargingProfile"))
        await wallbox.wait_request(start_action(wallbox))
    # an idle charger is held at its least current, so a session it opens itself starts gently
    assert (idle.purpose, idle.unit, idle.limit) == ("TxDefaultProfile", "A", 6.0)
    assert (profile.purpose, profile.unit, profile.limit) == ("TxDefaultProfile", "A", 32.0)
    assert actions(wallbox) == ["SetChargingProfile", start_action(wallbox)]
    assert hub.value("h1", "wallbox", "current_limit") == 32


async def test_during_a_transaction_a_new_setpoint_is_a_tx_profile(
    hub: Hub, wallbox: SimulatedWallbox, evening: FakeClock
) -> None:
    report_soc(hub, 60.0)
    async with ChargingController(hub, setup(), settings(Mode.SOLAR_MIN), TARIFF) as controller:
        await wallbox.wait_request("SetChargingProfile")  # idle: the least current
        await plug_in(wallbox)
        await wallbox.wait_request(start_action(wallbox))
        first = charging_profile(wallbox.received[0][1])
        assert actions(wallbox) == ["SetChargingProfile", start_action(wallbox)]  # 6 A already
        await charging(wallbox)
        await until(controller, lambda: controller.status.in_session)
        wallbox.received.clear()
        controller.set_mode(Mode.NOW)
        second = charging_profile(await wallbox.wait_request("SetChargingProfile"))
    assert (first.purpose, first.limit) == ("TxDefaultProfile", 6.0)  # solar + minimum, no sun
    assert (second.purpose, second.limit, second.transaction_id) == ("TxProfile", 32.0, wallbox.tx_id)
    assert actions(wallbox) == ["SetChargingProfile"]  # the session runs on: no second start


async def test_new_prices_replan_and_the_charger_follows(
    hub: Hub, wallbox: SimulatedWallbox, evening: FakeClock
) -> None:
    report_soc(hub, 60.0)
    async with ChargingController(hub, setup(), settings(), TARIFF) as controller:
        await wallbox.wait_request("SetChargingProfile")  # idle: the least current
        wallbox.received.clear()
        await plug_in(wallbox)
        await until(controller, lambda: controller.status.plugged and controller.plan is not None)
        assert wallbox.received == []
        plans = controller.status.plans
        now = datetime.fromtimestamp(evening.time(), UTC)
        # day-ahead prices: cheapest right now, dear after 20:00
        controller.set_prices(SlotSeries.of(now, [0.1] * 8 + [2.0] * 52, slot=timedelta(minutes=15)))
        await wallbox.wait_request("SetChargingProfile")
        await wallbox.wait_request(start_action(wallbox))
        assert controller.status.plans > plans
        assert "prices" in controller.status.reasons


async def test_unplugging_stops_charging_and_a_new_plug_in_starts_afresh(
    hub: Hub, wallbox: SimulatedWallbox, evening: FakeClock
) -> None:
    report_soc(hub, 60.0)
    async with ChargingController(hub, setup(), settings(Mode.NOW), TARIFF) as controller:
        await start_session(controller, wallbox)
        # the car leaves: the charger ends the transaction itself
        wallbox.received.clear()
        await wallbox.stop()
        await wallbox.status("Available")
        await until(controller, lambda: not controller.status.plugged)
        assert controller.status.setpoint is not None
        assert not controller.status.setpoint.on
        idle = charging_profile(await wallbox.wait_request("SetChargingProfile"))
        assert (idle.purpose, idle.limit) == ("TxDefaultProfile", 6.0)
        assert actions(wallbox) == ["SetChargingProfile"]  # nothing left to stop
        wallbox.received.clear()
        await plug_in(wallbox)
        await wallbox.wait_request(start_action(wallbox))
    assert actions(wallbox) == ["SetChargingProfile", start_action(wallbox)]


async def test_switching_the_mode_to_off_stops_the_session(
    hub: Hub, wallbox: SimulatedWallbox, evening: FakeClock
) -> None:
    report_soc(hub, 60.0)
    async with ChargingController(hub, setup(), settings(Mode.NOW), TARIFF) as controller:
        await start_session(controller, wallbox)
        controller.set_mode(Mode.OFF)
        await wallbox.wait_request(stop_action(wallbox))
        await stopped(wallbox)
        await until(controller, lambda: not controller.status.in_session)
        wallbox.received.clear()
        controller.set_mode(Mode.SOLAR)  # no solar forecast: nothing to take
        await until(controller, lambda: controller.status.reasons == ("mode",))
        assert wallbox.received == []
        controller.set_mode(Mode.NOW)
        await wallbox.wait_request(start_action(wallbox))


async def test_commands_go_through_the_gatekeeper_as_the_member_from_automation(
    hub: Hub, wallbox: SimulatedWallbox, evening: FakeClock
) -> None:
    gate = Allow("recorded")
    hub.commands.gatekeeper = gate
    report_soc(hub, 60.0)
    async with ChargingController(hub, setup(), settings(Mode.NOW), TARIFF):
        await plug_in(wallbox)
        await wallbox.wait_request(start_action(wallbox))
    assert [(c.member, c.face, c.target) for c in gate.commands] == [
        ("owner", "automation", "current_limit"),  # idle: the least current
        ("owner", "automation", "current_limit"),
        ("owner", "automation", "start_charging"),
    ]


async def test_a_refused_command_is_reported_and_never_reaches_the_charger(
    hub: Hub, wallbox: SimulatedWallbox, evening: FakeClock
) -> None:
    hub.commands.gatekeeper = Refuse("policy: guest may not charging from automation")
    report_soc(hub, 60.0)
    async with ChargingController(hub, setup(), settings(Mode.NOW), TARIFF) as controller:
        await plug_in(wallbox)
        await until(controller, lambda: controller.status.failed_commands > 0)
        assert "policy: guest may not charging" in (controller.status.problem or "")
    assert wallbox.received == []


async def test_without_a_charger_the_car_is_told_to_start_and_stop(
    hub: Hub, server: OcppServer, evening: FakeClock
) -> None:
    report_soc(hub, 60.0)
    hub.report("h1", "car", {vss.CABLE_CONNECTED: True, vss.CHARGE_LIMIT: 70}, source="test")
    async with ChargingController(hub, setup(charger_device=None), settings(Mode.NOW), TARIFF) as controller:
        await until(controller, lambda: controller.status.commands == 2)
        sent = [(c.target, c.args["value"], c.member, c.face) for c in hub.commands.pending()]
        assert sent == [
            (vss.CHARGE_LIMIT, 80, "owner", "automation"),
            (vss.START_STOP_CHARGING, "START", "owner", "automation"),
        ]
        hub.report("h1", "car", {vss.IS_CHARGING: True}, source="test")
        controller.set_mode(Mode.OFF)
        await until(controller, lambda: controller.status.commands == 3)
        assert hub.commands.pending()[-1].args == {"value": "STOP"}
