"""The numerical policy of DESIGN.md: one test per bad input, each asserting
the error type and that the message names the value (and the op)."""

import math
import re
from fractions import Fraction

import pytest

from autodiff import Value, dot, grad, log_softmax, logsumexp, softmax, sum_values

# ---------------------------------------------------------------------------
# Value(x)


def test_value_refuses_str():
    with pytest.raises(TypeError, match=r"'1'.*\(str\)"):
        Value("1")


def test_value_refuses_none():
    with pytest.raises(TypeError, match=r"None"):
        Value(None)


def test_value_refuses_complex():
    with pytest.raises(TypeError, match=r"\(1\+2j\)"):
        Value(1 + 2j)


def test_value_refuses_list():
    with pytest.raises(TypeError, match=r"\[1\]"):
        Value([1])


def test_value_refuses_tuple():
    with pytest.raises(TypeError, match=r"\(1\.5,\)"):
        Value((1.5,))


def test_value_refuses_bool():
    with pytest.raises(TypeError, match=r"True.*\(bool\)"):
        Value(True)


def test_value_refuses_a_value():
    with pytest.raises(TypeError, match=r"Value\(data=2.*use the Value itself"):
        Value(Value(2.0))


def test_value_refuses_nan():
    with pytest.raises(ValueError, match=r"\bnan\b"):
        Value(math.nan)


def test_value_refuses_inf():
    with pytest.raises(ValueError, match=r"\binf\b"):
        Value(math.inf)


def test_value_refuses_negative_inf():
    with pytest.raises(ValueError, match=r"-inf\b"):
        Value(-math.inf)


def test_value_refuses_an_int_too_large_for_a_float():
    with pytest.raises(ValueError) as info:
        Value(10**400)
    assert str(10**400) in str(info.value)


def test_value_refuses_a_fraction_too_large_for_a_float():
    with pytest.raises(ValueError) as info:
        Value(Fraction(10**400, 3))
    assert str(10**400) in str(info.value)


def test_value_refuses_a_label_that_is_not_a_str():
    with pytest.raises(TypeError, match=r"label.*3"):
        Value(1.0, label=3)


def test_value_accepts_ints_floats_and_other_real_numbers():
    for x, expected in [(3, 3.0), (-2.5, -2.5), (Fraction(1, 4), 0.25), (Fraction(-7, 2), -3.5)]:
        v = Value(x)
        assert type(v.data) is float
        assert v.data == expected
    assert type(Value(2**60).data) is float


def test_value_accepts_numpy_scalars():
    np = pytest.importorskip("numpy")
    for x in (np.float64(1.5), np.float32(0.5), np.int64(3)):
        v = Value(x)
        assert type(v.data) is float
        assert v.data == float(x)
    with pytest.raises(TypeError, match="True"):
        Value(np.bool_(True))
    with pytest.raises(ValueError, match="nan"):
        Value(np.float64("nan"))


def test_operands_accept_fractions():
    x = Value(2.0)
    assert (x + Fraction(1, 2)).data == 2.5
    assert (x * Fraction(1, 4)).data == 0.5
    assert (Fraction(3, 2) - x).data == -0.5
    assert (x ** Fraction(2)).data == 4.0


# ---------------------------------------------------------------------------
# Operands of + - * / **, in both orders

BAD_OPERANDS = [
    ("str", "1", TypeError, "'1'"),
    ("None", None, TypeError, "None"),
    ("complex", 1 + 2j, TypeError, "(1+2j)"),
    ("list", [1], TypeError, "[1]"),
    ("bool", True, TypeError, "True"),
    ("nan", math.nan, ValueError, "nan"),
    ("inf", math.inf, ValueError, "inf"),
]
OPS = [
    ("+", lambda v, o: v + o),
    ("+", lambda v, o: o + v),
    ("-", lambda v, o: v - o),
    ("-", lambda v, o: o - v),
    ("*", lambda v, o: v * o),
    ("*", lambda v, o: o * v),
    ("/", lambda v, o: v / o),
    ("/", lambda v, o: o / v),
    ("**", lambda v, o: v**o),
    ("**", lambda v, o: o**v),
]
OP_IDS = ["x+o", "o+x", "x-o", "o-x", "x*o", "o*x", "x/o", "o/x", "x**o", "o**x"]


