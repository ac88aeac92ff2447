"""The engine: `Value`, a scalar node of a computation graph, and its ops.

Every op below is one block: the forward computation, the node it creates and
its local backward rule right next to it. A node points to a shared, per-op
backward function (called with the node) instead of owning a closure: a
closure that captures its own output node makes every graph cyclic garbage,
which CPython's cyclic collector then spends most of a training step on.
Here a graph is freed by reference counting alone. The README's design
section has the measurements.

Each op also registers, in `DERIVATIVES`, its local derivatives written as
Value expressions; `grad(..., create_graph=True)` uses them to build
gradients that can be differentiated again.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import repeat
from operator import attrgetter
from operator import mul as mul_

from autodiff import graph

Number = int | float


class Value:
    """A scalar in a computation graph: its data, its gradient and how it was made."""

    # _prev holds the parents: a Value for one-parent ops, a tuple otherwise.
    # One parent needs no tuple, which saves a GC-tracked object per node.
    __slots__ = ("data", "grad", "label", "op", "_prev", "_backward", "_ctx", "_pending")

    def __init__(self, data: Number, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(
                f"Value label must be a str, got {label!r} ({type(label).__name__}); "
                "pass a short name such as label='w1'"
            )
        self.data = _real(data, "Value()")
        self.grad = 0.0
        self.label = label
        self.op = ""
        self._prev: Value | tuple[Value, ...] = ()
        self._backward = None
        self._ctx = None
        self._pending = 0  # a graph walk's counter, see graph.reverse_topological_order

    def __repr__(self) -> str:
        label = f"{self.label!r}, " if self.label else ""
        return f"Value({label}data={self.data:.6g}, grad={self.grad:.6g})"

    def __float__(self) -> float:
        return self.data

    @property
    def parents(self) -> tuple[Value, ...]:
        """The Values this node was computed from, in order; () for a leaf."""
        prev = self._prev
        return prev if prev.__class__ is tuple else (prev,)

    @parents.setter
    def parents(self, values: tuple[Value, ...]) -> None:
        # For experiments, e.g. to see the cycle check; keeps the shape the op's rule expects.
        values = tuple(values)
        for v in values:
            if not isinstance(v, Value):
                raise TypeError(f"parents must be Values, got {v!r} ({type(v).__name__})")
        before = self.parents
        if self._backward is not None and len(values) != len(before):
            raise ValueError(
                f"{self!r} was made by op {self.op!r} from {len(before)} parent(s); its "
                f"backward rule needs {len(before)}, not {len(values)}"
            )
        single = len(values) == 1 and self._prev.__class__ is not tuple
        self._prev = values[0] if single else values

    def backward(self) -> None:
        """Accumulate d(self)/d(node) into `.grad` of every node of this graph.

        Leaves accumulate across calls (call `zero_grad` or an optimizer's
        `zero_grad` between steps); intermediate nodes hold this call's values.
        """
        graph.backward(self)

    def zero_grad(self) -> None:
        """Set `.grad` to 0 on every node of this graph."""
        graph.zero_grad(self)

    # Comparisons look at data. `==` is deliberately left as identity so that
    # Values stay hashable and usable in sets and dicts.
    def __lt__(self, other: Value | Number) -> bool:
        return self.data < _data(other, "<")

    def __le__(self, other: Value | Number) -> bool:
        return self.data <= _data(other, "<=")

    def __gt__(self, other: Value | Number) -> bool:
        return self.data > _data(other, ">")

    def __ge__(self, other: Value | Number) -> bool:
        return self.data >= _data(other, ">=")


# ---------------------------------------------------------------------------
# Building nodes and checking numbers

_grad_enabled = True
_new = object.__new__
_VALUE = repeat(Value)  # for all(map(isinstance, xs, _VALUE)): a type check at C speed
_DATA = attrgetter("data")
_FLOAT = {float}


def _node(data: float, parents: Value | tuple, op: str, backward: Callable, ctx=None) -> Value:
    """Create an op's output node (no validation: the op has done it).

    `parents` is the single parent itself for one-parent ops, else a tuple.
    """
    if data - data != 0.0:  # inf (or NaN): the result left the float range
        raise OverflowError(_overflow_message(data, parents, op, ctx))
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._pending = 0
    if _grad_enabled:
        out.op = op
        out._prev = parents
        out._backward = backward
        out._ctx = ctx
    else:
        out.op = ""
        out._prev = ()
        out._backward = None
        out._ctx = None
    return out


def _overflow_message(data: float, parents: Value | tuple, op: str, ctx: object) -> str:
    values = parents if parents.__class__ is tuple else (parents,)
    shown = ", ".join(repr(p.data) for p in values[:4]) + (", ..." if len(values) > 4 else "")
    constant = f" and the number {ctx!r}" if isinstance(ctx, float) else ""
    return (
        f"op {op!r} on {shown}{constant} gives {data!r}: the result is beyond the float "
        "range (about 1.8e308); scale the inputs down"
    )


def _real(x: object, where: str) -> float:
    """`x` as a finite float, or a TypeError/ValueError that names it."""
    kind = type(x)
    if kind is float:
        if x - x == 0.0:  # false for inf and NaN
            return x
    elif kind is int:
        try:
            return float(x)
        except OverflowError:
            raise ValueError(
                f"{where}: the integer {x} is too large for a float; scale it down"
            ) from None
    elif kind is bool or isinstance(x, Value) or not isinstance(x, numbers.Real):
        hint = "use the Value itself" if isinstance(x, Value) else "pass an int or a float"
        raise TypeError(f"{where} needs a real number, got {x!r} ({kind.__name__}); {hint}")
    else:  # other real numbers, e.g. numpy scalars or Fractions
        try:
            x = float(x)
        except OverflowError:
            raise ValueError(f"{where}: {x!r} is too large for a float; scale it down") from None
    if math.isfinite(x):
        return x
    raise ValueError(f"{where} needs a finite number, got {x!r}; NaN and infinity are refused")


def _data(x: Value | Number, op: str) -> float:
    """The float behind an operand: a Value's data or a checked number."""
    return x.data if isinstance(x, Value) else _real(x, f"Value {op} operand")


