"""Functional gradients: `grad(output, inputs, create_graph=False)`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, overload

from autodiff import graph
from autodiff.engine import DERIVATIVES, Value, _enable_grad, _refuse_detached


def _as_inputs(inputs: Value | Sequence[Value]) -> tuple[list[Value], bool]:
    single = isinstance(inputs, Value)
    values = [inputs] if isinstance(inputs, Value) else list(inputs)
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(
                f"grad inputs must be Values, got {v!r} ({type(v).__name__}) at position {i}"
            )
    return values, single


@overload
def grad(output: Value, inputs: Value, create_graph: Literal[False] = ...) -> float: ...
@overload
def grad(
    output: Value, inputs: Sequence[Value], create_graph: Literal[False] = ...
) -> list[float]: ...
@overload
def grad(output: Value, inputs: Value, create_graph: Literal[True]) -> Value: ...
@overload
def grad(output: Value, inputs: Sequence[Value], create_graph: Literal[True]) -> list[Value]: ...
@overload
def grad(
    output: Value, inputs: Value | Sequence[Value], create_graph: bool = ...
) -> float | Value | list[float] | list[Value]: ...


def grad(
    output: Value, inputs: Value | Sequence[Value], create_graph: bool = False
) -> float | Value | list[float] | list[Value]:
    """d(output)/d(input) for each input, leaving every `.grad` as it was.

    Returns floats, or with `create_graph=True` Values whose own graphs lead
    back to the inputs, so they can be differentiated again (second
    derivatives, Hessian-vector products). A single Value as `inputs` gives a
    single result; a sequence gives a list. Inputs that `output` does not
    depend on get 0. A gradient that would be inf or NaN raises
    NonFiniteGradientError.
    """
    if not isinstance(output, Value):
        raise TypeError(
            f"grad needs a Value output, got {output!r} ({type(output).__name__})"
        )
    values, single = _as_inputs(inputs)
    _refuse_detached(output, "grad()")
    if create_graph:
        found = _symbolic(output)
        results: list[Value] = []
        for v in values:
            g = found.get(v)
            if g is None:
                g = Value(0.0)
            elif any(g is r for r in results):
                with _enable_grad():
                    g = g + 0.0  # its own node, so that changing one result leaves the others
            results.append(g)
        return results[0] if single else results
    numbers = graph.gradients(output, values)
    return numbers[0] if single else numbers


def _symbolic(output: Value) -> dict[Value, Value]:
    """Reverse accumulation with Values instead of floats: every step is recorded."""
    grads: dict[Value, Value] = {output: Value(1.0)}
    with _enable_grad():
        for node in graph.backward_order(output):  # as backward() takes them
            g = grads.get(node)
            if g is None or not node._prev:
                continue
            rule = DERIVATIVES.get(node.op)
            if rule is None:
                raise ValueError(
                    f"create_graph=True cannot differentiate through op {node.op!r} of "
                    f"{node!r}: it has no entry in autodiff.engine.DERIVATIVES"
                )
            try:
                for parent, local in zip(node.parents, rule(node)):
                    if isinstance(local, (float, int)):
                        if local == 0.0:
                            continue
                        contribution = g if local == 1.0 else g * local
                    else:
                        contribution = g * local
                    before = grads.get(parent)
                    grads[parent] = contribution if before is None else before + contribution
            except (OverflowError, ZeroDivisionError) as error:
                raise graph.NonFiniteGradientError(
                    f"grad(create_graph=True) through op {node.op!r} at {node!r} would give "
                    f"a gradient beyond the float range or infinite: {error}. No .grad was "
                    "changed.",
                    node, node.parents[0], g.data, None,
                ) from error
    return grads
