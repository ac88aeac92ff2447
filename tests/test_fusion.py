"""Fused neurons: a relu layer is built as one "dot_relu" node per neuron, with the same
numbers as a dot node and a relu node, and drawings, the explorer and trace still show
(or record) the two steps."""

from __future__ import annotations

import pytest

from autodiff import Value, grad, to_dot, topological_order, trace
from autodiff.engine import dot_rows, unfuse, unfused
from autodiff.explorer import record_backward
from nn import MLP, SGD, datasets, losses


def _moons_loss(model: MLP, X: list[list[float]], y: list[int]) -> Value:
    scores = [model(x) for x in X]
    return losses.hinge(scores, [2 * t - 1 for t in y]) + 1e-4 * losses.l2(model.parameters())


def test_a_relu_layer_is_one_node_per_neuron() -> None:
    model = MLP(2, [4, 4, 1], seed=1)
    out = model([0.5, -1.0])
    ops = [n.op for n in topological_order(out)]
    assert ops.count("dot_relu") == 8 and "relu" not in ops
    with unfused():
        out2 = model([0.5, -1.0])
    ops2 = [n.op for n in topological_order(out2)]
    assert ops2.count("relu") == 8 and "dot_relu" not in ops2


def test_fused_and_unfused_give_bit_identical_values_and_gradients() -> None:
    X, y = datasets.make_moons(40, 0.1, seed=2)
    model = MLP(2, [16, 16, 1], seed=0)
    loss = _moons_loss(model, X, y)
    loss.backward()
    fused = [(p.data, p.grad) for p in model.parameters()]
    model.zero_grad()
    with unfused():
        loss2 = _moons_loss(model, X, y)
    loss2.backward()
    assert loss.data == loss2.data
    assert fused == [(p.data, p.grad) for p in model.parameters()]
    assert len(topological_order(loss)) < len(topological_order(loss2))


