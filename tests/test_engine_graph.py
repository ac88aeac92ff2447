"""Graph walking and gradient bookkeeping: worked examples, accumulation,
fan-out, cycles, no_grad, grad(), Hessian-vector products and deep graphs."""

import gc
import math
import sys

import pytest

from autodiff import GraphCycleError, Value, dot, grad, no_grad, sum_values, topological_order
from autodiff.graph import reverse_topological_order

# ---------------------------------------------------------------------------
# Published worked examples and hand-derived values


def test_micrograd_readme_example():
    # karpathy/micrograd README: prints 24.7041, 138.8338, 645.5773
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"
    assert g.data == pytest.approx(24.70408163265306, rel=1e-12)
    assert a.grad == pytest.approx(138.83381924198252, rel=1e-12)
    assert b.grad == pytest.approx(645.5772594752186, rel=1e-12)


def test_micrograd_lecture_neuron():
    # "The spelled-out intro to neural networks and backpropagation": o = tanh(x1 w1 + x2 w2 + b)
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    assert o.data == pytest.approx(0.7071, abs=1e-4)
    assert x1.grad == pytest.approx(-1.5, abs=1e-4)
    assert w1.grad == pytest.approx(1.0, abs=1e-4)
    assert x2.grad == pytest.approx(0.5, abs=1e-4)
    assert w2.grad == pytest.approx(0.0, abs=1e-12)
    assert b.grad == pytest.approx(0.5, abs=1e-4)


def test_same_neuron_through_dot_and_exp():
    # tanh written out as (e^2n - 1) / (e^2n + 1), and the sum as one dot node
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    e = (2 * dot([x1, x2], [w1, w2], bias=b)).exp()
    o = (e - 1) / (e + 1)
    o.backward()
    assert o.data == pytest.approx(math.sqrt(0.5), abs=1e-9)
    assert [x1.grad, w1.grad, x2.grad, w2.grad, b.grad] == pytest.approx(
        [-1.5, 1.0, 0.5, 0.0, 0.5], abs=1e-9
    )


def test_hand_derived_gradients():
    # f = x y + x / z + sin(y): df/dx = y + 1/z, df/dy = x + cos y, df/dz = -x / z^2
    x, y, z = Value(3.0), Value(-2.0), Value(4.0)
    f = x * y + x / z + y.sin()
    f.backward()
    assert f.data == pytest.approx(-6.0 + 0.75 + math.sin(-2.0))
    assert x.grad == pytest.approx(-2.0 + 0.25)
    assert y.grad == pytest.approx(3.0 + math.cos(-2.0))
    assert z.grad == pytest.approx(-3.0 / 16.0)


def test_hand_derived_gradients_of_a_loss():
    # L = (sigmoid(w x + b) - t)^2: dL/dw = 2 (s - t) s (1 - s) x
    w, b = Value(0.5), Value(-0.25)
    x, t = 2.0, 1.0
    s = (w * x + b).sigmoid()
    loss = (s - t) ** 2
    loss.backward()
    sv = 1 / (1 + math.exp(-0.75))
    assert loss.data == pytest.approx((sv - 1) ** 2)
    assert w.grad == pytest.approx(2 * (sv - t) * sv * (1 - sv) * x)
    assert b.grad == pytest.approx(2 * (sv - t) * sv * (1 - sv))


# ---------------------------------------------------------------------------
# Accumulation: fan-out, the classic += bugs, backward twice


def test_node_used_k_times_gets_k_contributions():
    a = Value(1.5)
    sum_values([a] * 7).backward()
    assert a.grad == 7.0


def test_node_used_in_k_products():
    a = Value(1.5)
    y = a
    for _ in range(4):
        y = y * a  # a ** 5
    y.backward()
    assert y.data == pytest.approx(1.5**5)
    assert a.grad == pytest.approx(5 * 1.5**4)


def test_b_equals_a_plus_a():
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert c.data == 12.0
    assert b.grad == 2.0
    assert a.grad == 4.0


