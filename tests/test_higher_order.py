"""hessian, jacobian, hvp and jvp: against hand-derived values, finite differences of grad,
and (jvp) the backward gradient dotted with the tangent."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodiff import (
    Value,
    dot,
    grad,
    hessian,
    hvp,
    jacobian,
    jvp,
    log_softmax,
    logsumexp,
    no_grad,
    softmax,
    sum_values,
    topological_order,
)
from autodiff.engine import DERIVATIVES, dot_rows
from autodiff.higher_order import forward_derivatives

# Smooth functions of three variables, defined for every real input, that between
# them use every op of the engine (see test_the_functions_cover_every_op).
FUNCTIONS = {
    "mul_tanh": lambda x, y, z: x * y + z.tanh() * 2.0,
    "log_sigmoid_div": lambda x, y, z: (x * x + 1).log() * y.sigmoid() - z.exp() / (y * y + 1),
    "nary": lambda x, y, z: (
        logsumexp([x, y, z])
        + dot([x, y], [z, x])
        + dot([x, z], [0.5, -2.0])
        + sum_values([x, y, z, 2.0])
        + log_softmax([x, y, z])[1] * softmax([z, x])[0]
    ),
    "trig_sqrt": lambda x, y, z: (x * x + y * y + 1).sqrt() + x.sin() * y.cos() + z.softplus(),
    "powers": lambda x, y, z: (
        (x * x + 1) ** y.sigmoid()
        + (z - x) ** 2
        + (-y) ** 3
        + 2**x
        + (3 - z) / 4.0
        - 1.5 / (x * x + 2)
    ),
    "kinks": lambda x, y, z: (
        abs(x - 0.3) * y + (z + 0.2).relu() * x + (y - 0.1).leaky_relu(0.1) - 1.0 + x * 3.0
        + dot_rows([(x, y)], (z, 0.5 * y), (z,), Value.relu)[0]  # a fused neuron
    ),
}
POINT = (0.7, -1.3, 0.4)


def grads_at(f, point):
    """The backward gradient of f at point (floats)."""
    xs = [Value(p) for p in point]
    f(*xs).backward()
    return [x.grad for x in xs]


def fd_hessian(f, point, h=1e-5):
    """Central differences of the backward gradient: column j from moving input j."""
    n = len(point)
    H = [[0.0] * n for _ in range(n)]
    for j in range(n):
        up = list(point)
        down = list(point)
        up[j] += h
        down[j] -= h
        g_up, g_down = grads_at(f, up), grads_at(f, down)
        for i in range(n):
            H[i][j] = (g_up[i] - g_down[i]) / (2 * h)
    return H


def values_at(f, point):
    with no_grad():
        return f(*[Value(p) for p in point]).data


# --- hessian ---------------------------------------------------------------------------


def test_hessian_matches_hand_derived_values():
    # f = x^2 y + sin(xy): f_xx = 2y - y^2 sin(xy), f_xy = 2x + cos(xy) - xy sin(xy),
    # f_yy = -x^2 sin(xy)
    a, b = 1.5, -0.5
    x, y = Value(a), Value(b)
    H = hessian(x * x * y + (x * y).sin(), [x, y])
    s, c = math.sin(a * b), math.cos(a * b)
    fxy = 2 * a + c - a * b * s
    assert H[0] == pytest.approx([2 * b - b * b * s, fxy], rel=1e-12)
    assert H[1] == pytest.approx([fxy, -a * a * s], rel=1e-12)


def test_hessian_of_a_quadratic_is_its_matrix():
    # f = 1/2 x^T A x + b^T x has Hessian A exactly, wherever it is evaluated
    A = [[4.0, 1.0, -2.0], [1.0, 3.0, 0.5], [-2.0, 0.5, 5.0]]
    xs = [Value(v) for v in (0.3, -1.1, 2.0)]
    quad = sum_values(0.5 * A[i][j] * xs[i] * xs[j] for i in range(3) for j in range(3))
    f = quad + dot(xs, [1.0, -2.0, 0.5])
    assert hessian(f, xs) == [pytest.approx(row, abs=1e-14) for row in A]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_hessian_matches_finite_differences_of_grad(name):
    f = FUNCTIONS[name]
    xs = [Value(p) for p in POINT]
    H = hessian(f(*xs), xs)
    expected = fd_hessian(f, POINT)
    for row, want in zip(H, expected):
        assert row == pytest.approx(want, rel=1e-6, abs=1e-6)
    for i in range(3):  # second derivatives commute
        for j in range(i):
            assert H[i][j] == pytest.approx(H[j][i], rel=1e-12, abs=1e-12)


def test_hessian_of_an_input_the_output_ignores_is_zero():
    x, y, unused = Value(2.0), Value(3.0), Value(5.0)
    H = hessian(x * x * y, [x, unused, y])
    assert H == [[6.0, 0.0, 4.0], [0.0, 0.0, 0.0], [4.0, 0.0, 0.0]]


def test_hessian_of_a_linear_function_is_zero():
    x, y = Value(2.0), Value(3.0)
    assert hessian(3.0 * x - y + 1.0, [x, y]) == [[0.0, 0.0], [0.0, 0.0]]


def test_hessian_with_a_repeated_input_repeats_its_row_and_column():
    x, y = Value(2.0), Value(3.0)
    assert hessian(x * x * y, [x, y, x]) == [[6.0, 4.0, 6.0], [4.0, 0.0, 4.0], [6.0, 4.0, 6.0]]


# --- jacobian --------------------------------------------------------------------------


def test_jacobian_matches_hand_derived_values():
    a, b = 0.8, -2.0
    x, y = Value(a), Value(b)
    J = jacobian([x * y, x + y, x.sin(), y * y * y], [x, y])
    assert J == [
        pytest.approx([b, a]),
        pytest.approx([1.0, 1.0]),
        pytest.approx([math.cos(a), 0.0]),
        pytest.approx([0.0, 3 * b * b]),
    ]


def test_jacobian_matches_finite_differences():
    outputs = [FUNCTIONS[name] for name in sorted(FUNCTIONS)]
    xs = [Value(p) for p in POINT]
    J = jacobian([f(*xs) for f in outputs], xs)
    h = 1e-6
    for row, f in zip(J, outputs):
        for j in range(3):
            up, down = list(POINT), list(POINT)
            up[j] += h
            down[j] -= h
            slope = (values_at(f, up) - values_at(f, down)) / (2 * h)
            assert row[j] == pytest.approx(slope, rel=1e-6, abs=1e-6)


def test_jacobian_rows_are_the_gradients():
    xs = [Value(p) for p in POINT]
    outs = [FUNCTIONS["trig_sqrt"](*xs), FUNCTIONS["powers"](*xs)]
    assert jacobian(outs, xs) == [grad(outs[0], xs), grad(outs[1], xs)]


def test_jacobian_of_no_outputs_or_no_inputs():
    x = Value(1.0)
    assert jacobian([], [x]) == []
    assert jacobian([x * 2.0], []) == [[]]


# --- hvp -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_hvp_is_the_hessian_times_the_vector(name):
    f = FUNCTIONS[name]
    xs = [Value(p) for p in POINT]
    out = f(*xs)
    v = [0.5, -2.0, 1.25]
    H = hessian(out, xs)
    expected = [sum(H[i][j] * v[j] for j in range(3)) for i in range(3)]
    assert hvp(out, xs, v) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_hvp_matches_finite_differences_of_grad_along_the_vector():
    f = FUNCTIONS["log_sigmoid_div"]
    v = [1.0, 0.5, -0.75]
    h = 1e-5
    up = [p + h * d for p, d in zip(POINT, v)]
    down = [p - h * d for p, d in zip(POINT, v)]
    expected = [(a - b) / (2 * h) for a, b in zip(grads_at(f, up), grads_at(f, down))]
    xs = [Value(p) for p in POINT]
    assert hvp(f(*xs), xs, v) == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_hvp_inside_no_grad_still_differentiates():
    x, y = Value(2.0), Value(3.0)
    out = x * x * y  # recorded; only hvp itself runs under no_grad
    with no_grad():
        assert hvp(out, [x, y], [1.0, 0.0]) == [6.0, 4.0]


# --- jvp -------------------------------------------------------------------------------


def test_jvp_matches_hand_derived_values():
    # f = x^2 y + sin(xy): df = (2xy + y cos(xy)) dx + (x^2 + x cos(xy)) dy
    a, b, da, db = 1.5, -0.5, 1.0, 2.0
    value, slope = jvp(lambda x, y: x * x * y + (x * y).sin(), [a, b], [da, db])
    c = math.cos(a * b)
    assert value == pytest.approx(a * a * b + math.sin(a * b), rel=1e-15)
    assert slope == pytest.approx((2 * a * b + b * c) * da + (a * a + a * c) * db, rel=1e-12)


finite = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False, allow_infinity=False)


@given(
    name=st.sampled_from(sorted(FUNCTIONS)),
    point=st.tuples(finite, finite, finite),
    tangent=st.tuples(finite, finite, finite),
)
def test_jvp_is_the_backward_gradient_dotted_with_the_tangent(name, point, tangent):
    f = FUNCTIONS[name]
    value, slope = jvp(f, list(point), list(tangent))
    g = grads_at(f, point)
    assert value == values_at(f, point)
    expected = math.fsum(gi * ti for gi, ti in zip(g, tangent))
    scale = math.fsum(abs(gi * ti) for gi, ti in zip(g, tangent))
    assert slope == pytest.approx(expected, rel=1e-9, abs=1e-12 + 1e-12 * scale)


def test_the_functions_cover_every_op():
    xs = [Value(p) for p in POINT]
    ops = set()
    for f in FUNCTIONS.values():
        ops |= {node.op for node in topological_order(f(*xs)) if node.op}
    assert ops == set(DERIVATIVES)


def test_jvp_treats_leaves_that_are_not_primals_as_constants():
    c = Value(3.0)  # a parameter captured by f: held fixed, tangent 0
    value, slope = jvp(lambda x: c * x * x, [2.0], [1.0])
    assert (value, slope) == (12.0, 12.0)
    assert c.grad == 0.0


def test_jvp_fan_out_and_diamond():
    # b = a + a; c = b * a (diamond): c = 2a^2, dc = 4a da
    value, slope = jvp(lambda a: (a + a) * a, [3.0], [0.5])
    assert (value, slope) == (18.0, 6.0)


def test_jvp_of_an_argument_itself_and_of_a_constant():
    assert jvp(lambda x, y: y, [1.0, 2.0], [3.0, 4.0]) == (2.0, 4.0)
    assert jvp(lambda x: Value(7.0), [1.0], [1.0]) == (7.0, 0.0)


def test_jvp_with_zero_tangent_is_zero_even_through_an_infinite_local_derivative():
    # nothing moves, so sqrt's infinite slope at 0 is never needed
    assert jvp(lambda x, y: x.sqrt() + y, [0.0, 1.0], [0.0, 1.0]) == (1.0, 1.0)


def test_jvp_inside_no_grad_records_what_it_needs():
    with no_grad():
        assert jvp(lambda x: x * x, [3.0], [1.0]) == (9.0, 6.0)


def test_jvp_of_no_primals():
    assert jvp(lambda: Value(2.0) * 3.0, [], []) == (6.0, 0.0)


def test_jvp_accepts_ints_and_tuples():
    assert jvp(lambda x, y: x * y, (2, 3), (1, 0)) == (6.0, 3.0)


def test_forward_derivatives_of_many_outputs_is_a_jacobian_column_in_one_sweep():
    xs = [Value(p) for p in POINT]
    outs = [FUNCTIONS[name](*xs) for name in sorted(FUNCTIONS)]
    column = forward_derivatives(outs, {xs[1]: 1.0})
    assert column == pytest.approx([row[1] for row in jacobian(outs, xs)], rel=1e-12, abs=1e-14)
    assert forward_derivatives([], {xs[0]: 1.0}) == []


# --- nothing touches .grad -------------------------------------------------------------


def test_no_function_reads_or_changes_grad():
    xs = [Value(p) for p in POINT]
    out = FUNCTIONS["log_sigmoid_div"](*xs)
    nodes = topological_order(out)
    for k, node in enumerate(nodes):
        node.grad = 100.0 + k
    hessian(out, xs)
    jacobian([out, xs[0] * xs[1]], xs)
    hvp(out, xs, [1.0, 2.0, 3.0])
    forward_derivatives([out], {xs[0]: 1.0})
    assert [node.grad for node in nodes] == [100.0 + k for k in range(len(nodes))]


# --- non-finite derivatives ------------------------------------------------------------


def test_hessian_with_an_infinite_second_derivative_is_an_error():
    x = Value(0.0)  # d2/dx2 of x^1.5 is 0.75 / sqrt(x): infinite at 0
    with pytest.raises(ArithmeticError):
        hessian(x**1.5, [x])


def test_jacobian_with_an_infinite_derivative_is_an_error():
    x = Value(0.0)
    with pytest.raises(ArithmeticError):
        jacobian([x.sqrt()], [x])


def test_jvp_through_an_infinite_local_derivative_is_an_error():
    with pytest.raises(ArithmeticError, match="sqrt"):
        jvp(lambda x: x.sqrt(), [0.0], [1.0])


def test_jvp_whose_tangent_overflows_is_an_error():
    with pytest.raises(OverflowError, match="tangent"):
        jvp(lambda x: x * 1e300, [1.0], [1e10])


def test_jvp_through_an_op_without_a_rule_is_an_error():
    def f(x):
        out = x * 2.0
        out.op = "mystery"
        return out

    with pytest.raises(ValueError, match="'mystery'"):
        jvp(f, [1.0], [1.0])


# --- bad inputs ------------------------------------------------------------------------


def test_hessian_refuses_a_non_value_output():
    with pytest.raises(TypeError, match="hessian needs a Value output"):
        hessian(3.0, [Value(1.0)])


def test_hessian_refuses_a_single_value_as_inputs():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"pass \[value\]"):
        hessian(x * x, x)


def test_hessian_refuses_a_number_among_the_inputs():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"inputs\[1\] is 2.0"):
        hessian(x * x, [x, 2.0])


@pytest.mark.parametrize("inputs", ["xy", {"x": 1}, None, 3])
def test_hessian_refuses_inputs_that_are_not_a_list(inputs):
    x = Value(1.0)
    with pytest.raises(TypeError, match="must be a list or tuple of Values"):
        hessian(x * x, inputs)


def test_jacobian_refuses_a_single_value_as_outputs():
    x = Value(1.0)
    with pytest.raises(TypeError, match="outputs must be a list of Values"):
        jacobian(x * x, [x])


def test_jacobian_refuses_a_number_among_the_outputs():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"outputs\[0\] is 1.5"):
        jacobian([1.5, x], [x])


def test_hvp_refuses_a_vector_of_the_wrong_length():
    x, y = Value(1.0), Value(2.0)
    with pytest.raises(ValueError, match="vector has 1 numbers but there are 2 inputs"):
        hvp(x * y, [x, y], [1.0])


@pytest.mark.parametrize(
    ("vector", "error", "message"),
    [
        ([1.0, math.nan], ValueError, "finite"),
        ([math.inf, 1.0], ValueError, "finite"),
        ([True, 1.0], TypeError, "not a real number"),
        ([1.0, "2"], TypeError, "not a real number"),
        ([Value(1.0), 1.0], TypeError, "plain numbers"),
        ("12", TypeError, "list of numbers"),
        (Value(1.0), TypeError, "list of numbers"),
    ],
)
def test_hvp_refuses_bad_vectors(vector, error, message):
    x, y = Value(1.0), Value(2.0)
    with pytest.raises(error, match=message):
        hvp(x * y, [x, y], vector)


def test_hvp_refuses_a_non_value_output():
    with pytest.raises(TypeError, match="hvp needs a Value output"):
        hvp(None, [Value(1.0)], [1.0])


def test_jvp_refuses_a_function_that_is_not_callable():
    with pytest.raises(TypeError, match="f must be a function"):
        jvp(Value(1.0), [1.0], [1.0])


def test_jvp_refuses_different_lengths():
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        jvp(lambda x, y: x * y, [1.0, 2.0], [1.0])


@pytest.mark.parametrize(
    ("primals", "tangents", "error", "message"),
    [
        ([None], [1.0], TypeError, r"primals\[0\] is None"),
        (["1"], [1.0], TypeError, "not a real number"),
        ([False], [1.0], TypeError, "not a real number"),
        ([Value(1.0)], [1.0], TypeError, "plain numbers"),
        ([1.0], [math.nan], ValueError, r"tangents\[0\] is nan"),
        ([-math.inf], [1.0], ValueError, "finite"),
        ([10**400], [1.0], ValueError, "finite"),
        (1.0, [1.0], TypeError, "list of numbers"),
        ([1.0], {"x": 1.0}, TypeError, "list of numbers"),
    ],
)
def test_jvp_refuses_bad_numbers(primals, tangents, error, message):
    with pytest.raises(error, match=message):
        jvp(lambda x: x * x, primals, tangents)


@pytest.mark.parametrize("result", [1.0, [Value(1.0)], None])
def test_jvp_refuses_a_function_that_does_not_return_a_value(result):
    with pytest.raises(TypeError, match="f must return a Value"):
        jvp(lambda x: result, [1.0], [1.0])


def test_forward_derivatives_refuses_a_seed_that_is_not_a_value():
    x = Value(1.0)
    with pytest.raises(TypeError, match="seed"):
        forward_derivatives([x * 2.0], {1.0: 1.0})
