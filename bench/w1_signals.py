"""The W1 workload as carhome takes it (see shared/WORKLOADS.md): the stream's signal names
as carhome's properties, which of them are the hub's own (derived, so reported trusted),
the lights per home, the three automations of a home, and the stream's generator,
``shared/workloads/w1_stream.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from carhome.spec import vss
from carhome.spec.devices import DISTANCE_TO_HOME, PLACE

STREAM_PY = Path(__file__).resolve().parents[2] / "shared" / "workloads" / "w1_stream.py"
SIGNALS = {
    "soc": vss.SOC,
    "speed": vss.SPEED,
    "odometer": vss.ODOMETER,
    "inside_temp": vss.CABIN_TEMPERATURE,
    "place": PLACE,
    "distance_to_home": DISTANCE_TO_HOME,
}
DERIVED = frozenset({PLACE, DISTANCE_TO_HOME})
LIGHTS = 10

_AUTOMATIONS = """\
home: {{home}}
automations:
  - id: {{home}}.soc
    alias: Low battery
    mode: parallel
    max: 100
    triggers:
      - trigger: threshold
        device: car
        property: Vehicle.Powertrain.TractionBattery.StateOfCharge.Current
        below: 20
    actions:
{soc}
  - id: {{home}}.arrive
    alias: Arriving home
    mode: parallel
    max: 100
    triggers:
      - trigger: state
        device: car
        property: place
        from: away
        to: home
    actions:
{arrive}
  - id: {{home}}.near
    alias: Nearly home
    mode: parallel
    max: 100
    triggers:
      - trigger: threshold
        device: car
        property: distance_to_home
        below: 2
    actions:
{near}
"""


def automations(*, soc: list[str], arrive: list[str], near: list[str]) -> str:
    """The W1 automations of a home in carhome's YAML, a template of ``{home}``: low battery,
    arriving home and nearly home, each doing the actions given (YAML flow mappings)."""

    def actions(given: list[str]) -> str:
        # doubled braces: the result is a template of ``{home}`` only
        return "\n".join(f"      - {action}".replace("{", "{{").replace("}", "}}") for action in given)

    return _AUTOMATIONS.format(soc=actions(soc), arrive=actions(arrive), near=actions(near))


def generator() -> ModuleType:
    """``w1_stream.py``, whose ``generate(homes, updates, fire_ratio, seed)`` makes the stream."""
    spec = importlib.util.spec_from_file_location("w1_stream", STREAM_PY)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the W1 generator from {STREAM_PY}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
