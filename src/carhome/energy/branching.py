"""Chargers that are off or at least at their minimum: a small branch and bound on HiGHS.

A charger below its minimum current cannot charge at all, so each of its slots is "off, or
from the minimum to the maximum" — a semi-continuous column. The linear relaxation (each
slot anywhere from 0 to the maximum) is a lower bound on the cost, and it is almost always
tight or nearly so: only a marginal slot or two, a slot that takes exactly the solar
surplus, or a split of a shared connection between cars, sits below a minimum. So:

1. solve the relaxation; if nothing sits below a minimum, it is the optimum;
2. dive: round every slot below its minimum to off or on at once and solve again, until
   none is left — a plan that honours every minimum, and often one that costs no more
   than the relaxation, which proves it optimal on the spot;
3. otherwise, best first: branch on a slot below its minimum (off, or at least the
   minimum), each node a warm-started re-solve of the same HiGHS instance with its bounds
   changed in one call, until no open node can beat the best plan by more than
   ``REL_GAP``;
4. past ``MAX_NODES`` nodes, HiGHS's own MIP (the columns made semi-continuous) settles it.

Every step is exact to ``REL_GAP``: the bound comes from the relaxations, never from a rule
of thumb.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from carhome.energy.highs import FloatArray, IntArray, LinearProgram, SolverError

BoolArray = npt.NDArray[np.bool_]

REL_GAP = 1e-7
MAX_NODES = 400
ON_OFF_TOLERANCE = 1e-7  # kW: closer than this to 0 or to the minimum counts as there
DIVE_ROUNDS = 8  # a dive that needs more is chasing a marginal slot round the grid: stop it
DUAL_SLACK = 1e-9  # what a reduced-cost bound must clear, against the solver's tolerances


@dataclass(frozen=True, slots=True)
class Switched:
    """The semi-continuous columns: each ``columns[j]`` is 0 or in ``[least[j], most[j]]``."""

    columns: IntArray
    least: FloatArray
    most: FloatArray

    def __len__(self) -> int:
        return len(self.columns)

    def below(self, values: FloatArray) -> IntArray:
        """The positions whose column sits strictly between 0 and its minimum."""
        v = values[self.columns]
        return np.flatnonzero((v > ON_OFF_TOLERANCE) & (v < self.least - ON_OFF_TOLERANCE)).astype(np.int32)


@dataclass
class _Search:
    lp: LinearProgram
    sw: Switched
    best: float = np.inf
    best_values: FloatArray | None = None
    lower: FloatArray = field(init=False)  # the switched columns' bounds the program holds now
    upper: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.lower, self.upper = np.zeros(len(self.sw)), self.sw.most.copy()

    def gap(self) -> float:
        return REL_GAP * max(1.0, abs(self.best))

    def solve_with(self, on: BoolArray, off: BoolArray) -> tuple[FloatArray, float] | None:
        """Solve with the masked positions fixed on (at least the minimum) or off."""
        lower = np.where(on, self.sw.least, 0.0)
        upper = np.where(off, 0.0, self.sw.most)
        # only what differs from the node before: a node is a few fixings away from its parent
        changed = np.flatnonzero((lower != self.lower) | (upper != self.upper))
        self.lp.set_bounds(self.sw.columns[changed], lower[changed], upper[changed])
        self.lower, self.upper = lower, upper
        return self.lp.solve_if_feasible()

    def offer(self, values: FloatArray, objective: float) -> None:
        if objective < self.best:
            self.best, self.best_values = objective, values

    def fix_by_reduced_costs(
        self, values: FloatArray, objective: float, on: BoolArray, off: BoolArray
    ) -> tuple[BoolArray, BoolArray]:
        """Settle the free columns whose switch alone would cost more than the best plan.

        A column at 0 with reduced cost ``d`` cannot be switched on for less than
        ``d·least`` more; one at its maximum cannot be switched off for less than
        ``−d·most`` more (LP duality: the bound holds whatever else moves). Where that
        already reaches the best plan, the subtree has only one side worth exploring.
        """
        if self.best_values is None:
            return on, off
        room = self.best - self.gap() - objective
        sw = self.sw
        d = self.lp.reduced_costs()[sw.columns]
        v = values[sw.columns]
        free = ~(on | off)
        off_now = free & (v <= ON_OFF_TOLERANCE) & (d * sw.least > room + DUAL_SLACK)
        on_now = free & (v >= sw.most - ON_OFF_TOLERANCE) & (-d * sw.most > room + DUAL_SLACK)
        return on | on_now, off | off_now


def solve_switched(lp: LinearProgram, sw: Switched) -> FloatArray:
    """The optimum of ``lp`` with every column of ``sw`` off or at least its minimum."""
    root = _solve_free(lp, sw)
    if root is None:
        raise SolverError("Infeasible")
    values, bound = root
    if not len(sw) or not len(sw.below(values)):
        return values
    search = _Search(lp, sw)
    none = np.zeros(len(sw), dtype=bool)
    for threshold in (0.0, 0.5):
        _dive(search, values, bound, none, threshold)
        if search.best_values is not None and search.best <= bound + search.gap():
            _solve_free(lp, sw, solve=False)
            return search.best_values
    found = _best_first(search, bound)
    _solve_free(lp, sw, solve=False)
    if found is None:
        raise SolverError("Infeasible")
    return found


def _solve_free(lp: LinearProgram, sw: Switched, *, solve: bool = True) -> tuple[FloatArray, float] | None:
    lp.set_bounds(sw.columns, np.zeros(len(sw)), sw.most)
    return lp.solve_if_feasible() if solve else None


def _dive(search: _Search, values: FloatArray, objective: float, none: BoolArray, threshold: float) -> None:
    """Round everything below a minimum at once: on from ``threshold``·minimum, else off.

    With threshold 0 every such slot goes on, which suits a marginal slot (the others
    give way); a shared connection split unevenly is better served by rounding to the
    nearer side (the other car takes the rest over).
    """
    sw = search.sw
    on, off = none.copy(), none.copy()
    for _ in range(DIVE_ROUNDS):
        below = sw.below(values)
        if not len(below):
            search.offer(values, objective)
            return
        up = values[sw.columns[below]] >= threshold * sw.least[below]
        on[below[up]] = True
        off[below[~up]] = True
        found = search.solve_with(on, off)
        if found is None:
            return
        values, objective = found


_Node = tuple[float, int, int, BoolArray, BoolArray]  # parent's bound, -depth, tie, on, off


def _best_first(search: _Search, bound: float) -> FloatArray | None:
    """Branch and bound from the root: depth first until there is a plan, then lowest bound first.

    Among nodes of equal bound the deeper goes first, so a run of free choices (a shared
    connection split one way or another at no cost) is walked down, not across.
    """
    sw = search.sw
    count = itertools.count()
    none = np.zeros(len(sw), dtype=bool)
    stack: list[_Node] = [(bound, 0, next(count), none, none)]  # depth first, "on" on top
    heap: list[_Node] = []
    nodes = 0
    while stack or heap:
        if search.best_values is not None and stack:
            heap.extend(stack)
            heapq.heapify(heap)
            stack.clear()
        node_bound, depth, _, on, off = heapq.heappop(heap) if heap else stack.pop()
        if node_bound >= search.best - search.gap():
            if heap:
                break  # no open node can do better: the best plan is optimal
            continue
        nodes += 1
        if nodes > MAX_NODES:
            return _fallback(search)
        found = search.solve_with(on, off)
        if found is None:
            continue
        values, objective = found
        if objective >= search.best - search.gap():
            continue
        below = sw.below(values)
        if not len(below):
            search.offer(values, objective)
            continue
        on, off = search.fix_by_reduced_costs(values, objective, on, off)
        v = values[sw.columns[below]]
        j = int(below[np.argmax(np.minimum(v, sw.least[below] - v) / sw.least[below])])
        child_on, child_off = on.copy(), off.copy()
        child_on[j] = True
        child_off[j] = True
        children = [
            (objective, depth - 1, next(count), on, child_off),
            (objective, depth - 1, next(count), child_on, off),
        ]
        for child in children:
            if search.best_values is None:
                stack.append(child)
            else:
                heapq.heappush(heap, child)
    return search.best_values


def _fallback(search: _Search) -> FloatArray | None:
    """HiGHS's MIP with semi-continuous columns, for the rare case the search runs long."""
    sw = search.sw
    found = search.lp.solve_semicontinuous(sw.columns, sw.least, sw.most, mip_rel_gap=REL_GAP)
    if found is not None:
        search.offer(*found)
    return search.best_values
