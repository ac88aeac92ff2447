"""Tests for nn.losses: values and gradients against hand-derived formulas."""

import math
import re

import pytest

from autodiff import Value, gradcheck, log_softmax, topological_order
from nn import losses


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_mse_value_and_gradient():
    p = [Value(1.0), Value(2.5), Value(-1.0)]
    t = [0.0, 3.0, -1.5]
    loss = losses.mse(p, t)
    loss.backward()
    assert loss.data == pytest.approx((1.0 + 0.25 + 0.25) / 3)
    # d/dp_i mean((p - t)^2) = 2 (p_i - t_i) / n
    assert [v.grad for v in p] == pytest.approx([2 * 1.0 / 3, 2 * -0.5 / 3, 2 * 0.5 / 3])


def test_mse_accepts_value_targets_and_single_examples():
    a, b = Value(2.0), Value(5.0)
    loss = losses.mse([a], [b])
    loss.backward()
    assert loss.data == pytest.approx(9.0)
    assert a.grad == pytest.approx(-6.0) and b.grad == pytest.approx(6.0)
    assert losses.mse(Value(3.0), 1.0).data == pytest.approx(4.0)


def test_sigmoid_and_log_loss_give_output_delta_o_minus_y():
    for z0, y in [(0.7, 1.0), (0.7, 0.0), (-2.3, 1.0), (1.1, 0.3)]:
        z = Value(z0)
        o = z.sigmoid()
        losses.bce([o], [y]).backward()
        assert z.grad == pytest.approx(o.data - y)
        z = Value(z0)
        losses.bce_with_logits([z], [y]).backward()
        assert z.grad == pytest.approx(sigmoid(z0) - y)


def test_bce_value():
    p = [Value(0.9), Value(0.2), Value(0.6)]
    y = [1, 0, 0.5]
    expected = -(math.log(0.9) + math.log(0.8) + 0.5 * math.log(0.6) + 0.5 * math.log(0.4)) / 3
    loss = losses.bce(p, y)
    loss.backward()
    assert loss.data == pytest.approx(expected)
    # d/dp of -[y log p + (1 - y) log(1 - p)] / n = (p - y) / (p (1 - p) n)
    assert [v.grad for v in p] == pytest.approx(
        [(pi.data - yi) / (pi.data * (1 - pi.data) * 3) for pi, yi in zip(p, y)]
    )


def test_bce_clips_saturated_probabilities_instead_of_failing():
    loss = losses.bce([Value(0.0), Value(1.0)], [1, 0])
    assert math.isfinite(loss.data)
    assert loss.data == pytest.approx(-math.log(1e-7))
    assert losses.bce([Value(1.0)], [1]).data == pytest.approx(0.0, abs=1e-6)


def test_bce_with_logits_matches_bce_of_sigmoid():
    zs = [-3.0, -0.5, 0.0, 0.8, 4.0]
    ys = [0, 1, 1, 0.25, 1]
    a = losses.bce_with_logits([Value(z) for z in zs], ys).data
    b = losses.bce([Value(z).sigmoid() for z in zs], ys).data
    assert a == pytest.approx(b)


def test_bce_with_logits_is_stable_at_large_logits():
    zs = [Value(1000.0), Value(-1000.0), Value(1000.0), Value(-1000.0)]
    loss = losses.bce_with_logits(zs, [1, 0, 0, 1])
    loss.backward()
    # the two confident right answers cost 0, the two wrong ones 1000 each
    assert loss.data == pytest.approx(2000.0 / 4)
    assert [z.grad for z in zs] == pytest.approx([0.0, 0.0, 0.25, -0.25])


def test_hinge_matches_micrograd_formula():
    scores = [Value(0.3), Value(-2.0), Value(1.5), Value(-0.2)]
    ys = [1, -1, -1, 1]
    loss = losses.hinge(scores, ys)
    loss.backward()
    expected = sum(max(0.0, 1 - y * s.data) for s, y in zip(scores, ys)) / 4
    assert loss.data == pytest.approx(expected)
    # inside the margin the gradient is -y / n, outside it is 0
    assert [s.grad for s in scores] == pytest.approx([-0.25, 0.0, 0.25, -0.25])