@contextmanager
def no_grad() -> Iterator[None]:
    """Context manager in which ops record no parents: for updates and inference."""
    global _grad_enabled
    before = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = before


@contextmanager
def _enable_grad() -> Iterator[None]:
    global _grad_enabled
    before = _grad_enabled
    _grad_enabled = True
    try:
        yield
    finally:
        _grad_enabled = before


# Local derivatives as Value expressions, for higher-order gradients:
# DERIVATIVES[op](node) -> one entry per parent, each a Value or a float.
DERIVATIVES: dict[str, Callable[[Value], tuple]] = {}


def _unary_backward(node: Value) -> None:
    """parent.grad += local derivative (kept in _ctx at forward time) * node.grad"""
    node._prev.grad += node._ctx * node.grad


def _constant_derivative(node: Value) -> tuple:
    return (node._ctx,)


# ---------------------------------------------------------------------------
# Arithmetic


def _add_backward(node: Value) -> None:
    a, b = node._prev
    a.grad += node.grad
    b.grad += node.grad


def _pass_backward(node: Value) -> None:  # x + c, x - c: d/dx = 1
    node._prev.grad += node.grad


def add(self: Value, other: Value | Number) -> Value:
    """self + other"""
    if isinstance(other, Value):
        return _node(self.data + other.data, (self, other), "+", _add_backward)
    c = _real(other, "Value + operand")
    return _node(self.data + c, self, "+", _pass_backward, c)


DERIVATIVES["+"] = lambda node: (1.0,) * len(node.parents)


def _sub_backward(node: Value) -> None:
    a, b = node._prev
    a.grad += node.grad
    b.grad -= node.grad


def sub(self: Value, other: Value | Number) -> Value:
    """self - other"""
    if isinstance(other, Value):
        return _node(self.data - other.data, (self, other), "-", _sub_backward)
    c = _real(other, "Value - operand")
    return _node(self.data - c, self, "-", _pass_backward, c)


