"""Walking a computation graph: topological order, backward, zero_grad.

Every walk here uses an explicit stack, never recursion, so a graph's depth is
limited only by memory. The functions work on anything shaped like a Value
(`_prev`, `grad`, `_backward`); the engine imports them, not the reverse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autodiff.engine import Value


class GraphCycleError(ValueError):
    """Raised when following `parents` from a node leads back to that node."""


def reverse_topological_order(root: Value) -> list[Value]:
    """Nodes reachable from `root`, each listed before all of its parents (root first)."""
    # Kahn's algorithm from the output end: first count how many times each
    # node is consumed, then release a node once all of its consumers are done.
    # (A node keeps a lone parent in _prev as is, and several as a tuple.)
    consumers = {}
    stack = [root]
    while stack:
        parents = stack.pop()._prev
        for parent in parents if parents.__class__ is tuple else (parents,):
            if parent in consumers:
                consumers[parent] += 1
            else:
                consumers[parent] = 1
                stack.append(parent)

    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        parents = node._prev
        for parent in parents if parents.__class__ is tuple else (parents,):
            left = consumers[parent] - 1
            consumers[parent] = left
            if not left:
                ready.append(parent)
    # root among its own ancestors is a cycle even when the count below balances
    # (a node whose only parent is itself)
    if root in consumers or len(order) != len(consumers) + 1:
        stuck = [node for node, left in consumers.items() if left != 0] or [root]
        raise GraphCycleError(
            f"the graph of {root!r} has a cycle (it runs through {stuck[0]!r}); "
            "a computation graph must be acyclic - was a node's `parents` changed by hand?"
        )
    return order


def topological_order(root: Value) -> list[Value]:
    """Nodes reachable from `root`, parents before children (root last), deterministic."""
    order = reverse_topological_order(root)
    order.reverse()
    return order


def backward(root: Value) -> list[Value]:
    """Reverse-mode accumulation from `root`; returns the nodes in the order visited.

    Leaves (nodes without parents) accumulate across calls, like PyTorch's
    leaf tensors. Intermediate nodes are reset first, so after each call
    their `.grad` holds this pass's gradient and a second call adds exactly
    the same amount to every leaf again.
    """
    order = reverse_topological_order(root)
    for node in order:
        if node._backward is not None:
            node.grad = 0.0
    root.grad += 1.0
    for node in order:
        rule = node._backward
        if rule is not None:
            rule(node)
    return order


def zero_grad(root: Value) -> None:
    """Set `.grad` to 0 on every node of root's graph."""
    for node in reverse_topological_order(root):
        node.grad = 0.0
