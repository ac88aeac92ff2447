"""Second-order optimizers: Newton and Levenberg-Marquardt, with a small pure-Python solver.

Both take PyTorch's closure shape, `opt.step(closure)`: the closure rebuilds
the graph at the current parameters and returns the loss (Newton) or the list
of residuals (Levenberg-Marquardt). Each step solves an n x n linear system
for the n parameters (`solve`), so these are for small models: a few dozen
parameters. A step that fails, for any reason, leaves every parameter as it was.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from autodiff import Value, grad, jacobian, no_grad

from .optim import _check_number, _check_params, _check_positive

# LM keeps its damping inside these bounds while it adapts it: below, the system
# would be as singular as J^T J itself; above, the step is lost in rounding.
MIN_DAMPING = 1e-12
MAX_DAMPING = 1e12
_EPS = 2.220446049250313e-16  # float epsilon: the spacing of floats near 1


class SingularMatrixError(ValueError):
    """Raised when a linear system has no unique solution (to working precision)."""


# --- linear systems ----------------------------------------------------------------------


def _check_system(A: Any, b: Any) -> tuple[list[list[float]], list[float]]:
    """A as a square list of rows of finite floats and b as a matching list, or a clear error."""
    if not isinstance(A, Sequence) or not isinstance(b, Sequence):
        raise TypeError("solve needs A as a list of rows and b as a list of numbers.")
    n = len(A)
    if n == 0:
        raise ValueError("solve: A is empty; give at least a 1 x 1 system.")
    if len(b) != n:
        raise ValueError(f"solve: A has {n} rows but b has {len(b)} numbers; they must match.")
    rows = []
    for i, row in enumerate(A):
        if not isinstance(row, Sequence) or len(row) != n:
            raise ValueError(f"solve: row {i} of A is not a list of {n} numbers; A must be square.")
        rows.append([_finite(f"A[{i}][{j}]", x) for j, x in enumerate(row)])
    return rows, [_finite(f"b[{i}]", x) for i, x in enumerate(b)]


def _finite(name: str, x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"solve: {name} is {x!r}, not a number.")
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"solve: {name} is {value!r}; every entry must be finite.")
    return value


def _cholesky_solve(A: list[list[float]], b: list[float]) -> list[float] | None:
    """Solve A x = b by A = L L^T; None when A is not (numerically) positive definite."""
    n = len(A)
    tol = n * _EPS * max(abs(A[i][i]) for i in range(n))
    L = [[0.0] * n for _ in range(n)]
    for j in range(n):
        Lj = L[j]
        d = A[j][j] - math.fsum(Lj[k] * Lj[k] for k in range(j))
        if not d > tol:  # a pivot at or below rounding level: not positive definite
            return None
        Lj[j] = math.sqrt(d)
        for i in range(j + 1, n):
            Li = L[i]
            Li[j] = (A[i][j] - math.fsum(Li[k] * Lj[k] for k in range(j))) / Lj[j]
    y = [0.0] * n  # L y = b, forwards
    for i in range(n):
        y[i] = (b[i] - math.fsum(L[i][k] * y[k] for k in range(i))) / L[i][i]
    x = [0.0] * n  # L^T x = y, backwards
    for i in reversed(range(n)):
        x[i] = (y[i] - math.fsum(L[k][i] * x[k] for k in range(i + 1, n))) / L[i][i]
    return x


def _gauss_solve(A: list[list[float]], b: list[float]) -> list[float]:
    """Solve A x = b by Gaussian elimination with partial pivoting, or raise SingularMatrixError."""
    n = len(A)
    M = [row[:] + [bi] for row, bi in zip(A, b)]  # augmented copy: A is left alone
    tol = n * _EPS * max(abs(x) for row in A for x in row)
    for col in range(n):
        # the largest pivot left in this column keeps the multipliers at most 1 in size
        pivot = max(range(col, n), key=lambda r: abs(M[r][col]))
        if not abs(M[pivot][col]) > tol:
            raise SingularMatrixError(
                f"the matrix is singular: column {col} has no pivot above {tol:.3g} after "
                "elimination, so the system has no unique solution"
            )
        M[col], M[pivot] = M[pivot], M[col]
        top = M[col]
        for r in range(col + 1, n):
            factor = M[r][col] / top[col]
            if factor:
                row = M[r]
                for k in range(col, n + 1):
                    row[k] -= factor * top[k]
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (M[i][n] - math.fsum(M[i][k] * x[k] for k in range(i + 1, n))) / M[i][i]
    return x


def solve(A: Sequence[Sequence[float]], b: Sequence[float]) -> list[float]:
    """x with A x = b: Cholesky for symmetric positive-definite A, else Gaussian elimination.

    Raises SingularMatrixError when A is singular to working precision, and
    ValueError when the solution is not finite (A nearly singular).
    """
    rows, rhs = _check_system(A, b)
    n = len(rows)
    scale = max(abs(x) for row in rows for x in row)
    symmetric = all(
        abs(rows[i][j] - rows[j][i]) <= 8 * _EPS * scale for i in range(n) for j in range(i)
    )
    x = _cholesky_solve(rows, rhs) if symmetric else None
    if x is None:
        x = _gauss_solve(rows, rhs)
    for i, xi in enumerate(x):
        if not math.isfinite(xi):
            raise ValueError(
                f"solve: the solution's entry {i} is {xi!r}, beyond the float range; the "
                "matrix is nearly singular or b is huge."
            )
    return x


# --- shared checks -------------------------------------------------------------------------


def _check_closure(closure: Any, who: str) -> Callable[[], Any]:
    if not callable(closure):
        raise TypeError(
            f"{who}.step needs a closure: a function of no arguments that rebuilds the graph "
            f"at the current parameters and returns it; got {closure!r}."
        )
    return cast(Callable[[], Any], closure)


def _check_max_tries(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_tries must be a whole number, got {value!r}; pass e.g. 10.")
    if value < 1:
        raise ValueError(f"max_tries must be at least 1, got {value!r}; pass e.g. 10.")
    return value


def _check_factor(name: str, value: Any) -> float:
    factor = _check_positive(name, value, "pass e.g. 10")
    if factor <= 1.0:
        raise ValueError(f"{name} must be greater than 1, got {value!r}; pass e.g. 10.")
    return factor


_SMOOTH = "the loss is not smooth or overflows here: check the model and its inputs"


def _first_bad(
    who: str, what: str, numbers_: Sequence[float], params: list[Value], why: str = _SMOOTH
) -> None:
    """Raise ValueError naming the first parameter whose entry in numbers_ is inf or NaN."""
    for i, x in enumerate(numbers_):
        if not math.isfinite(x):
            raise ValueError(
                f"{who}.step: the {what} for parameter {i} ({params[i]!r}) is {x!r}; "
                f"{why}. No parameter was changed."
            )


def _refuse_constant(who: str, value: Value, params: list[Value], what: str) -> None:
    """Refuse a closure result recorded without a graph: its derivatives would all be 0."""
    if not value.parents and value not in params:
        raise ValueError(
            f"{who}.step: the closure returned {what} {value!r} with no graph behind it, so "
            "it does not depend on the parameters; build it from the parameters, outside "
            "no_grad()."
        )


class _SecondOrder:
    """What Newton and LevenbergMarquardt share: parameters, step count, zero_grad, repr."""

    def __init__(self, params: Iterable[Value]) -> None:
        self.params = _check_params(params)
        self.step_count = 0

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero (step() itself never reads .grad)."""
        for p in self.params:
            p.grad = 0.0

    def _move(self, new: Sequence[float]) -> None:
        for p, x in zip(self.params, new):
            p.data = x


