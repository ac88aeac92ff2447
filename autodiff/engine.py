"""The engine: `Value`, a scalar node of a computation graph, and its ops.

Every op is a method of `Value` and one block: the forward computation, the
node it creates, and its local derivative in two adjacent forms - the float
form the fast backward uses (inside the method, or in the rule right below
it) and, in the `@derivative(...)` line above it, the same derivative as a
Value expression, which `grad(..., create_graph=True)`, `jvp` and the
explorer use. Search for `def tanh` and both are on screen.

A node points to a shared, per-op backward function (called with the node)
instead of owning a closure: a closure that captures its own output node makes
every graph cyclic garbage, which CPython's cyclic collector then spends most
of a training step on. Here a graph is freed by reference counting alone. The
README's design notes have the measurements.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import repeat
from typing import Any, TypeVar

from autodiff import graph

Number = int | float
Rule = Callable[["Value"], None]
Derivative = Callable[["Value"], tuple[Any, ...]]
F = TypeVar("F", bound=Callable[..., Any])

# Local derivatives as Value expressions, for higher-order gradients and forward mode:
# DERIVATIVES[op](node) -> one entry per parent, each a Value or a float.
DERIVATIVES: dict[str, Derivative] = {}


def derivative(op: str, rule: Derivative) -> Callable[[F], F]:
    """Register `rule` as op's local derivatives in Value form; the method is left as is."""

    def register(method: F) -> F:
        DERIVATIVES[op] = rule
        return method

    return register


# ---------------------------------------------------------------------------
# Recording: on unless inside no_grad(), separately for each thread and asyncio task

_recording: ContextVar[bool] = ContextVar("autodiff_recording", default=True)
_is_recording = _recording.get


@contextmanager
def no_grad() -> Iterator[None]:
    """Context manager in which ops record no parents: for updates and inference.

    It holds for the current thread or asyncio task only, like PyTorch's.
    """
    token = _recording.set(False)
    try:
        yield
    finally:
        _recording.reset(token)


@contextmanager
def _enable_grad() -> Iterator[None]:
    token = _recording.set(True)
    try:
        yield
    finally:
        _recording.reset(token)


# ---------------------------------------------------------------------------
# Checking numbers


def _real(x: object, where: str) -> float:
    """`x` as a finite float, or a TypeError/ValueError that names it."""
    kind = type(x)
    if kind is float:
        if x - x == 0.0:  # type: ignore[operator]  # false for inf and NaN
            return x  # type: ignore[return-value]
    elif kind is int:
        try:
            return float(x)  # type: ignore[arg-type]
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
    if math.isfinite(x):  # type: ignore[arg-type]
        return x  # type: ignore[return-value]
    raise ValueError(f"{where} needs a finite number, got {x!r}; NaN and infinity are refused")


def _data(x: Value | Number, op: str) -> float:
    """The float behind an operand: a Value's data or a checked number."""
    return x.data if isinstance(x, Value) else _real(x, f"Value {op} operand")


def _bad_data(op: str, operands: Sequence[object]) -> Exception:
    """The error for an op whose operands hold data that was set by hand to a non-number."""
    for v in operands:
        if isinstance(v, Value) and (type(v.data) not in (float, int) or v.data != v.data):
            return TypeError(
                f"op {op!r}: {v!r} has .data = {v.data!r} ({type(v.data).__name__}), set by "
                "hand; a Value's data must be a finite float - assign a number, e.g. v.data = 0.5"
            )
    return TypeError(f"op {op!r} cannot combine {', '.join(map(repr, operands))}")


def _overflow_message(data: float, parents: Any, op: str, ctx: object) -> str:
    values = parents if parents.__class__ is tuple else (parents,)
    for v in values:
        if not math.isfinite(v.data):
            return (
                f"op {op!r}: its input {v!r} has .data = {v.data!r}, set by hand; a Value's "
                "data must be a finite float - assign a finite number"
            )
    shown = ", ".join(repr(p.data) for p in values[:4]) + (", ..." if len(values) > 4 else "")
    constant = f" and the number {ctx!r}" if isinstance(ctx, float) else ""
    return (
        f"op {op!r} on {shown}{constant} gives {data!r}: the result is beyond the float "
        "range (about 1.8e308); scale the inputs down"
    )


_new = object.__new__


def _node(
    data: float, parents: Any, op: str, backward: Rule, ctx: Any = None, rank: int = -1
) -> Value:
    """Create an op's output node (no validation: the op has done it).

    `parents` is the single parent itself for one-parent ops, else a tuple
    (two-parent ops use _node2). Its rank is one more than its parents' largest
    (the caller may pass it, when it knows it more cheaply).
    Under no_grad() the node keeps no parents; its `_ctx` keeps the op's name
    so that differentiating it can say why there is nothing to differentiate.
    """
    if data - data != 0.0:  # inf (or NaN): the result left the float range
        raise OverflowError(_overflow_message(data, parents, op, ctx))
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _is_recording():
        out.op = op
        out._prev = parents
        out._backward = backward
        out._ctx = ctx
        if rank < 0:
            rank = parents._rank + 1 if parents.__class__ is not tuple else \
                max([p._rank for p in parents], default=-1) + 1
        out._rank = rank
    else:
        _detach(out, op)
    return out


