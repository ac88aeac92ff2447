"""Tests for nn.SGD and nn.Adam: one step equals the published formula."""

import math
import re

import pytest

from autodiff import Value
from nn import SGD, Adam


def params_with_grads(data, grads):
    ps = [Value(d) for d in data]
    for p, g in zip(ps, grads):
        p.grad = g
    return ps


def test_sgd_one_step():
    ps = params_with_grads([1.0, -2.0], [0.5, -3.0])
    SGD(ps, lr=0.1).step()
    assert [p.data for p in ps] == pytest.approx([1.0 - 0.1 * 0.5, -2.0 + 0.1 * 3.0])


def test_sgd_weight_decay_adds_l2_gradient():
    ps = params_with_grads([1.0, -2.0], [0.5, -3.0])
    SGD(ps, lr=0.1, weight_decay=0.01).step()
    assert [p.data for p in ps] == pytest.approx(
        [1.0 - 0.1 * (0.5 + 0.01 * 1.0), -2.0 - 0.1 * (-3.0 + 0.01 * -2.0)]
    )


def test_sgd_momentum_over_two_steps():
    # dw(t) = -lr * dE/dw + momentum * dw(t-1)
    lr, mu = 0.1, 0.9
    p = Value(1.0)
    opt = SGD([p], lr=lr, momentum=mu)
    p.grad = 0.5
    opt.step()
    dw1 = -lr * 0.5
    assert p.data == pytest.approx(1.0 + dw1)
    p.grad = -0.2
    opt.step()
    dw2 = -lr * -0.2 + mu * dw1
    assert p.data == pytest.approx(1.0 + dw1 + dw2)


def test_adam_first_step_with_bias_correction():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    ps = params_with_grads([1.0, -2.0], [0.5, -3.0])
    Adam(ps, lr=lr, betas=(b1, b2), eps=eps).step()
    for p, x, g in zip(ps, [1.0, -2.0], [0.5, -3.0]):
        m_hat = (1 - b1) * g / (1 - b1)
        v_hat = (1 - b2) * g * g / (1 - b2)
        assert p.data == pytest.approx(x - lr * m_hat / (math.sqrt(v_hat) + eps))
        # with bias correction the first step has size lr whatever the gradient's scale
        assert abs(p.data - x) == pytest.approx(lr, rel=1e-6)


def test_adam_two_steps():
    lr, b1, b2, eps = 0.05, 0.8, 0.99, 1e-8
    p = Value(1.0)
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    x, m, v = 1.0, 0.0, 0.0
    for t, g in [(1, 0.5), (2, -1.5)]:
        p.grad = g
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
        assert p.data == pytest.approx(x)


def test_adam_weight_decay_adds_l2_gradient():
    p = Value(2.0)
    p.grad = 0.0
    Adam([p], lr=0.1, weight_decay=0.5).step()
    assert p.data == pytest.approx(2.0 - 0.1)  # gradient 0.5 * 2 > 0: one lr-sized step down


def test_learning_rate_schedule_gets_the_step_index():
    seen = []
    p = Value(0.0)

    def schedule(k):
        seen.append(k)
        return 1.0 - 0.9 * k / 100  # micrograd's decay

    opt = SGD([p], lr=schedule)
    for _ in range(3):
        p.grad = 1.0
        opt.step()
    assert seen == [0, 0, 1, 2]  # called once for step 0 by SGD() to check it, then per step
    assert p.data == pytest.approx(-(1.0 + 0.991 + 0.982))
    assert opt.step_count == 3
    assert opt.current_lr() == pytest.approx(0.973)


def test_schedule_returning_a_bad_value():
    p = Value(0.0)
    opt = SGD([p], lr=lambda k: 1.0 - k)
    opt.step()
    opt.step()  # lr 0 is allowed (e.g. at the end of a decay)
    with pytest.raises(ValueError, match="schedule returned -1.0 at step 2"):
        opt.step()
    with pytest.raises(ValueError, match="schedule returned nan at step 0"):
        Adam([p], lr=lambda k: float("nan")).step()


