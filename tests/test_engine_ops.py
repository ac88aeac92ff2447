"""Every op of the engine, from one table: forward against `math`, gradient
against central differences of the `math` reference, and second derivatives
through `grad(..., create_graph=True)` against central differences of the
first derivative. Points stay away from kinks (relu, abs, leaky_relu at 0).
"""

import math
import random
from collections.abc import Callable
from typing import NamedTuple

import pytest

from autodiff import (
    NonFiniteGradientError,
    Value,
    dot,
    grad,
    log_softmax,
    logsumexp,
    no_grad,
    softmax,
    sum_values,
)
from autodiff.engine import DERIVATIVES, dot_rows
from autodiff.graph import topological_order

H = 1e-3  # step of the 5-point central difference (error ~ H**4)


def central(f: Callable[[float], float], x: float) -> float:
    """d f / dx at x by the 5-point central difference."""
    h = H * max(1.0, abs(x))
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


def partials(f: Callable[..., float], point: tuple) -> list[float]:
    """Numeric gradient of f(*point), one central difference per coordinate."""
    out = []
    for i in range(len(point)):

        def along(t, i=i):
            moved = list(point)
            moved[i] = t
            return f(*moved)

        out.append(central(along, point[i]))
    return out


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def lse(*xs: float) -> float:
    return math.log(sum(math.exp(x) for x in xs))


class Case(NamedTuple):
    name: str
    arity: int
    build: Callable[..., Value]  # Values -> Value
    ref: Callable[..., float]  # floats -> float, written with `math`
    points: list


def grid(arity: int, seed: int, n: int = 4, low: float = -2.0, high: float = 2.0) -> list:
    rng = random.Random(seed)
    return [tuple(round(rng.uniform(low, high), 3) for _ in range(arity)) for _ in range(n)]


# Unary grids: both signs, at least 0.3 from 0 (the kinks of relu/abs/leaky_relu)
ANY = [(-2.3,), (-1.1,), (-0.4,), (0.3,), (0.9,), (1.7,), (2.6,)]
POSITIVE = [(0.2,), (0.5,), (1.0,), (1.9,), (3.4,), (7.5,)]
PAIRS = [(-1.7, 0.6), (-0.4, -2.1), (0.3, 1.2), (1.5, -0.8), (2.2, 2.9)]
POSITIVE_BASE = [(0.3, -1.4), (0.8, 2.5), (1.6, 0.7), (2.4, -0.3), (3.1, 1.9)]

