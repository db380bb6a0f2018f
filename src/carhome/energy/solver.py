"""The smart plan as a linear program (mixed-integer where a minimum current forces it).

Per smart car ``i`` and slot ``t`` it is plugged in (``r`` the share of the slot, ``h`` its
hours, ``η`` the efficiency, ``C`` the capacity):

    p[i,t]  average power drawn (kW)        e[i,t]  battery energy at the end of slot t
    u[i,t]  on/off (only with a minimum)    s[i]    shortfall against the target (kWh)

    e[i,t] = e[i,t-1] + η·h·p[i,t]                      (e[i,-1] = energy now)
    p[i,t] ≤ r·(a_k + b_k·e[i,t]/C)        per taper segment k (concave: their minimum)
    r·Pmin·u ≤ p ≤ r·Pmax·u                 (u binary when Pmin > 0, else p ≤ r·Pmax)
    e[i,t] ≤ limit,  e[i,last] + s[i] ≥ need
    Σ p[i,t] over a connection ≤ its limit − what rule cars take
    g[t] − x[t] − Σ p[i,t] = load[t] + rule cars[t] − solar[t],  g ≥ 0,  0 ≤ x ≤ solar[t]

    minimise  Σ h·(price·g − feed_in·x) + M·Σ s

If the best plan falls short, the exact answer is found in two more solves on the same
model: least total shortfall first, then least cost with no more shortfall than that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carhome.energy.highs import INF, FloatArray, LinearProgram, Model, SolverError
from carhome.energy.modes import Mode
from carhome.energy.problem import CarProblem, Problem
from carhome.energy.rules import RuleOutcome

SHORTFALL_TOLERANCE = 1e-9  # kWh


@dataclass(frozen=True, slots=True)
class SmartOutcome:
    """Power per smart car over the grid, and each car's shortfall in kWh."""

    power: dict[int, FloatArray]
    shortfall: dict[int, float]