def test_diamond():
    a, b = Value(3.0), Value(-2.0)
    x = a + b
    y = x * a  # (a + b) a: dy/da = 2a + b, dy/db = a
    y.backward()
    assert a.grad == pytest.approx(4.0)
    assert b.grad == pytest.approx(3.0)
    assert x.grad == pytest.approx(3.0)


def test_backward_twice_doubles_the_leaf_gradients_exactly():
    x, w = Value(0.7), Value(-1.3)
    y = (x * w).tanh() + x.exp()
    y.backward()
    first = (x.grad, w.grad)
    hidden = [node.grad for node in topological_order(y)]
    y.backward()
    assert (x.grad, w.grad) == (2 * first[0], 2 * first[1])
    # intermediate nodes hold this pass's values, not a sum over passes
    assert [node.grad for node in topological_order(y) if node.parents] == [
        g for node, g in zip(topological_order(y), hidden) if node.parents
    ]


def test_zero_grad_resets_every_node():
    x, w = Value(0.7), Value(-1.3)
    y = (x * w).tanh() + x
    y.backward()
    assert x.grad != 0.0 and w.grad != 0.0
    y.zero_grad()
    assert all(node.grad == 0.0 for node in topological_order(y))
    y.backward()
    once = x.grad
    y.zero_grad()
    y.backward()
    assert x.grad == once


def test_backward_of_a_leaf():
    x = Value(2.0)
    x.backward()
    assert x.grad == 1.0


def test_backward_from_an_intermediate_node():
    x = Value(2.0)
    h = x * 3.0
    y = h.exp()
    y.backward()
    assert x.grad == pytest.approx(3.0 * math.exp(6.0))
    x.grad = 0.0
    h.backward()
    assert x.grad == 3.0


# ---------------------------------------------------------------------------
# Topological order


def test_topological_order_puts_parents_first_once_each():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    x = a + b
    y = x * a
    z = y + x.tanh() + b
    order = topological_order(z)
    assert order[-1] is z
    assert len(order) == len(set(order))
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[parent] < position[node]
    assert len(order) == 7  # a b x y tanh (y + tanh) z
    assert {a, b, x, y, z} <= set(order)
    assert reverse_topological_order(z) == order[::-1]


def test_topological_order_is_deterministic():
    def build():
        a, b = Value(1.0, "a"), Value(2.0, "b")
        x = a * b + a
        return x * x.sigmoid() + b

    labels = [[(n.op, n.label, n.data) for n in topological_order(build())] for _ in range(3)]
    assert labels[0] == labels[1] == labels[2]


# ---------------------------------------------------------------------------
# Cycles made by hand


def _cycle_through_root():
    a = Value(1.0, "a")
    b = a * 2.0
    c = b + 1.0
    a.parents = (c,)  # c -> b -> a -> c
    return c


def _cycle_below_root():
    a = Value(1.0, "a")
    b = a * 2.0
    c = b.tanh()
    a.parents = (b,)  # b -> a -> b
    return c + 1.0


def _self_loop_at_root():
    a = Value(1.0, "a")
    b = a * 2.0
    b.parents = (b,)
    return b


def _self_loop_below_root():
    a = Value(1.0, "a")
    a.parents = (a,)
    return a.exp()


CYCLES = [_cycle_through_root, _cycle_below_root, _self_loop_at_root, _self_loop_below_root]
WALKS = [
    ("backward", lambda root: root.backward()),
    ("zero_grad", lambda root: root.zero_grad()),
    ("topological_order", topological_order),
    ("grad", lambda root: grad(root, [root])),
    ("grad create_graph", lambda root: grad(root, [root], create_graph=True)),
]


@pytest.mark.parametrize("make", CYCLES, ids=[f.__name__.strip("_") for f in CYCLES])
@pytest.mark.parametrize("walk", [w[1] for w in WALKS], ids=[w[0] for w in WALKS])
def test_cycle_is_reported(make, walk):
    root = make()
    with pytest.raises(GraphCycleError) as info:
        walk(root)
    message = str(info.value)
    assert "cycle" in message
    assert "parents" in message
    assert "Value(" in message  # names a node on the cycle
    assert isinstance(info.value, ValueError)


