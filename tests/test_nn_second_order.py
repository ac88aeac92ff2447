"""nn.Newton, nn.LevenbergMarquardt and the linear solver under them: each step against its
formula, Newton's one-step minimum of a quadratic, LM's damping schedule, and LM against
tuned SGD and Adam on a small fit."""

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodiff import Value, dot, no_grad, sum_values
from nn import MLP, SGD, Adam, LevenbergMarquardt, Newton, losses
from nn.second_order import MAX_DAMPING, SingularMatrixError, solve


def matvec(A, x):
    return [math.fsum(a * b for a, b in zip(row, x)) for row in A]


# --- solve -------------------------------------------------------------------------------


def test_solve_a_positive_definite_system():
    A = [[4.0, 1.0, 0.5], [1.0, 3.0, -1.0], [0.5, -1.0, 2.0]]
    x = [1.0, -2.0, 0.5]
    assert solve(A, matvec(A, x)) == pytest.approx(x, rel=1e-12)


def test_solve_an_indefinite_symmetric_system():
    # eigenvalues 3 and -1: Cholesky fails, elimination solves it
    assert solve([[1.0, 2.0], [2.0, 1.0]], [4.0, 5.0]) == pytest.approx([2.0, 1.0])


def test_solve_needs_a_row_swap():
    # a zero in the top-left corner: without pivoting this divides by zero
    assert solve([[0.0, 1.0], [1.0, 0.0]], [3.0, 7.0]) == pytest.approx([7.0, 3.0])
    A = [[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [3.0, 0.0, 1.0]]
    assert solve(A, matvec(A, [1.0, 2.0, -2.0])) == pytest.approx([1.0, 2.0, -2.0])


def test_solve_leaves_its_arguments_alone():
    A = [[2.0, 1.0], [1.0, 3.0]]
    b = [1.0, 2.0]
    solve(A, b)
    assert A == [[2.0, 1.0], [1.0, 3.0]] and b == [1.0, 2.0]


@given(
    n=st.integers(1, 6),
    seed=st.integers(0, 10**6),
    symmetric=st.booleans(),
)
def test_solve_random_well_conditioned_systems(n, seed, symmetric):
    rng = random.Random(seed)
    A = [[rng.uniform(-1, 1) for _ in range(n)] for _ in range(n)]
    if symmetric:
        A = [[A[i][j] + A[j][i] for j in range(n)] for i in range(n)]
    for i in range(n):  # diagonally dominant (either sign): well conditioned
        A[i][i] += rng.choice([-1, 1]) * (2 * n + 1)
    x = [rng.uniform(-5, 5) for _ in range(n)]
    assert solve(A, matvec(A, x)) == pytest.approx(x, rel=1e-10, abs=1e-10)


@pytest.mark.parametrize(
    "A",
    [[[1.0, 2.0], [2.0, 4.0]], [[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]], [[0.0]]],
)
def test_solve_refuses_a_singular_matrix(A):
    with pytest.raises(SingularMatrixError, match="singular"):
        solve(A, [1.0] * len(A))


@pytest.mark.parametrize(
    ("A", "b", "error", "message"),
    [
        ([], [], ValueError, "empty"),
        ([[1.0, 2.0]], [1.0], ValueError, "square"),
        ([[1.0, 0.0], [0.0, 1.0]], [1.0], ValueError, "2 rows but b has 1"),
        ([[math.nan]], [1.0], ValueError, "finite"),
        ([[1.0]], [math.inf], ValueError, "finite"),
        ([["1"]], [1.0], TypeError, "not a number"),
        ([[True]], [1.0], TypeError, "not a number"),
        (None, [1.0], TypeError, "list of rows"),
    ],
)
def test_solve_refuses_bad_systems(A, b, error, message):
    with pytest.raises(error, match=message):
        solve(A, b)


# --- Newton ------------------------------------------------------------------------------

QUAD_A = [[3.0, 1.0, 0.0], [1.0, 4.0, -1.0], [0.0, -1.0, 2.0]]
QUAD_B = [1.0, -2.0, 0.5]


def quadratic(ps):
    """1/2 p^T A p - b^T p: minimised where A p = b."""
    quad = sum_values(
        0.5 * QUAD_A[i][j] * ps[i] * ps[j] for i in range(3) for j in range(3) if QUAD_A[i][j]
    )
    return quad - dot(ps, QUAD_B)


def test_newton_minimises_a_positive_definite_quadratic_in_one_step():
    ps = [Value(5.0), Value(-3.0), Value(7.0)]
    opt = Newton(ps)
    before = quadratic(ps).data
    assert opt.step(lambda: quadratic(ps)) == before
    assert matvec(QUAD_A, [p.data for p in ps]) == pytest.approx(QUAD_B, rel=1e-12, abs=1e-12)
    # a second step stays put: the gradient is zero there
    at = [p.data for p in ps]
    opt.step(lambda: quadratic(ps))
    assert [p.data for p in ps] == pytest.approx(at, rel=1e-12, abs=1e-14)
    assert opt.step_count == 2


def test_newton_with_damping_takes_the_damped_step():
    # on a quadratic: p_new = p - (A + damping I)^-1 (A p - b)
    start = [5.0, -3.0, 7.0]
    ps = [Value(x) for x in start]
    damping = 0.5
    Newton(ps, damping=damping).step(lambda: quadratic(ps))
    g = [a - b for a, b in zip(matvec(QUAD_A, start), QUAD_B)]
    damped = [[QUAD_A[i][j] + (damping if i == j else 0.0) for j in range(3)] for i in range(3)]
    step = solve(damped, g)
    assert [p.data for p in ps] == pytest.approx([x - s for x, s in zip(start, step)], rel=1e-12)


def test_newton_converges_on_rosenbrock():
    x, y = Value(-1.2), Value(1.0)
    opt = Newton([x, y])
    for _ in range(10):
        opt.step(lambda: (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2)
    assert (x.data, y.data) == (pytest.approx(1.0, abs=1e-10), pytest.approx(1.0, abs=1e-10))


def test_newton_refuses_a_singular_hessian_and_changes_nothing():
    x, y = Value(1.0), Value(2.0)
    opt = Newton([x, y])
    with pytest.raises(SingularMatrixError, match="Pass damping > 0.*No parameter was changed"):
        opt.step(lambda: (x + y) ** 2)  # flat along x - y
    assert (x.data, y.data, opt.step_count) == (1.0, 2.0, 0)
    Newton([x, y], damping=1.0).step(lambda: (x + y) ** 2)  # damping makes it solvable
    assert x.data + y.data == pytest.approx(3.0 - 2 * 6.0 / 5.0)  # (H + I) d = -g along (1, 1)


def test_newton_refuses_a_parameter_the_loss_ignores():
    x, unused = Value(1.0), Value(2.0)
    with pytest.raises(SingularMatrixError):
        Newton([x, unused]).step(lambda: (x - 3.0) ** 2)
    assert (x.data, unused.data) == (1.0, 2.0)


@pytest.mark.parametrize(
    "loss", [lambda p: p**1.5, lambda p: p.sqrt()], ids=["infinite Hessian", "infinite gradient"]
)
def test_newton_refuses_non_finite_derivatives_and_changes_nothing(loss):
    p = Value(0.0)
    opt = Newton([p], damping=1.0)
    with pytest.raises(ValueError, match="No parameter was changed"):
        opt.step(lambda: loss(p))
    assert (p.data, opt.step_count) == (0.0, 0)


def test_newton_refuses_a_step_that_overflows():
    p = Value(1.0)
    with pytest.raises(ValueError, match="beyond the float range.*No parameter was changed"):
        # Newton's step for p^2 / 4 - 1e308 p: the minimiser 2e308 is beyond the floats
        Newton([p]).step(lambda: 0.25 * p * p - 1e308 * p)
    assert p.data == 1.0


@pytest.mark.parametrize("result", [1.0, None, [Value(1.0)]])
def test_newton_closure_must_return_a_value(result):
    p = Value(1.0)
    with pytest.raises(TypeError, match="must return the loss as a Value"):
        Newton([p]).step(lambda: result)


def test_newton_refuses_a_loss_built_under_no_grad():
    p = Value(1.0)

    def closure():
        with no_grad():
            return (p - 2.0) ** 2

    with pytest.raises(ValueError, match="no graph behind it"):
        Newton([p]).step(closure)


@pytest.mark.parametrize("cls", [Newton, LevenbergMarquardt])
def test_steps_need_a_closure(cls):
    with pytest.raises(TypeError, match="needs a closure"):
        cls([Value(1.0)]).step(Value(1.0))


@pytest.mark.parametrize(
    ("damping", "error"),
    [(-1.0, ValueError), (math.nan, ValueError), (math.inf, ValueError), ("0", TypeError),
     (True, TypeError)],
)  # fmt: skip
def test_newton_refuses_bad_damping(damping, error):
    with pytest.raises(error, match="damping"):
        Newton([Value(1.0)], damping=damping)


@pytest.mark.parametrize("cls", [Newton, LevenbergMarquardt])
def test_second_order_optimizers_refuse_bad_params(cls):
    p = Value(1.0)
    with pytest.raises(TypeError, match="not one Value"):
        cls(p)
    with pytest.raises(ValueError, match="empty"):
        cls([])
    with pytest.raises(ValueError, match="appears twice"):
        cls([p, p])
    with pytest.raises(TypeError, match="not a Value"):
        cls([p, 2.0])


def test_reprs():
    ps = [Value(1.0), Value(2.0)]
    assert repr(Newton(ps, damping=0.1)) == "Newton(2 parameters, damping=0.1)"
    assert repr(LevenbergMarquardt(ps)) == (
        "LevenbergMarquardt(2 parameters, damping=0.001, up=10, down=10, max_tries=10)"
    )


# --- Levenberg-Marquardt -----------------------------------------------------------------

LINE_X = [0.0, 1.0, 2.0, 3.0]
LINE_Y = [1.0, 2.5, 3.5, 5.5]


def line_residuals(a, b):
    return [a * x + b - y for x, y in zip(LINE_X, LINE_Y)]


def test_lm_step_is_the_damped_gauss_newton_step():
    # residuals a x + b - y: J has rows (x, 1); the step solves (J^T J + lam I) d = -J^T r
    a, b = Value(0.0), Value(0.0)
    lam = 1e-3
    opt = LevenbergMarquardt([a, b], damping=lam)
    loss = opt.step(lambda: line_residuals(a, b))
    assert loss == pytest.approx(sum(y * y for y in LINE_Y) / 4)
    sxx, sx, n = sum(x * x for x in LINE_X), sum(LINE_X), len(LINE_X)
    gx, g1 = sum(x * y for x, y in zip(LINE_X, LINE_Y)), sum(LINE_Y)  # -J^T r at a = b = 0
    det = (sxx + lam) * (n + lam) - sx * sx
    want_a = ((n + lam) * gx - sx * g1) / det
    want_b = ((sxx + lam) * g1 - sx * gx) / det
    assert (a.data, b.data) == (pytest.approx(want_a, rel=1e-12), pytest.approx(want_b, rel=1e-12))
    assert opt.accepted and opt.tries == 1
    assert opt.damping == pytest.approx(lam / 10)


def test_lm_reaches_the_least_squares_line():
    a, b = Value(0.0), Value(0.0)
    opt = LevenbergMarquardt([a, b])
    for _ in range(5):
        opt.step(lambda: line_residuals(a, b))
    n, sx, sy = len(LINE_X), sum(LINE_X), sum(LINE_Y)
    sxx, sxy = sum(x * x for x in LINE_X), sum(x * y for x, y in zip(LINE_X, LINE_Y))
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    assert a.data == pytest.approx(slope, rel=1e-12)
    assert b.data == pytest.approx((sy - slope * sx) / n, rel=1e-12)


def test_lm_raises_the_damping_on_a_rejected_try_and_lowers_it_on_acceptance():
    # r = tanh(p) - 0.5 at p = 3: tanh is almost flat, so the Gauss-Newton step (about -50)
    # overshoots to a worse point; the retry with damping x 10 takes a short step and wins
    p = Value(3.0)
    opt = LevenbergMarquardt([p], damping=1e-3)
    opt.step(lambda: [p.tanh() - 0.5])
    assert opt.accepted and opt.tries == 2
    j, r = 1 - math.tanh(3.0) ** 2, math.tanh(3.0) - 0.5
    assert p.data == pytest.approx(3.0 - j * r / (j * j + 1e-2), rel=1e-12)
    assert opt.damping == pytest.approx(1e-3)  # x 10, then / 10


def test_lm_at_a_minimum_keeps_the_parameters_and_says_so():
    p = Value(1.0)
    opt = LevenbergMarquardt([p], damping=1e-3, max_tries=3)
    assert opt.step(lambda: [p - 1.0]) == 0.0
    assert p.data == 1.0
    assert not opt.accepted and opt.tries == 3
    assert opt.damping == pytest.approx(1.0)  # 1e-3 x 10 x 10 x 10
    assert opt.step_count == 1


def test_lm_damping_stays_below_its_cap():
    p = Value(1.0)
    opt = LevenbergMarquardt([p], damping=MAX_DAMPING / 10, max_tries=5)
    opt.step(lambda: [p - 1.0])
    assert opt.damping == MAX_DAMPING


def test_lm_treats_an_overflow_at_a_trial_point_as_a_rejection():
    # the first trial point (about p = -47) makes exp(-80 p) overflow
    p = Value(3.0)
    opt = LevenbergMarquardt([p])
    opt.step(lambda: [p.tanh() - 0.5, 1e-30 * (-80.0 * p).exp()])
    assert opt.accepted and opt.tries == 2
    assert 2.0 < p.data < 3.0


def test_lm_refuses_a_system_that_stays_singular_and_changes_nothing():
    p, q = Value(1.0), Value(2.0)
    opt = LevenbergMarquardt([p, q], damping=1e-3, max_tries=3)
    with pytest.raises(SingularMatrixError, match="singular in all 3 tries"):
        opt.step(lambda: [1e15 * (p + q) - 1.0])  # J^T J = 1e30 [[1, 1], [1, 1]]
    assert (p.data, q.data, opt.damping, opt.step_count) == (1.0, 2.0, 1e-3, 0)


def test_lm_refuses_a_non_finite_jacobian_and_changes_nothing():
    p = Value(0.0)
    opt = LevenbergMarquardt([p])
    with pytest.raises(ValueError, match="No parameter was changed"):
        opt.step(lambda: [p.sqrt() - 1.0])
    assert (p.data, opt.step_count) == (0.0, 0)


def test_lm_refuses_residuals_whose_squares_overflow():
    p = Value(1.0)
    with pytest.raises(ValueError, match="overflows"):
        LevenbergMarquardt([p]).step(lambda: [p * 1e200])
    assert p.data == 1.0


def test_lm_puts_the_parameters_back_when_the_closure_fails_during_a_try():
    p = Value(0.0)
    calls = []

    def closure():
        calls.append(p.data)
        if len(calls) > 1:
            raise RuntimeError("data went away")
        return [p - 1.0]

    with pytest.raises(RuntimeError, match="data went away"):
        LevenbergMarquardt([p]).step(closure)
    assert calls[1] != 0.0  # the failure happened at the trial point
    assert p.data == 0.0


def test_lm_refuses_a_closure_whose_residual_count_changes():
    p = Value(0.0)
    calls = []

    def closure():
        calls.append(1)
        return [p - 1.0] * len(calls)

    with pytest.raises(ValueError, match="returned 1 residuals, then 2"):
        LevenbergMarquardt([p]).step(closure)
    assert p.data == 0.0


@pytest.mark.parametrize(
    ("result", "error", "message"),
    [
        (lambda p: p - 1.0, TypeError, "list of residual Values"),
        (lambda p: None, TypeError, "list of residual Values"),
        (lambda p: [], ValueError, "no residuals"),
        (lambda p: [p - 1.0, 2.0], TypeError, "residual 1 is 2.0"),
    ],
)
def test_lm_refuses_bad_closure_results(result, error, message):
    p = Value(0.0)
    with pytest.raises(error, match=message):
        LevenbergMarquardt([p]).step(lambda: result(p))
    assert p.data == 0.0


def test_lm_refuses_residuals_built_under_no_grad():
    p = Value(0.0)

    def closure():
        with no_grad():
            return [p - 1.0, p + 1.0]

    with pytest.raises(ValueError, match="no graph behind it"):
        LevenbergMarquardt([p]).step(closure)


def test_lm_accepts_a_parameter_as_its_own_residual():
    p = Value(2.0)
    opt = LevenbergMarquardt([p])
    opt.step(lambda: [p])  # minimise p^2: one step to about 0
    assert abs(p.data) < 1e-2


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"damping": 0.0}, ValueError, "damping"),
        ({"damping": -1e-3}, ValueError, "damping"),
        ({"damping": math.nan}, ValueError, "damping"),
        ({"damping": "1e-3"}, TypeError, "damping"),
        ({"up": 1.0}, ValueError, "greater than 1"),
        ({"down": 0.5}, ValueError, "greater than 1"),
        ({"up": math.inf}, ValueError, "up"),
        ({"max_tries": 0}, ValueError, "at least 1"),
        ({"max_tries": 2.5}, TypeError, "whole number"),
        ({"max_tries": True}, TypeError, "whole number"),
    ],
)
def test_lm_refuses_bad_settings(kwargs, error, message):
    with pytest.raises(error, match=message):
        LevenbergMarquardt([Value(1.0)], **kwargs)