def test_step_builds_no_graph_and_zero_grad_clears():
    ps = params_with_grads([1.0, 2.0], [0.3, 0.4])
    for opt in (SGD(ps, lr=0.1, momentum=0.5), Adam(ps, lr=0.1)):
        opt.step()
        assert all(p.op == "" and p.parents == () for p in ps)
        assert all(type(p.data) is float for p in ps)
        opt.zero_grad()
        assert [p.grad for p in ps] == [0.0, 0.0]
        ps[0].grad, ps[1].grad = 0.3, 0.4


def test_params_may_be_a_generator():
    ps = [Value(1.0), Value(2.0)]
    opt = SGD((p for p in ps), lr=0.1)
    assert opt.params == ps


# --- bad input gets a clear error ---------------------------------------------


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf")])
@pytest.mark.parametrize("make", [SGD, Adam])
def test_bad_learning_rate(make, lr):
    with pytest.raises(ValueError, match=f"lr must be a positive finite number, got {lr!r}"):
        make([Value(1.0)], lr=lr)


@pytest.mark.parametrize("lr", ["0.1", None, True])
def test_learning_rate_not_a_number(lr):
    with pytest.raises(TypeError, match=f"lr must be a number, got {lr!r}"):
        SGD([Value(1.0)], lr=lr)


@pytest.mark.parametrize("momentum", [-0.1, 1.0, 1.5, float("nan")])
def test_momentum_outside_0_1(momentum):
    with pytest.raises(ValueError, match=rf"momentum must lie in \[0, 1\), got {momentum!r}"):
        SGD([Value(1.0)], lr=0.1, momentum=momentum)


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.999), (0.9, 2.0)])
def test_betas_outside_0_1(betas):
    bad = next(i for i, b in enumerate(betas) if not 0 <= b < 1)
    with pytest.raises(
        ValueError, match=rf"betas\[{bad}\] must lie in \[0, 1\), got {betas[bad]!r}"
    ):
        Adam([Value(1.0)], betas=betas)


def test_betas_not_a_pair():
    with pytest.raises(TypeError, match=r"betas must be a pair of numbers, got \(0.9,\)"):
        Adam([Value(1.0)], betas=(0.9,))


@pytest.mark.parametrize("eps", [0, -1e-8, float("nan")])
def test_bad_eps(eps):
    with pytest.raises(ValueError, match=f"eps must be a positive finite number, got {eps!r}"):
        Adam([Value(1.0)], eps=eps)


@pytest.mark.parametrize("make", [SGD, Adam])
def test_negative_weight_decay(make):
    with pytest.raises(ValueError, match="weight_decay must lie in .*, got -0.1"):
        make([Value(1.0)], lr=0.1, weight_decay=-0.1)


def test_bad_params():
    with pytest.raises(ValueError, match="params is empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] is 2.0, not a Value"):
        SGD([Value(1.0), 2.0], lr=0.1)
    with pytest.raises(TypeError, match="not one Value"):
        SGD(Value(1.0), lr=0.1)
    p = Value(1.0)
    with pytest.raises(ValueError, match=r"params\[1\] .* appears twice"):
        Adam([p, p])


# --- a step that would write NaN or infinity is refused, and changes nothing ---


def optimizer_state(opt):
    """Everything a step may change: parameters, grads, buffers and the step count."""
    buffers = [list(getattr(opt, name)) for name in ("deltas", "m", "v") if hasattr(opt, name)]
    return [p.data for p in opt.params], [p.grad for p in opt.params], buffers, opt.step_count


OPTIMIZERS = {
    "sgd": lambda ps: SGD(ps, lr=0.1),
    "sgd momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9),
    "sgd weight decay": lambda ps: SGD(ps, lr=0.1, weight_decay=0.01),
    "sgd schedule": lambda ps: SGD(ps, lr=lambda k: 0.1 / (k + 1), momentum=0.5),
    "adam": lambda ps: Adam(ps, lr=0.1),
    "adam weight decay": lambda ps: Adam(ps, lr=0.1, weight_decay=0.01),
}


def stepped_once(make):
    """An optimizer after one good step, so its buffers and step count are not the initial ones."""
    ps = params_with_grads([1.0, -2.0, 0.5], [0.5, -3.0, 0.25])
    opt = make(ps)
    opt.step()
    return ps, opt


