"""Second derivatives and forward mode, built on the engine's one table of local derivatives.

`hessian`, `jacobian` and `hvp` differentiate the Values that
`grad(..., create_graph=True)` returns, so the rules of every order are the ones
in `autodiff.engine.DERIVATIVES`. `jvp` runs forward accumulation: one sweep
over the recorded graph, parents before children, multiplying the same local
derivatives by the tangents of the parents. None of them reads or changes `.grad`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from autodiff import graph
from autodiff.engine import (
    Value,
    _enable_grad,
    dot,
    local_derivatives,
    sum_values,
)
from autodiff.gradients import grad


def _values(who: str, name: str, items: Any) -> list[Value]:
    """`items` as a list of Values, or a TypeError saying what to pass instead."""
    if isinstance(items, Value):
        raise TypeError(
            f"{who}: {name} must be a list of Values, got the single Value {items!r}; pass [value]."
        )
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
        raise TypeError(
            f"{who}: {name} must be a list or tuple of Values, got {items!r} "
            f"({type(items).__name__})."
        )
    for i, v in enumerate(items):
        if not isinstance(v, Value):
            raise TypeError(
                f"{who}: {name}[{i}] is {v!r} ({type(v).__name__}), not a Value; "
                f"every item of {name} must be a Value."
            )
    return list(items)


def _numbers(who: str, name: str, items: Any) -> list[float]:
    """`items` as a list of finite floats, or a TypeError/ValueError that names the bad one."""
    if isinstance(items, (str, bytes, Mapping, Value)) or not isinstance(items, Sequence):
        raise TypeError(
            f"{who}: {name} must be a list of numbers, got {items!r} ({type(items).__name__})."
        )
    out = []
    for i, x in enumerate(items):
        if type(x) is float and x - x == 0.0:  # the usual case, without the ABC checks
            out.append(x)
            continue
        if isinstance(x, Value):
            raise TypeError(
                f"{who}: {name}[{i}] is the Value {x!r}; pass plain numbers (its .data)."
            )
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(
                f"{who}: {name}[{i}] is {x!r} ({type(x).__name__}), not a real number; "
                "pass ints or floats."
            )
        try:
            f = float(x)
        except OverflowError:
            f = math.inf
        if not math.isfinite(f):
            raise ValueError(
                f"{who}: {name}[{i}] is {x!r}; it must be a finite number (no NaN or infinity)."
            )
        out.append(f)
    return out


def _output(who: str, output: Any) -> Value:
    if not isinstance(output, Value):
        raise TypeError(
            f"{who} needs a Value output, got {output!r} ({type(output).__name__}); "
            "pass the Value your expression returns."
        )
    return output


def _finite_row(who: str, row: list[float], i: int, inputs: Sequence[Value]) -> list[float]:
    """Return row, or raise ArithmeticError naming the first entry that is inf or NaN."""
    for j, x in enumerate(row):
        if not math.isfinite(x):
            raise ArithmeticError(
                f"{who}: entry [{i}][{j}] is {x!r} (the derivative with respect to "
                f"{inputs[j]!r}); a local derivative on the way is infinite or overflowed. "
                "Evaluate at a point where the function is smooth, or scale it down."
            )
    return row


def hessian(output: Value, inputs: Sequence[Value]) -> list[list[float]]:
    """The matrix of second derivatives d2(output)/d(inputs[i]) d(inputs[j]), as rows.

    Differentiates each first derivative that `grad(create_graph=True)` builds:
    one backward sweep over the gradient graph per input.
    """
    output = _output("hessian", output)
    values = _values("hessian", "inputs", inputs)
    first = grad(output, values, create_graph=True)
    rows = []
    for i, g in enumerate(first):
        row = grad(g, values)
        rows.append(_finite_row("hessian", row, i, values))
    return rows


def jacobian(outputs: Sequence[Value], inputs: Sequence[Value]) -> list[list[float]]:
    """d(outputs[i])/d(inputs[j]) as rows, one row per output (one backward sweep each)."""
    outs = _values("jacobian", "outputs", outputs)
    values = _values("jacobian", "inputs", inputs)
    rows = []
    for i, out in enumerate(outs):
        row = grad(out, values)
        rows.append(_finite_row("jacobian", row, i, values))
    return rows


def hvp(output: Value, inputs: Sequence[Value], vector: Sequence[float]) -> list[float]:
    """The Hessian of `output` times `vector`, without forming the Hessian.

    H v is the gradient of (grad(output) . v): two backward sweeps, whatever the
    number of inputs.
    """
    output = _output("hvp", output)
    values = _values("hvp", "inputs", inputs)
    v = _numbers("hvp", "vector", vector)
    if len(v) != len(values):
        raise ValueError(
            f"hvp: vector has {len(v)} numbers but there are {len(values)} inputs; "
            "give one number per input."
        )
    first = grad(output, values, create_graph=True)
    with _enable_grad():  # the dot product must be recorded even inside no_grad()
        directional = dot(first, v)
    result = grad(directional, values)
    return _finite_row("hvp", result, 0, values)


def _local_derivatives(node: Value, who: str) -> tuple[float, ...]:
    """The node's local derivative for each parent, as floats, from DERIVATIVES."""
    try:
        return local_derivatives(node)
    except ValueError as error:
        raise ValueError(f"{who} cannot differentiate through: {error}") from None
    except ZeroDivisionError as error:  # the engine refuses to build an infinite derivative
        raise ZeroDivisionError(
            f"{who}: the local derivative of op {node.op!r} at {node!r} is infinite, so the "
            f"directional derivative is not a finite number ({error})"
        ) from None


