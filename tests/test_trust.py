"""No silent wrong answers: one test per case of issue 11 items 1-9 (threads, huge
logits, interrupts, all-or-nothing backward, non-finite gradients, overflowing rules,
Values turned into numbers, no_grad outputs, bad assignments)."""

from __future__ import annotations

import asyncio
import math
import sys
import threading
from decimal import Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from interrupts import Injected, count_lines, interrupt_at

import autodiff.graph
from autodiff import (
    NonFiniteGradientError,
    Value,
    grad,
    log_softmax,
    logsumexp,
    no_grad,
    softmax,
    sum_values,
)
from nn import MLP, SGD, losses

# ---------------------------------------------------------------------------
# 1. no_grad holds for one thread / task only


def _train(steps: int = 15) -> list[float]:
    model = MLP(2, [8, 8, 1], seed=3)
    opt = SGD(model.parameters(), lr=0.05)
    xs = [[0.3, -0.7], [1.1, 0.4], [-0.5, 0.9], [0.2, 0.2]]
    ys = [1.0, -1.0, 1.0, -1.0]
    for _ in range(steps):
        loss = losses.mse([model(x) for x in xs], ys)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.data for p in model.parameters()]


def test_no_grad_in_one_thread_leaves_another_threads_training_bit_identical() -> None:
    alone = _train()
    stop = threading.Event()

    def infer() -> None:
        other = MLP(2, [8, 8, 1], seed=4)
        while not stop.is_set():
            with no_grad():
                other([0.1, 0.2])

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        runners = [threading.Thread(target=infer) for _ in range(2)]
        for t in runners:
            t.start()
        result: list[list[float]] = []
        trainer = threading.Thread(target=lambda: result.append(_train()))
        trainer.start()
        trainer.join()
        stop.set()
        for t in runners:
            t.join()
    finally:
        sys.setswitchinterval(before)
    assert result[0] == alone  # bit-identical, not approximately


def test_second_derivatives_are_right_while_other_threads_run_no_grad() -> None:
    stop = threading.Event()

    def infer() -> None:
        while not stop.is_set():
            with no_grad():
                (Value(1.5) * 2.0).tanh()

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    wrong = 0
    try:
        t = threading.Thread(target=infer)
        t.start()
        for _ in range(200):
            x = Value(0.7)
            d1 = grad(x**3, x, create_graph=True)  # 3x^2
            wrong += grad(d1, x) != pytest.approx(6 * 0.7)
        stop.set()
        t.join()
    finally:
        sys.setswitchinterval(before)
    assert wrong == 0


def test_no_grad_holds_for_one_asyncio_task_only() -> None:
    async def inside() -> None:
        with no_grad():
            await asyncio.sleep(0.01)  # the other task runs while this block is open

    async def outside() -> list[Value]:
        await asyncio.sleep(0.001)
        x = Value(2.0)
        return [x, x * x]

    async def main() -> list[Value]:
        _, got = await asyncio.gather(inside(), outside())
        return got

    x, y = asyncio.run(main())
    assert y.parents == (x, x)
    y.backward()
    assert x.grad == 4.0


# ---------------------------------------------------------------------------
# 2. softmax, log_softmax and logsumexp for huge logits


def test_tied_huge_logits() -> None:
    assert [p.data for p in softmax([1e16, 1e16])] == pytest.approx([0.5, 0.5], rel=1e-15)
    assert [v.data for v in log_softmax([1e16, 1e16])] == pytest.approx(
        [-math.log(2)] * 2, rel=1e-15
    )
    xs = [Value(1e15), Value(1e15)]
    logsumexp(xs).backward()
    assert [x.grad for x in xs] == pytest.approx([0.5, 0.5], rel=1e-15)
    z = [Value(1e16), Value(1e16)]
    loss = losses.softmax_cross_entropy([z], [0])
    assert loss.data == pytest.approx(math.log(2), rel=1e-15)
    loss.backward()
    assert [v.grad for v in z] == pytest.approx([-0.5, 0.5], rel=1e-15)