CASES = [
    # arithmetic with a Value on both sides
    Case("x + y", 2, lambda x, y: x + y, lambda x, y: x + y, PAIRS),
    Case("x - y", 2, lambda x, y: x - y, lambda x, y: x - y, PAIRS),
    Case("x * y", 2, lambda x, y: x * y, lambda x, y: x * y, PAIRS),
    Case("x / y", 2, lambda x, y: x / y, lambda x, y: x / y, PAIRS),
    Case("x ** y", 2, lambda x, y: x**y, lambda x, y: x**y, POSITIVE_BASE),
    # the same Value on both sides
    Case("x + x", 1, lambda x: x + x, lambda x: 2 * x, ANY),
    Case("x * x", 1, lambda x: x * x, lambda x: x * x, ANY),
    Case("x / x", 1, lambda x: x / x, lambda x: 1.0, ANY),
    Case("x ** x", 1, lambda x: x**x, lambda x: x**x, POSITIVE),
    # a number on one side, both orders (the reflected forms)
    Case("x + 2.5", 1, lambda x: x + 2.5, lambda x: x + 2.5, ANY),
    Case("2.5 + x", 1, lambda x: 2.5 + x, lambda x: 2.5 + x, ANY),
    Case("x - 2.5", 1, lambda x: x - 2.5, lambda x: x - 2.5, ANY),
    Case("2.5 - x", 1, lambda x: 2.5 - x, lambda x: 2.5 - x, ANY),
    Case("x * -1.5", 1, lambda x: x * -1.5, lambda x: x * -1.5, ANY),
    Case("3 * x", 1, lambda x: 3 * x, lambda x: 3 * x, ANY),
    Case("x / 0.8", 1, lambda x: x / 0.8, lambda x: x / 0.8, ANY),
    Case("0.8 / x", 1, lambda x: 0.8 / x, lambda x: 0.8 / x, ANY),
    Case("1.7 ** x", 1, lambda x: 1.7**x, lambda x: 1.7**x, ANY),
    # powers with a number exponent
    Case("x ** 3", 1, lambda x: x**3, lambda x: x**3, ANY),
    Case("x ** 2.0", 1, lambda x: x**2.0, lambda x: x**2.0, ANY),
    Case("x ** -2", 1, lambda x: x**-2, lambda x: x**-2, ANY),
    Case("x ** 2.5", 1, lambda x: x**2.5, lambda x: x**2.5, POSITIVE),
    Case("x ** 0.5", 1, lambda x: x**0.5, lambda x: x**0.5, POSITIVE),
    Case("x ** -0.7", 1, lambda x: x**-0.7, lambda x: x**-0.7, POSITIVE),
    Case("x ** 1", 1, lambda x: x**1, lambda x: x, ANY),
    Case("x ** 0", 1, lambda x: x**0, lambda x: 1.0, ANY + [(0.0,)]),
    # unary ops
    Case("-x", 1, lambda x: -x, lambda x: -x, ANY),
    Case("abs(x)", 1, lambda x: abs(x), lambda x: abs(x), ANY),
    Case("exp", 1, lambda x: x.exp(), math.exp, ANY + [(5.0,)]),
    Case("log", 1, lambda x: x.log(), math.log, POSITIVE),
    Case("tanh", 1, lambda x: x.tanh(), math.tanh, ANY + [(4.0,)]),
    Case("sigmoid", 1, lambda x: x.sigmoid(), sigmoid, ANY + [(6.0,), (-6.0,)]),
    Case("relu", 1, lambda x: x.relu(), lambda x: max(0.0, x), ANY),
    Case("leaky_relu()", 1, lambda x: x.leaky_relu(), lambda x: x if x > 0 else 0.01 * x, ANY),
    Case(
        "leaky_relu(0.2)",
        1,
        lambda x: x.leaky_relu(0.2),
        lambda x: x if x > 0 else 0.2 * x,
        ANY,
    ),
    Case(
        "softplus",
        1,
        lambda x: x.softplus(),
        lambda x: math.log(1.0 + math.exp(x)),
        ANY + [(8.0,), (-8.0,)],
    ),
    Case("sqrt", 1, lambda x: x.sqrt(), math.sqrt, POSITIVE),
    Case("sin", 1, lambda x: x.sin(), math.sin, ANY + [(4.0,)]),
    Case("cos", 1, lambda x: x.cos(), math.cos, ANY + [(4.0,)]),
    # n-ary helpers
    Case(
        "sum_values",
        3,
        lambda x, y, z: sum_values([x, y, z]),
        lambda x, y, z: x + y + z,
        grid(3, 1),
    ),
    Case(
        "sum_values with numbers",
        3,
        lambda x, y, z: sum_values([x, 1.5, y, -0.5, z]),
        lambda x, y, z: x + 1.5 + y - 0.5 + z,
        grid(3, 2),
    ),
    Case(
        "sum_values generator, repeated Value",
        2,
        lambda x, y: sum_values(v for v in (x, y, x)),
        lambda x, y: 2 * x + y,
        grid(2, 3),
    ),
    Case(
        "dot(Values, numbers)",
        3,
        lambda x, y, z: dot([x, y, z], [1.5, -2.0, 0.5]),
        lambda x, y, z: 1.5 * x - 2.0 * y + 0.5 * z,
        grid(3, 4),
    ),
    Case(
        "dot(numbers, Values)",
        3,
        lambda x, y, z: dot([1.5, -2.0, 0.5], [x, y, z]),
        lambda x, y, z: 1.5 * x - 2.0 * y + 0.5 * z,
        grid(3, 5),
    ),
    Case(
        "dot(Values, numbers, bias=number)",
        2,
        lambda x, y: dot([x, y], [0.7, 3], bias=-1.25),
        lambda x, y: 0.7 * x + 3 * y - 1.25,
        grid(2, 6),
    ),
    Case(
        "dot(Values, numbers, bias=Value)",
        3,
        lambda x, y, b: dot([x, y], [0.7, 3], bias=b),
        lambda x, y, b: 0.7 * x + 3 * y + b,
        grid(3, 7),
    ),
    Case(
        "dot(tuple of Values, tuple of floats)",
        3,
        lambda x, y, z: dot((x, y, z), (0.25, -1.0, 2.0), bias=1),
        lambda x, y, z: 0.25 * x - y + 2.0 * z + 1,
        grid(3, 22),
    ),
    Case(
        "dot(generators)",
        2,
        lambda x, y: dot((v for v in (x, y)), (c for c in (1.5, -0.5))),
        lambda x, y: 1.5 * x - 0.5 * y,
        grid(2, 23),
    ),
    Case(
        "dot(Values, Values)",
        4,
        lambda x, y, z, w: dot([x, y], [z, w]),
        lambda x, y, z, w: x * z + y * w,
        grid(4, 8),
    ),
    Case(
        "dot(Values, Values, bias=number)",
        4,
        lambda x, y, z, w: dot([x, y], [z, w], bias=0.3),
        lambda x, y, z, w: x * z + y * w + 0.3,
        grid(4, 9),
    ),
    Case(
        "dot(Values, Values, bias=Value)",
        5,
        lambda x, y, z, w, b: dot([x, y], [z, w], bias=b),
        lambda x, y, z, w, b: x * z + y * w + b,
        grid(5, 10),
    ),
    Case(
        "dot_rows(Values, Values, relu): fused neurons",
        4,
        lambda x, y, z, w: sum_values(
            dot_rows([(x, y), (z, x)], (z, w), (w, y), Value.relu)
        ),
        lambda x, y, z, w: max(0.0, x * z + y * w + w) + max(0.0, z * z + x * w + y),
        grid(4, 31),
    ),
    Case(
        "dot_rows(Values, numbers, relu): fused neurons",
        3,
        lambda x, y, z: sum_values(
            dot_rows([(x, y), (y, z)], (1.5, -0.5), (z, x), Value.relu)
        ),
        lambda x, y, z: max(0.0, 1.5 * x - 0.5 * y + z) + max(0.0, 1.5 * y - 0.5 * z + x),
        grid(3, 32),
    ),
    Case(
        "dot(xs, xs)",
        2,
        lambda x, y: dot([x, y], [x, y]),
        lambda x, y: x * x + y * y,
        grid(2, 11),
    ),
    Case(
        "dot(mixed, Values)",
        3,
        lambda x, y, z: dot([x, 2.0], [y, z]),
        lambda x, y, z: x * y + 2.0 * z,
        grid(3, 12),
    ),
    Case("logsumexp", 3, lambda x, y, z: logsumexp([x, y, z]), lse, grid(3, 13)),
    Case(
        "logsumexp with numbers",
        2,
        lambda x, y: logsumexp([x, 0.5, y]),
        lambda x, y: lse(x, 0.5, y),
        grid(2, 14),
    ),
    *[
        Case(
            f"log_softmax[{i}]",
            3,
            lambda x, y, z, i=i: log_softmax([x, y, z])[i],
            lambda x, y, z, i=i: (x, y, z)[i] - lse(x, y, z),
            grid(3, 15 + i),
        )
        for i in range(3)
    ],
    *[
        Case(
            f"softmax[{i}]",
            3,
            lambda x, y, z, i=i: softmax([x, y, z])[i],
            lambda x, y, z, i=i: math.exp((x, y, z)[i]) / sum(map(math.exp, (x, y, z))),
            grid(3, 18 + i),
        )
        for i in range(3)
    ],
    Case(
        "softmax with a number",
        2,
        lambda x, y: softmax([x, -0.25, y])[1],
        lambda x, y: math.exp(-0.25) / (math.exp(x) + math.exp(-0.25) + math.exp(y)),
        grid(2, 21),
    ),
]
IDS = [case.name for case in CASES]


