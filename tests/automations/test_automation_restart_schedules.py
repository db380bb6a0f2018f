"""Time and cron triggers that came due while the hub was down fire once at start, marked
late, then go on from the present; one not yet due waits for its time."""

from __future__ import annotations

import asyncio

from automation_rig import Place, advance, messages, restartable

from carhome.testing import FakeClock

# FakeClock starts at 2026-01-01T00:00:00Z; the home keeps UTC.
HOUR = 3600.0

SCHEDULED = """
home: h1
automations:
  - id: morning
    triggers: [{trigger: time, at: "07:00"}]
    actions: [{action: notify, member: owner, message: "morning {trigger.value}"}]
  - id: hourly
    triggers: [{trigger: cron, cron: "30 * * * *"}]
    actions: [{action: notify, member: owner, message: "half past"}]
"""


async def test_a_time_missed_while_down_fires_once_late_then_daily(place: Place, clock: FakeClock) -> None:
    async with restartable(place, clock, SCHEDULED.split("  - id: hourly", maxsplit=1)[0]) as engine:
        await advance(clock, 6 * HOUR)
        assert messages(engine) == []
    await advance(clock, 3 * 24 * HOUR)  # down over three mornings
    async with restartable(place, clock, SCHEDULED.split("  - id: hourly", maxsplit=1)[0]) as engine:
        await advance(clock, 0)
        await asyncio.wait_for(engine.idle(), 1)
        assert messages(engine) == ["morning 2026-01-01T07:00:00+00:00"]
        [trace] = engine.trace("morning")
        assert trace.trigger is not None
        assert trace.trigger.late is True
        # Now 2026-01-04T06:00: the next is today at 07:00, on time.
        await advance(clock, HOUR)
        await asyncio.wait_for(engine.idle(), 1)
        assert messages(engine)[-1] == "morning 2026-01-04T07:00:00+00:00"
        assert engine.trace("morning")[-1].trigger.late is False  # type: ignore[union-attr]


async def test_a_schedule_not_yet_due_waits_for_its_time(place: Place, clock: FakeClock) -> None:
    async with restartable(place, clock, SCHEDULED) as engine:
        await advance(clock, 10 * 60)
    await advance(clock, 10 * 60)  # down 00:10 to 00:20, before 00:30
    async with restartable(place, clock, SCHEDULED) as engine:
        await advance(clock, 0)
        assert messages(engine) == []
        await advance(clock, 10 * 60)
        await asyncio.wait_for(engine.idle(), 1)
        assert messages(engine) == ["half past"]
        assert engine.trace("hourly")[-1].trigger.late is False  # type: ignore[union-attr]


async def test_a_schedule_changed_to_another_trigger_is_forgotten_not_run(
    place: Place, clock: FakeClock
) -> None:
    async with restartable(place, clock, SCHEDULED):
        await advance(clock, 60)
    await advance(clock, 2 * HOUR)  # 'hourly' came due while down
    changed = SCHEDULED.replace(
        '[{trigger: cron, cron: "30 * * * *"}]', "[{trigger: state, device: purifier, property: mode}]"
    )
    async with restartable(place, clock, changed) as engine:
        await advance(clock, 0)
        await asyncio.wait_for(engine.idle(), 1)
        # Its saved due time belonged to a trigger that is gone: dropped, never run.
        assert engine.trace("hourly") == []
        assert "half past" not in messages(engine)
