"""Actions: commands really reach devices, delays use the hub clock, branches and groups."""

from __future__ import annotations

import asyncio

from automation_rig import Lights

from carhome.automations import Engine
from carhome.hub import Hub
from carhome.spec import vss
from carhome.testing import FakeClock, settle

ARRIVE = """
home: h1
automations:
  - id: arrive
    triggers:
      - trigger: place
        device: car
    variables:
      who: Ana
    actions:
      - action: command
        device: [hall, h1/porch]
        name: turn_on
      - action: set
        device: hall
        property: brightness
        value: 40
      - action: notify
        member: ana
        message: "welcome home, {who}"
"""


async def _settle(engine: Engine) -> None:
    await asyncio.wait_for(engine.idle(), 1.0)


async def test_commands_reach_several_devices_then_notify(hub: Hub, engine: Engine, lights: Lights) -> None:
    assert engine.load_text(ARRIVE) == []
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    await _settle(engine)
    assert hub.value("h1", "hall", "on") is True
    assert hub.value("h1", "porch", "on") is True
    assert hub.value("h1", "garden", "on") is None
    assert hub.value("h1", "hall", "brightness") == 40
    assert {c.face for c in lights.received} == {"automation"}
    assert [n.message for n in engine.notifications.list(member="ana")] == ["welcome home, Ana"]
    trace = engine.trace("arrive")[-1]
    assert trace.status == "finished"
    assert [(s.path, s.kind, s.status) for s in trace.steps] == [
        ("actions[0]", "command", "done"),
        ("actions[1]", "set", "done"),
        ("actions[2]", "notify", "done"),
    ]
    assert trace.trigger is not None
    assert trace.trigger.value == "home"


FLOW = """
home: h1
automations:
  - id: flow
    triggers:
      - trigger: threshold
        device: car
        property: soc
        below: 20
    actions:
      - action: delay
        duration: 5m
      - action: if
        if:
          - condition: state
            device: car
            property: place
            state: home
        then:
          - action: parallel
            actions:
              - action: command
                device: hall
                name: turn_on
              - action: sequence
                actions:
                  - action: delay
                    duration: "00:00:30"
                  - action: command
                    device: garden
                    name: turn_on
        else:
          - action: notify
            member: owner
            message: away and low
      - action: choose
        choices:
          - conditions:
              - condition: numeric
                device: car
                property: soc
                below: 5
            actions:
              - action: notify
                member: owner
                message: critical
        default:
          - action: notify
            member: owner
            message: low
"""


async def test_delay_if_parallel_choose_on_the_fake_clock(hub: Hub, engine: Engine, clock: FakeClock) -> None:
    assert engine.load_text(FLOW) == []
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    hub.report("h1", "car", {vss.SOC: 15.0})
    await settle()
    assert engine.busy
    await clock.advance(299)
    assert hub.value("h1", "hall", "on") is None
    await clock.advance(1)
    assert hub.value("h1", "hall", "on") is True
    assert hub.value("h1", "garden", "on") is None
    await clock.advance(30)
    await _settle(engine)
    assert hub.value("h1", "garden", "on") is True
    assert [n.message for n in engine.notifications.list()] == ["low"]


async def test_else_branch_and_choice(hub: Hub, engine: Engine, clock: FakeClock) -> None:
    assert engine.load_text(FLOW) == []
    hub.report("h1", "car", {"place": "away"}, trusted=True)
    hub.report("h1", "car", {vss.SOC: 3.0})
    await clock.advance(300)
    await _settle(engine)
    assert hub.value("h1", "hall", "on") is None
    assert [n.message for n in engine.notifications.list()] == ["away and low", "critical"]


async def test_a_failing_command_fails_the_run_in_its_trace(hub: Hub, engine: Engine) -> None:
    hub.commands.detach("mqtt")
    await hub.remove_device("h1", "porch")
    assert engine.load_text(ARRIVE) != []  # porch no longer exists: refused at load
    text = ARRIVE.replace("[hall, h1/porch]", "hall")
    assert engine.load_text(text) == []
    await hub.remove_device("h1", "hall")
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    await _settle(engine)
    trace = engine.trace("arrive")[-1]
    assert trace.status == "failed"
    assert trace.steps[0].status == "failed"
    assert "hall" in (trace.reason or "")
