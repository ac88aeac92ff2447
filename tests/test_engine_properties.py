"""Property tests: random expression trees (depth <= 6) against a plain-`math`
mirror of the same expression and its central differences; fan-out,
accumulation and create_graph invariants on random graphs."""

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autodiff import Value, dot, grad, log_softmax, logsumexp, softmax, sum_values
from autodiff.graph import topological_order

NVARS = 3
BOUND = 50.0  # every intermediate value stays within +-BOUND, so differences are reliable


class OutOfRange(Exception):
    pass


def _lse(*xs):
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs))


# name -> (Value form, math form). Ops that need a domain get one by
# construction (log of a*a + 1, a Value exponent on a positive base, ...).
# Kinked ops (relu, abs, leaky_relu) are left out: differences across a kink
# mean nothing; test_engine_ops covers them away from 0.
UNARY = {
    "neg": (lambda a: -a, lambda a: -a),
    "exp": (lambda a: a.exp(), math.exp),
    "tanh": (lambda a: a.tanh(), math.tanh),
    "sigmoid": (lambda a: a.sigmoid(), lambda a: 1 / (1 + math.exp(-a))),
    "softplus": (lambda a: a.softplus(), lambda a: math.log1p(math.exp(-abs(a))) + max(a, 0.0)),
    "sin": (lambda a: a.sin(), math.sin),
    "cos": (lambda a: a.cos(), math.cos),
    "log": (lambda a: (a * a + 1).log(), lambda a: math.log(a * a + 1)),
    "sqrt": (lambda a: (a * a + 0.5).sqrt(), lambda a: math.sqrt(a * a + 0.5)),
    "pow1.5": (lambda a: (a * a + 0.5) ** 1.5, lambda a: (a * a + 0.5) ** 1.5),
    "cube": (lambda a: a**3, lambda a: a**3),
    "affine": (lambda a: 0.7 * a - 0.3, lambda a: 0.7 * a - 0.3),
    "rsub": (lambda a: 1.5 - a, lambda a: 1.5 - a),
    "rdiv": (lambda a: 1.0 / (a * a + 1), lambda a: 1.0 / (a * a + 1)),
    "rpow": (lambda a: 1.3**a, lambda a: 1.3**a),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    "vpow": (lambda a, b: (a * a + 0.5) ** b, lambda a, b: (a * a + 0.5) ** b),
    "logsumexp": (lambda a, b: logsumexp([a, b]), _lse),
    "log_softmax": (lambda a, b: log_softmax([a, b])[0], lambda a, b: a - _lse(a, b)),
    "softmax": (
        lambda a, b: softmax([a, b])[1],
        lambda a, b: math.exp(b - _lse(a, b)),
    ),
}
TERNARY = {
    "sum": (lambda a, b, c: sum_values([a, b, 0.25, c]), lambda a, b, c: a + b + 0.25 + c),
    "dot": (
        lambda a, b, c: dot([a, b], [c, -1.5], bias=0.5),
        lambda a, b, c: a * c - 1.5 * b + 0.5,
    ),
    "dotvv": (lambda a, b, c: dot([a, b], [b, c], bias=a), lambda a, b, c: a * b + b * c + a),
}
FORMS = {**UNARY, **BINARY, **TERNARY}


LEAVES = st.one_of(
    st.tuples(st.just("var"), st.integers(0, NVARS - 1)),
    st.tuples(st.just("const"), st.floats(-2, 2).map(lambda c: round(c, 3))),
)


def trees(depth: int, root: bool = True) -> st.SearchStrategy:
    """Expression trees: ("var", i) | ("const", c) | (op, child, ...), at most `depth`
    deep; the root is always an op."""
    if depth == 0:
        return LEAVES
    sub = trees(depth - 1, root=False)
    ops = [
        st.tuples(st.sampled_from(sorted(UNARY)), sub),
        st.tuples(st.sampled_from(sorted(BINARY)), sub, sub),
        st.tuples(st.sampled_from(sorted(TERNARY)), sub, sub, sub),
    ]
    return st.one_of(*ops) if root else st.one_of(LEAVES, *ops)


POINTS = st.lists(st.floats(-2, 2).map(lambda x: round(x, 4)), min_size=NVARS, max_size=NVARS)


def evaluate(tree, xs: list[Value]) -> Value:
    """Build the tree with the engine; the variables are the Values `xs`."""
    kind = tree[0]
    if kind == "var":
        return xs[tree[1]]
    if kind == "const":
        return Value(tree[1])
    return FORMS[kind][0](*[evaluate(child, xs) for child in tree[1:]])


def reference(tree, point) -> float:
    """The same expression in plain floats with `math`; OutOfRange past BOUND."""
    kind = tree[0]
    if kind == "var":
        return point[tree[1]]
    if kind == "const":
        return tree[1]
    try:
        out = FORMS[kind][1](*[reference(child, point) for child in tree[1:]])
    except OverflowError:
        raise OutOfRange from None
    if not abs(out) <= BOUND:
        raise OutOfRange
    return out


def fd(f, x: float, h: float) -> float:
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


def reliable_partials(f, point) -> list[float]:
    """Central differences of f at two step sizes; rejects the example if they disagree."""
    out = []
    for i in range(len(point)):

        def along(t, i=i):
            moved = list(point)
            moved[i] = t
            return f(moved)

        coarse, fine = fd(along, point[i], 2e-3), fd(along, point[i], 1e-3)
        assume(abs(coarse - fine) <= 1e-7 * (1 + abs(fine)))
        out.append(fine)
    return out


def checked_reference(tree, point) -> float:
    try:
        return reference(tree, point)
    except OutOfRange:
        assume(False)