@pytest.mark.parametrize("op,apply", OPS, ids=OP_IDS)
@pytest.mark.parametrize(
    "operand,error,shown", [b[1:] for b in BAD_OPERANDS], ids=[b[0] for b in BAD_OPERANDS]
)
def test_bad_operand_is_refused_naming_op_and_value(op, apply, operand, error, shown):
    with pytest.raises(error) as info:
        apply(Value(2.0), operand)
    message = str(info.value)
    # the value as a word of its own ('inf' must not match 'infinity')
    assert re.search(rf"(?<![\w.]){re.escape(shown)}(?!\w)", message), message
    assert op in message


@pytest.mark.parametrize(
    "helper",
    [
        lambda bad: sum_values([Value(1.0), bad]),
        lambda bad: dot([Value(1.0)], [bad]),
        lambda bad: dot([Value(1.0)], [2.0], bias=bad),
        lambda bad: logsumexp([Value(1.0), bad]),
        lambda bad: softmax([Value(1.0), bad]),
        lambda bad: log_softmax([Value(1.0), bad]),
        lambda bad: Value(1.0).leaky_relu(bad),
    ],
    ids=[
        "sum_values",
        "dot item",
        "dot bias",
        "logsumexp",
        "softmax",
        "log_softmax",
        "leaky_relu slope",
    ],
)
def test_helpers_refuse_bad_numbers(helper):
    with pytest.raises(TypeError, match="'oops'"):
        helper("oops")
    with pytest.raises(ValueError, match="nan"):
        helper(math.nan)


def test_comparison_with_a_bad_operand_is_refused():
    with pytest.raises(TypeError, match=r"<.*'a'"):
        Value(1.0) < "a"  # noqa: B015


# ---------------------------------------------------------------------------
# Domain errors at the op: they name the op and the value


def test_log_of_zero():
    with pytest.raises(ValueError, match=r"log\(0\.0\)"):
        Value(0.0).log()


def test_log_of_negative():
    with pytest.raises(ValueError, match=r"log\(-1\.0\)"):
        Value(-1.0).log()


def test_sqrt_of_negative():
    with pytest.raises(ValueError, match=r"sqrt\(-1\.0\)"):
        Value(-1.0).sqrt()


def test_negative_base_with_non_integer_exponent():
    with pytest.raises(ValueError) as info:
        Value(-8.0) ** (1 / 3)
    message = str(info.value)
    assert "-8.0 ** 0.333" in message
    assert "math domain error" not in message


def test_negative_base_with_integer_exponent_is_real():
    assert (Value(-8.0) ** 3).data == -512.0
    assert (Value(-2.0) ** -2.0).data == 0.25


def test_division_by_number_zero():
    with pytest.raises(ZeroDivisionError) as info:
        Value(1.5) / 0
    message = str(info.value)
    assert "division by zero" in message
    assert "1.5" in message and "/ 0" in message


def test_division_by_value_zero():
    with pytest.raises(ZeroDivisionError) as info:
        Value(1.5) / Value(0.0)
    message = str(info.value)
    assert "division by zero" in message
    assert "1.5" in message and "data=0" in message


def test_number_divided_by_value_zero():
    with pytest.raises(ZeroDivisionError, match=r"division by zero.*2"):
        2.0 / Value(0.0)


def test_zero_to_a_negative_power():
    with pytest.raises(ZeroDivisionError, match=r"0\.0 \*\* -1\.0.*negative power"):
        Value(0.0) ** -1


def test_zero_to_a_negative_value_power():
    with pytest.raises(ZeroDivisionError, match=r"0\.0 \*\* -1\.0.*negative power"):
        Value(0.0) ** Value(-1.0)


def test_exp_overflow():
    with pytest.raises(OverflowError, match=r"exp\(1000\.0\)"):
        Value(1000.0).exp()


def test_power_overflow():
    with pytest.raises(OverflowError, match=r"10\.0 \*\* 400\.0"):
        Value(10.0) ** 400


def test_negative_base_with_value_exponent():
    with pytest.raises(ValueError) as info:
        Value(-2.0) ** Value(0.5)
    message = str(info.value)
    assert "-2.0 ** 0.5" in message
    assert "base must be >= 0" in message