DERIVATIVES["-"] = lambda node: (1.0, -1.0)[: len(node.parents)]


def rsub(self: Value, other: Number) -> Value:
    """other - self (the number becomes a leaf, so the graph shows it)"""
    return Value(_real(other, "operand - Value")) - self


def _mul_backward(node: Value) -> None:
    a, b = node._prev
    a.grad += b.data * node.grad
    b.grad += a.data * node.grad


def mul(self: Value, other: Value | Number) -> Value:
    """self * other"""
    if isinstance(other, Value):
        return _node(self.data * other.data, (self, other), "*", _mul_backward)
    c = _real(other, "Value * operand")
    return _node(self.data * c, self, "*", _unary_backward, c)


DERIVATIVES["*"] = lambda node: (
    (node.parents[1], node.parents[0]) if len(node.parents) == 2 else (node._ctx,)
)


def _div_backward(node: Value) -> None:
    a, b = node._prev
    a.grad += node.grad / b.data
    b.grad -= node.grad * node.data / b.data  # d(a/b)/db = -a/b^2 = -out/b


def _div_const_backward(node: Value) -> None:
    node._prev.grad += node.grad / node._ctx


def truediv(self: Value, other: Value | Number) -> Value:
    """self / other"""
    if isinstance(other, Value):
        if other.data == 0.0:
            raise ZeroDivisionError(
                f"division by zero: {self!r} / {other!r}; the divisor's data is 0"
            )
        return _node(self.data / other.data, (self, other), "/", _div_backward)
    c = _real(other, "Value / operand")
    if c == 0.0:
        raise ZeroDivisionError(f"division by zero: {self!r} / {other!r}")
    return _node(self.data / c, self, "/", _div_const_backward, c)


def _div_derivative(node: Value) -> tuple:
    if len(node.parents) == 1:
        return (1.0 / node._ctx,)
    divisor = node.parents[1]
    return (divisor**-1, -node / divisor)


DERIVATIVES["/"] = _div_derivative


def rtruediv(self: Value, other: Number) -> Value:
    """other / self (the number becomes a leaf)"""
    return Value(_real(other, "operand / Value")) / self


def _pow_slope(x: float, n: float) -> float:
    """d(x**n)/dx for a number exponent, including the edge cases at x = 0."""
    if n == 0.0:
        return 0.0
    if x == 0.0:
        return 1.0 if n == 1.0 else (0.0 if n > 1.0 else math.inf)
    try:
        return n * x ** (n - 1.0)
    except OverflowError:  # a slope beyond the float range is infinite, as float math says
        negative = x < 0.0 and (n - 1.0) % 2.0 == 1.0
        return math.copysign(math.inf, -n if negative else n)


def _infinite_derivative(what: str) -> None:
    raise ZeroDivisionError(
        f"the derivative of {what} is infinite; grad(create_graph=True) cannot build it "
        "(backward() records it as inf)"
    )


def _negative_base(base: float, exponent: float) -> None:
    raise ValueError(
        f"the gradient of {base!r} ** {exponent!r} with respect to the exponent needs "
        f"log({base!r}), which is not a real number; make the exponent a plain number "
        "if it is a constant, or keep the base positive"
    )


def _pow_const_backward(node: Value) -> None:
    x = node._prev
    x.grad += _pow_slope(x.data, node._ctx) * node.grad


def _pow_backward(node: Value) -> None:
    base, exponent = node._prev
    if base.data < 0.0:
        _negative_base(base.data, exponent.data)
    base.grad += _pow_slope(base.data, exponent.data) * node.grad
    if base.data > 0.0:  # d(b**e)/de = b**e * log(b); 0 at b = 0 (its limit)
        exponent.grad += node.data * math.log(base.data) * node.grad


def _power(x: float, n: float, text: str) -> float:
    """x ** n for floats, with the op's domain errors spelled out."""
    if x < 0.0 and n != int(n):
        raise ValueError(
            f"{text}: a negative base with a non-integer exponent has no real value; "
            "use abs() on the base or an integer exponent"
        )
    if x == 0.0 and n < 0.0:
        raise ZeroDivisionError(f"{text}: 0 cannot be raised to a negative power")
    try:
        return x**n
    except OverflowError:
        raise OverflowError(f"{text} is too large for a float") from None