@pytest.mark.parametrize("grad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_non_finite_gradient_is_refused_and_nothing_changes(name, grad):
    ps, opt = stepped_once(OPTIMIZERS[name])
    ps[1].grad = grad
    before = optimizer_state(opt)
    with pytest.raises(ValueError, match=rf"parameter 1 \(value -?[0-9.]+\) has gradient {grad!r}"):
        opt.step()
    assert optimizer_state(opt) == before  # parameters, buffers and step count untouched
    ps[1].grad = 1.0  # fixed: the next step works again
    opt.step()
    assert opt.step_count == 2


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_non_finite_parameter_is_refused_and_nothing_changes(name):
    ps, opt = stepped_once(OPTIMIZERS[name])
    ps[2].data = float("nan")  # set outside the optimizer
    before = optimizer_state(opt)
    with pytest.raises(ValueError, match="parameter 2 is nan before the step"):
        opt.step()
    after = optimizer_state(opt)
    assert math.isnan(after[0][2]) and after[0][:2] == before[0][:2]
    assert after[1:] == before[1:]


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_update_overflowing_to_infinity_is_refused(momentum):
    ps = params_with_grads([1.0, 2.0], [1.0, 1e300])
    opt = SGD(ps, lr=1e10, momentum=momentum)
    before = optimizer_state(opt)
    with pytest.raises(
        ValueError,
        match=r"would make parameter 1 -inf \(value 2.0, gradient 1e\+300, lr 10000000000.0\); "
        "lower the learning rate",
    ):
        opt.step()
    assert optimizer_state(opt) == before


def test_adam_gradient_whose_square_overflows_is_refused():
    # the step itself would be finite, but the second moment would become inf for good
    ps, opt = stepped_once(OPTIMIZERS["adam"])
    ps[0].grad = 1e200
    before = optimizer_state(opt)
    with pytest.raises(
        ValueError, match=r"parameter 0 .* gradient 1e\+200, whose square overflows"
    ):
        opt.step()
    assert optimizer_state(opt) == before


def test_step_with_huge_but_finite_values_goes_on():
    # the cheap check sums the new values; an overflowing sum alone is not an error
    ps = params_with_grads([1.5e308, 1.5e308], [1.0, 1.0])
    for opt in (SGD(ps, lr=0.1), Adam(ps, lr=0.1)):
        opt.step()
        assert opt.step_count == 1
    assert all(math.isfinite(p.data) for p in ps)


# --- a learning-rate schedule is checked when the optimizer is built -----------


@pytest.mark.parametrize("make", [SGD, Adam])
def test_schedule_without_the_step_argument(make):
    def schedule():
        return 0.1

    with pytest.raises(TypeError, match=r"lr is the callable <function .*schedule.*lr\(0\) raised"):
        make([Value(1.0)], lr=schedule)


def test_schedule_failing_at_step_0():
    with pytest.raises(ValueError, match=r"lr\(0\) raised ZeroDivisionError"):
        SGD([Value(1.0)], lr=lambda k: 1.0 / k)


def test_schedule_returning_a_non_number():
    with pytest.raises(TypeError, match="schedule returned '0.1' at step 0, not a number"):
        SGD([Value(1.0)], lr=lambda k: "0.1")


def test_schedule_returning_a_negative_number_at_step_0():
    with pytest.raises(ValueError, match="schedule returned -0.5 at step 0"):
        Adam([Value(1.0)], lr=lambda k: -0.5)


@pytest.mark.parametrize("betas", [{0: 0.9, 1: 0.999}, {0.9, 0.999}, "ab", 0.9, None])
def test_betas_not_a_tuple_or_list(betas):
    with pytest.raises(
        TypeError,
        match=rf"betas must be a pair of numbers, got {re.escape(repr(betas))}; pass a tuple",
    ):
        Adam([Value(1.0)], betas=betas)


def test_betas_may_be_a_list():
    assert Adam([Value(1.0)], betas=[0.8, 0.9]).betas == (0.8, 0.9)


@pytest.mark.parametrize("make", [SGD, Adam])
def test_learning_rate_too_large_for_a_float(make):
    with pytest.raises(ValueError, match="lr must be a positive finite number, got inf"):
        make([Value(1.0)], lr=10**400)