def _reference(xs: list[float]) -> tuple[list[Decimal], list[Decimal]]:
    """log_softmax and softmax in 400-digit decimal arithmetic."""
    with localcontext() as ctx:
        ctx.prec = 400  # enough for 1 + exp(-700) to keep its digits
        ds = [Decimal(x) for x in xs]
        m = max(ds)
        total = sum((d - m).exp() for d in ds)
        log_sm = [(d - m) - total.ln() for d in ds]
        return log_sm, [v.exp() for v in log_sm]


def _close(got: float, want: Decimal, rel: float = 1e-12, absolute: float = 0.0) -> bool:
    return abs(Decimal(got) - want) <= Decimal(rel) * abs(want) + Decimal(absolute)


logits = st.lists(
    st.one_of(
        st.floats(-1e300, 1e300, allow_nan=False),
        st.floats(-50, 50, allow_nan=False),
        st.sampled_from([1e16, 1e16 + 2, -1e16, 1e300, -1e300, 0.0]),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(logits)
def test_log_softmax_softmax_and_logsumexp_match_a_precise_reference(xs: list[float]) -> None:
    want_log, want_p = _reference(xs)
    for v, want in zip(log_softmax(xs), want_log):
        # a log-probability that rounds below the float range is 0 in float64 too
        assert _close(v.data, want, absolute=1e-300), (xs, v.data, want)
    for p, want in zip(softmax(xs), want_p):
        assert _close(p.data, want, absolute=1e-300), (xs, p.data, want)
    # d logsumexp / dx_j = softmax_j
    values = [Value(x) for x in xs]
    logsumexp(values).backward()
    for v, want in zip(values, want_p):
        assert _close(v.grad, want, absolute=1e-300), (xs, v.grad, want)
    # d log_softmax_i / dx_j = [i == j] - softmax_j: sums of terms of size 1, so 1e-12 absolute
    for i in range(len(xs)):
        values = [Value(x) for x in xs]
        log_softmax(values)[i].backward()
        for j, v in enumerate(values):
            expected = (Decimal(1) if i == j else Decimal(0)) - want_p[j]
            assert _close(v.grad, expected, absolute=1e-12), (xs, i, j, v.grad, expected)


# ---------------------------------------------------------------------------
# 3. an exception at any line of a graph walk leaves nothing behind

WALK_FILE = autodiff.graph.__file__


def _graph() -> tuple[list[Value], Value]:
    a, b = Value(1.5, "a"), Value(-0.5, "b")
    x = a * b + a
    y = (x.tanh() * b + x * x).sigmoid()
    return [a, b], y + x


def _count_walk_lines(action: Any) -> int:
    return count_lines({WALK_FILE}, action)


def _interrupt_at(k: int, action: Any) -> bool:
    """Run action with a KeyboardInterrupt raised at the k-th line run in graph.py."""
    return interrupt_at(k, {WALK_FILE}, action)


WALKS = {
    "backward": lambda root, leaves: root.backward(),
    "grad": lambda root, leaves: grad(root, leaves),
    "grad create_graph": lambda root, leaves: grad(root, leaves, create_graph=True),
    "zero_grad": lambda root, leaves: root.zero_grad(),
}


@pytest.mark.parametrize("walk", WALKS.values(), ids=WALKS.keys())
def test_an_interrupt_at_any_line_of_a_walk_poisons_nothing(walk: Any) -> None:
    leaves, root = _graph()
    expected = grad(root, leaves)
    lines = _count_walk_lines(lambda: walk(root, leaves))
    assert lines > 10
    for k in range(1, lines + 1):
        leaves, root = _graph()
        before = [v.grad for v in leaves]
        interrupted = _interrupt_at(k, lambda r=root, ls=leaves: walk(r, ls))
        assert interrupted, k
        if walk is not WALKS["zero_grad"]:
            assert [v.grad for v in leaves] == before, k  # all or nothing
        for v in leaves:
            v.grad = 0.0
        root.backward()  # a fresh pass through the same nodes
        assert [v.grad for v in leaves] == pytest.approx(expected, rel=1e-15), k
        assert grad(root, leaves) == pytest.approx(expected, rel=1e-15), k


# ---------------------------------------------------------------------------
# 4. a backward that raises has changed no .grad


def test_a_backward_that_raises_changes_no_grad() -> None:
    a, b, e = Value(2.0, "a"), Value(-2.0, "b"), Value(2.0, "e")
    out = b**e + a * 7.0
    a.grad, b.grad = 0.25, -1.0
    with pytest.raises(ValueError, match="log"):
        out.backward()
    assert (a.grad, b.grad, e.grad, out.grad) == (0.25, -1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="log"):
        grad(out, [a, b, e])
    assert (a.grad, b.grad, e.grad) == (0.25, -1.0, 0.0)


def test_an_interrupt_inside_a_rule_changes_no_grad() -> None:
    leaves, root = _graph()
    root.backward()
    first = [v.grad for v in leaves]
    inner = autodiff.graph.reverse_topological_order(root, leaves=False)
    grads_before = [n.grad for n in inner]
    victim = inner[len(inner) // 2]
    rule = victim._backward

    def interrupted(node: Value) -> None:
        raise Injected

    victim._backward = interrupted
    try:
        with pytest.raises(Injected):
            root.backward()
    finally:
        victim._backward = rule
    assert [v.grad for v in leaves] == first
    assert [n.grad for n in inner] == grads_before


# ---------------------------------------------------------------------------
# 5. non-finite gradients raise one clear error and change nothing


def _norm(xs: list[Value]) -> Value:
    return sum_values([x * x for x in xs]).sqrt()


NON_FINITE = {
    "sqrt at 0": (lambda x: x.sqrt(), 0.0, "sqrt", "epsilon inside the sqrt"),
    "sqrt(x) * 0": (lambda x: x.sqrt() * 0.0, 0.0, "sqrt", "0 times infinity"),
    "norm of zero": (lambda x: _norm([x, x * 2.0]), 0.0, "sqrt", "epsilon"),
    "1 / tiny": (lambda x: 1 / x, 1e-200, "/", "divisor away from 0"),
    "log near 0": (lambda x: (x * 1e-300).log() * 1e10, 1e-10, "log", "away from 0"),
}


@pytest.mark.parametrize(("make", "at", "op", "advice"), NON_FINITE.values(), ids=NON_FINITE)
def test_non_finite_gradients_raise_and_change_nothing(
    make: Any, at: float, op: str, advice: str
) -> None:
    x = Value(at, "x")
    out = make(x)
    x.grad = 0.5
    with pytest.raises(NonFiniteGradientError) as info:
        out.backward()
    error = info.value
    assert isinstance(error, ArithmeticError)
    assert error.node.op == op
    assert f"op {op!r}" in str(error) and advice in str(error)
    assert "upstream" in str(error) or "sum beyond" in str(error)
    assert "No .grad was changed" in str(error)
    assert x.grad == 0.5 and out.grad == 0.0
    with pytest.raises(NonFiniteGradientError):
        grad(out, x)
    assert x.grad == 0.5


def test_non_finite_error_names_upstream_and_local_derivative() -> None:
    x = Value(0.0, "x")
    y = x.sqrt() * 3.0
    with pytest.raises(NonFiniteGradientError) as info:
        y.backward()
    assert info.value.parent is x
    assert info.value.upstream == 3.0
    assert info.value.local is None  # infinite
    assert "upstream gradient 3.0" in str(info.value)


# ---------------------------------------------------------------------------
# 6. rules ordered so that no intermediate overflows when the result fits


def test_division_rule_does_not_overflow_when_the_gradient_fits() -> None:
    a, b = Value(2.0**800), Value(2.0**100)
    q = a / b  # 2^700
    loss = (q - 2.0**700) * 2.0**400  # upstream gradient 2^400, loss 0
    loss.backward()
    assert a.grad == 2.0**300  # 2^400 / b
    assert b.grad == -(2.0**1000)  # -2^400 * a / b^2


def test_power_rules_do_not_overflow_when_the_gradient_fits() -> None:
    base, e = Value(1e300), Value(1.02)
    loss = (base**e) * 1e-10  # upstream 1e-10 at base**e (about 1e306)
    loss.backward()
    out = 1e300**1.02
    # out * log(base) alone is beyond the float range; times the upstream 1e-10 it fits
    assert not math.isfinite(out * math.log(1e300))
    assert e.grad == pytest.approx(out * 1e-10 * math.log(1e300), rel=1e-12)
    assert base.grad == pytest.approx(1.02 * (out / 1e300) * 1e-10, rel=1e-12)
    x = Value(1e-200)
    (x**-1 * 1e-300).backward()  # slope -1e400 overflows, times 1e-300 it fits
    assert x.grad == pytest.approx(-1e100, rel=1e-12)


# ---------------------------------------------------------------------------
# 7. Values never silently become plain numbers


@pytest.mark.parametrize(
    "cut",
    [float, int, round, math.exp, math.floor, math.ceil, math.trunc, math.sqrt, complex],
    ids=lambda f: f.__name__,
)
def test_turning_a_value_into_a_number_is_refused(cut: Any) -> None:
    with pytest.raises(TypeError) as info:
        cut(Value(1.5))
    assert "cut the graph" in str(info.value)
    assert "v.exp()" in str(info.value) and "v.data" in str(info.value)


def test_math_exp_times_x_no_longer_gives_half_the_gradient() -> None:
    x = Value(1.2)
    with pytest.raises(TypeError, match="cut the graph"):
        math.exp(x) * x  # type: ignore[arg-type]
    y = x.exp() * x
    y.backward()
    assert x.grad == pytest.approx(math.exp(1.2) * 2.2)


def test_formatting_formats_the_data() -> None:
    v = Value(0.1234567, "loss")
    assert f"{v:.4f}" == "0.1235"
    assert format(v, ".3e") == "1.235e-01"
    assert f"{v}" == repr(v)


# ---------------------------------------------------------------------------
# 8. values computed under no_grad() say so instead of giving zeros


def test_backward_of_a_no_grad_value_says_why_it_has_no_graph() -> None:
    x = Value(2.0, "x")
    with no_grad():
        y = (x * 3.0).tanh()
    with pytest.raises(ValueError, match=r"computed by op 'tanh' under no_grad\(\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"under no_grad\(\)"):
        grad(y, x)
    assert x.grad == 0.0
    leaf = Value(5.0)
    leaf.backward()
    assert leaf.grad == 1.0  # a real leaf still seeds itself
    z = y * x  # a no_grad value used later is a constant, as in PyTorch
    z.backward()
    assert x.grad == pytest.approx(y.data)


# ---------------------------------------------------------------------------
# 9. bad assignments are named where they are next used


def test_nan_data_set_by_hand_is_named_at_the_next_op() -> None:
    v = Value(1.0, "w")
    v.data = float("nan")
    with pytest.raises(OverflowError) as info:
        v * 2.0
    assert "'w'" in str(info.value) and "set by hand" in str(info.value)
    assert "beyond the float range" not in str(info.value)


def test_text_data_set_by_hand_is_named_at_the_next_op() -> None:
    v = Value(1.0, "w")
    v.data = "abc"  # type: ignore[assignment]
    for op in (lambda: v * 2.0, lambda: v + Value(1.0), lambda: v.tanh(), lambda: v.relu()):
        with pytest.raises(TypeError) as info:
            op()
        assert "'abc'" in str(info.value) and "set by hand" in str(info.value)


def test_text_grad_set_by_hand_is_named_by_backward_and_nothing_changes() -> None:
    a, b = Value(1.0, "a"), Value(2.0, "b")
    out = a * b
    b.grad = 0.5
    a.grad = "x"  # type: ignore[assignment]
    with pytest.raises(TypeError) as info:
        out.backward()
    assert "'a'" in str(info.value) and "'x'" in str(info.value)
    assert b.grad == 0.5 and a.grad == "x"
