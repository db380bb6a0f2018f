"""The smart plan as a linear program, with "off or at least the minimum" where chargers need it.

Per smart car ``i`` and slot ``t`` it is plugged in (``r`` the share of the slot, ``h`` its
hours, ``η`` the efficiency, ``C`` the capacity):

    p[i,t]  average power drawn (kW), 0 or from r·Pmin to r·Pmax (semi-continuous)
    s[i]    shortfall against the target (kWh)

    need − e0 ≤ Σt η·h·p[i,t] + s[i] ≤ limit − e0
    Σ p[i,t] over a connection ≤ its limit − what rule cars take
    minimise  Σ h·price·p + M·Σ s                       (slots without solar)

A car whose taper can bind below its limit gets its battery energy as a column per slot
instead, ``e[i,t] = e[i,t-1] + η·h·p[i,t]`` with ``p[i,t] ≤ r·(a_k + b_k·e[i,t]/C)`` per
taper segment ``k`` that can bind (the curve is concave: the minimum of its segments).
A slot with a solar forecast gets its import ``g`` and export ``x`` and the site balance

    g[t] − x[t] − Σ p[i,t] = load[t] + rule cars[t] − solar[t],  g ≥ 0,  0 ≤ x ≤ solar[t]
    minimise  Σ h·(price·g − feed_in·x)

Without solar there is nothing to export and the house's own load is paid whatever the
cars do, so there the cars' power is priced directly and the balance drops out: the same
optimum from a program a fraction of the size. Segments of the taper, connection limits
and flat taper tops that cannot bind are left out or become column bounds, for the same
reason. The model is built from numpy arrays and passed to HiGHS in one call.

If the best plan falls short, the exact answer is found in two more solves on the same
model: least total shortfall first, then least cost with no more shortfall than that.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from carhome.energy.branching import Switched, solve_switched
from carhome.energy.highs import INF, FloatArray, IntArray, LinearProgram, Model
from carhome.energy.modes import Mode
from carhome.energy.pairs import pair_cuts
from carhome.energy.problem import CarProblem, Problem
from carhome.energy.rules import RuleOutcome

SHORTFALL_TOLERANCE = 1e-9  # kWh


@dataclass(frozen=True, slots=True)
class SmartOutcome:
    """Power per smart car over the grid, and each car's shortfall in kWh."""

    power: dict[int, FloatArray]
    shortfall: dict[int, float]
    solves: int = 0  # linear programs solved for it, the measure of how hard it was


class _Builder:
    """Columns, rows and nonzeros of the model, gathered as numpy blocks."""

    def __init__(self) -> None:
        self.num_cols = 0
        self.num_rows = 0
        self._cols: list[tuple[FloatArray, FloatArray, FloatArray]] = []
        self._rows: list[tuple[FloatArray, FloatArray]] = []
        self._terms: list[tuple[IntArray, IntArray, FloatArray]] = []

    def cols(
        self, cost: FloatArray | float, lower: FloatArray | float, upper: FloatArray | float, n: int
    ) -> IntArray:
        """Add ``n`` columns (scalars broadcast) and return their indices."""
        shape = (n,)
        self._cols.append(
            (
                np.broadcast_to(np.asarray(cost, np.float64), shape),
                np.broadcast_to(np.asarray(lower, np.float64), shape),
                np.broadcast_to(np.asarray(upper, np.float64), shape),
            )
        )
        self.num_cols += n
        return np.arange(self.num_cols - n, self.num_cols, dtype=np.int32)

    def rows(self, lower: FloatArray | float, upper: FloatArray | float, n: int) -> IntArray:
        """Add ``n`` rows (scalars broadcast) and return their indices."""
        shape = (n,)
        self._rows.append(
            (
                np.broadcast_to(np.asarray(lower, np.float64), shape),
                np.broadcast_to(np.asarray(upper, np.float64), shape),
            )
        )
        self.num_rows += n
        return np.arange(self.num_rows - n, self.num_rows, dtype=np.int32)

    def terms(self, rows: IntArray, cols: IntArray, values: FloatArray | float) -> None:
        """Add the nonzeros ``A[rows[k], cols[k]] = values[k]``."""
        shape = (len(rows),)
        self._terms.append((rows, cols, np.broadcast_to(np.asarray(values, np.float64), shape)))

    def cost(self) -> FloatArray:
        return np.concatenate([c for c, _, _ in self._cols]) if self._cols else np.zeros(0)

    def model(self) -> Model:
        def floats(parts: list[FloatArray]) -> FloatArray:
            return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)

        def ints(parts: list[IntArray]) -> IntArray:
            return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)

        return Model.of_triplets(
            cost=self.cost(),
            lower=floats([lo for _, lo, _ in self._cols]),
            upper=floats([up for _, _, up in self._cols]),
            rows=ints([r for r, _, _ in self._terms]),
            cols=ints([c for _, c, _ in self._terms]),
            values=floats([v for _, _, v in self._terms]),
            row_lower=floats([lo for lo, _ in self._rows]),
            row_upper=floats([up for _, up in self._rows]),
        )