def forward_derivatives(
    outputs: Sequence[Value], seeds: Mapping[Value, float], who: str = "forward_derivatives"
) -> list[float]:
    """Forward accumulation: how fast each output moves when each seed Value moves at its rate.

    One sweep over the graph of `outputs`, parents before children; a node's
    tangent is the sum over its parents of (local derivative) x (parent's
    tangent). Leaves that are not seeds are constants (tangent 0). This is
    the Jacobian of all the outputs times the seed vector, at the cost of one
    pass, whatever the number of outputs.
    """
    outs = _values(who, "outputs", outputs)
    if not outs:
        return []
    for v in seeds:
        if not isinstance(v, Value):
            raise TypeError(f"{who}: the seed {v!r} is not a Value; seeds map Values to rates.")
    rates = _numbers(who, "the seeds' rates", list(seeds.values()))
    tangents = dict(zip(seeds, rates))
    if len(outs) == 1:
        order = graph.topological_order(outs[0])
    else:
        # one walk over the union of the graphs: a temporary node joins the outputs
        with _enable_grad():
            joined = sum_values(outs)
        order = graph.topological_order(joined)[:-1]
    for node in order:
        if node in tangents or not node.parents:
            continue  # seeds keep their rate; other leaves are constants
        parents = node.parents
        moving = [tangents.get(p, 0.0) for p in parents]
        if not any(moving):
            continue  # nothing upstream moves: skip the local derivatives entirely
        local = _local_derivatives(node, who)
        total = math.fsum(d * t for d, t in zip(local, moving) if t)
        if not math.isfinite(total):
            raise OverflowError(
                f"{who}: the tangent of {node!r} (op {node.op!r}) is {total!r}; it grew "
                "beyond the float range. Scale the inputs or the tangents down."
            )
        if total:
            tangents[node] = total
    return [tangents.get(out, 0.0) for out in outs]


def jvp(
    f: Callable[..., Value], primals: Sequence[float], tangents: Sequence[float]
) -> tuple[float, float]:
    """(f(primals), the derivative of f at primals in the direction tangents), forward mode.

    `f` is called once as f(*values), one Value per primal, and must return a
    Value. The derivative comes from one forward sweep over the graph it builds
    (see `forward_derivatives`), not from backward.
    """
    if not callable(f):
        raise TypeError(f"jvp: f must be a function of Values, got {f!r} ({type(f).__name__}).")
    xs = _numbers("jvp", "primals", primals)
    ts = _numbers("jvp", "tangents", tangents)
    if len(xs) != len(ts):
        raise ValueError(
            f"jvp: {len(xs)} primals but {len(ts)} tangents; give one tangent per primal."
        )
    inputs = [Value(x) for x in xs]
    with _enable_grad():  # f's graph must be recorded even inside no_grad()
        out = f(*inputs)
    if not isinstance(out, Value):
        raise TypeError(
            f"jvp: f must return a Value, got {out!r} ({type(out).__name__}); "
            "return a scalar expression of its arguments."
        )
    (derivative,) = forward_derivatives([out], dict(zip(inputs, ts)), who="jvp")
    return out.data, derivative