class Newton(_SecondOrder):
    """Newton's method: solve (H + damping * I) d = -g and step to p + d.

    H and g are the Hessian and gradient of the loss, from grad(create_graph=True).
    With damping 0 a positive-definite quadratic is minimised in one step; on a
    non-convex loss H may be indefinite and the step can go uphill or to a saddle
    (damping > 0 shortens it towards gradient descent).
    """

    def __init__(self, params: Iterable[Value], damping: float = 0.0) -> None:
        super().__init__(params)
        self.damping = _check_number(
            "damping", damping, 0.0, math.inf, "pass e.g. 1e-3, or 0 for pure Newton",
            hi_open=False,
        )  # fmt: skip

    def step(self, closure: Callable[[], Value]) -> float:
        """Take one Newton step; return the loss before it (the closure's value).

        Raises SingularMatrixError for a singular H + damping * I and ValueError
        for a non-finite gradient, Hessian or step; then no parameter changes.
        """
        closure = _check_closure(closure, "Newton")
        loss = closure()
        if not isinstance(loss, Value):
            raise TypeError(
                f"Newton.step: the closure must return the loss as a Value, got {loss!r} "
                f"({type(loss).__name__})."
            )
        params = self.params
        _refuse_constant("Newton", loss, params, "the loss")
        try:
            first = grad(loss, params, create_graph=True)
            g = [d.data for d in first]
            H = [grad(d, params) for d in first]
        except ArithmeticError as error:  # an infinite local derivative, or an overflow
            raise ValueError(
                f"Newton.step: the derivatives of the loss ({loss.data!r}) are not finite: "
                f"{error}. No parameter was changed."
            ) from error
        _first_bad("Newton", "gradient", g, params)
        for row in H:
            _first_bad("Newton", "Hessian entry", row, params)
        n = len(params)
        A = [[H[i][j] + (self.damping if i == j else 0.0) for j in range(n)] for i in range(n)]
        try:
            d = solve(A, [-x for x in g])
        except SingularMatrixError as error:
            raise SingularMatrixError(
                f"Newton.step: H + damping * I (damping {self.damping!r}) is singular ({error}); "
                "the loss is flat in some direction. Pass damping > 0 (e.g. 1e-3). "
                "No parameter was changed."
            ) from None
        except ValueError as error:
            raise ValueError(f"Newton.step: {error} No parameter was changed.") from None
        new = [p.data + di for p, di in zip(params, d)]
        _first_bad(
            "Newton", "new value", new, params, "the step leaves the float range: add damping"
        )
        self._move(new)
        self.step_count += 1
        return loss.data

    def __repr__(self) -> str:
        return f"Newton({len(self.params)} parameters, damping={self.damping!r})"


