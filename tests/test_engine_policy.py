"""The numerical policy of DESIGN.md: one test per bad input, each asserting
the error type and that the message names the value (and the op)."""

import math
import re
from fractions import Fraction

import pytest

from autodiff import (
    NonFiniteGradientError,
    Value,
    dot,
    grad,
    log_softmax,
    logsumexp,
    softmax,
    sum_values,
)

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


def test_negative_base_with_a_fractional_value_exponent():
    with pytest.raises(ValueError) as info:
        Value(-2.0) ** Value(0.5)
    message = str(info.value)
    assert "-2.0 ** 0.5" in message
    assert "non-integer exponent" in message


def test_negative_base_with_a_whole_value_exponent_works_until_its_gradient_is_needed():
    x, y = Value(-2.0), Value(3.0)
    out = x**y
    assert out.data == -8.0
    with pytest.raises(ValueError) as info:
        out.backward()  # d/dy needs log(-2)
    assert "log(-2.0)" in str(info.value) and "exponent" in str(info.value)
    assert x.grad == 0.0  # refused before anything was accumulated
    (x**3.0).backward()  # with a number exponent there is nothing to refuse
    assert x.grad == pytest.approx(12.0)
    with pytest.raises(ValueError, match=r"log\(-2\.0\)"):
        grad(out, y, create_graph=True)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: Value(-8.0) ** 0.5, ValueError),
        (lambda: Value(-1.0) ** Value(0.5), ValueError),
        (lambda: (-2.0) ** Value(0.5), ValueError),
        (lambda: Value(-1.0) ** Value(2.0), 1.0),
        (lambda: Value(-2.0) ** 3, -8.0),
        (lambda: 2.0 ** Value(0.5), math.sqrt(2.0)),
    ],
)
def test_powers_give_a_real_float_or_a_clear_refusal(make, expected):
    if isinstance(expected, float):
        out = make()
        assert type(out.data) is float
        assert out.data == pytest.approx(expected)
    else:
        with pytest.raises(expected, match="non-integer exponent"):
            make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Value(1e308) * 10.0,
        lambda: Value(1e200) * Value(1e200),
        lambda: Value(1e308) + Value(1e308),
        lambda: Value(-1e308) - 1e308,
        lambda: Value(1e300) / 1e-300,
        lambda: Value(1e300) / Value(1e-300),
        lambda: 1e300 / Value(1e-300),
        lambda: sum_values([1e308, Value(1e308)]),
        lambda: dot([Value(1e200)], [Value(1e200)]),
    ],
)
def test_arithmetic_beyond_the_float_range_raises_instead_of_giving_inf(make):
    with pytest.raises(OverflowError) as info:
        make()
    message = str(info.value)
    assert "float range" in message and "inf" in message
    assert "e+" in message  # the operands are named


def test_no_infinity_or_nan_comes_out_of_a_chain_of_operations():
    x = Value(1e308)
    with pytest.raises(OverflowError):
        x - x * 10.0


def test_a_slope_beyond_the_float_range_is_refused_not_stored():
    x = Value(1e-200)
    with pytest.raises(NonFiniteGradientError) as info:
        (x**-1).backward()  # -1e400
    assert info.value.parent is x and x.grad == 0.0
    y = Value(-1e-120)
    with pytest.raises(NonFiniteGradientError):
        (y**-2).backward()  # d/dy y^-2 = -2 y^-3 > 0 for y < 0, and beyond the float range
    assert y.grad == 0.0


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda x: x.sqrt(), "sqrt at 0"),
        (lambda x: x**0.5, "x ** 0.5 at x = 0"),
        (lambda x: x ** Value(0.5), "x ** 0.5 at x = 0"),
    ],
)
def test_infinite_derivatives_are_explained_under_create_graph(make, what):
    x = Value(0.0)
    out = make(x)
    with pytest.raises(NonFiniteGradientError):
        out.backward()  # the infinite slope is refused, not stored
    assert x.grad == 0.0
    with pytest.raises(NonFiniteGradientError) as info:
        grad(make(Value(0.0)), out.parents[0], create_graph=True)
    assert what in str(info.value) and "infinite" in str(info.value)


def test_finite_edge_derivatives_work_under_create_graph():
    x = Value(0.0)
    assert grad(x ** Value(0.0), x, create_graph=True).data == 0.0
    assert grad(x**0, x, create_graph=True).data == 0.0
    d = grad(x**2, x, create_graph=True)
    assert d.data == 0.0 and grad(d, x) == pytest.approx(2.0)
    d = grad(x ** Value(2.0), x, create_graph=True)
    assert d.data == 0.0 and grad(d, x) == pytest.approx(2.0)


def test_parents_can_only_be_replaced_by_values_in_the_right_number():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    with pytest.raises(TypeError, match="3"):
        c.parents = (a, 3)
    with pytest.raises(ValueError, match="2 parent"):
        c.parents = (a,)
    assert c.parents == (a, b)
    c.parents = (b, a)
    assert c.parents == (b, a)


def test_create_graph_gives_each_input_its_own_result():
    p, q = Value(1.0), Value(2.0)
    gp, gq = grad(p + q, [p, q], create_graph=True)
    assert gp is not gq
    assert gp.data == gq.data == 1.0
    gp.label = "dp"
    assert gq.label != "dp"


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
