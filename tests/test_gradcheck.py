"""The gradient checker, and checks of the checker itself (as HIPS autograd's
test_tests.py does): a derivative off by 0.1% must fail."""

import math

import pytest

from autodiff import GradcheckError, Value, dot, gradcheck, logsumexp, softmax, sum_values


@pytest.mark.parametrize(
    "f,inputs",
    [
        (lambda x: x.tanh(), [0.5]),
        (lambda x, y: x * y + x / y, [1.3, -0.7]),
        (lambda x, y: (x * x + 1).log() * y.sigmoid(), [0.4, 2.0]),
        (lambda x, y: x**y, [1.7, 0.6]),
        (lambda x: x.sqrt() + x.exp() - x.sin() * x.cos(), [0.9]),
        (lambda x, y: x.softplus() + y.relu() + x.leaky_relu(0.1) + abs(y), [-0.3, 0.8]),
        (lambda x, y, z: dot([x, y], [z, 2.0], bias=z), [0.2, -1.1, 0.5]),
        (lambda x, y, z: logsumexp([x, y, z]) + softmax([x, y, z])[1], [0.2, -1.1, 0.5]),
        (lambda x, y: sum_values([x, y, x, 3.0]), [0.25, 4.0]),
    ],
)
def test_gradcheck_passes_on_correct_ops(f, inputs):
    assert gradcheck(f, inputs) is True


def test_gradcheck_accepts_values_and_leaves_them_alone():
    x, y = Value(0.5, "x"), Value(-2.0, "y")
    assert gradcheck(lambda a, b: a * b.exp(), [x, y]) is True
    assert (x.data, x.grad, y.data, y.grad) == (0.5, 0.0, -2.0, 0.0)


def _tanh_off_by_a_tenth_of_a_percent(x: Value) -> Value:
    out = x.tanh()
    out._ctx *= 1.001  # the local derivative tanh' = 1 - tanh^2, 0.1% too large
    return out


def test_derivative_off_by_a_tenth_of_a_percent_fails():
    with pytest.raises(GradcheckError) as info:
        gradcheck(_tanh_off_by_a_tenth_of_a_percent, [0.5])
    message = str(info.value)
    t = math.tanh(0.5)
    analytic = (1.0 - t * t) * 1.001
    numeric = (math.tanh(0.5 + 1e-6) - math.tanh(0.5 - 1e-6)) / 2e-6
    assert "input 0" in message
    assert "at 0.5" in message
    assert f"analytic {analytic!r}" in message
    assert f"numeric {numeric!r}" in message
    assert numeric == pytest.approx(1.0 - t * t, rel=1e-8)  # the reference is right


def test_failure_names_only_the_wrong_input_by_label():
    def f(x, y):
        return _tanh_off_by_a_tenth_of_a_percent(y) + x * x

    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [Value(1.5, "x"), Value(-0.3, "weight")])
    message = str(info.value)
    assert "1 of 2" in message
    assert "input 1 ('weight') at -0.3" in message
    assert "input 0" not in message
    assert isinstance(info.value, AssertionError)


def test_gradcheck_catches_a_wrong_backward_rule():
    def square_counted_once(x):
        out = x * x

        def one_contribution(node):  # the classic `=` for `+=` bug: 2x becomes x
            node.parents[0].grad = node.parents[1].data * node.grad

        out._backward = one_contribution
        return out

    with pytest.raises(GradcheckError, match=r"input 0 at 0.7: analytic 0.7, numeric 1.4"):
        gradcheck(square_counted_once, [0.7])

    def forgets_a_contribution(x, y):
        out = x * y
        out._backward = lambda node: None  # drops both contributions
        return out

    with pytest.raises(GradcheckError, match=r"2 of 2"):
        gradcheck(forgets_a_contribution, [0.7, 1.3])


def test_raise_exception_false_returns_false():
    assert gradcheck(_tanh_off_by_a_tenth_of_a_percent, [0.5], raise_exception=False) is False
    assert gradcheck(lambda x: x.tanh(), [0.5], raise_exception=False) is True


def test_loose_tolerance_lets_a_small_error_pass():
    assert gradcheck(_tanh_off_by_a_tenth_of_a_percent, [0.5], rtol=1e-2) is True


@pytest.mark.parametrize("eps", [0, 0.0, -1e-6, math.nan, math.inf])
def test_bad_eps_is_refused(eps):
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda x: x.tanh(), [0.5], eps=eps)


@pytest.mark.parametrize("name", ["atol", "rtol"])
def test_negative_tolerance_is_refused(name):
    with pytest.raises(ValueError, match=name):
        gradcheck(lambda x: x.tanh(), [0.5], **{name: -1e-6})


def test_non_numeric_eps_is_refused():
    with pytest.raises(TypeError, match="eps"):
        gradcheck(lambda x: x.tanh(), [0.5], eps="small")


def test_f_must_return_a_value():
    with pytest.raises(TypeError, match="must return a Value.*0.5"):
        gradcheck(lambda x: x.data, [0.5])


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="gradcheck input.*'a'"):
        gradcheck(lambda x: x.tanh(), ["a"])
