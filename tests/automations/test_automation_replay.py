"""A firing seen again after a restart makes no second command.

The commands of a run that a trigger fired carry ids derived from the firing (the home, the
automation, the trigger and its time, the step), so a replay of the same firing — here a
schedule whose saved "next due" was behind the outbox when the hub stopped, as after a crash
or a failover — makes the same ids, which the hub refuses as taken: the run goes on, its
trace says the commands were made already, and no device hears them twice. The next
firing (the next morning) makes its own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from automation_rig import Place, advance, restartable

from carhome.automations import MemoryTimerStore
from carhome.store import SqliteStore
from carhome.testing import FakeClock

HOUR = 3600.0

# FakeClock starts at 2026-01-01T00:00:00Z; the home keeps UTC.
MORNING = """
home: h1
scenes:
  night:
    purifier: {action: turn_on, fan_level: 1}
automations:
  - id: morning
    triggers: [{trigger: time, at: "07:00"}]
    actions:
      - {action: set, device: purifier, property: mode, value: sleep}
      - {action: scene, scene: night}
"""


async def _stored(db: Path) -> list[str]:
    async with SqliteStore(db) as store:
        return sorted(f"{c.target}={c.args}" for c in await store.commands("h1"))


async def test_a_firing_replayed_after_a_restart_makes_each_command_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    place = Place(tmp_path / "hub.db")  # the timers below stand for the file's, a step behind
    timers = MemoryTimerStore()
    async with restartable(place, clock, MORNING, timers) as engine:
        await advance(clock, 7 * HOUR - 60)
        await engine.timers.flush()
        behind = dict(timers.timers)  # what a crash a minute before 07:00 would leave
        await advance(clock, 60)
        await asyncio.wait_for(engine.idle(), 1)
        first = engine.trace("morning")
        made_first = len(engine.hub.commands.pending())
    # The hub stopped before the schedule's next due time was kept: at start the 07:00
    # firing comes again, late, with the same due time.
    timers.timers = behind
    async with restartable(place, clock, MORNING, timers) as engine:
        await advance(clock, 0)
        await asyncio.wait_for(engine.idle(), 1)
        second = engine.trace("morning")
        stored = sorted(f"{c.target}={c.args}" for c in await engine.hub.store.commands("h1"))
        # The next morning is another firing: its commands are new.
        await advance(clock, 24 * HOUR)
        await asyncio.wait_for(engine.idle(), 1)
        next_day = engine.trace("morning")[-1]
    after_next_day = await _stored(place.db)
    runs = len(first) + len(second)
    print(f"replayed firings: {len(stored)} commands for {runs} runs ({made_first} per firing)")
    assert [t.status for t in first + second] == ["finished", "finished"]
    assert second[0].trigger is not None
    assert second[0].trigger.late is True
    assert made_first == 3
    assert stored == ["fan_level={'value': 1}", "mode={'value': 'sleep'}", "turn_on={}"]
    notes = [s.result for s in second[0].steps]
    assert notes[0] is not None
    assert notes[0].startswith("already made: ")
    assert notes[1] is not None
    assert notes[1].count("already made: ") == 2
    assert next_day.trigger is not None
    assert next_day.trigger.late is False
    assert [s.result for s in next_day.steps] == [None, None]
    assert len(after_next_day) == 2 * len(stored)