def test_softmax_cross_entropy_value_and_gradient():
    rows = [[Value(1.0), Value(2.0), Value(0.5)], [Value(-1.0), Value(0.0), Value(3.0)]]
    targets = [1, 0]
    loss = losses.softmax_cross_entropy(rows, targets)
    loss.backward()
    expected = -sum(log_softmax([v.data for v in r])[t].data for r, t in zip(rows, targets)) / 2
    assert loss.data == pytest.approx(expected)
    # gradient of each row is (softmax(row) - onehot(target)) / n
    for row, t in zip(rows, targets):
        m = max(v.data for v in row)
        e = [math.exp(v.data - m) for v in row]
        soft = [x / sum(e) for x in e]
        assert [v.grad for v in row] == pytest.approx(
            [(s - (i == t)) / 2 for i, s in enumerate(soft)]
        )


def test_softmax_cross_entropy_single_example_and_large_logits():
    row = [Value(1000.0), Value(-1000.0)]
    assert losses.softmax_cross_entropy(row, 0).data == pytest.approx(0.0)
    assert losses.softmax_cross_entropy(row, 1).data == pytest.approx(2000.0)


def test_l2_is_one_node_with_gradient_2p():
    ps = [Value(1.0), Value(-2.0), Value(0.5)]
    penalty = losses.l2(ps)
    penalty.backward()
    assert penalty.data == pytest.approx(5.25)
    assert [p.grad for p in ps] == pytest.approx([2.0, -4.0, 1.0])
    assert len(topological_order(penalty)) == len(ps) + 1


@pytest.mark.parametrize(
    ("loss", "targets"),
    [
        (losses.mse, [0.5, -1.0, 2.0]),
        (losses.bce, [0.0, 1.0, 0.3]),
        (losses.bce_with_logits, [0.0, 1.0, 0.3]),
        (losses.hinge, [1, -1, 1]),
    ],
)
def test_losses_against_finite_differences(loss, targets):
    if loss is losses.bce:
        assert gradcheck(
            lambda a, b, c: loss([a.sigmoid(), b.sigmoid(), c.sigmoid()], targets), [0.3, -0.4, 1.2]
        )
    else:
        assert gradcheck(lambda a, b, c: loss([a, b, c], targets), [0.3, -0.4, 1.2])


def test_softmax_cross_entropy_against_finite_differences():
    assert gradcheck(
        lambda a, b, c, d: losses.softmax_cross_entropy([[a, b], [c, d]], [1, 0]),
        [0.3, -0.4, 1.2, 2.0],
    )


def test_losses_are_compact():
    # each loss combines its per-example terms with one n-ary node
    z = [Value(0.1 * i) for i in range(10)]
    ys = [i % 2 for i in range(10)]
    assert len(topological_order(losses.bce_with_logits(z, ys))) == 10 + 10 + 1
    assert len(topological_order(losses.mse(z, [0.0] * 10))) == 10 + 10 + 2


# --- bad input gets a clear error ---------------------------------------------

LIST_LOSSES = [losses.mse, losses.bce, losses.bce_with_logits, losses.hinge]


@pytest.mark.parametrize("loss", LIST_LOSSES)
def test_mismatched_lengths(loss):
    with pytest.raises(ValueError, match="got 3 predictions and 2 targets"):
        loss([Value(0.5), Value(0.5), Value(0.5)], [1, 1])


def test_softmax_cross_entropy_mismatched_lengths():
    with pytest.raises(ValueError, match="got 2 predictions and 1 targets"):
        losses.softmax_cross_entropy([[Value(1.0), Value(2.0)], [Value(1.0), Value(2.0)]], [0])