@dataclass(frozen=True, slots=True)
class _CarColumns:
    slots: IntArray  # the slots the car can charge in
    power: IntArray  # its power column in each of them
    upper: FloatArray  # the most it can draw in each
    least: FloatArray  # the least it can draw in each when it draws at all
    shortfall: int


def solve_smart(problem: Problem, rules: RuleOutcome) -> SmartOutcome:
    """The cheapest plan for the smart cars that reaches their targets, or comes closest."""
    smart = [cp for cp in problem.cars if cp.car.mode is Mode.SMART and cp.last >= 0]
    if not smart:
        return SmartOutcome(power={}, shortfall={})
    horizon = max(cp.last for cp in smart) + 1
    hours, price, feed_in = problem.hours[:horizon], problem.price[:horizon], problem.feed_in[:horizon]
    solar = problem.solar[:horizon]
    penalty = 1e3 * (float(np.max(np.abs(price))) + float(np.max(np.abs(feed_in))) + 1.0)
    # without solar the balance drops out and the cars pay the price directly
    sunny = solar > 0
    p_cost = np.where(sunny, 0.0, hours * price)
    b = _Builder()
    cars = {cp.index: _add_car(b, cp, hours, p_cost, penalty) for cp in smart}
    grid = {i: _column_grid(c, horizon) for i, c in cars.items()}
    _add_connections(b, problem=problem, rules=rules, cars=cars, grid=grid, horizon=horizon)
    switched, never_on = _switched(smart, cars)
    _add_solar(b, problem, rules, grid, _least_on(smart, cars, never_on, horizon))
    model = b.model()
    if len(never_on):  # a minimum above what the taper allows: that slot stays off
        model.upper[never_on] = 0.0
    lp = LinearProgram(model)
    values = solve_switched(lp, switched)
    shortfall_cols = np.array([c.shortfall for c in cars.values()], np.int32)
    if float(np.sum(values[shortfall_cols])) > SHORTFALL_TOLERANCE:
        values = _exact_shortfall(lp, switched, b.cost(), shortfall_cols)
    power = {}
    for i, c in cars.items():
        arr = np.zeros(problem.size)
        arr[c.slots] = np.maximum(values[c.power], 0.0)
        power[i] = arr
    return SmartOutcome(
        power=power,
        shortfall={i: max(0.0, float(values[c.shortfall])) for i, c in cars.items()},
        solves=lp.runs,
    )