class LevenbergMarquardt(_SecondOrder):
    """Levenberg-Marquardt for least squares: minimise the mean of squared residuals.

    Each step solves (J^T J + damping * I) d = -J^T r, J the Jacobian of the
    residuals r. A step that lowers the loss is taken and the damping divided
    by `down` (closer to Gauss-Newton); a step that does not is undone and
    retried with the damping times `up` (closer to short gradient descent), at
    most `max_tries` times per step.
    """

    def __init__(
        self,
        params: Iterable[Value],
        damping: float = 1e-3,
        up: float = 10.0,
        down: float = 10.0,
        max_tries: int = 10,
    ) -> None:
        super().__init__(params)
        self.damping = _check_positive("damping", damping, "pass e.g. 1e-3")
        self.up = _check_factor("up", up)
        self.down = _check_factor("down", down)
        self.max_tries = _check_max_tries(max_tries)
        self.accepted = False  # whether the last step() moved the parameters
        self.tries = 0  # tries (systems set up) in the last step()

    def _residuals(self, closure: Callable[[], Sequence[Value]], count: int | None) -> list[Value]:
        """Call the closure and check that it returned a list of (count) residual Values."""
        residuals = closure()
        if isinstance(residuals, Value) or not isinstance(residuals, Sequence):
            raise TypeError(
                "LevenbergMarquardt.step: the closure must return the list of residual "
                f"Values (e.g. [model([x]) - y for x, y in data]), got {residuals!r}."
            )
        if not residuals:
            raise ValueError("LevenbergMarquardt.step: the closure returned no residuals.")
        for i, r in enumerate(residuals):
            if not isinstance(r, Value):
                raise TypeError(
                    f"LevenbergMarquardt.step: residual {i} is {r!r} ({type(r).__name__}), "
                    "not a Value; return one Value per residual."
                )
        if count is not None and len(residuals) != count:
            raise ValueError(
                f"LevenbergMarquardt.step: the closure returned {count} residuals, then "
                f"{len(residuals)}; it must return the same number every time."
            )
        return list(residuals)

    def _trial_loss(self, closure: Callable[[], Sequence[Value]], count: int) -> float:
        """The loss at the current (trial) parameters; inf where the model overflows."""
        try:
            with no_grad():  # only the value is needed
                residuals = self._residuals(closure, count)
        except ArithmeticError:  # e.g. exp overflowed at the trial point: reject it
            return math.inf
        return _mean_square([r.data for r in residuals])

    def step(self, closure: Callable[[], Sequence[Value]]) -> float:
        """Take one LM step; return the mean squared residual before it.

        If no try lowers the loss (at a minimum, to working precision), the
        parameters stay where they were and `accepted` is False. Raises
        ValueError for a non-finite Jacobian and SingularMatrixError when every
        try's system is singular; then no parameter changes.
        """
        closure = _check_closure(closure, "LevenbergMarquardt")
        params = self.params
        residuals = self._residuals(closure, None)
        if all(not r.parents and r not in params for r in residuals):
            _refuse_constant("LevenbergMarquardt", residuals[0], params, "the residual")
        r = [v.data for v in residuals]
        loss = _mean_square(r)
        if not math.isfinite(loss):
            raise ValueError(
                "LevenbergMarquardt.step: the mean squared residual overflows the float "
                "range; scale the residuals down. No parameter was changed."
            )
        try:
            J = jacobian(residuals, params)
        except ArithmeticError as error:
            raise ValueError(
                f"LevenbergMarquardt.step: the Jacobian of the residuals is not finite: "
                f"{error}. No parameter was changed."
            ) from error
        for row in J:
            _first_bad("LevenbergMarquardt", "Jacobian entry", row, params)
        n, m = len(params), len(r)
        columns = [[J[k][i] for k in range(m)] for i in range(n)]
        JtJ = [[0.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1):
                JtJ[i][j] = JtJ[j][i] = math.fsum(map(operator.mul, columns[i], columns[j]))
        minus_Jtr = [-math.fsum(map(operator.mul, columns[i], r)) for i in range(n)]
        _first_bad("LevenbergMarquardt", "gradient", minus_Jtr, params)

        before = [p.data for p in params]
        damping = self.damping
        accepted = False
        tries = singular_tries = 0
        last_error = ""
        try:
            while tries < self.max_tries:
                tries += 1
                used = damping
                damping = min(damping * self.up, MAX_DAMPING)  # unless this try is accepted
                A = [row[:] for row in JtJ]
                for i in range(n):
                    A[i][i] += used
                try:
                    d = solve(A, minus_Jtr)
                except ValueError as error:  # singular, or a solution beyond the float range
                    singular_tries += 1
                    last_error = str(error)
                    continue
                trial = [b + di for b, di in zip(before, d)]
                if not all(map(math.isfinite, trial)):
                    continue
                self._move(trial)
                if self._trial_loss(closure, m) < loss:
                    accepted = True
                    damping = max(used / self.down, MIN_DAMPING)
                    break
                self._move(before)
        except BaseException:
            self._move(before)  # the closure raised during a try: put everything back
            raise
        if singular_tries == tries:
            raise SingularMatrixError(
                f"LevenbergMarquardt.step: J^T J + damping * I was singular in all {tries} "
                f"tries, up to damping {used:.3g} ({last_error}); the residuals' derivatives "
                "are huge or the parameters redundant. Scale the problem down or pass a "
                "larger damping. No parameter was changed."
            )
        self.damping = damping
        self.accepted = accepted
        self.tries = tries
        self.step_count += 1
        return loss

    def __repr__(self) -> str:
        return (
            f"LevenbergMarquardt({len(self.params)} parameters, damping={self.damping:.3g}, "
            f"up={self.up:g}, down={self.down:g}, max_tries={self.max_tries})"
        )


def _mean_square(r: Sequence[float]) -> float:
    try:
        return math.fsum(x * x for x in r) / len(r)
    except OverflowError:
        return math.inf