class _Builder:
    """Columns and rows of the model, collected as triplets."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[int] = []
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []
        self.r: list[int] = []
        self.c: list[int] = []
        self.v: list[float] = []

    def col(self, cost: float, lower: float, upper: float, *, integer: bool = False) -> int:
        self.cost.append(cost)
        self.lower.append(lower)
        self.upper.append(upper)
        if integer:
            self.integer.append(len(self.cost) - 1)
        return len(self.cost) - 1

    def row(self, lower: float, upper: float, terms: list[tuple[int, float]]) -> None:
        row = len(self.row_lower)
        self.row_lower.append(lower)
        self.row_upper.append(upper)
        for col, value in terms:
            self.r.append(row)
            self.c.append(col)
            self.v.append(value)

    def model(self) -> Model:
        rows, cols, vals = np.array(self.r, np.int32), np.array(self.c, np.int32), np.array(self.v)
        order = np.lexsort((rows, cols))
        counts = np.bincount(cols, minlength=len(self.cost))
        starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
        return Model(
            cost=np.array(self.cost),
            lower=np.array(self.lower),
            upper=np.array(self.upper),
            starts=starts,
            rows=rows[order],
            values=vals[order],
            row_lower=np.array(self.row_lower),
            row_upper=np.array(self.row_upper),
            integer=np.array(self.integer, np.int32),
        )


def solve_smart(problem: Problem, rules: RuleOutcome) -> SmartOutcome:
    """The cheapest plan for the smart cars that reaches their targets, or comes closest."""
    smart = [cp for cp in problem.cars if cp.car.mode is Mode.SMART and cp.last >= 0]
    if not smart:
        return SmartOutcome(power={}, shortfall={})
    horizon = max(cp.last for cp in smart) + 1
    hours, price, feed_in = problem.hours, problem.price, problem.feed_in
    penalty = 1e3 * (float(np.max(np.abs(price[:horizon]))) + float(np.max(np.abs(feed_in[:horizon]))) + 1.0)
    b = _Builder()
    p_cols: dict[int, list[int]] = {}
    switched: Switched = []
    shortfall_cols: dict[int, int] = {}
    for cp in smart:
        p_cols[cp.index], last_e = _add_car(b, cp, hours, switched)
        shortfall_cols[cp.index] = b.col(penalty, 0.0, max(0.0, cp.need_kwh - cp.start_kwh))
        b.row(cp.need_kwh, INF, [(last_e, 1.0), (shortfall_cols[cp.index], 1.0)])
    for k, (limit, members) in enumerate(problem.connections):
        for t in range(horizon):
            terms = [(p_cols[i][t], 1.0) for i in members if i in p_cols and p_cols[i][t] >= 0]
            if terms:
                b.row(-INF, max(0.0, limit - float(rules.connection_used[k][t])), terms)
    for t in range(horizon):
        terms = [(p_cols[i][t], -1.0) for i in p_cols if p_cols[i][t] >= 0]
        if not terms or hours[t] <= 0:
            continue
        solar = float(problem.solar[t])
        g = b.col(hours[t] * price[t], 0.0, INF)
        x = b.col(-hours[t] * feed_in[t], 0.0, solar)
        rest = float(problem.load[t]) + float(rules.site_used[t]) - solar
        b.row(rest, rest, [(g, 1.0), (x, -1.0), *terms])
    lp = LinearProgram(b.model())
    values = _solve(lp, switched)
    short = {i: float(values[c]) for i, c in shortfall_cols.items()}
    if sum(short.values()) > SHORTFALL_TOLERANCE:
        values = _exact_shortfall(lp, switched, np.array(b.cost), list(shortfall_cols.values()))
        short = {i: float(values[c]) for i, c in shortfall_cols.items()}
    power = {}
    for i, cols in p_cols.items():
        arr = np.zeros(problem.size)
        for t, c in enumerate(cols):
            if c >= 0:
                arr[t] = max(0.0, float(values[c]))
        power[i] = arr
    return SmartOutcome(power=power, shortfall={i: max(0.0, s) for i, s in short.items()})


Switched = list[tuple[int, float, float]]  # (power column, least power when on, most power)
MAX_NODES = 12
_ON_OFF_TOLERANCE = 1e-7


def _solve(lp: LinearProgram, switched: Switched) -> FloatArray:
    """The optimum, honouring every charger's "off or at least the minimum".

    Usually only a slot or two of the linear relaxation sit below a minimum, so a small
    depth-first branch and bound over those slots (off, or at least the minimum), each
    node a warm-started LP, settles it faster than a general MILP solve. Past
    ``MAX_NODES`` nodes HiGHS's own branch and bound takes over. Both are exact.
    """
    if not switched:
        return lp.solve()[0]
    best_values: FloatArray | None = None
    best = INF
    stack: list[dict[int, bool]] = [{}]
    nodes = 0
    while stack:
        nodes += 1
        if nodes > MAX_NODES:
            _restore(lp, switched)
            lp.require_integers()
            return lp.solve()[0]
        fixed = stack.pop()
        _restore(lp, switched)
        for j, on in fixed.items():
            p, least, most = switched[j]
            lp.set_bounds(p, least if on else 0.0, most if on else 0.0)
        found = lp.solve_if_feasible()
        if found is None:
            continue
        values, objective = found
        if objective >= best - 1e-9 * max(1.0, abs(best)):
            continue
        below = [
            j
            for j, (p, least, _) in enumerate(switched)
            if _ON_OFF_TOLERANCE < values[p] < least - _ON_OFF_TOLERANCE
        ]
        if not below:
            best, best_values = objective, values
            continue
        j = max(below, key=lambda k: values[switched[k][0]])
        stack.append({**fixed, j: False})
        stack.append({**fixed, j: True})  # explored first: it usually gives a plan to bound by
    _restore(lp, switched)
    if best_values is None:
        raise SolverError("Infeasible")
    return best_values


def _restore(lp: LinearProgram, switched: Switched) -> None:
    for p, _, most in switched:
        lp.set_bounds(p, 0.0, most)


def _add_car(b: _Builder, cp: CarProblem, hours: FloatArray, switched: Switched) -> tuple[list[int], int]:
    """Add one car's columns and rows.

    Returns its power column per slot (-1 where it cannot charge) and its last energy column.
    """
    cap, eta = cp.car.capacity.kwh, cp.car.efficiency
    binding = [(a, s) for a, s in cp.car.lines if min(a, a + s) < cp.max_kw]
    cols = [-1] * len(hours)
    previous: int | None = None
    for t in range(cp.last + 1):
        r = float(cp.share[t])
        if r <= 0 or hours[t] <= 0:
            continue
        p = b.col(0.0, 0.0, r * cp.max_kw)
        e = b.col(0.0, 0.0, cp.limit_kwh)
        cols[t] = p
        if previous is None:
            b.row(cp.start_kwh, cp.start_kwh, [(e, 1.0), (p, -eta * hours[t])])
        else:
            b.row(0.0, 0.0, [(e, 1.0), (previous, -1.0), (p, -eta * hours[t])])
        for a, slope in binding:
            b.row(-INF, r * a, [(p, 1.0), (e, -r * slope / cap)])
        if cp.min_kw > 0:
            u = b.col(0.0, 0.0, 1.0, integer=True)
            b.row(-INF, 0.0, [(p, 1.0), (u, -r * cp.max_kw)])
            b.row(0.0, INF, [(p, 1.0), (u, -r * cp.min_kw)])
            switched.append((p, r * cp.min_kw, r * cp.max_kw))
        previous = e
    if previous is None:  # plugged in for no time at all: a fixed energy column
        previous = b.col(0.0, cp.start_kwh, cp.start_kwh)
    return cols, previous


def _exact_shortfall(
    lp: LinearProgram, switched: Switched, cost: FloatArray, shortfall: list[int]
) -> FloatArray:
    """Least total shortfall, then least cost at that shortfall."""
    only_shortfall = np.zeros_like(cost)
    only_shortfall[shortfall] = 1.0
    lp.set_costs(only_shortfall)
    values = _solve(lp, switched)
    least = float(np.sum(values[shortfall]))
    idx = np.array(shortfall, np.int32)
    lp.add_row(-INF, least + SHORTFALL_TOLERANCE, idx, np.ones(len(idx)))
    plain = cost.copy()
    plain[shortfall] = 0.0
    lp.set_costs(plain)
    return _solve(lp, switched)