def _add_car(
    b: _Builder, cp: CarProblem, hours: FloatArray, p_cost: FloatArray, penalty: float
) -> _CarColumns:
    """Add one car's columns and rows."""
    cap, eta = cp.car.capacity.kwh, cp.car.efficiency
    share = cp.share[: len(hours)]
    slots = np.flatnonzero((share > 0) & (hours > 0)).astype(np.int32)
    r, h = share[slots], hours[slots]
    flat = [a for a, slope in cp.car.lines if slope == 0]
    top = min([cp.max_kw, *flat])
    # a sloped segment binds only if it falls below the top before the charge limit
    sloped = [(a, slope) for a, slope in cp.car.lines if slope < 0 and a + slope * cp.limit_kwh / cap < top]
    n = len(slots)
    upper = r * top
    p = b.cols(p_cost[slots], 0.0, upper, n)
    shortfall = b.cols(penalty, 0.0, max(0.0, cp.need_kwh - cp.start_kwh), 1)
    if not sloped or not n:
        row = b.rows(cp.need_kwh - cp.start_kwh, cp.limit_kwh - cp.start_kwh, 1)
        b.terms(np.repeat(row, n), p, eta * h)
        b.terms(row, shortfall, 1.0)
        return _CarColumns(slots, p, upper, r * cp.min_kw, int(shortfall[0]))
    e = b.cols(0.0, 0.0, cp.limit_kwh, n)
    balance = b.rows(
        np.concatenate(([cp.start_kwh], np.zeros(n - 1))),
        np.concatenate(([cp.start_kwh], np.zeros(n - 1))),
        n,
    )
    b.terms(balance, e, 1.0)
    b.terms(balance[1:], e[:-1], -1.0)
    b.terms(balance, p, -eta * h)
    for a, slope in sloped:
        taper = b.rows(-INF, r * a, n)
        b.terms(taper, p, 1.0)
        b.terms(taper, e, -r * slope / cap)
    need = b.rows(cp.need_kwh, INF, 1)
    b.terms(need, e[-1:], 1.0)
    b.terms(need, shortfall, 1.0)
    return _CarColumns(slots, p, upper, r * cp.min_kw, int(shortfall[0]))


def _column_grid(c: _CarColumns, horizon: int) -> IntArray:
    """The car's power column per slot of the horizon, -1 where it cannot charge."""
    grid = np.full(horizon, -1, np.int32)
    grid[c.slots] = c.power
    return grid


def _add_connections(
    b: _Builder,
    *,
    problem: Problem,
    rules: RuleOutcome,
    cars: dict[int, _CarColumns],
    grid: dict[int, IntArray],
    horizon: int,
) -> None:
    """Σ p over each connection ≤ what the rule cars leave of it, where that can bind."""
    for k, (limit, members) in enumerate(problem.connections):
        mine = [i for i in members if i in cars]
        if not mine:
            continue
        room = np.maximum(0.0, limit - rules.connection_used[k][:horizon])
        most = np.zeros(horizon)
        for i in mine:
            most[cars[i].slots] += cars[i].upper
        slots = np.flatnonzero(most > room).astype(np.int32)
        if not len(slots):
            continue
        rows = b.rows(-INF, room[slots], len(slots))
        for i in mine:
            cols = grid[i][slots]
            has = cols >= 0
            b.terms(rows[has], cols[has], 1.0)
        for x, y in itertools.combinations(mine, 2):
            _add_pair_cuts(b, cars[x], cars[y], grid[x], grid[y], slots, room)


def _add_pair_cuts(  # noqa: PLR0917 - two cars' columns and their grids, in pairs
    b: _Builder,
    x: _CarColumns,
    y: _CarColumns,
    grid_x: IntArray,
    grid_y: IntArray,
    slots: IntArray,
    room: FloatArray,
) -> None:
    """The hull of what two chargers can draw together, in each slot where their line is full."""
    both = slots[(grid_x[slots] >= 0) & (grid_y[slots] >= 0)]
    if not len(both):
        return
    at_x, at_y = np.searchsorted(x.slots, both), np.searchsorted(y.slots, both)
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    rhs: list[float] = []
    for t, i, j in zip(both.tolist(), at_x.tolist(), at_y.tolist(), strict=True):
        cuts = pair_cuts(
            float(x.least[i]), float(x.upper[i]), float(y.least[j]), float(y.upper[j]), float(room[t])
        )
        for wx, wy, bound in cuts:
            row = len(rhs)
            rows += [row, row]
            cols += [int(x.power[i]), int(y.power[j])]
            values += [wx, wy]
            rhs.append(bound)
    if rhs:
        first = b.rows(-INF, np.array(rhs), len(rhs))
        b.terms(first[np.array(rows, np.int32)], np.array(cols, np.int32), np.array(values))