def leaves(point: tuple) -> list[Value]:
    return [Value(x) for x in point]


def engine_gradient(case: Case, point: tuple) -> list[float]:
    xs = leaves(point)
    return grad(case.build(*xs), xs)


def test_cases_cover_every_op():
    """The table reaches every op that has a derivative rule (a new op needs a row)."""
    seen = set()
    for case in CASES:
        for node in topological_order(case.build(*leaves(case.points[0]))):
            seen.add(node.op)
    assert set(DERIVATIVES) <= seen, set(DERIVATIVES) - seen


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_matches_math(case):
    for point in case.points:
        out = case.build(*leaves(point))
        assert isinstance(out, Value)
        assert isinstance(out.data, float)
        assert out.data == pytest.approx(case.ref(*point), rel=1e-12, abs=1e-12), point


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradient_matches_central_differences(case):
    for point in case.points:
        xs = leaves(point)
        out = case.build(*xs)
        out.backward()
        numeric = partials(case.ref, point)
        assert [x.grad for x in xs] == pytest.approx(numeric, rel=1e-7, abs=1e-8), point
        # grad() runs the same backward on fresh copies of the accumulators
        assert grad(case.build(*xs), xs) == [x.grad for x in xs]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_second_derivative_matches_differences_of_the_first(case):
    for point in case.points:
        xs = leaves(point)
        firsts = grad(case.build(*xs), xs, create_graph=True)
        assert all(isinstance(g, Value) for g in firsts)
        assert [g.data for g in firsts] == pytest.approx(
            engine_gradient(case, point), rel=1e-12, abs=1e-12
        )
        for i, first in enumerate(firsts):
            row = grad(first, xs)
            numeric = partials(lambda *p, i=i: engine_gradient(case, p)[i], point)
            assert row == pytest.approx(numeric, rel=1e-6, abs=1e-7), (point, i)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_grad_records_no_parents(case):
    xs = leaves(case.points[0])
    with no_grad():
        out = case.build(*xs)
    assert out.parents == ()
    assert out.op == ""
    assert out.data == pytest.approx(case.ref(*case.points[0]), rel=1e-12, abs=1e-12)
    # it has no graph: differentiating it is refused rather than giving zeros
    with pytest.raises(ValueError, match=r"under no_grad\(\)"):
        out.backward()
    with pytest.raises(ValueError, match=r"under no_grad\(\)"):
        grad(out, xs)
    assert [x.grad for x in xs] == [0.0] * len(xs)
    assert out.grad == 0.0


