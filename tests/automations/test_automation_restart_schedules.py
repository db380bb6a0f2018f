"""Time and cron triggers that came due while the hub was down fire once at start, marked
late, then go on from the present; one not yet due waits for its time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from carhome.automations import Engine, SqliteTimerStore
from carhome.hub import Device, Home, Hub
from carhome.store import SqliteStore
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


@asynccontextmanager
async def _engine(db: Path, clock: FakeClock, text: str = SCHEDULED) -> AsyncIterator[Engine]:
    async with Hub(store=SqliteStore(db), clock=clock) as hub:
        if not hub.homes():
            await hub.add_home(Home(id="h1", name="Home", lat=39.8, lon=116.5))
            await hub.add_device(Device(home="h1", id="purifier", type="air_purifier"))
        async with Engine(hub, timer_store=SqliteTimerStore.beside(db)) as engine:
            assert engine.load_text(text) == []
            yield engine
            await engine.timers.flush()


async def _advance(clock: FakeClock, seconds: float) -> None:
    await asyncio.sleep(0)
    await clock.advance(seconds)


def _messages(engine: Engine) -> list[str]:
    return [n.message for n in engine.notifications.list()]


async def test_a_time_missed_while_down_fires_once_late_then_daily(tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "hub.db"
    async with _engine(db, clock, SCHEDULED.split("  - id: hourly", maxsplit=1)[0]) as engine:
        await _advance(clock, 6 * HOUR)
        assert _messages(engine) == []
    await _advance(clock, 3 * 24 * HOUR)  # down over three mornings
    async with _engine(db, clock, SCHEDULED.split("  - id: hourly", maxsplit=1)[0]) as engine:
        await _advance(clock, 0)
        await asyncio.wait_for(engine.idle(), 1)
        assert _messages(engine) == ["morning 2026-01-01T07:00:00+00:00"]
        [trace] = engine.trace("morning")
        assert trace.trigger is not None
        assert trace.trigger.late is True
        # Now 2026-01-04T06:00: the next is today at 07:00, on time.
        await _advance(clock, HOUR)
        await asyncio.wait_for(engine.idle(), 1)
        assert _messages(engine)[-1] == "morning 2026-01-04T07:00:00+00:00"
        assert engine.trace("morning")[-1].trigger.late is False  # type: ignore[union-attr]


async def test_a_schedule_not_yet_due_waits_for_its_time(tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "hub.db"
    async with _engine(db, clock) as engine:
        await _advance(clock, 10 * 60)
    await _advance(clock, 10 * 60)  # down 00:10 to 00:20, before 00:30
    async with _engine(db, clock) as engine:
        await _advance(clock, 0)
        assert _messages(engine) == []
        await _advance(clock, 10 * 60)
        await asyncio.wait_for(engine.idle(), 1)
        assert _messages(engine) == ["half past"]
        assert engine.trace("hourly")[-1].trigger.late is False  # type: ignore[union-attr]


async def test_a_schedule_changed_to_another_trigger_is_forgotten_not_run(
    tmp_path: Path, clock: FakeClock
) -> None:
    db = tmp_path / "hub.db"
    async with _engine(db, clock):
        await _advance(clock, 60)
    await _advance(clock, 2 * HOUR)  # 'hourly' came due while down
    changed = SCHEDULED.replace(
        '[{trigger: cron, cron: "30 * * * *"}]', "[{trigger: state, device: purifier, property: mode}]"
    )
    async with _engine(db, clock, changed) as engine:
        await _advance(clock, 0)
        await asyncio.wait_for(engine.idle(), 1)
        # Its saved due time belonged to a trigger that is gone: dropped, never run.
        assert engine.trace("hourly") == []
        assert "half past" not in _messages(engine)