def _add_solar(
    b: _Builder, problem: Problem, rules: RuleOutcome, grid: dict[int, IntArray], least_on: FloatArray
) -> None:
    """Import, export and the site balance in each slot with solar where a car can charge.

    Where the surplus ``S`` is below the least power any car can switch on at, ``L``, the
    cars draw 0 or at least ``L``, so their cost is never below the chord of the slot's
    cost curve from 0 to ``L`` (feed-in forgone up to ``S``, the price beyond):

        price·g − feed_in·x ≥ −feed_in·S + (price·(L − S) + feed_in·S)/L · Σ p

    That holds for every plan the chargers can run, and without it the relaxation would
    take exactly the surplus in every such slot — a morning of slots below the minimum,
    and a weak bound. With it, the relaxation of a lone car's slot is its convex hull.
    The cost curve must be convex for this (price ≥ feed-in); where it is not, no chord.
    """
    horizon = len(least_on)
    charging = np.zeros(horizon, dtype=bool)
    for cols in grid.values():
        charging |= cols >= 0
    slots = np.flatnonzero((problem.solar[:horizon] > 0) & charging).astype(np.int32)
    if not len(slots):
        return
    n, hours = len(slots), problem.hours[slots]
    solar, price, feed_in = problem.solar[slots], problem.price[slots], problem.feed_in[slots]
    g = b.cols(hours * price, 0.0, INF, n)
    x = b.cols(-hours * feed_in, 0.0, solar, n)
    rest = problem.load[slots] + rules.site_used[slots] - solar
    rows = b.rows(rest, rest, n)
    b.terms(rows, g, 1.0)
    b.terms(rows, x, -1.0)
    surplus, least = -rest, least_on[slots]
    chord = np.flatnonzero((surplus > 0) & (surplus < least) & (price >= feed_in) & np.isfinite(least))
    if len(chord):
        s, lo, pr, fi = surplus[chord], least[chord], price[chord], feed_in[chord]
        cuts = b.rows(-fi * s, INF, len(chord))
        b.terms(cuts, g[chord], pr)
        b.terms(cuts, x[chord], -fi)
    for cols in grid.values():
        c = cols[slots]
        has = c >= 0
        b.terms(rows[has], c[has], -1.0)
        if len(chord):
            cc = c[chord]
            on = cc >= 0
            slope = (pr * (lo - s) + fi * s) / lo
            b.terms(cuts[on], cc[on], -slope[on])


def _least_on(
    smart: list[CarProblem], cars: dict[int, _CarColumns], never_on: IntArray, horizon: int
) -> FloatArray:
    """Per slot, the least power at which any smart car can charge (inf where none can)."""
    least = np.full(horizon, np.inf)
    for cp in smart:
        c = cars[cp.index]
        lo = cp.share[c.slots] * cp.min_kw
        lo[np.isin(c.power, never_on)] = np.inf
        least[c.slots] = np.minimum(least[c.slots], lo)
    return least


def _switched(smart: list[CarProblem], cars: dict[int, _CarColumns]) -> tuple[Switched, IntArray]:
    """The power columns with a minimum, and those whose minimum is above their maximum."""
    cols: list[IntArray] = []
    least: list[FloatArray] = []
    most: list[FloatArray] = []
    never: list[IntArray] = []
    for cp in smart:
        c = cars[cp.index]
        if cp.min_kw <= 0 or not len(c.slots):
            continue
        lo = cp.share[c.slots] * cp.min_kw
        ok = lo <= c.upper
        cols.append(c.power[ok])
        least.append(lo[ok])
        most.append(c.upper[ok])
        never.append(c.power[~ok])
    if not cols:
        empty = np.zeros(0, np.int32)
        return Switched(empty, np.zeros(0), np.zeros(0)), empty
    return (
        Switched(np.concatenate(cols), np.concatenate(least), np.concatenate(most)),
        np.concatenate(never).astype(np.int32),
    )


def _exact_shortfall(
    lp: LinearProgram, switched: Switched, cost: FloatArray, shortfall: IntArray
) -> FloatArray:
    """Least total shortfall, then least cost at that shortfall."""
    only_shortfall = np.zeros_like(cost)
    only_shortfall[shortfall] = 1.0
    lp.set_costs(only_shortfall)
    values = solve_switched(lp, switched)
    least = float(np.sum(values[shortfall]))
    lp.add_row(-INF, least + SHORTFALL_TOLERANCE, shortfall, np.ones(len(shortfall)))
    plain = cost.copy()
    plain[shortfall] = 0.0
    lp.set_costs(plain)
    return solve_switched(lp, switched)