def test_no_op_returns_a_complex_number():
    for make in (
        lambda: Value(-8.0) ** 0.5,
        lambda: Value(-1.0) ** Value(2.0),
        lambda: 2.0 ** Value(0.5),
        lambda: (-2.0) ** Value(0.5),
    ):
        try:
            out = make()
        except ValueError:
            continue
        assert isinstance(out.data, float)


def test_grad_refuses_non_values():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"output.*2\.0"):
        grad(2.0, [x])
    with pytest.raises(TypeError, match=r"1\.5.*position 1"):
        grad(x * 2, [x, 1.5])


# ---------------------------------------------------------------------------
# Stability at +-1000 and the derivative at kinks


@pytest.mark.parametrize("x", [1000.0, -1000.0])
def test_sigmoid_is_stable(x):
    v = Value(x)
    out = v.sigmoid()
    out.backward()
    assert out.data == (1.0 if x > 0 else pytest.approx(0.0, abs=1e-300))
    assert v.grad == pytest.approx(0.0, abs=1e-300)


@pytest.mark.parametrize("x", [1000.0, -1000.0])
def test_tanh_is_stable(x):
    v = Value(x)
    out = v.tanh()
    out.backward()
    assert out.data == math.copysign(1.0, x)
    assert v.grad == 0.0


@pytest.mark.parametrize("x", [1000.0, -1000.0])
def test_softplus_is_stable(x):
    v = Value(x)
    out = v.softplus()
    out.backward()
    assert out.data == pytest.approx(max(x, 0.0), abs=1e-300)
    assert v.grad == pytest.approx(1.0 if x > 0 else 0.0, abs=1e-300)


def test_exp_near_the_float_limit_is_finite():
    out = Value(709.0).exp()
    assert math.isfinite(out.data)
    assert out.data == pytest.approx(math.exp(709.0))


@pytest.mark.parametrize("scale", [1000.0, -1000.0])
def test_logsumexp_is_stable(scale):
    xs = [Value(scale), Value(scale), Value(scale - 1.0)]
    out = logsumexp(xs)
    out.backward()
    expected = scale + math.log(2.0 + math.exp(-1.0))
    assert out.data == pytest.approx(expected, rel=1e-15)
    weights = [1.0, 1.0, math.exp(-1.0)]
    total = sum(weights)
    assert [x.grad for x in xs] == pytest.approx([w / total for w in weights], rel=1e-12)


def test_softmax_is_stable():
    xs = [Value(1000.0), Value(-1000.0), Value(999.0)]
    probabilities = softmax(xs)
    first = 1.0 / (1.0 + math.exp(-1.0))
    assert [p.data for p in probabilities] == pytest.approx(
        [first, 0.0, 1.0 - first], rel=1e-12, abs=1e-300
    )
    probabilities[0].backward()
    grads = [x.grad for x in xs]
    assert all(math.isfinite(g) for g in grads)
    # d p0 / d x_j = p0 (delta_0j - p_j)
    assert grads == pytest.approx(
        [first * (1 - first), 0.0, -first * (1 - first)], rel=1e-12, abs=1e-300
    )


def test_log_softmax_is_stable():
    xs = [Value(1000.0), Value(-1000.0)]
    out = log_softmax(xs)
    assert [o.data for o in out] == pytest.approx([0.0, -2000.0], abs=1e-12)
    out[1].backward()
    assert [x.grad for x in xs] == pytest.approx([-1.0, 1.0], abs=1e-12)


def test_relu_derivative_at_zero_is_zero():
    x = Value(0.0)
    out = x.relu()
    out.backward()
    assert out.data == 0.0
    assert x.grad == 0.0


def test_abs_derivative_at_zero_is_zero():
    x = Value(0.0)
    out = abs(x)
    out.backward()
    assert out.data == 0.0
    assert x.grad == 0.0


def test_leaky_relu_derivative_at_zero_is_the_slope():
    # PyTorch: grad * (x > 0 ? 1 : slope)
    x = Value(0.0)
    x.leaky_relu(0.2).backward()
    assert x.grad == pytest.approx(0.2)
