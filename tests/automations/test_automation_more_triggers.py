"""The further trigger kinds: for-durations, times, cron, sun, events, command results,
presence and the car expected home. Time moves only through the FakeClock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from automation_rig import Lights

from carhome.automations import Engine
from carhome.hub import Device, Hub
from carhome.spec import vss
from carhome.testing import FakeClock


async def _advance(clock: FakeClock, seconds: float) -> None:
    # A timer started since the last await is a task that has not yet reached the clock's
    # sleep: advance lets it, before time moves.
    await clock.advance(seconds)


def _messages(engine: Engine) -> list[str]:
    return [n.message for n in engine.notifications.list()]


def _one(trigger: str, message: str = "{trigger.value}") -> str:
    return f"""
home: h1
automations:
  - id: t
    mode: parallel
    triggers:
      - {trigger}
    actions:
      - action: notify
        member: owner
        message: "{message}"
"""


async def test_threshold_for_fires_once_the_value_has_held(
    hub: Hub, engine: Engine, clock: FakeClock
) -> None:
    hub.report("h1", "car", {vss.SOC: 50.0})
    assert (
        engine.load_text(_one("{trigger: threshold, device: car, property: soc, below: 20, for: 5m}")) == []
    )
    hub.report("h1", "car", {vss.SOC: 19.0})
    await _advance(clock, 299)
    hub.report("h1", "car", {vss.SOC: 18.0})  # still in range: the timer keeps running
    assert _messages(engine) == []
    await _advance(clock, 1)
    assert _messages(engine) == ["19.0"]
    await _advance(clock, 3600)
    assert _messages(engine) == ["19.0"]  # once per crossing


async def test_threshold_for_is_cancelled_when_the_value_leaves(
    hub: Hub, engine: Engine, clock: FakeClock
) -> None:
    hub.report("h1", "car", {vss.SOC: 50.0})
    assert (
        engine.load_text(_one("{trigger: threshold, device: car, property: soc, below: 20, for: 60}")) == []
    )
    hub.report("h1", "car", {vss.SOC: 19.0})
    await _advance(clock, 59)
    hub.report("h1", "car", {vss.SOC: 21.0})
    await _advance(clock, 120)
    assert _messages(engine) == []
    hub.report("h1", "car", {vss.SOC: 15.0})  # nothing fired, so a new entry starts anew
    await _advance(clock, 60)
    assert _messages(engine) == ["15.0"]


async def test_state_for_needs_the_value_to_stay(hub: Hub, engine: Engine, clock: FakeClock) -> None:
    assert (
        engine.load_text(_one("{trigger: state, device: purifier, property: mode, to: sleep, for: 10m}"))
        == []
    )
    hub.report("h1", "purifier", {"mode": "sleep"})
    await _advance(clock, 300)
    hub.report("h1", "purifier", {"mode": "auto"})
    await _advance(clock, 600)
    assert _messages(engine) == []
    hub.report("h1", "purifier", {"mode": "sleep"})
    await _advance(clock, 600)
    assert _messages(engine) == ["sleep"]


async def test_time_of_day_in_the_homes_timezone(hub: Hub, clock: FakeClock) -> None:
    home = hub.home("h1")
    await hub.add_home(
        type(home)(id="bj", name="Beijing", lat=home.lat, lon=home.lon, timezone="Asia/Shanghai")
    )
    async with Engine(hub) as engine:
        assert engine.load_text(_one("{trigger: time, at: '07:30'}").replace("home: h1", "home: bj")) == []
        # the clock starts at 2026-01-01 00:00 UTC = 08:00 in Beijing: next 07:30 is 23.5 h on
        await _advance(clock, 23.5 * 3600 - 1)
        assert _messages(engine) == []
        await _advance(clock, 1)
        await _advance(clock, 24 * 3600)
        assert _messages(engine) == ["2026-01-02T07:30:00+08:00", "2026-01-03T07:30:00+08:00"]


async def test_cron_on_weekdays(hub: Hub, engine: Engine, clock: FakeClock) -> None:
    assert engine.load_text(_one("{trigger: cron, cron: '0 7 * * 1-5'}")) == []
    await _advance(clock, 7 * 24 * 3600)  # Thu 2026-01-01 .. Thu 2026-01-08 00:00
    days = [datetime.fromisoformat(m).strftime("%a %d %H:%M") for m in _messages(engine)]
    assert days == ["Thu 01 07:00", "Fri 02 07:00", "Mon 05 07:00", "Tue 06 07:00", "Wed 07 07:00"]


async def test_a_bad_cron_is_reported_with_its_line(engine: Engine) -> None:
    errors = engine.load_text(_one("{trigger: cron, cron: '0 7 * *'}"))
    assert len(errors) == 1
    assert "five fields" in str(errors[0])
    assert errors[0].line == 7


async def test_sunset_with_an_offset(hub: Hub, engine: Engine, clock: FakeClock) -> None:
    assert engine.load_text(_one("{trigger: sun, event: sunset, offset: -30m}")) == []
    # Yizhuang on 1 January: sunset near 16:58 local (08:58 UTC), so about 08:28 UTC
    await _advance(clock, 8 * 3600 + 15 * 60)
    assert _messages(engine) == []
    await _advance(clock, 25 * 60)
    [fired] = _messages(engine)
    at = datetime.fromisoformat(fired).astimezone(UTC)
    assert (at.hour, at.minute) in {(8, m) for m in range(20, 36)}


async def test_device_event_with_fields(hub: Hub, engine: Engine) -> None:
    await hub.add_device(Device(home="h1", id="door", type="door_lock"))
    text = _one(
        "{trigger: event, device: door, event: unlocked_by, fields: {method: code}}", "{trigger.prop}"
    )
    assert engine.load_text(text) == []
    assert hub.event("h1", "door", "unlocked_by", {"method": "key"}).applied == 1
    assert hub.event("h1", "door", "doorbell").applied == 1
    assert hub.event("h1", "door", "unlocked_by", {"method": "code"}).applied == 1
    assert _messages(engine) == ["unlocked_by"]


async def test_an_unknown_event_is_refused(hub: Hub, engine: Engine) -> None:
    await hub.add_device(Device(home="h1", id="door", type="door_lock"))
    [error] = engine.load_text(_one("{trigger: event, device: door, event: knock}"))
    assert "doorbell" in str(error)


async def test_command_result(hub: Hub, engine: Engine, lights: Lights) -> None:
    text = _one("{trigger: command, device: hall, target: turn_on, status: acked}", "{trigger.value}")
    assert engine.load_text(text) == []
    await hub.submit("h1", "hall", "action", "turn_on", member="ana", face="cli")
    await hub.submit("h1", "porch", "action", "turn_on", member="ana", face="cli")
    await hub.submit("h1", "hall", "action", "turn_off", member="ana", face="cli")
    assert _messages(engine) == ["acked"]


async def test_presence_arrive_and_leave(hub: Hub, engine: Engine) -> None:
    for phone in ("ana_phone", "bo_phone"):
        await hub.add_device(Device(home="h1", id=phone, type="phone"))
    text = _one("{trigger: presence, device: [ana_phone, bo_phone], event: leave}", "{trigger.device}")
    assert engine.load_text(text) == []
    hub.report("h1", "ana_phone", {"present": True})
    hub.report("h1", "bo_phone", {"present": False})  # unknown -> away is not a leave
    hub.report("h1", "ana_phone", {"present": False})
    assert _messages(engine) == ["ana_phone"]


async def test_presence_needs_a_phone(engine: Engine) -> None:
    [error] = engine.load_text(_one("{trigger: presence, device: purifier}"))
    assert "phone" in str(error)


async def test_expected_home_within_minutes(hub: Hub, engine: Engine) -> None:
    assert engine.load_text(_one("{trigger: eta, device: car, minutes: 10}")) == []
    hub.report("h1", "car", {vss.SPEED: 60.0})
    for km in (20.0, 15.0, 9.5, 5.0, 2.0):  # 9.5 km at 60 km/h: 9.5 minutes
        hub.report("h1", "car", {"distance_to_home": km}, trusted=True)
    assert _messages(engine) == ["9.5"]
    hub.report("h1", "car", {"distance_to_home": 3.5}, trusted=True)  # turned round, 1.5 km out
    hub.report("h1", "car", {vss.SPEED: 0.0})
    hub.report("h1", "car", {"distance_to_home": 3.0}, trusted=True)  # stopped: no estimate
    hub.report("h1", "car", {vss.SPEED: 30.0})
    hub.report("h1", "car", {"distance_to_home": 2.5}, trusted=True)
    assert _messages(engine) == ["9.5", "5.0"]


async def test_wait_for_a_trigger_with_a_timeout(hub: Hub, engine: Engine, clock: FakeClock) -> None:
    text = """