# ---------------------------------------------------------------------------
# no_grad


def test_no_grad_records_nothing_and_restores():
    x = Value(2.0)
    with no_grad():
        y = x * 3.0 + 1.0
        z = (x.tanh() - 2.0) / x
    assert y.parents == () and y.op == ""
    assert z.parents == () and z.op == ""
    assert y.data == 7.0
    after = x * 3.0
    assert after.parents == (x,) and after.op == "*"


def test_no_grad_restores_after_an_exception():
    x = Value(2.0)
    with pytest.raises(ValueError):
        with no_grad():
            (x - 5.0).log()
    assert (x * 3.0).parents == (x,)


def test_no_grad_nests():
    x = Value(2.0)
    with no_grad():
        with no_grad():
            pass
        inner = x * 2.0
    assert inner.parents == ()
    assert (x * 2.0).parents == (x,)


def test_parameter_update_under_no_grad():
    w = Value(1.0)
    loss = (w - 3.0) ** 2
    loss.backward()
    with no_grad():
        w.data -= 0.25 * w.grad
    assert w.data == pytest.approx(2.0)
    assert w.parents == ()


def test_grad_with_create_graph_works_under_no_grad():
    x = Value(1.5)
    y = x * x * x
    with no_grad():
        d1 = grad(y, x, create_graph=True)
        assert d1.parents != ()
        assert grad(d1, x) == pytest.approx(6 * 1.5)
    assert (x * 2.0).parents == (x,)


# ---------------------------------------------------------------------------
# grad()


def test_grad_leaves_every_grad_untouched():
    x, y = Value(0.5), Value(-1.5)
    out = (x * y).tanh() + x.exp() * y
    for i, node in enumerate(topological_order(out)):
        node.grad = 100.0 + i
    before = [node.grad for node in topological_order(out)]
    gx, gy = grad(out, [x, y])
    assert [node.grad for node in topological_order(out)] == before
    sx, sy = grad(out, [x, y], create_graph=True)
    assert [node.grad for node in topological_order(out)] == before
    assert sx.data == pytest.approx(gx) and sy.data == pytest.approx(gy)
    out.zero_grad()
    out.backward()
    assert (x.grad, y.grad) == pytest.approx((gx, gy))


def test_grad_of_an_unrelated_input_is_zero():
    x, y, unrelated = Value(0.5), Value(-1.5), Value(9.0)
    out = x * y
    assert grad(out, [x, unrelated]) == [pytest.approx(-1.5), 0.0]
    symbolic = grad(out, [unrelated, y], create_graph=True)
    assert isinstance(symbolic[0], Value) and symbolic[0].data == 0.0
    assert symbolic[1].data == pytest.approx(0.5)


def test_grad_single_input_and_sequence():
    x = Value(2.0)
    y = x * x
    assert grad(y, x) == pytest.approx(4.0)
    assert grad(y, [x]) == [pytest.approx(4.0)]
    assert grad(y, (x,)) == [pytest.approx(4.0)]
    assert grad(y, y) == 1.0
    assert grad(y, x, create_graph=True).data == pytest.approx(4.0)


def test_hessian_vector_product():
    # f = x^2 y + y^3: grad = (2xy, x^2 + 3y^2), H = [[2y, 2x], [2x, 6y]]
    x, y = Value(1.5), Value(-0.5)
    f = x**2 * y + y**3
    gx, gy = grad(f, [x, y], create_graph=True)
    assert gx.data == pytest.approx(2 * 1.5 * -0.5)
    assert gy.data == pytest.approx(1.5**2 + 3 * 0.25)
    v = (0.3, 0.7)
    hv = grad(gx * v[0] + gy * v[1], [x, y])
    expected = [2 * -0.5 * 0.3 + 2 * 1.5 * 0.7, 2 * 1.5 * 0.3 + 6 * -0.5 * 0.7]
    assert hv == pytest.approx(expected, rel=1e-12)
    assert x.grad == 0.0 and y.grad == 0.0