def power(self: Value, other: Value | Number) -> Value:
    """self ** other, for a number or a Value exponent"""
    if isinstance(other, Value):
        out = _power(self.data, other.data, f"{self.data!r} ** {other.data!r}")
        return _node(out, (self, other), "**", _pow_backward)
    n = _real(other, "Value ** exponent")
    out = _power(self.data, n, f"{self.data!r} ** {n!r}")
    return _node(out, self, "**", _pow_const_backward, n)


def _pow_derivative(node: Value) -> tuple:
    if len(node.parents) == 1:
        x, n = node._prev, node._ctx
        if n == 0.0:  # x ** 0 is constant; x ** -1 would fail at x = 0
            return (0.0,)
        if x.data == 0.0 and n < 1.0:
            _infinite_derivative(f"x ** {n!r} at x = 0")
        return (n * x ** (n - 1.0) if n != 1.0 else 1.0,)
    base, exponent = node.parents
    b, y = base.data, exponent.data
    if b < 0.0:
        _negative_base(b, y)
    by_exponent = node * base.log() if b > 0.0 else 0.0
    if b == 0.0 and y == 0.0:  # 0 ** 0 = 1, flat in the base
        return (0.0, by_exponent)
    if b == 0.0 and y < 1.0:
        _infinite_derivative(f"x ** {y!r} at x = 0")
    return (exponent * base ** (exponent - 1.0), by_exponent)


DERIVATIVES["**"] = _pow_derivative


def rpow(self: Value, other: Number) -> Value:
    """other ** self (the number becomes a leaf)"""
    return Value(_real(other, "base ** Value")) ** self


def neg(self: Value) -> Value:
    """-self"""
    return _node(-self.data, self, "neg", _unary_backward, -1.0)


DERIVATIVES["neg"] = _constant_derivative


def abs_(self: Value) -> Value:
    """abs(self); the derivative at 0 is 0, as in PyTorch"""
    x = self.data
    return _node(abs(x), self, "abs", _unary_backward, (x > 0.0) - (x < 0.0) + 0.0)


DERIVATIVES["abs"] = _constant_derivative


# ---------------------------------------------------------------------------
# Functions of one variable: the local derivative is stored in _ctx and applied
# by _unary_backward; DERIVATIVES holds the same derivative as a Value expression.


def exp(self: Value) -> Value:
    """e ** self"""
    try:
        out = math.exp(self.data)
    except OverflowError:
        raise OverflowError(
            f"exp({self.data!r}) is too large for a float (the limit is about exp(709.78)); "
            "scale the input down or use a stable form such as logsumexp or softplus"
        ) from None
    return _node(out, self, "exp", _unary_backward, out)  # (e^x)' = e^x


DERIVATIVES["exp"] = lambda node: (node,)


def log(self: Value) -> Value:
    """natural logarithm of self (self > 0)"""
    x = self.data
    if x <= 0.0:
        raise ValueError(f"log({x!r}): log is defined only for positive numbers")
    return _node(math.log(x), self, "log", _unary_backward, 1.0 / x)  # (ln x)' = 1/x


DERIVATIVES["log"] = lambda node: (node.parents[0] ** -1.0,)


def tanh(self: Value) -> Value:
    """hyperbolic tangent"""
    t = math.tanh(self.data)
    return _node(t, self, "tanh", _unary_backward, 1.0 - t * t)  # tanh' = 1 - tanh^2


DERIVATIVES["tanh"] = lambda node: (1.0 - node * node,)


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # never overflows for x < 0
    return e / (1.0 + e)


def sigmoid(self: Value) -> Value:
    """logistic function 1 / (1 + e^-x), stable for any finite input"""
    s = _sigmoid(self.data)
    return _node(s, self, "sigmoid", _unary_backward, s * (1.0 - s))  # s' = s(1 - s)


DERIVATIVES["sigmoid"] = lambda node: (node * (1.0 - node),)