def _node2(data: float, a: Value, b: Value, op: str, backward: Rule) -> Value:
    """Create the output node of a two-parent op: `a` in _prev, `b` in _ctx.

    The same as _node(data, (a, b), ...) without the tuple: a binary node is
    then one object instead of two, for the allocator and the cyclic GC.
    """
    if data - data != 0.0:
        raise OverflowError(_overflow_message(data, (a, b), op, None))
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _is_recording():
        out.op = op
        out._prev = a
        out._backward = backward
        out._ctx = b
        rank = a._rank
        other = b._rank
        out._rank = (rank if rank > other else other) + 1
    else:
        _detach(out, op)
    return out


def _detach(out: Value, op: str) -> None:
    """Make `out` a node without parents: its op ran under no_grad()."""
    out.op = ""
    out._prev = ()
    out._backward = None
    out._ctx = op  # a str: "computed by this op under no_grad()"
    out._rank = 0


def _unary_backward(node: Value) -> None:
    """parent.grad += local derivative (kept in _ctx at forward time) * node.grad"""
    node._prev.grad += node._ctx * node.grad


def _constant_derivative(node: Value) -> tuple[Any, ...]:
    return (node._ctx,)


def _scaled_product(factors: Iterable[float], divisor: float = 1.0) -> float:
    """prod(factors) / divisor with no overflow or underflow on the way (frexp/ldexp)."""
    mantissa, exponent = 1.0, 0
    for f in factors:
        m, e = math.frexp(f)
        mantissa, e2 = math.frexp(mantissa * m)
        exponent += e + e2
    m, e = math.frexp(divisor)
    mantissa /= m
    exponent -= e
    try:
        return math.ldexp(mantissa, exponent)
    except OverflowError:
        return math.copysign(math.inf, mantissa)


def _careful(result: float, factors: tuple[float, ...], divisor: float = 1.0) -> float:
    """`result` (a product computed the fast way) unless it overflowed or underflowed."""
    if result - result == 0.0 and (result != 0.0 or 0.0 in factors):
        return result
    return _scaled_product(factors, divisor)


def _infinite_derivative(what: str) -> None:
    raise ZeroDivisionError(
        f"the derivative of {what} is infinite; grad(create_graph=True) cannot build it"
    )


def _negative_base(base: float, exponent: float) -> None:
    raise ValueError(
        f"the gradient of {base!r} ** {exponent!r} with respect to the exponent needs "
        f"log({base!r}), which is not a real number; make the exponent a plain number "
        "if it is a constant, or keep the base positive"
    )


def _power(x: float, n: float) -> float:
    """x ** n for floats, with the op's domain errors spelled out (the text is made only
    for an error: formatting two floats costs more than the power)."""
    if x < 0.0 and n != int(n):
        raise ValueError(
            f"{x!r} ** {n!r}: a negative base with a non-integer exponent has no real value; "
            "use abs() on the base or an integer exponent"
        )
    if x == 0.0 and n < 0.0:
        raise ZeroDivisionError(f"{x!r} ** {n!r}: 0 cannot be raised to a negative power")
    try:
        out: float = x**n
    except OverflowError:
        raise OverflowError(f"{x!r} ** {n!r} is too large for a float") from None
    return out


def _pow_slope(x: float, n: float, out: float, g: float) -> float:
    """g * d(x**n)/dx = g * n * x**(n-1) for a number exponent, edge cases at x = 0 included."""
    if n == 0.0:
        return 0.0
    if x == 0.0:
        slope = 1.0 if n == 1.0 else (0.0 if n > 1.0 else math.inf)
        return slope * g
    try:
        fast = n * x ** (n - 1.0) * g
    except OverflowError:
        fast = math.inf
    return _careful(fast, (n, out, g), x)  # n * x**n / x * g when x**(n-1) overflows


def _sigmoid_and_slope(x: float) -> tuple[float, float]:
    """(sigmoid(x), sigmoid'(x)) for any finite x; the slope as s(x)*s(-x), never 1 - 1."""
    if x >= 0.0:
        e = math.exp(-x)
        s = 1.0 / (1.0 + e)
        return s, s * (e * s)
    e = math.exp(x)  # never overflows for x < 0
    s = e / (1.0 + e)
    return s, s / (1.0 + e)


