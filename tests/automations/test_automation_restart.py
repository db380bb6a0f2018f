"""Delays, waits and for-timers survive a real restart: the Engine and the Hub are closed
and opened again on the same SQLite files (the timers beside them or in PostgreSQL), with
the FakeClock moving while they are down."""

from __future__ import annotations

import asyncio
from pathlib import Path

from automation_rig import Place, advance, messages, restartable

from carhome.automations import MemoryTimerStore
from carhome.hub import Hub
from carhome.spec import vss
from carhome.store import SqliteStore
from carhome.testing import FakeClock, settle

AUTOMATIONS = """
home: h1
automations:
  - id: later
    triggers: [{trigger: state, device: purifier, property: mode, to: sleep}]
    variables: {who: Ana}
    actions:
      - {action: delay, duration: 10m}
      - {action: notify, member: owner, message: "later {who} {trigger.value}"}
  - id: held
    triggers: [{trigger: threshold, device: car, property: soc, below: 20, for: 30m}]
    actions:
      - {action: notify, member: owner, message: "held {trigger.value}"}
  - id: waiting
    triggers: [{trigger: state, device: purifier, property: mode, to: favorite}]
    actions:
      - action: wait
        trigger: {trigger: state, device: purifier, property: mode, to: auto}
        timeout: 1h
      - {action: notify, member: owner, message: "waited {wait[timed_out]}"}
"""


async def test_a_delay_resumes_with_the_time_it_had_left(place: Place, clock: FakeClock) -> None:
    async with restartable(place, clock, AUTOMATIONS) as engine:
        engine.hub.report("h1", "purifier", {"mode": "sleep"})
        await advance(clock, 3 * 60)
    await advance(clock, 2 * 60)  # the hub is down
    async with restartable(place, clock, AUTOMATIONS) as engine:
        await advance(clock, 5 * 60 - 1)
        assert messages(engine) == []
        await advance(clock, 1)
        await asyncio.wait_for(engine.idle(), 1)
        assert messages(engine) == ["later Ana sleep"]
        [trace] = engine.trace("later")
        assert (trace.resumed, trace.status, trace.steps[0].late) == (0, "finished", False)
    async with restartable(place, clock, AUTOMATIONS) as engine:  # done means forgotten
        await advance(clock, 3600)
        assert messages(engine) == []


async def test_a_delay_that_came_due_while_down_runs_once_at_start_marked_late(
    place: Place, clock: FakeClock
) -> None:
    async with restartable(place, clock, AUTOMATIONS) as engine:
        engine.hub.report("h1", "purifier", {"mode": "sleep"})
        await settle()
    await clock.advance(3600)
    async with restartable(place, clock, AUTOMATIONS) as engine:
        await asyncio.wait_for(engine.idle(), 1)
        assert messages(engine) == ["later Ana sleep"]
        assert engine.trace("later")[-1].steps[0].late is True
    async with restartable(place, clock, AUTOMATIONS) as engine:
        await settle()
        assert messages(engine) == []


async def test_a_for_timer_resumes_while_the_value_still_holds(place: Place, clock: FakeClock) -> None:
    async with restartable(place, clock, AUTOMATIONS) as engine:
        engine.hub.report("h1", "car", {vss.SOC: 50.0})
        engine.hub.report("h1", "car", {vss.SOC: 15.0})
        await advance(clock, 10 * 60)
    async with restartable(place, clock, AUTOMATIONS) as engine:
        await advance(clock, 20 * 60 - 1)
        assert messages(engine) == []
        await advance(clock, 1)
        assert messages(engine) == ["held 15.0"]
        assert engine.trace("held")[-1].trigger is not None
        assert engine.trace("held")[-1].trigger.late is False  # type: ignore[union-attr]


async def test_a_for_timer_due_while_down_fires_once_late(place: Place, clock: FakeClock) -> None:
    async with restartable(place, clock, AUTOMATIONS) as engine:
        engine.hub.report("h1", "car", {vss.SOC: 50.0})
        engine.hub.report("h1", "car", {vss.SOC: 15.0})
        await settle()
    await clock.advance(3600)
    async with restartable(place, clock, AUTOMATIONS) as engine:
        await advance(clock, 0)
        assert messages(engine) == ["held 15.0"]
        trigger = engine.trace("held")[-1].trigger
        assert trigger is not None
        assert trigger.late is True
        await advance(clock, 3600)
    async with restartable(place, clock, AUTOMATIONS) as engine:
        await advance(clock, 3600)
        assert messages(engine) == []


async def test_a_for_timer_is_dropped_when_the_value_left_while_down(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = MemoryTimerStore()
    db = Place(tmp_path / "hub.db")
    async with restartable(db, clock, AUTOMATIONS, store) as engine:
        engine.hub.report("h1", "car", {vss.SOC: 50.0})
        engine.hub.report("h1", "car", {vss.SOC: 15.0})
        await settle()
    assert [t.kind for t in store.timers.values()] == ["for"]
    async with Hub(store=SqliteStore(db.db), clock=clock) as hub:
        hub.report("h1", "car", {vss.SOC: 60.0})  # charged while the engine was off
    async with restartable(db, clock, AUTOMATIONS, store) as engine:
        await advance(clock, 3600)
        assert messages(engine) == []
    assert store.timers == {}


async def test_a_wait_resumes_and_can_still_be_met(place: Place, clock: FakeClock) -> None:
    async with restartable(place, clock, AUTOMATIONS) as engine:
        engine.hub.report("h1", "purifier", {"mode": "favorite"})
        await advance(clock, 600)
    async with restartable(place, clock, AUTOMATIONS) as engine:
        await advance(clock, 600)
        engine.hub.report("h1", "purifier", {"mode": "auto"})
        await asyncio.wait_for(engine.idle(), 1)
        assert messages(engine) == ["waited False"]
