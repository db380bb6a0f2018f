"""Conditions gate runs on the current state; a failed one leaves a skipped trace."""

from __future__ import annotations

from carhome.automations import Engine
from carhome.hub import Hub
from carhome.spec import vss

TEXT = """
- id: check
  home: h1
  mode: parallel
  triggers:
    - trigger: state
      device: car
      property: speed
  conditions:
    - condition: or
      conditions:
        - condition: state
          device: car
          property: place
          state: [home, work]
        - condition: and
          conditions:
            - condition: numeric
              device: car
              property: soc
              above: 10
              below: 50
            - condition: not
              conditions:
                - condition: state
                  device: purifier
                  property: "on"
                  state: true
  actions:
    - action: notify
      member: owner
      message: ran
"""


async def test_and_or_not_state_numeric(hub: Hub, engine: Engine) -> None:
    assert engine.load_text(TEXT) == []
    hub.report("h1", "purifier", {"on": True})
    cases = [  # (place, soc, purifier on, runs)
        ("home", 90.0, True, True),
        ("away", 30.0, True, False),
        ("away", 30.0, False, True),
        ("away", 60.0, False, False),
    ]
    for speed, (place, soc, on, _) in enumerate(cases, start=1):
        hub.report("h1", "car", {"place": place}, trusted=True)
        hub.report("h1", "car", {vss.SOC: soc})
        hub.report("h1", "purifier", {"on": on})
        hub.report("h1", "car", {vss.SPEED: float(speed)})
    runs = [t.status for t in engine.trace("check")]
    assert runs == ["finished" if ok else "skipped" for *_, ok in cases][-len(runs) :]
    assert len(engine.notifications.list()) == 2
    skipped = engine.trace("check")[-1]
    assert skipped.reason == "condition conditions[0] was false"
    assert skipped.conditions[0].passed is False
