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


def reverse_topological_order(root: Value, leaves: bool = True) -> list[Value]:
    """Nodes reachable from `root`, each listed before all of its parents (root first).

    With leaves=False, nodes without parents are left out (backward
    needs only the others; their relative order is the same). Walks keep a
    counter on each node, so two threads must not walk one graph at once.
    """
    # Kahn's algorithm from the output end: count how many times each node is
    # consumed, then release a node once all of its consumers are done. The
    # count lives on the node (_pending, 0 outside a walk): a slot is cheaper
    # than a dict. A node keeps a lone parent in _prev as is, several as a tuple.
    found: list[Value] = []
    order: list[Value] = []
    cyclic = True  # until shown otherwise, so an interrupted walk still clears the counts
    try:
        stack = [root]
        while stack:
            parents = stack.pop()._prev
            for parent in parents if parents.__class__ is tuple else (parents,):
                if leaves or parent._prev:
                    n = parent._pending
                    parent._pending = n + 1
                    if not n:
                        found.append(parent)
                        stack.append(parent)
        # root among its own ancestors is a cycle even when the counts balance
        # (a node whose only parent is itself)
        root_in_cycle = root._pending != 0

        ready = [root]
        while ready:
            node = ready.pop()
            order.append(node)
            parents = node._prev
            for parent in parents if parents.__class__ is tuple else (parents,):
                if leaves or parent._prev:
                    n = parent._pending - 1
                    parent._pending = n
                    if not n:
                        ready.append(parent)
        cyclic = root_in_cycle or len(order) != len(found) + 1
    finally:
        if cyclic:
            stuck = [node for node in found if node._pending] or [root]
            for node in found:
                node._pending = 0
            root._pending = 0
    if cyclic:
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
    order = reverse_topological_order(root, leaves=False)
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