# Closed forms of f' and f'', an independent check of the rules above.
CLOSED_FORMS = {
    "exp": (lambda x: x.exp(), math.exp, math.exp),
    "log": (lambda x: x.log(), lambda x: 1 / x, lambda x: -1 / x**2),
    "tanh": (
        lambda x: x.tanh(),
        lambda x: 1 - math.tanh(x) ** 2,
        lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
    ),
    "sigmoid": (
        lambda x: x.sigmoid(),
        lambda x: sigmoid(x) * (1 - sigmoid(x)),
        lambda x: sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x)),
    ),
    "softplus": (
        lambda x: x.softplus(),
        sigmoid,
        lambda x: sigmoid(x) * (1 - sigmoid(x)),
    ),
    "sqrt": (lambda x: x.sqrt(), lambda x: 0.5 * x**-0.5, lambda x: -0.25 * x**-1.5),
    "sin": (lambda x: x.sin(), math.cos, lambda x: -math.sin(x)),
    "cos": (lambda x: x.cos(), lambda x: -math.sin(x), lambda x: -math.cos(x)),
    "x ** 2.5": (lambda x: x**2.5, lambda x: 2.5 * x**1.5, lambda x: 3.75 * x**0.5),
    "1 / x": (lambda x: 1 / x, lambda x: -(x**-2), lambda x: 2 * x**-3),
    "x ** x": (
        lambda x: x**x,
        lambda x: x**x * (math.log(x) + 1),
        lambda x: x**x * ((math.log(x) + 1) ** 2 + 1 / x),
    ),
}


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
@pytest.mark.parametrize("x", [0.35, 1.2, 2.7])
def test_first_and_second_derivatives_match_closed_forms(name, x):
    f, d1, d2 = CLOSED_FORMS[name]
    v = Value(x)
    first = grad(f(v), v, create_graph=True)
    assert first.data == pytest.approx(d1(x), rel=1e-12)
    assert grad(first, v) == pytest.approx(d2(x), rel=1e-12)


def test_third_derivative_by_nesting_create_graph():
    x = Value(0.8)
    d1 = grad(x.sin() * x, x, create_graph=True)  # sin x + x cos x
    d2 = grad(d1, x, create_graph=True)  # 2 cos x - x sin x
    d3 = grad(d2, x)  # -3 sin x - x cos x
    assert d2.data == pytest.approx(2 * math.cos(0.8) - 0.8 * math.sin(0.8), rel=1e-12)
    assert d3 == pytest.approx(-3 * math.sin(0.8) - 0.8 * math.cos(0.8), rel=1e-12)