home: h1
automations:
  - id: w
    triggers:
      - {trigger: place, device: car}
    actions:
      - action: wait
        trigger: {trigger: state, device: purifier, property: 'on', to: true}
        timeout: 5m
      - action: notify
        member: owner
        message: "timed out: {wait[timed_out]}"
"""
    assert engine.load_text(text) == []
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    await _advance(clock, 60)
    hub.report("h1", "purifier", {"on": True})
    await asyncio.wait_for(engine.idle(), 1)
    hub.report("h1", "car", {"place": "away"}, trusted=True)
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    await _advance(clock, 299)
    assert _messages(engine) == ["timed out: False"]
    await _advance(clock, 1)
    await asyncio.wait_for(engine.idle(), 1)
    assert _messages(engine) == ["timed out: False", "timed out: True"]
    assert engine.trace("w")[-1].steps[0].result == "timed out"


async def test_wait_that_must_not_time_out_fails_the_run(hub: Hub, engine: Engine, clock: FakeClock) -> None:
    text = """
- id: w
  home: h1
  triggers: [{trigger: place, device: car}]
  actions:
    - action: wait
      trigger: {trigger: event, device: car, event: charging_complete}
      timeout: 30
      continue_on_timeout: false
    - {action: notify, member: owner, message: charged}
"""
    assert engine.load_text(text) == []
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    await _advance(clock, 30)
    await asyncio.wait_for(engine.idle(), 1)
    trace = engine.trace("w")[-1]
    assert trace.status == "failed"
    assert "WaitTimeout" in (trace.reason or "")
    assert _messages(engine) == []


@pytest.mark.parametrize(
    "bad", ["{trigger: time, at: '25:00'}", "{trigger: sun, event: sunset, offset: soon}"]
)
async def test_bad_times_are_refused(engine: Engine, bad: str) -> None:
    assert len(engine.load_text(_one(bad))) == 1