def relu(self: Value) -> Value:
    """max(0, self); the derivative at 0 is 0"""
    x = self.data
    if x > 0.0:
        return _node(x, self, "relu", _unary_backward, 1.0)
    return _node(0.0, self, "relu", _unary_backward, 0.0)


DERIVATIVES["relu"] = _constant_derivative


def leaky_relu(self: Value, slope: float = 0.01) -> Value:
    """self if self > 0 else slope * self"""
    slope = _real(slope, "leaky_relu slope")
    x = self.data
    if x > 0.0:
        return _node(x, self, "leaky_relu", _unary_backward, 1.0)
    return _node(slope * x, self, "leaky_relu", _unary_backward, slope)


DERIVATIVES["leaky_relu"] = _constant_derivative


def softplus(self: Value) -> Value:
    """log(1 + e^x), stable for any finite input"""
    x = self.data
    out = math.log1p(math.exp(-abs(x))) + (x if x > 0.0 else 0.0)
    return _node(out, self, "softplus", _unary_backward, _sigmoid(x))  # softplus' = sigmoid


DERIVATIVES["softplus"] = lambda node: (node.parents[0].sigmoid(),)


def sqrt(self: Value) -> Value:
    """square root (self >= 0); the derivative at 0 is +inf"""
    x = self.data
    if x < 0.0:
        raise ValueError(f"sqrt({x!r}): the square root of a negative number is not real")
    r = math.sqrt(x)
    return _node(r, self, "sqrt", _unary_backward, 0.5 / r if r else math.inf)


def _sqrt_derivative(node: Value) -> tuple:
    if node.data == 0.0:
        _infinite_derivative("sqrt at 0")
    return (0.5 * node**-1.0,)


DERIVATIVES["sqrt"] = _sqrt_derivative


def sin(self: Value) -> Value:
    """sine (radians)"""
    x = self.data
    return _node(math.sin(x), self, "sin", _unary_backward, math.cos(x))


DERIVATIVES["sin"] = lambda node: (node.parents[0].cos(),)


def cos(self: Value) -> Value:
    """cosine (radians)"""
    x = self.data
    return _node(math.cos(x), self, "cos", _unary_backward, -math.sin(x))


DERIVATIVES["cos"] = lambda node: (-node.parents[0].sin(),)


# ---------------------------------------------------------------------------
# Functions of many variables, each a single n-ary node


def _sum_backward(node: Value) -> None:
    g = node.grad
    for p in node._prev:
        p.grad += g


def sum_values(values: Iterable[Value | Number]) -> Value:
    """The sum of `values` (Values and numbers) as one node."""
    parents = []
    constant = 0.0
    for v in values:
        if isinstance(v, Value):
            parents.append(v)
        else:
            constant += _real(v, "sum_values item")
    total = sum([p.data for p in parents], constant)
    return _node(total, tuple(parents), "sum", _sum_backward, constant)


DERIVATIVES["sum"] = lambda node: (1.0,) * len(node.parents)


def _dot_backward(node: Value) -> None:
    """parents = xs + ys (+ bias); _ctx = len(xs)"""
    g = node.grad
    parents = node._prev
    n = node._ctx
    for x, y in zip(parents[:n], parents[n : 2 * n]):
        x.grad += y.data * g
        y.grad += x.data * g
    if len(parents) > 2 * n:
        parents[-1].grad += g


def _dot_const_backward(node: Value) -> None:
    """parents = values (+ bias); _ctx = their number coefficients"""
    g = node.grad
    parents = node._prev
    for p, c in zip(parents, node._ctx):
        p.grad += c * g
    if len(parents) > len(node._ctx):
        parents[-1].grad += g


def _floats(values: list, where: str) -> tuple[float, ...]:
    """`values` as a tuple of finite floats; quick when they already are."""
    if set(map(type, values)) <= _FLOAT:
        total = sum(values)
        if total - total == 0.0:  # no NaN or inf among them
            return values if type(values) is tuple else tuple(values)
    return tuple([_real(v, where) for v in values])