def test_power_by_a_value_exponent_at_zero_base():
    base, exponent = Value(0.0), Value(2.0)
    out = base**exponent
    out.backward()
    assert out.data == 0.0
    assert base.grad == 0.0  # 2 * 0 ** 1
    assert exponent.grad == 0.0  # the limit of 0 ** e * log(0) as the base -> 0+


def test_power_edge_slopes_at_zero():
    for n, slope in [(1, 1.0), (2, 0.0), (3.5, 0.0), (0, 0.0)]:
        x = Value(0.0)
        (x**n).backward()
        assert x.grad == slope, n
    x = Value(0.0)
    with pytest.raises(NonFiniteGradientError, match="keep the base away from 0"):
        (x**0.5).backward()  # d sqrt(x)/dx at 0 is infinite
    assert x.grad == 0.0


def test_sqrt_slope_at_zero_is_infinite():
    x = Value(0.0)
    with pytest.raises(NonFiniteGradientError, match="epsilon inside the sqrt"):
        x.sqrt().backward()
    assert x.grad == 0.0


def test_leaky_relu_slope_applies_below_zero_only():
    x, y = Value(-2.0), Value(3.0)
    (x.leaky_relu(0.1) + y.leaky_relu(0.1)).backward()
    assert x.grad == pytest.approx(0.1)
    assert y.grad == 1.0


def test_softmax_sums_to_one_and_log_softmax_matches():
    xs = [Value(v) for v in (0.3, -1.2, 2.5, 0.0)]
    probabilities = softmax(xs)
    assert sum(p.data for p in probabilities) == pytest.approx(1.0, rel=1e-15)
    for p, lp in zip(probabilities, log_softmax(xs)):
        assert math.log(p.data) == pytest.approx(lp.data, rel=1e-12)


def test_sum_values_is_one_node():
    xs = [Value(float(i)) for i in range(100)]
    out = sum_values(xs)
    assert out.op == "sum"
    assert out.parents == tuple(xs)
    assert out.data == pytest.approx(4950.0)
    assert sum_values([]).data == 0.0
    assert sum_values([1, 2.5]).data == pytest.approx(3.5)


def test_dot_is_one_node_with_only_values_as_parents():
    xs = [Value(1.0), Value(2.0)]
    bias = Value(0.5)
    with_numbers = dot(xs, [3.0, 4.0], bias=bias)
    assert with_numbers.op == "dot"
    assert with_numbers.parents == (*xs, bias)
    assert with_numbers.data == pytest.approx(11.5)
    ys = [Value(3.0), Value(4.0)]
    both = dot(xs, ys)
    assert both.op == "dot"
    assert both.parents == (*xs, *ys)
    assert dot([], []).data == 0.0


def test_dot_refuses_sequences_of_different_lengths():
    with pytest.raises(ValueError, match="same length.*2 and 3"):
        dot([Value(1.0), Value(2.0)], [1.0, 2.0, 3.0])


def test_empty_logsumexp_is_refused():
    with pytest.raises(ValueError, match="empty"):
        logsumexp([])
    with pytest.raises(ValueError, match="empty"):
        softmax([])


def test_ops_record_their_parents_in_order():
    x, y = Value(1.0, "x"), Value(2.0, "y")
    assert (x - y).parents == (x, y)
    assert (x - y).op == "-"
    assert (y / x).parents == (y, x)
    assert x.tanh().parents == (x,)
    assert x.tanh().op == "tanh"
    reflected = 2.0 - x  # the number becomes a leaf so the graph shows it
    assert reflected.parents[1] is x
    assert reflected.parents[0].data == 2.0
    assert x.parents == ()
    assert x.op == ""


def test_comparisons_compare_data_and_equality_is_identity():
    a, b = Value(1.0), Value(2.0)
    assert a < b and a <= b and b > a and b >= a
    assert a < 1.5 and b > 1.5 and a <= 1 and a >= 1
    assert not (a > b)
    twin = Value(1.0)
    assert a != twin  # identity, not data
    assert a == a
    assert len({a, twin, a}) == 2
    assert {a: "a", twin: "twin"}[twin] == "twin"


def test_value_defaults_and_repr():
    v = Value(3, label="w1")
    assert v.data == 3.0 and isinstance(v.data, float)
    assert v.grad == 0.0
    assert v.label == "w1"
    assert v.op == "" and v.parents == ()
    assert "w1" in repr(v) and "3" in repr(v)
    with pytest.raises(TypeError, match="cut the graph"):
        float(Value(2.5))
