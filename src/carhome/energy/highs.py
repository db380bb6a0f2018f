"""The one place carhome talks to the HiGHS solver (``highspy``, which ships no types).

``LinearProgram`` takes a model as plain numpy arrays (costs, column bounds, a sparse
constraint matrix in compressed-column form, row bounds), hands it to HiGHS in one
``passModel`` call, solves it, and changes costs and bounds in bulk to solve again from
the previous basis. Nothing else in carhome imports ``highspy``; a HiGHS failure comes out
as ``SolverError``.

The planner's models are small (a few hundred columns) and solved many times over, so the
fixed cost of each ``run`` matters more than the simplex itself: presolve is off for the
linear programs (it costs more than it saves at this size and would throw away the warm
basis) and HiGHS runs on one thread.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from carhome.errors import CarhomeError

# highspy's own annotations are partial and change between releases: keep it as Any here,
# behind this module's typed surface.
highspy: Any = importlib.import_module("highspy")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]

INF = float(highspy.kHighsInf)


class SolverError(CarhomeError):
    """The solver did not reach an optimal solution (a planner bug or a broken model)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the HiGHS solver ended with {status!r}; please report it with the plan inputs")
        self.status = status


@dataclass(frozen=True, slots=True)
class Model:
    """A linear program ``min c·x  s.t.  row_lower ≤ A·x ≤ row_upper,  lower ≤ x ≤ upper``.

    ``A`` is given column-wise: column ``j`` holds ``values[starts[j]:starts[j+1]]`` in the
    rows ``rows[starts[j]:starts[j+1]]``.
    """

    cost: FloatArray
    lower: FloatArray
    upper: FloatArray
    starts: IntArray
    rows: IntArray
    values: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray

    @classmethod
    def of_triplets(
        cls,
        *,
        cost: FloatArray,
        lower: FloatArray,
        upper: FloatArray,
        rows: IntArray,
        cols: IntArray,
        values: FloatArray,
        row_lower: FloatArray,
        row_upper: FloatArray,
    ) -> Model:
        """A model from its nonzeros as (row, column, value) triplets in any order."""
        order = np.lexsort((rows, cols))
        counts = np.bincount(cols, minlength=len(cost))
        starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
        return cls(
            cost=np.asarray(cost, np.float64),
            lower=np.asarray(lower, np.float64),
            upper=np.asarray(upper, np.float64),
            starts=starts,
            rows=np.asarray(rows[order], np.int32),
            values=np.asarray(values[order], np.float64),
            row_lower=np.asarray(row_lower, np.float64),
            row_upper=np.asarray(row_upper, np.float64),
        )


class LinearProgram:
    """One HiGHS instance holding one model, solved and re-solved in place."""

    def __init__(self, model: Model) -> None:
        self._highs = highspy.Highs()
        for option, value in (("output_flag", False), ("threads", 1), ("presolve", "off")):
            self._highs.setOptionValue(option, value)
        lp = highspy.HighsLp()
        n = len(model.cost)
        lp.num_col_ = n
        lp.num_row_ = len(model.row_lower)
        lp.col_cost_ = model.cost
        lp.col_lower_ = model.lower
        lp.col_upper_ = model.upper
        lp.row_lower_ = model.row_lower
        lp.row_upper_ = model.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = model.starts
        lp.a_matrix_.index_ = model.rows
        lp.a_matrix_.value_ = model.values
        if self._highs.passModel(lp) == highspy.HighsStatus.kError:
            raise SolverError("model rejected")
        self.num_cols = n
        self.runs = 0
        self._solution: Any = None  # the last optimum's solution, read once per solve

    def solve(self) -> tuple[FloatArray, float]:
        """Solve and return the column values and the objective, or raise ``SolverError``."""
        found = self.solve_if_feasible()
        if found is None:
            raise SolverError("Infeasible")
        return found

    def solve_if_feasible(self) -> tuple[FloatArray, float] | None:
        """Like ``solve``, but None when the model has no solution."""
        self.runs += 1
        self._highs.run()
        status = self._highs.getModelStatus()
        if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(self._highs.modelStatusToString(status))
        self._solution = self._highs.getSolution()
        values = np.asarray(self._solution.col_value, dtype=np.float64)
        return values, float(self._highs.getObjectiveValue())

    def reduced_costs(self) -> FloatArray:
        """The reduced cost of every column at the last optimum (≥ 0 at a lower bound)."""
        return np.asarray(self._solution.col_dual, dtype=np.float64)

    def set_costs(self, cost: FloatArray) -> None:
        """Replace the whole objective."""
        idx = np.arange(len(cost), dtype=np.int32)
        self._highs.changeColsCost(len(cost), idx, np.asarray(cost, np.float64))

    def set_bounds(self, columns: IntArray, lower: FloatArray, upper: FloatArray) -> None:
        """Change the bounds of ``columns`` in one call."""
        if len(columns):
            self._highs.changeColsBounds(
                len(columns),
                np.asarray(columns, np.int32),
                np.asarray(lower, np.float64),
                np.asarray(upper, np.float64),
            )

    def add_row(self, lower: float, upper: float, columns: IntArray, values: FloatArray) -> None:
        """Add one constraint ``lower ≤ Σ values·x[columns] ≤ upper``."""
        self._highs.addRow(
            lower, upper, len(columns), np.asarray(columns, np.int32), np.asarray(values, np.float64)
        )

    def solve_semicontinuous(
        self, columns: IntArray, least: FloatArray, most: FloatArray, *, mip_rel_gap: float
    ) -> tuple[FloatArray, float] | None:
        """Solve with each of ``columns`` either 0 or from ``least`` to ``most`` (HiGHS's MIP).

        The columns go back to continuous ``[0, most]`` afterwards, so the program can be
        used as a linear program again.
        """
        kinds = np.full(len(columns), highspy.HighsVarType.kSemiContinuous, dtype=np.uint8)
        self._highs.setOptionValue("presolve", "on")
        self._highs.setOptionValue("mip_rel_gap", mip_rel_gap)
        self.set_bounds(columns, least, most)
        self._highs.changeColsIntegrality(len(columns), np.asarray(columns, np.int32), kinds)
        try:
            return self.solve_if_feasible()
        finally:
            continuous = np.full(len(columns), highspy.HighsVarType.kContinuous, dtype=np.uint8)
            self._highs.changeColsIntegrality(len(columns), np.asarray(columns, np.int32), continuous)
            self.set_bounds(columns, np.zeros(len(columns)), most)
            self._highs.setOptionValue("presolve", "off")
