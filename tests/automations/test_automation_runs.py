"""Run modes with bounds from the automation; dropped runs are traced."""

from __future__ import annotations

import asyncio

import pytest

from carhome.automations import Engine
from carhome.hub import Hub
from carhome.testing import FakeClock, settle

TEXT = """
- id: slow
  home: h1
  mode: {mode}
  max: 2
  triggers:
    - trigger: state
      device: car
      property: speed
  actions:
    - action: notify
      member: owner
      message: "start {{trigger.value}}"
    - action: delay
      duration: 10
    - action: notify
      member: owner
      message: "end {{trigger.value}}"
"""


async def _fire(hub: Hub, n: int) -> None:
    for speed in range(1, n + 1):
        hub.report("h1", "car", {"Vehicle.Speed": float(speed)})
        await settle()


def _messages(engine: Engine) -> list[str]:
    return [n.message for n in engine.notifications.list()]


@pytest.mark.parametrize(
    ("mode", "messages", "statuses"),
    [
        ("single", ["start 1.0", "end 1.0"], ["finished", "dropped", "dropped"]),
        (
            "restart",
            ["start 1.0", "start 2.0", "start 3.0", "end 3.0"],
            ["cancelled", "cancelled", "finished"],
        ),
        ("queued", ["start 1.0", "end 1.0", "start 2.0", "end 2.0"], ["finished", "finished", "dropped"]),
        ("parallel", ["start 1.0", "start 2.0", "end 1.0", "end 2.0"], ["finished", "finished", "dropped"]),
    ],
)
async def test_modes(
    hub: Hub, engine: Engine, clock: FakeClock, mode: str, messages: list[str], statuses: list[str]
) -> None:
    assert engine.load_text(TEXT.format(mode=mode)) == []
    await _fire(hub, 3)
    for _ in range(3):
        await clock.advance(10)
    await asyncio.wait_for(engine.idle(), 1.0)
    assert _messages(engine) == messages
    traces = engine.trace("slow")
    assert [t.status for t in traces] == statuses
    dropped = [t for t in traces if t.status == "dropped"]
    assert all(t.reason and mode in t.reason for t in dropped)


async def test_traces_keep_the_latest_runs(hub: Hub, engine: Engine) -> None:
    text = TEXT.format(mode="parallel").replace("max: 2", "max: 50\n  traces: 3")
    assert engine.load_text(text) == []
    await _fire(hub, 6)
    assert [t.run for t in engine.trace("slow")] == [4, 5, 6]
    assert engine.stats("slow")["active"] == 6


async def test_leaving_the_engine_cancels_runs(hub: Hub) -> None:
    async with Engine(hub) as engine:
        assert engine.load_text(TEXT.format(mode="parallel")) == []
        await _fire(hub, 1)
        assert engine.busy
        trace = engine.trace("slow")[-1]
    assert trace.status == "cancelled"
    assert not engine.busy


COMMAND_THEN_NOTIFY = """
- id: lights-on
  home: h1
  mode: {mode}
  triggers:
    - trigger: state
      device: car
      property: speed
  actions:
    - action: command
      device: [hall, porch]
      name: turn_on
    - action: notify
      member: owner
      message: "lit {{trigger.value}}"
"""


async def test_a_run_that_never_waits_ends_inside_report(hub: Hub, engine: Engine) -> None:
    # The lights execute and ack each command as it is delivered: nothing in the run waits,
    # so it ends before report returns, with no task and no turn of the event loop.
    assert engine.load_text(COMMAND_THEN_NOTIFY.format(mode="parallel")) == []
    hub.report("h1", "car", {"Vehicle.Speed": 5.0})
    print(f"runs waiting after report: {engine.stats('lights-on')['active']}")
    assert _messages(engine) == ["lit 5.0"]
    assert not engine.busy
    assert [t.status for t in engine.trace("lights-on")] == ["finished"]
    assert hub.value("h1", "hall", "on") is True
    assert hub.value("h1", "porch", "on") is True


async def test_a_run_cancelled_before_it_resumed_is_traced_cancelled(hub: Hub) -> None:
    # The delay really waits, so each run becomes a task; a restart in the same turn
    # cancels the first run's task before it ever ran.
    async with Engine(hub) as engine:
        assert engine.load_text(TEXT.format(mode="restart")) == []
        hub.report("h1", "car", {"Vehicle.Speed": 1.0})
        hub.report("h1", "car", {"Vehicle.Speed": 2.0})
        await settle()
        assert [t.status for t in engine.trace("slow")] == ["cancelled", "running"]
        assert _messages(engine) == ["start 1.0", "start 2.0"]
