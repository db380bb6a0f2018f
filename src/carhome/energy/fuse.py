"""Load management: chargers' currents that keep the house within its main fuse.

The grid meter measures each phase's current: the house's own load plus what the chargers
draw. ``share_fuse`` takes those readings, what each charger draws now and what it wants,
and gives each charger a current so that, on every phase, the house's load plus the
currents given stay within the fuse (less a reserve). The house's load is the reading less
what the chargers draw; a charger's draw is counted as the lesser of what it reports and
what it was allowed, so a stale or missing report can only make the house look heavier,
never lighter.

The headroom is shared fairly (max-min: every charger grows at the same pace until it has
what it wants or a phase it is on is full), in whole amperes, rounded down. A charger that
would get less than its minimum gets nothing, and its share goes to the others; when
there is not enough for all, the ones listed last give way first. A cut takes effect at
once; a raise made of another charger's cut waits until the meter shows that cut.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from carhome.errors import ConfigError

PHASES = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class Draw:
    """One charger on the house's supply, in amperes per phase it uses."""

    key: str
    phases: tuple[int, ...]  # the grid phases it is wired to: (1, 2, 3), or one of them
    wanted: float  # what its plan asks for now (0: nothing)
    least: float  # below this it cannot charge
    drawing: float  # what it draws now (the lesser of its report and what it was allowed)

    def __post_init__(self) -> None:
        if not self.phases or any(p not in PHASES for p in self.phases):
            raise ConfigError(f"charger {self.key!r}: phases are 1, 2 and 3, got {self.phases}")


def house_load(measured: Sequence[float], draws: Sequence[Draw]) -> tuple[float, ...]:
    """Each phase's current less what the chargers on it draw (never below 0)."""
    return tuple(
        max(0.0, measured[p - 1] - sum(d.drawing for d in draws if p in d.phases)) for p in range(1, 4)
    )


def share_fuse(
    fuse: float, measured: Sequence[float], draws: Sequence[Draw], *, reserve: float = 0.0
) -> dict[str, int]:
    """Whole amperes per charger within ``fuse − reserve`` on every phase (see the module)."""
    if len(measured) != len(PHASES):
        raise ConfigError(f"a meter reading has three phase currents, got {len(measured)}")
    house = house_load(measured, draws)
    room = {p: fuse - reserve - house[p - 1] for p in PHASES}
    active = [d for d in draws if d.wanted > 0 and d.wanted >= d.least]
    while True:
        given = _fill(room, active)
        short = [d for d in active if given[d.key] < d.least]
        if not short:
            break
        active.remove(short[-1])  # the last listed gives way, and the others share again
    final = {d.key: given.get(d.key, 0) if d in active else 0 for d in draws}
    return _no_overshoot(room, draws, final)


def _no_overshoot(room: dict[int, float], draws: Sequence[Draw], given: dict[str, int]) -> dict[str, int]:
    """Hold back raises until the cuts they are made of show in the meter.

    A charger told to draw less takes a moment to do so; a charger told to draw more may
    be quicker. Until the next reading shows the cut, the room on a phase is what is left
    with every charger at the larger of what it draws and what it is given: raises are
    trimmed (the last listed first) to fit it, and one trimmed below its minimum waits.
    """
    out = dict(given)
    for p in PHASES:
        on = [d for d in draws if p in d.phases]
        excess = sum(max(out[d.key], d.drawing) for d in on) - max(0.0, room[p])
        for d in reversed(on):
            if excess <= 1e-9:
                break
            raise_a = out[d.key] - d.drawing
            if raise_a <= 0:
                continue
            cut = min(raise_a, excess)
            kept = math.floor(out[d.key] - cut + 1e-9)
            if kept < d.least:
                kept = 0
            excess -= max(out[d.key], d.drawing) - max(kept, d.drawing)
            out[d.key] = kept
    return out


def _fill(room: dict[int, float], draws: list[Draw]) -> dict[str, int]:
    """Max-min fair currents within ``room`` per phase, rounded down to whole amperes."""
    level = dict.fromkeys((d.key for d in draws), 0.0)
    left = {p: max(0.0, r) for p, r in room.items()}
    growing = [d for d in draws if d.wanted > 0]
    while growing:
        on_phase = {p: sum(1 for d in growing if p in d.phases) for p in PHASES}
        step = min(d.wanted - level[d.key] for d in growing)
        for p in PHASES:
            if on_phase[p]:
                step = min(step, left[p] / on_phase[p])
        step = max(0.0, step)
        for d in growing:
            level[d.key] += step
        for p in PHASES:
            left[p] -= step * on_phase[p]
        full = {p for p in PHASES if on_phase[p] and left[p] <= 1e-9}
        growing = [d for d in growing if level[d.key] < d.wanted - 1e-9 and not full.intersection(d.phases)]
    return {key: math.floor(value + 1e-9) for key, value in level.items()}