# --- a small fit: LM against tuned first-order methods ------------------------------------

FIT_X = [-3.0 + 6.0 * i / 19 for i in range(20)]
FIT_Y = [math.sin(x) for x in FIT_X]
FIT_STEPS = 30
FIT_SEED = 2
SGD_RATES = (0.01, 0.03, 0.1, 0.3, 0.5)
ADAM_RATES = (0.003, 0.01, 0.03, 0.1, 0.3)


def fit(kind, lr=None, seed=FIT_SEED):
    """The training loss of a 1-5-1 tanh MLP on sin after FIT_STEPS full-batch steps."""
    model = MLP(1, [5, 1], activation="tanh", seed=seed)
    params = model.parameters()
    if kind == "lm":
        opt = LevenbergMarquardt(params)
        for _ in range(FIT_STEPS):
            opt.step(lambda: [model([x]) - y for x, y in zip(FIT_X, FIT_Y)])
    else:
        opt = SGD(params, lr=lr) if kind == "sgd" else Adam(params, lr=lr)
        for _ in range(FIT_STEPS):
            loss = losses.mse([model([x]) for x in FIT_X], FIT_Y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with no_grad():
        return losses.mse([model([x]) for x in FIT_X], FIT_Y).data


def test_lm_fits_ten_times_better_than_tuned_sgd_and_adam_in_the_same_steps():
    lm = fit("lm")
    sgd = {lr: fit("sgd", lr) for lr in SGD_RATES}
    adam = {lr: fit("adam", lr) for lr in ADAM_RATES}
    best_sgd, best_adam = min(sgd, key=sgd.get), min(adam, key=adam.get)
    # tuned: the best rate is inside each grid, not at its edge
    assert SGD_RATES[0] < best_sgd < SGD_RATES[-1], sgd
    assert ADAM_RATES[0] < best_adam < ADAM_RATES[-1], adam
    assert lm < 1e-3
    assert lm * 10 < sgd[best_sgd], (lm, sgd)
    assert lm * 10 < adam[best_adam], (lm, adam)


@pytest.mark.parametrize("seed", range(6))
def test_lm_fits_better_than_sgd_and_adam_from_other_starts_too(seed):
    # not only the seed above: from each of these starts LM ends well below SGD and Adam
    # at their best rates, though a local minimum can hold it to about 5x (seeds 3 and 5)
    lm = fit("lm", seed=seed)
    assert lm * 3 < fit("sgd", 0.3, seed=seed)
    assert lm * 3 < fit("adam", 0.1, seed=seed)
