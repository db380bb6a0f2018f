"""The one place carhome talks to the HiGHS solver (``highspy``, which ships no types).

``LinearProgram`` takes a model as plain numpy arrays (costs, column bounds, a sparse
constraint matrix in compressed-column form, row bounds, which columns are integers),
solves it, and can change costs and bounds and solve again from the previous basis. Nothing
else in carhome imports ``highspy``; a HiGHS failure comes out as ``SolverError``.
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
    rows ``rows[starts[j]:starts[j+1]]``. ``integer`` lists the columns that must be integral.
    """

    cost: FloatArray
    lower: FloatArray
    upper: FloatArray
    starts: IntArray
    rows: IntArray
    values: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    integer: IntArray


class LinearProgram:
    """One HiGHS instance holding one model, solved and re-solved in place.

    The integer columns start relaxed: the caller solves the linear relaxation first and
    calls ``require_integers`` only when its answer breaks integrality, which keeps the
    common case a plain LP.
    """

    def __init__(self, model: Model, *, mip_rel_gap: float = 1e-6) -> None:
        self._highs = highspy.Highs()
        self._highs.setOptionValue("output_flag", False)
        self._highs.setOptionValue("mip_rel_gap", mip_rel_gap)
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
        status = self._highs.passModel(lp)
        if status == highspy.HighsStatus.kError:
            raise SolverError("model rejected")
        self.num_cols = n
        self._integer = model.integer
        self.integral = False

    def require_integers(self) -> None:
        """Make the integer columns integral from the next solve on (they start relaxed)."""
        if len(self._integer) and not self.integral:
            kinds = np.full(len(self._integer), highspy.HighsVarType.kInteger, dtype=np.uint8)
            self._highs.changeColsIntegrality(len(self._integer), self._integer, kinds)
            self.integral = True

    def solve(self) -> tuple[FloatArray, float]:
        """Solve and return the column values and the objective, or raise ``SolverError``."""
        found = self.solve_if_feasible()
        if found is None:
            raise SolverError("Infeasible")
        return found

    def solve_if_feasible(self) -> tuple[FloatArray, float] | None:
        """Like ``solve``, but None when the model has no solution."""
        self._highs.run()
        status = self._highs.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(self._highs.modelStatusToString(status))
        values = np.asarray(self._highs.getSolution().col_value, dtype=np.float64)
        return values, float(self._highs.getInfo().objective_function_value)

    def set_costs(self, cost: FloatArray) -> None:
        """Replace the whole objective."""
        idx = np.arange(len(cost), dtype=np.int32)
        self._highs.changeColsCost(len(cost), idx, cost.astype(np.float64))

    def set_bounds(self, column: int, lower: float, upper: float) -> None:
        """Change one column's bounds."""
        self._highs.changeColBounds(column, lower, upper)

    def add_row(self, lower: float, upper: float, columns: IntArray, values: FloatArray) -> None:
        """Add one constraint ``lower ≤ Σ values·x[columns] ≤ upper``."""
        self._highs.addRow(lower, upper, len(columns), columns, values)