@pytest.mark.parametrize("loss", LIST_LOSSES)
def test_empty_batch(loss):
    with pytest.raises(ValueError, match="no predictions"):
        loss([], [])


@pytest.mark.parametrize("loss", LIST_LOSSES)
def test_non_numeric_target(loss):
    with pytest.raises(TypeError, match="target 1 is 'a'"):
        loss([Value(0.5), Value(0.5)], [1, "a"])


@pytest.mark.parametrize("loss", LIST_LOSSES)
def test_nan_target(loss):
    with pytest.raises(ValueError, match="target 0 is nan"):
        loss([Value(0.5)], [float("nan")])


@pytest.mark.parametrize("loss", LIST_LOSSES)
def test_non_numeric_prediction(loss):
    with pytest.raises(TypeError, match="prediction 0 is None"):
        loss([None], [1])


def test_bce_probability_outside_0_1():
    with pytest.raises(ValueError, match="prediction 1 is 1.5, not a probability"):
        losses.bce([Value(0.5), Value(1.5)], [1, 0])


@pytest.mark.parametrize("loss", [losses.bce, losses.bce_with_logits])
def test_binary_target_outside_0_1(loss):
    with pytest.raises(ValueError, match=r"target 0 is 2.0; it must lie in \[0, 1\]"):
        loss([Value(0.5)], [2])


def test_hinge_rejects_0_1_labels():
    with pytest.raises(ValueError, match=r"target 1 is 0.0; labels must be -1 or \+1"):
        losses.hinge([Value(0.5), Value(0.5)], [1, 0])


def test_softmax_cross_entropy_bad_targets():
    row = [Value(1.0), Value(2.0), Value(3.0)]
    with pytest.raises(ValueError, match="target 0 is 3, outside the 3 classes"):
        losses.softmax_cross_entropy([row], [3])
    with pytest.raises(ValueError, match="target 0 is -1, outside the 3 classes"):
        losses.softmax_cross_entropy([row], [-1])
    with pytest.raises(TypeError, match="target 0 is 1.0; pass the class index as an int"):
        losses.softmax_cross_entropy([row], [1.0])


def test_softmax_cross_entropy_ragged_rows():
    with pytest.raises(ValueError, match="logits 1 has 2 scores but logits 0 has 3"):
        losses.softmax_cross_entropy(
            [[Value(1.0), Value(2.0), Value(3.0)], [Value(1.0), Value(2.0)]], [0, 0]
        )


def test_l2_bad_input():
    with pytest.raises(ValueError, match="empty parameter list"):
        losses.l2([])
    with pytest.raises(TypeError, match="parameter 1 is 2.0, not a Value"):
        losses.l2([Value(1.0), 2.0])


@pytest.mark.parametrize("eps", ["x", None, True, [1e-7]])
def test_bce_eps_of_the_wrong_type(eps):
    with pytest.raises(TypeError, match=rf"bce: eps must be a number, got {re.escape(repr(eps))}"):
        losses.bce([Value(0.5)], [1], eps=eps)


@pytest.mark.parametrize("eps", [0.0, -1e-7, 0.5, float("nan")])
def test_bce_eps_out_of_range(eps):
    with pytest.raises(ValueError, match=f"bce: eps is {eps!r}; pass a small positive number"):
        losses.bce([Value(0.5)], [1], eps=eps)


def test_softmax_cross_entropy_empty_row_is_a_bad_value():
    with pytest.raises(ValueError, match=r"logits 1 is \[\], an empty list"):
        losses.softmax_cross_entropy([[Value(1.0)], []], [0, 0])


def test_softmax_cross_entropy_row_not_a_list():
    with pytest.raises(TypeError, match="logits 0 is 'ab', not a list"):
        losses.softmax_cross_entropy(["ab"], [0])


@pytest.mark.parametrize("loss", LIST_LOSSES)
def test_target_too_large_for_a_float(loss):
    with pytest.raises(ValueError, match="target 0 is an integer too large for a float"):
        loss([Value(0.5)], [10**400])
