"""The charging modes users know, and what each one means.

``OFF``        no charging.
``NOW``        full power until the target, starting now.
``SOLAR``      only from solar surplus (what the house does not use), never from the grid.
``SOLAR_MIN``  at least the charger's minimum all the time, more when there is surplus.
``SMART``      the cheapest plan that reaches the target by departure (solved exactly).

``NOW``, ``SOLAR`` and ``SOLAR_MIN`` are rules: they follow the slot at hand and need no
optimisation; the planner runs them first and plans the ``SMART`` cars around them.
"""

from __future__ import annotations

import enum


class Mode(enum.StrEnum):
    OFF = "off"
    NOW = "now"
    SOLAR = "solar"
    SOLAR_MIN = "solar_min"
    SMART = "smart"

    @property
    def is_rule(self) -> bool:
        return self in (Mode.NOW, Mode.SOLAR, Mode.SOLAR_MIN)
