"""What a loaded automation costs in memory: its YAML text is not kept, node by node."""

from __future__ import annotations

import gc
import tracemalloc

from carhome.automations import Engine
from carhome.hub import Hub

ONE = """
  - id: low-{n}
    home: h1
    triggers:
      - trigger: threshold
        device: car
        property: Vehicle.Powertrain.TractionBattery.StateOfCharge.Current
        below: 20
    actions:
      - action: command
        device: [hall, porch]
        name: turn_on
      - action: notify
        member: owner
        message: low {n}
"""
COUNT = 200


async def test_a_loaded_automation_keeps_its_line_not_its_yaml(hub: Hub, engine: Engine) -> None:
    text = "automations:\n" + "".join(ONE.format(n=n) for n in range(COUNT))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert engine.load_text(text, "many.yaml") == []
        gc.collect()
        each = (tracemalloc.get_traced_memory()[0] - before) / COUNT
    finally:
        tracemalloc.stop()
    print(f"memory per loaded automation: {each:.0f} bytes")
    assert each < 6_000
    # the line each automation starts at, as written (each block opens with an empty line)
    assert engine.source("low-0").line == 3
    assert engine.source(f"low-{COUNT - 1}").line == 3 + (COUNT - 1) * ONE.count("\n")