def _tanh_tail_slope(x: float) -> float:
    """1 - tanh(x)^2 as 4e^-2|x| / (1 + e^-2|x|)^2, for |tanh(x)| >= 0.5 where 1 - t*t cancels."""
    e = math.exp(-2.0 * abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


_CUT = (
    "{what} would turn a Value into a plain number and cut the graph, so gradients would "
    "silently miss this path; use the Value's own methods (v.exp(), v.log(), v.tanh(), "
    "v.sqrt(), ...) to stay on the graph, or v.data if you really want the number"
)


class Value:
    """A scalar in a computation graph: its data, its gradient and how it was made."""

    # _prev holds the parents: the parent itself for one-parent ops, the first
    # parent for two-parent ops (the second is in _ctx, the only case where _ctx
    # is a Value), a tuple otherwise. No tuple for one or two parents saves a
    # GC-tracked object per node. _rank is 0 for a node without parents, else
    # 1 + its parents' largest rank: graph.py orders by it.
    __slots__ = ("data", "grad", "label", "op", "_prev", "_backward", "_ctx", "_rank")

    data: float
    grad: float
    label: str
    op: str
    _prev: Any  # Value | tuple[Value, ...]
    _backward: Rule | None
    _ctx: Any  # whatever the op's rule needs, e.g. a local derivative known at forward time
    _rank: int

    def __init__(self, data: float, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(
                f"Value label must be a str, got {label!r} ({type(label).__name__}); "
                "pass a short name such as label='w1'"
            )
        self.data = _real(data, "Value()")
        self.grad = 0.0
        self.label = label
        self.op = ""
        self._prev = ()
        self._backward = None
        self._ctx = None
        self._rank = 0

    def __repr__(self) -> str:
        label = f"{self.label!r}, " if self.label else ""
        try:
            return f"Value({label}data={self.data:.6g}, grad={self.grad:.6g})"
        except (TypeError, ValueError):  # data or grad set by hand to a non-number
            return f"Value({label}data={self.data!r}, grad={self.grad!r})"

    def __format__(self, spec: str) -> str:
        """f"{v:.4f}" formats the data; f"{v}" is the repr."""
        return format(self.data, spec) if spec else repr(self)

    # A Value never silently becomes a plain number: that would cut the graph.
    def __float__(self) -> float:
        raise TypeError(_CUT.format(what="float(v) (or math.*(v))"))

    def __int__(self) -> int:
        raise TypeError(_CUT.format(what="int(v)"))

    def __index__(self) -> int:
        raise TypeError(_CUT.format(what="using a Value as an index"))

    def __complex__(self) -> complex:
        raise TypeError(_CUT.format(what="complex(v)"))

    def __round__(self, ndigits: int | None = None) -> float:
        raise TypeError(_CUT.format(what="round(v)"))

    def __trunc__(self) -> int:
        raise TypeError(_CUT.format(what="math.trunc(v)"))

    def __floor__(self) -> int:
        raise TypeError(_CUT.format(what="math.floor(v)"))

    def __ceil__(self) -> int:
        raise TypeError(_CUT.format(what="math.ceil(v)"))

    @property
    def parents(self) -> tuple[Value, ...]:
        """The Values this node was computed from, in order; () for a leaf."""
        prev = self._prev
        if prev.__class__ is tuple:
            return prev
        other = self._ctx
        return (prev, other) if isinstance(other, Value) else (prev,)

    @parents.setter
    def parents(self, values: Iterable[Value]) -> None:
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
        if self._prev.__class__ is tuple:
            self._prev = values
        elif len(values) == 2:
            self._prev, self._ctx = values
        else:
            self._prev = values[0]
        if any(v._rank >= self._rank or v._rank == graph.EDITED for v in values):
            self._rank = graph.EDITED  # ranks no longer sort this graph

    def backward(self) -> None:
        """Accumulate d(self)/d(node) into `.grad` of every node of this graph.

        Leaves accumulate across calls (call `zero_grad` or an optimizer's
        `zero_grad` between steps); intermediate nodes hold this call's values.
        A call that raises changes no `.grad`.
        """
        _refuse_detached(self, "backward()")
        graph.backward(self)

    def zero_grad(self) -> None:
        """Set `.grad` to 0 on every node of this graph."""
        graph.zero_grad(self)

    # Comparisons look at data. `==` is deliberately left as identity so that
    # Values stay hashable and usable in sets and dicts.
    def __lt__(self, other: Value | float) -> bool:
        return self.data < _data(other, "<")

    def __le__(self, other: Value | float) -> bool:
        return self.data <= _data(other, "<=")

    def __gt__(self, other: Value | float) -> bool:
        return self.data > _data(other, ">")

    def __ge__(self, other: Value | float) -> bool:
        return self.data >= _data(other, ">=")

    # -----------------------------------------------------------------------
    # Arithmetic. A plain-number operand stays in the node's _ctx instead of
    # becoming a leaf Value: fewer nodes, same gradients.

    @derivative("neg", _constant_derivative)
    def __neg__(self) -> Value:
        """-self"""
        return _node(-self.data, self, "neg", _unary_backward, -1.0)

    @derivative("abs", _constant_derivative)
    def __abs__(self) -> Value:
        """abs(self); the derivative at 0 is 0, as in PyTorch"""
        x = self.data
        return _node(abs(x), self, "abs", _unary_backward, (x > 0.0) - (x < 0.0) + 0.0)

    @derivative("+", lambda node: (1.0,) * len(node.parents))
    def __add__(self, other: Value | float) -> Value:
        """self + other"""
        try:
            if isinstance(other, Value):
                return _node2(self.data + other.data, self, other, "+", _add_backward)
            # a finite float needs no more checking (the common case, without a call)
            c = other if other.__class__ is float and other - other == 0.0 else \
                _real(other, "Value + operand")
            return _node(self.data + c, self, "+", _pass_backward, c)
        except TypeError:
            raise _bad_data("+", (self, other)) from None

    __radd__ = __add__

    @staticmethod
    def _add_backward(node: Value) -> None:  # a + b: parents _prev and _ctx
        node._prev.grad += node.grad
        node._ctx.grad += node.grad

    @staticmethod
    def _pass_backward(node: Value) -> None:  # x + c, x - c: d/dx = 1
        node._prev.grad += node.grad

    @derivative("-", lambda node: (1.0, -1.0)[: len(node.parents)])
    def __sub__(self, other: Value | float) -> Value:
        """self - other"""
        try:
            if isinstance(other, Value):
                return _node2(self.data - other.data, self, other, "-", _sub_backward)
            c = other if other.__class__ is float and other - other == 0.0 else \
                _real(other, "Value - operand")
            return _node(self.data - c, self, "-", _pass_backward, c)
        except TypeError:
            raise _bad_data("-", (self, other)) from None

    @staticmethod
    def _sub_backward(node: Value) -> None:
        node._prev.grad += node.grad
        node._ctx.grad -= node.grad

    def __rsub__(self, other: float) -> Value:
        """other - self (the number becomes a leaf, so the graph shows it)"""
        return Value(_real(other, "operand - Value")) - self

    @derivative("*", lambda node: (
        (node.parents[1], node.parents[0]) if len(node.parents) == 2 else (node._ctx,)
    ))
    def __mul__(self, other: Value | float) -> Value:
        """self * other"""
        try:
            if isinstance(other, Value):
                return _node2(self.data * other.data, self, other, "*", _mul_backward)
            c = other if other.__class__ is float and other - other == 0.0 else \
                _real(other, "Value * operand")
            return _node(self.data * c, self, "*", _unary_backward, c)  # d/dx (x*c) = c
        except TypeError:
            raise _bad_data("*", (self, other)) from None

    __rmul__ = __mul__

    @staticmethod
    def _mul_backward(node: Value) -> None:
        a, b = node._prev, node._ctx
        a.grad += b.data * node.grad
        b.grad += a.data * node.grad

    @derivative("**", lambda node: _pow_derivative(node))
    def __pow__(self, other: Value | float) -> Value:
        """self ** other, for a number or a Value exponent"""
        try:
            if isinstance(other, Value):
                out = _power(self.data, other.data)
                return _node2(out, self, other, "**", _pow_backward)
            n = _real(other, "Value ** exponent")
            out = _power(self.data, n)
            return _node(out, self, "**", _pow_const_backward, n)
        except TypeError:
            raise _bad_data("**", (self, other)) from None

    @staticmethod
    def _pow_const_backward(node: Value) -> None:
        x = node._prev
        x.grad += _pow_slope(x.data, node._ctx, node.data, node.grad)

    @staticmethod
    def _pow_backward(node: Value) -> None:
        base, exponent = node._prev, node._ctx
        b, g = base.data, node.grad
        if b < 0.0:
            _negative_base(b, exponent.data)
        base.grad += _pow_slope(b, exponent.data, node.data, g)
        if b > 0.0:  # d(b**e)/de = b**e * log(b); 0 at b = 0 (its limit)
            log_b = math.log(b)
            exponent.grad += _careful(node.data * log_b * g, (node.data, log_b, g))

    def __rpow__(self, other: float) -> Value:
        """other ** self (the number becomes a leaf)"""
        return Value(_real(other, "base ** Value")) ** self

    @derivative("/", lambda node: (
        (1.0 / node._ctx,) if len(node.parents) == 1
        else (node.parents[1] ** -1.0, -node / node.parents[1])  # type: ignore[has-type]
    ))  # (mypy cannot see a method inside its own decorator)
    def __truediv__(self, other: Value | float) -> Value:
        """self / other"""
        try:
            if isinstance(other, Value):
                if other.data == 0.0:
                    raise ZeroDivisionError(
                        f"division by zero: {self!r} / {other!r}; the divisor's data is 0"
                    )
                return _node2(self.data / other.data, self, other, "/", _div_backward)
            c = other if other.__class__ is float and other - other == 0.0 else \
                _real(other, "Value / operand")
            if c == 0.0:
                raise ZeroDivisionError(f"division by zero: {self!r} / {other!r}")
            return _node(self.data / c, self, "/", _div_const_backward, c)
        except TypeError:
            raise _bad_data("/", (self, other)) from None

    @staticmethod
    def _div_backward(node: Value) -> None:
        a, b = node._prev, node._ctx
        g = node.grad
        a.grad += _careful(g / b.data, (g,), b.data)
        # d(a/b)/db = -a/b^2 = -out/b, ordered so no intermediate overflows when the result fits
        b.grad -= _careful(g * node.data / b.data, (g, node.data), b.data)

    @staticmethod
    def _div_const_backward(node: Value) -> None:
        node._prev.grad += node.grad / node._ctx

    def __rtruediv__(self, other: float) -> Value:
        """other / self (the number becomes a leaf)"""
        return Value(_real(other, "operand / Value")) / self


    # -----------------------------------------------------------------------
    # Functions of one variable: the float local derivative goes into _ctx and
    # _unary_backward applies it; @derivative holds the same one as a Value expression.

    @derivative("exp", lambda node: (node,))
    def exp(self) -> Value:
        """e ** self; (e^x)' = e^x"""
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise OverflowError(
                f"exp({self.data!r}) is too large for a float (the limit is about "
                "exp(709.78)); scale the input down or use a stable form such as logsumexp "
                "or softplus"
            ) from None
        except TypeError:
            raise _bad_data("exp", (self,)) from None
        return _node(out, self, "exp", _unary_backward, out)

    @derivative("log", lambda node: (node.parents[0] ** -1.0,))
    def log(self) -> Value:
        """natural logarithm of self (self > 0); (ln x)' = 1/x"""
        x = self.data
        try:
            if x <= 0.0:
                raise ValueError(f"log({x!r}): log is defined only for positive numbers")
            return _node(math.log(x), self, "log", _unary_backward, 1.0 / x)
        except TypeError:
            raise _bad_data("log", (self,)) from None

    @derivative("tanh", lambda node: (1.0 - node * node,))
    def tanh(self) -> Value:
        """hyperbolic tangent; tanh' = 1 - tanh^2"""
        x = self.data
        try:
            t = math.tanh(x)
        except TypeError:
            raise _bad_data("tanh", (self,)) from None
        slope = 1.0 - t * t if -0.5 < t < 0.5 else _tanh_tail_slope(x)
        return _node(t, self, "tanh", _unary_backward, slope)

    @derivative("sigmoid", lambda node: (node * (1.0 - node),))
    def sigmoid(self) -> Value:
        """logistic function 1 / (1 + e^-x), stable for any finite input; s' = s(1 - s)"""
        try:
            s, slope = _sigmoid_and_slope(self.data)
        except TypeError:
            raise _bad_data("sigmoid", (self,)) from None
        return _node(s, self, "sigmoid", _unary_backward, slope)

    @derivative("relu", _constant_derivative)
    def relu(self) -> Value:
        """max(0, self); the derivative is 1 above 0, else 0 (0 at 0, as in PyTorch)"""
        x = self.data
        try:
            if x > 0.0:
                return _node(x, self, "relu", _unary_backward, 1.0)
        except TypeError:
            raise _bad_data("relu", (self,)) from None
        return _node(0.0, self, "relu", _unary_backward, 0.0)

    @derivative("leaky_relu", _constant_derivative)
    def leaky_relu(self, slope: float = 0.01) -> Value:
        """self if self > 0 else slope * self; the derivative is 1 or slope"""
        slope = _real(slope, "leaky_relu slope")
        x = self.data
        try:
            if x > 0.0:
                return _node(x, self, "leaky_relu", _unary_backward, 1.0)
            return _node(slope * x, self, "leaky_relu", _unary_backward, slope)
        except TypeError:
            raise _bad_data("leaky_relu", (self,)) from None

    @derivative("softplus", lambda node: (node.parents[0].sigmoid(),))
    def softplus(self) -> Value:
        """log(1 + e^x), stable for any finite input; softplus' = sigmoid"""
        x = self.data
        try:
            out = math.log1p(math.exp(-abs(x))) + (x if x > 0.0 else 0.0)
        except TypeError:
            raise _bad_data("softplus", (self,)) from None
        return _node(out, self, "softplus", _unary_backward, _sigmoid_and_slope(x)[0])

    @derivative("sqrt", lambda node: _sqrt_derivative(node))
    def sqrt(self) -> Value:
        """square root (self >= 0); sqrt' = 0.5 / sqrt(x), infinite at 0"""
        x = self.data
        try:
            if x < 0.0:
                raise ValueError(
                    f"sqrt({x!r}): the square root of a negative number is not real"
                )
            r = math.sqrt(x)
        except TypeError:
            raise _bad_data("sqrt", (self,)) from None
        return _node(r, self, "sqrt", _unary_backward, 0.5 / r if r else math.inf)

    @derivative("sin", lambda node: (node.parents[0].cos(),))  # type: ignore[has-type]
    def sin(self) -> Value:
        """sine (radians); sin' = cos"""
        x = self.data
        try:
            return _node(math.sin(x), self, "sin", _unary_backward, math.cos(x))
        except TypeError:
            raise _bad_data("sin", (self,)) from None

    @derivative("cos", lambda node: (-node.parents[0].sin(),))
    def cos(self) -> Value:
        """cosine (radians); cos' = -sin"""
        x = self.data
        try:
            return _node(math.cos(x), self, "cos", _unary_backward, -math.sin(x))
        except TypeError:
            raise _bad_data("cos", (self,)) from None

    def _repr_html_(self) -> str:
        """A small HTML card for Jupyter: name, data, grad and op (see drawing.value_html)."""
        from autodiff.drawing import value_html  # drawing imports this module

        return value_html(self)


# Each op above refers to its rule by a plain global name, as fast as a local
# function; the rules themselves are written beside their ops.
_add_backward = Value._add_backward
_pass_backward = Value._pass_backward
_sub_backward = Value._sub_backward
_mul_backward = Value._mul_backward
_div_backward = Value._div_backward
_div_const_backward = Value._div_const_backward
_pow_backward = Value._pow_backward
_pow_const_backward = Value._pow_const_backward


def _pow_derivative(node: Value) -> tuple[Any, ...]:
    """Value form of the local derivatives of x ** n and b ** e."""
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


def _sqrt_derivative(node: Value) -> tuple[Any, ...]:
    if node.data == 0.0:
        _infinite_derivative("sqrt at 0")
    return (0.5 * node**-1.0,)


def local_derivatives(node: Value) -> tuple[float, ...]:
    """d(node)/d(parent) as floats, one per parent, from DERIVATIVES (evaluated, not recorded).

    Raises ValueError for an op with no entry, ZeroDivisionError where a
    derivative is infinite (sqrt at 0) and OverflowError where it is beyond
    the float range.
    """
    rule = DERIVATIVES.get(node.op)
    if rule is None:
        raise ValueError(
            f"op {node.op!r} of {node!r} has no entry in autodiff.engine.DERIVATIVES, so its "
            "local derivatives are unknown"
        )
    with no_grad():
        terms = rule(node)
    return tuple([t.data if isinstance(t, Value) else float(t) for t in terms])


def _refuse_detached(root: Value, what: str) -> None:
    """A node computed under no_grad() has no graph: differentiating it would give zeros."""
    if root._ctx.__class__ is str and not root._prev:
        raise ValueError(
            f"{root!r} was computed by op {root._ctx!r} under no_grad(), so it has no graph "
            f"to differentiate and {what} would silently give zeros; compute it outside "
            "no_grad() to get gradients"
        )


# ---------------------------------------------------------------------------
# Functions of many variables, each a single n-ary node

_VALUE = repeat(Value)  # for all(map(isinstance, xs, _VALUE)): a type check at C speed
_FLOAT = {float}


def _sum_backward(node: Value) -> None:
    g = node.grad
    for p in node._prev:
        p.grad += g


@derivative("sum", lambda node: (1.0,) * len(node.parents))
def sum_values(values: Iterable[Value | float]) -> Value:
    """The sum of `values` (Values and numbers) as one node."""
    parents = []
    constant = 0.0
    for v in values:
        if isinstance(v, Value):
            parents.append(v)
        else:
            constant += _real(v, "sum_values item")
    try:
        total = sum([p.data for p in parents], constant)
    except TypeError:
        raise _bad_data("sum", parents) from None
    return _node(total, tuple(parents), "sum", _sum_backward, constant)


def _dot_backward(node: Value) -> None:
    """parents = xs + ys (+ bias); _ctx = len(xs). d/dx_i = y_i, d/dy_i = x_i, d/dbias = 1."""
    g = node.grad
    if not g:  # e.g. below an inactive relu: every term would add 0 * a finite number
        return
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
    if not g:
        return
    parents = node._prev
    for p, c in zip(parents, node._ctx):
        p.grad += c * g
    if len(parents) > len(node._ctx):
        parents[-1].grad += g


def _floats(values: Sequence[Any], where: str) -> tuple[float, ...]:
    """`values` as a tuple of finite floats; quick when they already are."""
    if set(map(type, values)) <= _FLOAT:
        total = sum(values)
        if total - total == 0.0:  # no NaN or inf among them
            return values if type(values) is tuple else tuple(values)
    return tuple([_real(v, where) for v in values])


def _dot_derivative(node: Value) -> tuple[Any, ...]:
    return _dot_terms(node.parents, node._ctx)


def _dot_terms(parents: tuple[Value, ...], ctx: Any) -> tuple[Any, ...]:
    """d(dot)/d(parent) for a dot node's parents and _ctx (its length n, or its coefficients)."""
    if isinstance(ctx, tuple):
        coefficients: tuple[float, ...] = ctx
        return coefficients + (1.0,) * (len(parents) - len(coefficients))
    n: int = ctx
    return parents[n : 2 * n] + parents[:n] + (1.0,) * (len(parents) - 2 * n)


@derivative("dot", _dot_derivative)
def dot(
    xs: Iterable[Value | float], ys: Iterable[Value | float], bias: Value | float = 0.0
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
    try:
        if xs_values != ys_values and not any(map(isinstance, ys if xs_values else xs, _VALUE)):
            # Values times numbers: only the Values are parents, the numbers go in _ctx
            if ys_values:
                xs, ys = ys, xs
            coefficients = _floats(ys, "dot item")
            total = start
            for x, c in zip(xs, coefficients):  # added in order, as dot_rows does
                total += x.data * c
            return _node(total, (*xs, *tail), "dot", _dot_const_backward, coefficients)
        if not (xs_values and ys_values):  # a stray number among Values becomes a leaf
            xs = [x if isinstance(x, Value) else Value(_real(x, "dot item")) for x in xs]
            ys = [y if isinstance(y, Value) else Value(_real(y, "dot item")) for y in ys]
        total = start
        for x, y in zip(xs, ys):
            total += x.data * y.data
        return _node(total, (*xs, *ys, *tail), "dot", _dot_backward, len(xs))
    except TypeError:
        raise _bad_data("dot", [*xs, *ys, *tail]) from None


def dot_rows(
    rows: Sequence[Sequence[Value]],
    xs: Sequence[Value | float],
    biases: Sequence[Value],
    activation: Callable[[Value], Value] | None = None,
) -> list[Value]:
    """[activation(dot(row, xs, bias)) for row, bias in zip(rows, biases)]: a layer.

    The same values as that list of dot calls, built with one look at the
    shared inputs instead of one per row. With `activation=Value.relu` each
    neuron is one fused "dot_relu" node instead of a dot node and a relu node
    (same numbers, a third fewer nodes to build and walk); drawings and the
    explorer split it back into its two steps (see `unfuse`), and inside
    `unfused()` it is built as two nodes.
    """
    if type(xs) is not tuple:
        xs = tuple(xs)
    if len(rows) != len(biases):
        raise ValueError(f"dot_rows needs one bias per row, got {len(rows)} rows and "
                         f"{len(biases)} biases")
    act = activation or _identity
    # parents: row + xs + bias as dot(row, xs, bias) has them, or row + bias with
    # the numbers xs as coefficients (`data`, shared by every row's node)
    data: Sequence[float]
    tail: tuple[Value, ...] = ()
    if xs and all(map(isinstance, xs, _VALUE)):
        tail = xs  # type: ignore[assignment]
        data = [x.data for x in tail]
    elif any(map(isinstance, xs, _VALUE)):  # mixed: dot makes the numbers leaves
        return [act(dot(row, xs, b)) for row, b in zip(rows, biases)]
    else:
        data = _floats(xs, "dot item")
    try:
        fused = activation is Value.relu and _fusing.get() and _is_recording()
        out = _layer_rows(rows, biases, data, tail, act, fused)
    except TypeError:
        raise _bad_data("dot", [*xs, *biases, *(w for row in rows for w in row)]) from None
    if out is None:  # a row of another length, or an item that is not a Value
        return [act(dot(row, xs, b)) for row, b in zip(rows, biases)]  # dot explains
    return out


# dot_rows' loop. Each row's weighted sum and largest rank come from one plain
# loop (quicker here than sum(map(...)), and in the same order of addition); an
# item without .data or ._rank is not a Value, and dot_rows then takes the
# general path.


def _layer_rows(
    rows: Sequence[Sequence[Value]], biases: Sequence[Value], data: Sequence[float],
    tail: tuple[Value, ...], act: Callable[[Value], Value], fused: bool,
) -> list[Value] | None:
    """One node per row: a dot node and its activation, each activation right after its
    dot (the order unfuse() gives), or with `fused` one dot_relu node made here in full
    (the hottest loop of training an MLP, so _node's steps are written out)."""
    n = len(data)
    if fused:
        rule = _dot_relu_backward if tail else _dot_relu_const_backward
    else:
        rule = _dot_backward if tail else _dot_const_backward
    ctx = n if tail else data
    tail_rank = max([x._rank for x in tail], default=0)
    out: list[Value] = []
    append = out.append
    try:
        for row, b in zip(rows, biases):
            if len(row) != n or not isinstance(b, Value):
                return None
            z = b.data
            rank = b._rank if b._rank > tail_rank else tail_rank
            for w, x in zip(row, data):
                z += w.data * x
                if w._rank > rank:
                    rank = w._rank
            if not fused:
                append(act(_node(z, (*row, *tail, b), "dot", rule, ctx, rank + 1)))
                continue
            if z - z != 0.0:  # inf or NaN, which relu would hide
                raise OverflowError(_overflow_message(z, (*row, *tail, b), "dot_relu", None))
            node = _new(Value)
            node.grad = 0.0
            node.label = ""
            node.op = "dot_relu"
            node._prev = (*row, *tail, b)
            node._backward = rule
            if tail:  # _ctx = the weighted sum z
                node.data = z if z > 0.0 else 0.0
                node._ctx = z
            elif z > 0.0:  # _ctx = the numbers, and z too where it is not the data
                node.data = z
                node._ctx = data
            else:
                node.data = 0.0
                node._ctx = (data, z)
            node._rank = rank + 1
            append(node)
    except AttributeError:
        return None
    return out


def _identity(v: Value) -> Value:
    return v


def _dot_relu_backward(node: Value) -> None:
    """relu(dot(row, xs) + bias) as one node, parents row + xs + bias; _ctx = the sum z.

    The dot's rule when z > 0, else nothing (relu'(z) = 0).
    """
    g = node.grad
    if node._ctx <= 0.0 or not g:
        return
    parents = node._prev
    n = len(parents) // 2
    for x, y in zip(parents[:n], parents[n : 2 * n]):
        x.grad += y.data * g
        y.grad += x.data * g
    parents[-1].grad += g


def _dot_relu_const_backward(node: Value) -> None:
    """The same for numbers xs: parents row + bias; _ctx = the numbers while z > 0 (the
    node's data is z then), (the numbers, z) otherwise."""
    g = node.grad
    if node.data <= 0.0 or not g:  # relu(z) > 0 exactly when z > 0
        return
    parents = node._prev
    for p, c in zip(parents, node._ctx):
        p.grad += c * g
    parents[-1].grad += g


def _fused_parts(node: Value) -> tuple[Any, float]:
    """(the dot's _ctx, the weighted sum z) of a fused dot_relu node."""
    if node._backward is not _dot_relu_const_backward:
        return len(node._prev) // 2, node._ctx
    if node.data > 0.0:
        return node._ctx, node.data
    coefficients, z = node._ctx
    return coefficients, z


def _fused_derivative(node: Value) -> tuple[Any, ...]:
    ctx, z = _fused_parts(node)
    return _dot_terms(node.parents, ctx) if z > 0.0 else (0.0,) * len(node.parents)


DERIVATIVES["dot_relu"] = _fused_derivative

_fusing: ContextVar[bool] = ContextVar("autodiff_fusing", default=True)


@contextmanager
def unfused() -> Iterator[None]:
    """Build every neuron as a dot node and an activation node (no fused nodes), e.g. to
    record a graph whose every step shows."""
    token = _fusing.set(False)
    try:
        yield
    finally:
        _fusing.reset(token)


def unfuse(root: Value) -> Value:
    """root's graph with every fused neuron split back into its dot and relu nodes.

    The nodes downstream of a fused one are copies (same op, data, grad and
    label; new parents); leaves and everything else are shared, and root
    itself comes back when nothing is fused. The split dot node's grad is what
    backward gives it: relu'(z) times the neuron's grad. For drawing and the
    explorer, which show the graph as learners know it.
    """
    order = graph.topological_order(root)
    if not any(node.op == "dot_relu" for node in order):
        return root
    copies: dict[Value, Value] = {}
    for node in order:  # parents first, so each copy's rank is known from its parents'
        if not node._prev or not (node.op == "dot_relu" or any(map(copies.__contains__,
                                                                    node.parents))):
            continue
        parents = tuple(copies.get(p, p) for p in node.parents)
        if node.op == "dot_relu":
            ctx, z = _fused_parts(node)
            active = z > 0.0
            rule = _dot_backward if ctx.__class__ is int else _dot_const_backward
            weighted = _copy(z, parents, "dot", rule, ctx, node.grad if active else 0.0, "")
            copies[node] = _copy(node.data, weighted, "relu", _unary_backward,
                                 1.0 if active else 0.0, node.grad, node.label)
        elif node._prev.__class__ is tuple:
            copies[node] = _copy(node.data, parents, node.op, node._backward, node._ctx,
                                 node.grad, node.label)
        else:  # one parent, or two (the second in _ctx)
            ctx = parents[1] if len(parents) == 2 else node._ctx
            copies[node] = _copy(node.data, parents[0], node.op, node._backward, ctx,
                                 node.grad, node.label)
    return copies[root]


def _copy(data: float, parents: Any, op: str, rule: Rule | None, ctx: Any, grad: float,
          label: str) -> Value:
    out = _new(Value)
    out.data, out.grad, out.label = data, grad, label
    out.op, out._prev, out._backward, out._ctx = op, parents, rule, ctx
    out._rank = max([p._rank for p in out.parents], default=-1) + 1
    return out


def _logsumexp_backward(node: Value) -> None:
    """_ctx = (max, log of the shifted sum, softmax weights)"""
    g = node.grad
    for p, w in zip(node._prev, node._ctx[2]):
        p.grad += w * g  # d/dx_i = softmax_i


def _logsumexp(
    values: Iterable[Value | float], where: str
) -> tuple[list[Value], Value, float, float]:
    """(the values as Values, their logsumexp node, its max shift, log of the shifted sum)."""
    xs = [v if isinstance(v, Value) else Value(_real(v, f"{where} item")) for v in values]
    if not xs:
        raise ValueError(f"{where} needs at least one value, got an empty sequence")
    try:
        m = max(x.data for x in xs)
        shifted = [math.exp(x.data - m) for x in xs]
    except TypeError:
        raise _bad_data(where, xs) from None
    # the max entry contributes exactly 1: log1p of the rest keeps a tiny remainder's digits
    rest = math.fsum([*shifted, -1.0])
    total = 1.0 + rest
    log_total = math.log1p(rest)
    weights = tuple([e / total for e in shifted])
    ctx = (m, log_total, weights)
    node = _node(m + log_total, tuple(xs), "logsumexp", _logsumexp_backward, ctx)
    return xs, node, m, log_total


@derivative("logsumexp", lambda node: tuple(softmax(node.parents)))
def logsumexp(values: Iterable[Value | float]) -> Value:
    """log(sum(exp(v))) as one node, max-shifted so it never overflows.

    The softmax weights exp(x_i - max) / sum are kept for backward, so the
    gradient is right even where max + log(sum) has lost x_i's digits.
    """
    return _logsumexp(values, "logsumexp")[1]


@derivative("log_softmax", lambda node: (1.0, -1.0))
def _log_softmax_entry(x: Value, lse: Value, shift: float, log_total: float) -> Value:
    """x - lse for lse = logsumexp(values) and x among them, as (x - max) - log(shifted sum).

    That keeps every digit when x and lse are huge and nearly equal, where
    x - lse would round to 0. The rule is a - b's: d/dx = 1, d/dlse = -1.
    """
    return _node2((x.data - shift) - log_total, x, lse, "log_softmax", _sub_backward)


def log_softmax(values: Iterable[Value | float]) -> list[Value]:
    """[v - logsumexp(values) for v in values], exact for any finite input."""
    xs, lse, m, log_total = _logsumexp(values, "log_softmax")
    return [_log_softmax_entry(x, lse, m, log_total) for x in xs]


def log_softmax_at(values: Iterable[Value | float], i: int) -> Value:
    """log_softmax(values)[i] alone (two nodes, not k): the cross-entropy of class i."""
    xs, lse, m, log_total = _logsumexp(values, "log_softmax_at")
    return _log_softmax_entry(xs[i], lse, m, log_total)


def softmax(values: Iterable[Value | float]) -> list[Value]:
    """exp of log_softmax: probabilities that sum to 1, stable for any finite input."""
    return [v.exp() for v in log_softmax(values)]