def test_training_fused_and_unfused_ends_with_the_same_weights() -> None:
    X, y = datasets.make_moons(30, 0.1, seed=3)
    runs = []
    for fuse in (True, False):
        model = MLP(2, [8, 8, 1], seed=5)
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _ in range(5):
            if fuse:
                loss = _moons_loss(model, X, y)
            else:
                with unfused():
                    loss = _moons_loss(model, X, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        runs.append([p.data for p in model.parameters()])
    assert runs[0] == runs[1]


def test_drawings_show_a_fused_neuron_as_its_dot_and_its_relu() -> None:
    model = MLP(2, [3, 2, 1], seed=4)
    out = model([0.5, -1.0])
    out.backward()
    with unfused():
        out2 = model([0.5, -1.0])
    model.zero_grad()
    out2.backward()
    # the same picture, node for node and number for number
    assert to_dot(out, params=model.parameters()) == to_dot(out2, params=model.parameters())
    assert "dot_relu" not in to_dot(out)


def test_the_explorer_records_the_two_steps_of_a_fused_neuron() -> None:
    model = MLP(2, [3, 1], seed=6)
    fused = record_backward(model([0.3, 0.8]))
    with unfused():
        plain = record_backward(model([0.3, 0.8]))
    assert [n.op for n in fused.nodes] == [n.op for n in plain.nodes]
    assert fused.grads == plain.grads
    assert [(s.node, s.upstream) for s in fused.steps] == [
        (s.node, s.upstream) for s in plain.steps
    ]


def test_unfuse_copies_only_what_changes_and_leaves_the_graph_alone() -> None:
    a, b = Value(2.0, "a"), Value(-1.0, "b")
    plain = (a * b).tanh()
    assert unfuse(plain) is plain  # nothing fused: the same graph
    w = [Value(0.5, "w0"), Value(-0.25, "w1")]
    bias = Value(0.1, "bias")
    (h,) = dot_rows([w], (a, b), (bias,), Value.relu)
    h.label = "h"
    out = h * 3.0
    out.backward()
    before = [(n.data, n.grad, n.op) for n in topological_order(out)]
    copy = unfuse(out)
    assert [(n.data, n.grad, n.op) for n in topological_order(out)] == before
    ops = [n.op for n in topological_order(copy)]
    assert ops.count("dot") == 1 and ops.count("relu") == 1 and "dot_relu" not in ops
    relu = copy.parents[0]
    assert relu.label == "h" and relu.grad == h.grad == 3.0
    (weighted,) = relu.parents
    assert weighted.data == pytest.approx(0.5 * 2.0 - 0.25 * -1.0 + 0.1)
    assert weighted.grad == 3.0  # relu'(z) = 1 here
    assert set(weighted.parents) == {*w, a, b, bias}  # the leaves are shared


def test_an_inactive_fused_neuron_passes_no_gradient() -> None:
    w = [Value(1.0), Value(1.0)]
    bias = Value(-5.0)
    x = [Value(1.0), Value(2.0)]
    (h,) = dot_rows([w], x, [bias], Value.relu)  # z = -2: relu gives 0
    assert h.data == 0.0
    h.backward()
    assert [v.grad for v in (*w, *x, bias)] == [0.0] * 5
    assert grad(h, x) == [0.0, 0.0]
    (h0,) = dot_rows([w], x, [Value(-3.0)], Value.relu)  # z = 0: relu'(0) = 0
    assert grad(h0, w) == [0.0, 0.0]


def test_second_derivatives_through_fused_neurons_match_the_unfused_graph() -> None:
    x = Value(0.7)
    w = [Value(1.5), Value(-0.5)]
    b = Value(0.2)

    def f() -> Value:
        (h,) = dot_rows([w], (x * x, x.tanh()), (b,), Value.relu)
        return h * h

    d_fused = grad(grad(f(), x, create_graph=True), x)
    with unfused():
        d_plain = grad(grad(f(), x, create_graph=True), x)
    assert d_fused == pytest.approx(d_plain, rel=1e-14)


def test_trace_of_a_fused_model_replays_what_eager_gives() -> None:
    X, y = datasets.make_moons(20, 0.1, seed=7)
    model = MLP(2, [6, 6, 1], seed=8)
    step = trace(lambda: _moons_loss(model, X, y), inputs=model.parameters())
    model.zero_grad()
    replayed = step()
    compiled = [p.grad for p in model.parameters()]
    model.zero_grad()
    eager = _moons_loss(model, X, y)
    eager.backward()
    assert replayed == eager.data
    assert compiled == [p.grad for p in model.parameters()]


@pytest.mark.parametrize("inputs", ["numbers", "values"])
@pytest.mark.parametrize("weights", [(1e308, -1e308), (-1e308, -1e308)])
def test_a_weighted_sum_beyond_the_float_range_is_refused_fused_or_not(inputs, weights) -> None:
    # inf - inf is NaN and -inf is below 0: relu would turn either into a silent 0
    row = [Value(w) for w in weights]
    xs = [10.0, 10.0] if inputs == "numbers" else [Value(10.0), Value(10.0)]
    bias = Value(0.0)
    before = [v.data for v in (*row, bias)]
    with pytest.raises(OverflowError, match="beyond the float range|dot"):
        dot_rows([row], xs, [bias], Value.relu)
    with unfused(), pytest.raises(OverflowError, match="beyond the float range"):
        dot_rows([row], xs, [bias], Value.relu)
    assert [v.data for v in (*row, bias)] == before


def test_a_row_item_that_is_not_a_value_takes_the_explaining_path() -> None:
    w, b = Value(0.5), Value(0.1)
    x = Value(2.0)
    out = dot_rows([[w, 3.0]], [x, x], [b], Value.relu)  # a number among the weights
    assert out[0].data == pytest.approx(0.1 + 0.5 * 2.0 + 3.0 * 2.0)
    out[0].backward()
    assert (w.grad, x.grad, b.grad) == (2.0, 3.5, 1.0)
    with pytest.raises(ValueError, match="same length"):
        dot_rows([[w]], [x, x], [b], Value.relu)


def test_a_layer_without_inputs_is_its_biases() -> None:
    up, down = Value(0.5), Value(-0.5)
    out = dot_rows([[], []], [], [up, down], Value.relu)
    assert [v.data for v in out] == [0.5, 0.0]
    (out[0] + out[1]).backward()
    assert (up.grad, down.grad) == (1.0, 0.0)
    assert to_dot(out[0]) == to_dot(unfuse(out[0]))
