"""Time windows and weekdays on the home's clock, place and presence conditions, scenes."""

from __future__ import annotations

import asyncio

import pytest
from automation_rig import Lights

from carhome.automations import Engine
from carhome.hub import Device, Hub
from carhome.testing import FakeClock

GUARDED = """
home: h1
automations:
  - id: g
    triggers:
      - {{trigger: state, device: purifier, property: mode}}
    conditions:
      - {condition}
    actions:
      - {{action: notify, member: owner, message: ran}}
"""


def _ran(engine: Engine, hub: Hub) -> bool:
    before = len(engine.notifications.list())
    mode = hub.value("h1", "purifier", "mode")
    hub.report("h1", "purifier", {"mode": "sleep" if mode == "auto" else "auto"})
    return len(engine.notifications.list()) > before


# The FakeClock starts on Thursday 2026-01-01 at 00:00 (the home h1 keeps UTC).
@pytest.mark.parametrize(
    ("condition", "hour", "expected"),
    [
        ("{condition: time, after: '22:00', before: '06:00'}", 23, True),
        ("{condition: time, after: '22:00', before: '06:00'}", 5, True),
        ("{condition: time, after: '22:00', before: '06:00'}", 6, False),
        ("{condition: time, after: '22:00', before: '06:00'}", 12, False),
        ("{condition: time, after: '08:00', before: '18:00'}", 8, True),
        ("{condition: time, after: '08:00', before: '18:00'}", 18, False),
        ("{condition: time, before: '09:30'}", 9, True),
        ("{condition: time, weekdays: [thu]}", 12, True),
        ("{condition: time, weekdays: [fri, sat]}", 12, False),
        # 03:00 on Friday is still Thursday night's window
        ("{condition: time, after: '22:00', before: '06:00', weekdays: [thu]}", 27, True),
        ("{condition: time, after: '22:00', before: '06:00', weekdays: [fri]}", 27, False),
    ],
)
async def test_time_window(
    hub: Hub, engine: Engine, clock: FakeClock, condition: str, hour: int, expected: bool
) -> None:
    assert engine.load_text(GUARDED.format(condition=condition)) == []
    await clock.advance(hour * 3600)
    assert _ran(engine, hub) is expected


async def test_place_condition(hub: Hub, engine: Engine) -> None:
    assert (
        engine.load_text(GUARDED.format(condition="{condition: place, device: car, place: [home, work]}"))
        == []
    )
    hub.report("h1", "car", {"place": "away"}, trusted=True)
    assert not _ran(engine, hub)
    hub.report("h1", "car", {"place": "work"}, trusted=True)
    assert _ran(engine, hub)


async def test_presence_condition(hub: Hub, engine: Engine) -> None:
    for phone in ("ana", "bo"):
        await hub.add_device(Device(home="h1", id=phone, type="phone"))
    assert (
        engine.load_text(GUARDED.format(condition="{condition: presence, device: [ana, bo], present: false}"))
        == []
    )
    hub.report("h1", "ana", {"present": True})
    assert not _ran(engine, hub)
    hub.report("h1", "ana", {"present": False})
    assert _ran(engine, hub)


async def test_conditions_are_checked_against_the_hub(engine: Engine) -> None:
    [error] = engine.load_text(GUARDED.format(condition="{condition: place, device: purifier}"))
    assert "expected a car" in str(error)
    [error] = engine.load_text(GUARDED.format(condition="{condition: time, after: '7h'}"))
    assert "HH:MM" in str(error)


SCENE = """
home: h1
scenes:
  arrive_home:
    hall: {action: turn_on}
    porch: {on: true, brightness: 30}
    purifier: {action: turn_on}
automations:
  - id: s
    triggers: [{trigger: place, device: car}]
    actions:
      - {action: scene, scene: arrive_home}
"""


async def test_scene_applies_each_devices_state_as_commands(hub: Hub, engine: Engine, lights: Lights) -> None:
    await hub.remove_device("h1", "purifier")
    text = SCENE.replace("    purifier: {action: turn_on}\n", "")
    assert engine.load_text(text) == []
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    await asyncio.wait_for(engine.idle(), 1)
    assert [(c.device, c.kind, c.target) for c in lights.received] == [
        ("hall", "action", "turn_on"),
        ("porch", "set", "on"),
        ("porch", "set", "brightness"),
    ]
    assert hub.value("h1", "porch", "brightness") == 30
    assert engine.trace("s")[-1].status == "finished"


async def test_unknown_scene_and_bad_state_are_refused(engine: Engine) -> None:
    [error] = engine.load_text(SCENE.replace("scene: arrive_home}", "scene: leave}"))
    assert "arrive_home" in str(error)
    [error] = engine.load_text(SCENE.replace("brightness: 30", "brightness: 300"))
    assert "porch" in str(error)