def test_hessian_of_a_coupled_function():
    # f = exp(x y) + log(x): f_xx = y^2 e^xy - 1/x^2, f_xy = e^xy (1 + xy), f_yy = x^2 e^xy
    x, y = Value(0.8), Value(-0.6)
    gx, gy = grad((x * y).exp() + x.log(), [x, y], create_graph=True)
    e = math.exp(0.8 * -0.6)
    assert grad(gx, [x, y]) == pytest.approx([0.36 * e - 1 / 0.64, e * (1 - 0.48)], rel=1e-12)
    assert grad(gy, [x, y]) == pytest.approx([e * (1 - 0.48), 0.64 * e], rel=1e-12)


# ---------------------------------------------------------------------------
# Memory: graphs are freed by reference counting (no cycles)


def test_graphs_create_no_reference_cycles():
    def build():
        x, y, z = Value(0.5), Value(-1.5), Value(2.0)
        parts = [
            x + y,
            x - 1,
            2 - x,
            x * y,
            3 * x,
            x / y,
            2 / y,
            x**2,
            x**y,
            2**x,
            -x,
            abs(y),
            x.exp(),
            z.log(),
            x.tanh(),
            x.sigmoid(),
            y.relu(),
            y.leaky_relu(0.1),
            x.softplus(),
            z.sqrt(),
            x.sin(),
            x.cos(),
            dot([x, y], [1.0, 2.0], bias=z),
            dot([x, y], [y, z]),
        ]
        out = sum_values(parts)
        out.backward()
        grad(out, [x, y], create_graph=True)
        return out

    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        build()
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()


# ---------------------------------------------------------------------------
# Deep graphs: no recursion anywhere


def _chain(n: int, x0: float = 0.5) -> tuple[Value, Value]:
    x = leaf = Value(x0)
    for _ in range(n):
        x = x * 1.0001 + 0.0001
    return leaf, x


@pytest.mark.slow
def test_million_node_chain_backward():
    n = 10**6
    limit = sys.getrecursionlimit()
    assert limit < n  # a recursive walk could not do this
    leaf, x = _chain(n)
    x.backward()
    assert sys.getrecursionlimit() == limit
    # x_n = 1.0001^n (x_0 + 1) - 1, so dx_n/dx_0 = 1.0001^n
    assert leaf.grad == pytest.approx(1.0001**n, rel=1e-9)
    assert x.data == pytest.approx(1.0001**n * 1.5 - 1.0, rel=1e-9)
    del x  # freeing a deep chain must not recurse either


def test_deep_chain_walks():
    n = 100_000
    limit = sys.getrecursionlimit()
    leaf, x = _chain(n)
    order = topological_order(x)
    assert len(order) == 2 * n + 1
    assert order[0] is leaf and order[-1] is x
    x.backward()
    assert leaf.grad == pytest.approx(1.0001**n, rel=1e-10)
    x.zero_grad()
    assert leaf.grad == 0.0 and x.grad == 0.0
    assert all(node.grad == 0.0 for node in order)
    assert grad(x, leaf) == pytest.approx(1.0001**n, rel=1e-10)
    assert leaf.grad == 0.0
    d = grad(x, leaf, create_graph=True)
    assert d.data == pytest.approx(1.0001**n, rel=1e-10)
    assert grad(d, leaf) == 0.0  # the chain is affine
    assert sys.getrecursionlimit() == limit


def test_deep_nonlinear_chain_create_graph():
    def chain(x0):
        x = leaf = Value(x0)
        for _ in range(20_000):
            x = x + x.sin() * 1e-4
        return leaf, x

    leaf, x = chain(0.3)
    first = grad(x, leaf, create_graph=True)
    assert first.data == pytest.approx(grad(x, leaf), rel=1e-9)
    h = 1e-4
    numeric = (grad(*reversed(chain(0.3 + h))) - grad(*reversed(chain(0.3 - h)))) / (2 * h)
    assert grad(first, leaf) == pytest.approx(numeric, rel=1e-5)