PROPERTY = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@PROPERTY
@given(tree=trees(6), point=POINTS)
def test_random_trees_match_math_and_central_differences(tree, point):
    expected = checked_reference(tree, point)
    numeric = reliable_partials(lambda p: checked_reference(tree, p), point)
    xs = [Value(x) for x in point]
    out = evaluate(tree, xs)
    assert out.data == pytest.approx(expected, rel=1e-9, abs=1e-12)
    out.backward()
    assert [x.grad for x in xs] == pytest.approx(numeric, rel=1e-5, abs=1e-6)
    assert grad(evaluate(tree, xs), xs) == pytest.approx(numeric, rel=1e-5, abs=1e-6)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(tree=trees(4), point=POINTS)
def test_random_trees_create_graph_matches_numeric(tree, point):
    checked_reference(tree, point)

    def first(p):
        checked_reference(tree, p)
        leaves = [Value(x) for x in p]
        return grad(evaluate(tree, leaves), leaves)

    xs = [Value(x) for x in point]
    symbolic = grad(evaluate(tree, xs), xs, create_graph=True)
    assert [g.data for g in symbolic] == pytest.approx(first(point), rel=1e-9, abs=1e-9)
    for i, g in enumerate(symbolic):
        numeric = reliable_partials(lambda p, i=i: first(p)[i], point)
        assert grad(g, xs) == pytest.approx(numeric, rel=1e-5, abs=1e-6), i


def fresh_leaves(tree, point, occurrences: list) -> Value:
    """Build the tree with a new leaf for every occurrence of a variable."""
    if tree[0] == "var":
        leaf = Value(point[tree[1]])
        occurrences.append(leaf)
        return leaf
    if tree[0] == "const":
        return Value(tree[1])
    return FORMS[tree[0]][0](*[fresh_leaves(child, point, occurrences) for child in tree[1:]])


@PROPERTY
@given(tree=trees(6), point=POINTS, fresh=st.booleans())
def test_backward_twice_doubles_leaf_gradients(tree, point, fresh):
    checked_reference(tree, point)
    if fresh:
        leaves = []
        out = fresh_leaves(tree, point, leaves)
    else:
        leaves = [Value(x) for x in point]
        out = evaluate(tree, leaves)
    nodes = topological_order(out)
    edges = {}
    for node in nodes:
        for parent in node.parents:
            edges[parent] = edges.get(parent, 0) + 1
    out.backward()
    first = [leaf.grad for leaf in leaves]
    inner = [(node, node.grad) for node in nodes if node.parents]
    out.backward()
    for leaf, g in zip(leaves, first):
        if edges.get(leaf, 0) <= 1:
            # one contribution per pass: g + g is exact in floating point
            assert leaf.grad == 2 * g
        else:
            # several contributions summed into a running total: equal up to rounding
            assert leaf.grad == pytest.approx(2 * g, rel=1e-9, abs=1e-9)
    # intermediate nodes hold this pass's gradient, recomputed identically
    assert [node.grad for node, _ in inner] == [g for _, g in inner]


@PROPERTY
@given(tree=trees(6), point=POINTS, sentinel=st.floats(-1e6, 1e6))
def test_grad_leaves_grads_untouched(tree, point, sentinel):
    checked_reference(tree, point)
    xs = [Value(x) for x in point]
    out = evaluate(tree, xs)
    nodes = topological_order(out)
    for i, node in enumerate(nodes):
        node.grad = sentinel + i
    grad(out, xs)
    grad(out, xs, create_graph=True)
    assert [node.grad for node in nodes] == [sentinel + i for i in range(len(nodes))]


@given(
    data=st.floats(-100, 100),
    coefficients=st.lists(st.floats(-10, 10), min_size=1, max_size=40),
)
def test_fan_out_gets_one_contribution_per_use(data, coefficients):
    a = Value(data)
    sum_values([a * c for c in coefficients]).backward()
    assert a.grad == pytest.approx(math.fsum(coefficients), rel=1e-12, abs=1e-12)


@given(data=st.floats(-100, 100), k=st.integers(1, 200))
def test_repeated_parent_in_one_node(data, k):
    a = Value(data)
    sum_values([a] * k).backward()
    assert a.grad == k  # integer sums are exact


@given(data=st.floats(-1e6, 1e6), levels=st.integers(1, 30))
def test_repeated_doubling(data, levels):
    # b = a + a; c = b + b; ...: the classic `=` instead of `+=` bug gives 1 or 2
    a = Value(data)
    x = a
    for _ in range(levels):
        x = x + x
    x.backward()
    assert a.grad == 2.0**levels
    assert x.data == pytest.approx(data * 2.0**levels)


@given(a=st.floats(-10, 10), b=st.floats(-10, 10))
def test_diamond(a, b):
    va, vb = Value(a), Value(b)
    x = va + vb
    y = x * va
    y.backward()
    assert va.grad == pytest.approx(2 * a + b, rel=1e-12, abs=1e-12)
    assert vb.grad == pytest.approx(a, rel=1e-12, abs=1e-12)


@given(a=st.floats(-3, 3), b=st.floats(-3, 3))
def test_double_diamond_create_graph(a, b):
    # y = (a + b) * a * (a - b) = a^3 - a b^2
    va, vb = Value(a), Value(b)
    y = (va + vb) * va * (va - vb)
    ga, gb = grad(y, [va, vb], create_graph=True)
    assert ga.data == pytest.approx(3 * a * a - b * b, rel=1e-9, abs=1e-9)
    assert gb.data == pytest.approx(-2 * a * b, rel=1e-9, abs=1e-9)
    assert grad(ga, [va, vb]) == pytest.approx([6 * a, -2 * b], rel=1e-9, abs=1e-9)
    assert grad(gb, [va, vb]) == pytest.approx([-2 * b, -2 * a], rel=1e-9, abs=1e-9)