def dot(
    xs: Iterable[Value | Number], ys: Iterable[Value | Number], bias: Value | Number = 0.0
) -> Value:
    """bias + sum(x * y for x, y in zip(xs, ys)) as one node."""
    if type(xs) is not list and type(xs) is not tuple:
        xs = list(xs)
    if type(ys) is not list and type(ys) is not tuple:
        ys = list(ys)
    if len(xs) != len(ys):
        raise ValueError(
            f"dot needs two sequences of the same length, got {len(xs)} and {len(ys)} items"
        )
    b = bias if isinstance(bias, Value) else None
    start = b.data if b is not None else _real(bias, "dot bias")
    tail = (b,) if b is not None else ()
    xs_values = all(map(isinstance, xs, _VALUE))
    ys_values = all(map(isinstance, ys, _VALUE))
    if xs_values != ys_values and not any(map(isinstance, ys if xs_values else xs, _VALUE)):
        # Values times numbers: only the Values are parents, the numbers go in _ctx
        if ys_values:
            xs, ys = ys, xs
        coefficients = _floats(ys, "dot item")
        total = sum(map(mul_, map(_DATA, xs), coefficients), start)
        return _node(total, (*xs, *tail), "dot", _dot_const_backward, coefficients)
    if not (xs_values and ys_values):  # a stray number among Values becomes a leaf
        xs = [x if isinstance(x, Value) else Value(_real(x, "dot item")) for x in xs]
        ys = [y if isinstance(y, Value) else Value(_real(y, "dot item")) for y in ys]
    total = sum(map(mul_, map(_DATA, xs), map(_DATA, ys)), start)
    return _node(total, (*xs, *ys, *tail), "dot", _dot_backward, len(xs))


def _dot_derivative(node: Value) -> tuple:
    parents = node.parents
    if isinstance(node._ctx, tuple):
        return node._ctx + (1.0,) * (len(parents) - len(node._ctx))
    n = node._ctx
    return parents[n : 2 * n] + parents[:n] + (1.0,) * (len(parents) - 2 * n)


DERIVATIVES["dot"] = _dot_derivative


def _logsumexp_backward(node: Value) -> None:
    g = node.grad
    out = node.data
    for p in node._prev:
        p.grad += math.exp(p.data - out) * g  # d/dx_i = softmax_i


def logsumexp(values: Iterable[Value | Number]) -> Value:
    """log(sum(exp(v))) as one node, max-shifted so it never overflows."""
    xs = [v if isinstance(v, Value) else Value(_real(v, "logsumexp item")) for v in values]
    if not xs:
        raise ValueError("logsumexp needs at least one value, got an empty sequence")
    m = max(x.data for x in xs)
    out = m + math.log(math.fsum(math.exp(x.data - m) for x in xs))
    return _node(out, tuple(xs), "logsumexp", _logsumexp_backward)


DERIVATIVES["logsumexp"] = lambda node: tuple((p - node).exp() for p in node.parents)


def log_softmax(values: Iterable[Value | Number]) -> list[Value]:
    """[v - logsumexp(values) for v in values], stable for any finite input."""
    xs = [v if isinstance(v, Value) else Value(_real(v, "log_softmax item")) for v in values]
    lse = logsumexp(xs)
    return [x - lse for x in xs]


def softmax(values: Iterable[Value | Number]) -> list[Value]:
    """exp of log_softmax: probabilities that sum to 1, stable for any finite input."""
    return [v.exp() for v in log_softmax(values)]


# ---------------------------------------------------------------------------
# Operator wiring

Value.__add__ = add
Value.__radd__ = add
Value.__sub__ = sub
Value.__rsub__ = rsub
Value.__mul__ = mul
Value.__rmul__ = mul
Value.__truediv__ = truediv
Value.__rtruediv__ = rtruediv
Value.__pow__ = power
Value.__rpow__ = rpow
Value.__neg__ = neg
Value.__abs__ = abs_
Value.exp = exp
Value.log = log
Value.tanh = tanh
Value.sigmoid = sigmoid
Value.relu = relu
Value.leaky_relu = leaky_relu
Value.softplus = softplus
Value.sqrt = sqrt
Value.sin = sin
Value.cos = cos
