"""Delays nested in ``if``, ``choose`` and ``sequence`` survive a real restart; the run
resumes in the branch it was in (conditions are not asked again) and then carries on with
the steps after the composite. A delay inside ``parallel`` is not saved (one saved step
cannot stand for several branches), and says so by not resuming."""

from __future__ import annotations

import asyncio

from automation_rig import Place, advance, messages, restartable

from carhome.testing import FakeClock

NESTED = """
home: h1
automations:
  - id: branchy
    triggers: [{trigger: state, device: purifier, property: mode, to: sleep}]
    actions:
      - {action: notify, member: owner, message: "start"}
      - action: if
        if: [{condition: state, device: purifier, property: mode, state: sleep}]
        then:
          - {action: notify, member: owner, message: "then"}
          - action: sequence
            actions:
              - {action: delay, duration: 10m}
              - {action: notify, member: owner, message: "after delay"}
        else:
          - {action: notify, member: owner, message: "else"}
      - {action: notify, member: owner, message: "end"}
  - id: chooser
    triggers: [{trigger: state, device: purifier, property: mode, to: favorite}]
    actions:
      - action: choose
        choices:
          - conditions: [{condition: state, device: purifier, property: mode, state: auto}]
            actions: [{action: notify, member: owner, message: "auto"}]
          - conditions: [{condition: state, device: purifier, property: mode, state: favorite}]
            actions:
              - {action: delay, duration: 5m}
              - {action: notify, member: owner, message: "favorite done"}
      - {action: notify, member: owner, message: "chose"}
  - id: fanout
    triggers: [{trigger: state, device: purifier, property: mode, to: auto}]
    actions:
      - action: parallel
        actions:
          - {action: delay, duration: 5m}
          - {action: notify, member: owner, message: "branch"}
      - {action: notify, member: owner, message: "joined"}
"""


async def test_a_delay_inside_if_and_sequence_resumes_in_its_branch(place: Place, clock: FakeClock) -> None:
    async with restartable(place, clock, NESTED) as engine:
        engine.hub.report("h1", "purifier", {"mode": "sleep"})
        await advance(clock, 4 * 60)
        assert messages(engine) == ["start", "then"]
    await advance(clock, 60)  # down
    async with restartable(place, clock, NESTED) as engine:
        # The mode changed while the hub was down: the branch is not chosen again.
        engine.hub.report("h1", "purifier", {"mode": "silent"})
        await advance(clock, 5 * 60 - 1)
        assert messages(engine) == []
        await advance(clock, 1)
        await asyncio.wait_for(engine.idle(), 1)
        assert messages(engine) == ["after delay", "end"]
        [trace] = engine.trace("branchy")
        assert (trace.resumed, trace.status) == (1, "finished")
        assert [s.path for s in trace.steps] == [
            "actions[1]",
            "actions[1].then[1]",
            "actions[1].then[1].actions[0]",
            "actions[1].then[1].actions[1]",
            "actions[2]",
        ]


async def test_a_delay_in_a_choice_due_while_down_runs_once_late(place: Place, clock: FakeClock) -> None:
    async with restartable(place, clock, NESTED) as engine:
        engine.hub.report("h1", "purifier", {"mode": "favorite"})
        await advance(clock, 60)
    await advance(clock, 3600)  # down past the due time
    async with restartable(place, clock, NESTED) as engine:
        await advance(clock, 0)
        await asyncio.wait_for(engine.idle(), 1)
        assert messages(engine) == ["favorite done", "chose"]
        [trace] = engine.trace("chooser")
        delay = next(s for s in trace.steps if s.path == "actions[0].choices[1].actions[0]")
        assert delay.late is True
    async with restartable(place, clock, NESTED) as engine:  # done means forgotten
        await advance(clock, 3600)
        assert messages(engine) == []


async def test_a_delay_inside_parallel_is_not_resumed(place: Place, clock: FakeClock) -> None:
    async with restartable(place, clock, NESTED) as engine:
        engine.hub.report("h1", "purifier", {"mode": "auto"})
        await advance(clock, 60)
        assert messages(engine) == ["branch"]
    async with restartable(place, clock, NESTED) as engine:
        await advance(clock, 3600)
        assert messages(engine) == []
        assert engine.trace("fanout") == []
