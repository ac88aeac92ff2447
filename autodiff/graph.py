"""Walking a computation graph: topological order, backward, zero_grad.

Every walk here uses an explicit stack, never recursion, so a graph's depth is
limited only by memory. A walk keeps its bookkeeping in local variables, never
on the nodes: an exception or a KeyboardInterrupt at any line leaves nothing
behind, and two threads may walk graphs that share nodes.

Ordering: every node has a rank, fixed when it is made: 0 without parents,
else one more than its parents' largest. A node's rank is above each of its
parents' (and a node's parents never change once it is made), so sorting the
reachable nodes by rank, largest first, is a valid reverse topological order
for every graph the ops build - reused nodes, graphs built in pieces, any
root. Equal ranks keep the order the walk found them in, so the order is the
same on every run. Only the `parents` setter can break that; it marks such a
node (`_rank = -1`) and walks through a marked node fall back to Kahn's
algorithm, which also detects cycles.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import chain, repeat
from operator import attrgetter
from typing import TYPE_CHECKING

from autodiff import engine  # (engine imports this module first; Value is read at call time)

if TYPE_CHECKING:
    from autodiff.engine import Value

_RANK = attrgetter("_rank")
_consume: Callable[[Iterable[object]], object] = partial(deque, maxlen=0)  # runs an iterator out
EDITED = -1  # the _rank of a node whose parents were replaced by hand


class GraphCycleError(ValueError):
    """Raised when following `parents` from a node leads back to that node."""


class NonFiniteGradientError(ArithmeticError):
    """A backward pass or `grad` call would have produced an infinite or NaN gradient.

    `node` is the node whose backward rule produced it, `parent` the input
    that received it, `upstream` the gradient arriving at `node` and `local`
    d(node)/d(parent). No `.grad` was changed.
    """

    def __init__(
        self, message: str, node: Value, parent: Value, upstream: float, local: float | None
    ) -> None:
        super().__init__(message)
        self.node = node
        self.parent = parent
        self.upstream = upstream
        self.local = local


def _collect(root: Value) -> tuple[list[Value], list[Value]]:
    """(inner nodes, leaves) reachable from root, each once; inner nodes have parents.

    Inner nodes are listed as the walk takes them off its stack, so a one-parent
    node is followed at once by its parent: the order, and so the order of
    equal ranks, stays the same when a one-parent op is inserted or fused away.
    """
    node_type = engine.Value
    seen = {root}
    inner: list[Value] = []
    stack = [root] if root._prev else []
    leaves = [] if stack else [root]
    pop, push, keep, add = stack.pop, stack.append, inner.append, seen.add
    all_seen = seen.issuperset
    while stack:
        node = pop()
        keep(node)
        prev = node._prev
        if prev.__class__ is tuple:
            # in a network most nodes' parents were all seen already (the weights, and
            # inputs shared by a layer): one test at C speed instead of one per parent
            if all_seen(prev):
                continue
            for parent in prev:
                if parent not in seen:
                    add(parent)
                    if parent._prev:
                        push(parent)
                    else:
                        leaves.append(parent)
            continue
        # one or two parents are stored without a tuple (see engine.Value): the
        # same steps, unrolled for _prev and for a second parent in _ctx
        if prev not in seen:
            add(prev)
            if prev._prev:
                push(prev)
            else:
                leaves.append(prev)
        prev = node._ctx  # most one-parent ops keep a float there: a quicker test first
        if prev.__class__ is not float and isinstance(prev, node_type) and prev not in seen:
            add(prev)
            if prev._prev:
                push(prev)
            else:
                leaves.append(prev)
    return inner, leaves


def _kahn(root: Value, nodes: list[Value]) -> list[Value]:
    """Reverse topological order of `nodes` (all of root's graph) for hand-edited graphs."""
    pending = dict.fromkeys(nodes, 0)
    for node in nodes:
        for parent in node.parents:
            pending[parent] += 1
    if pending[root]:
        raise _cycle_error(root, root)
    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.parents:
            n = pending[parent] - 1
            pending[parent] = n
            if not n:
                ready.append(parent)
    if len(order) != len(nodes):
        stuck = next(node for node in nodes if pending[node])
        raise _cycle_error(root, stuck)
    return order


def _cycle_error(root: Value, stuck: Value) -> GraphCycleError:
    return GraphCycleError(
        f"the graph of {root!r} has a cycle (it runs through {stuck!r}); "
        "a computation graph must be acyclic - was a node's `parents` changed by hand?"
    )


def _ordered(root: Value, leaves: bool) -> tuple[list[Value], list[Value]]:
    """(root's graph in reverse topological order, its leaves); inner nodes only unless `leaves`."""
    inner, found = _collect(root)
    order = inner + found if leaves else inner
    # largest rank first, equal ranks in the order the walk took them, which puts a
    # node's later operands first: mostly the reverse of topological_order
    order.sort(key=_RANK, reverse=True)
    if order and order[-1]._rank == EDITED:  # -1 sorts last
        order = _kahn(root, inner + found)
        if not leaves:
            order = [node for node in order if node._prev]
    return order, found


def topological_order(root: Value) -> list[Value]:
    """Nodes reachable from `root`, parents before children (root last), deterministic.

    The order a depth-first walk finishes them in, taking each node's computed
    parents first and then its leaves, each in operand order: the order an
    expression is computed in, with every leaf just before the first node that
    uses it - x, w, x * w, ... for (x * w + 1).tanh(); a network's first layer
    before its second. This is the order drawings and the explorer name and
    show nodes in. (backward() itself sorts by rank, which is quicker; both are
    valid orders.)
    """
    order: list[Value] = []
    done: set[Value] = set()
    on_path = {root}
    stack = [(root, _inner_first(root))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent not in done:
                if parent in on_path:
                    raise _cycle_error(root, parent)
                on_path.add(parent)
                stack.append((parent, _inner_first(parent)))
                break
        else:
            stack.pop()
            on_path.discard(node)
            done.add(node)
            order.append(node)
    return order


def backward_order(root: Value, leaves: bool = True) -> list[Value]:
    """The nodes in the order backward() runs their rules: root first, largest rank first
    (equal ranks in the order the walk took them); leaves last unless leaves=False.
    A reverse topological order; not always topological_order's reverse."""
    return _ordered(root, leaves)[0]


def _inner_first(node: Value) -> Iterator[Value]:
    parents = node.parents
    return chain([p for p in parents if p._prev], [p for p in parents if not p._prev])


def reverse_topological_order(root: Value, leaves: bool = True) -> list[Value]:
    """topological_order(root) reversed: each node before all of its parents (root first).

    With leaves=False, nodes without parents are left out.
    """
    order = topological_order(root)
    order.reverse()
    return order if leaves else [node for node in order if node._prev]


def backward(root: Value) -> list[Value]:
    """Reverse-mode accumulation from `root`; returns the inner nodes in the order visited.

    Leaves (nodes without parents) accumulate across calls, like PyTorch's
    leaf tensors. Intermediate nodes are reset first, so after each call
    their `.grad` holds this pass's gradient and a second call adds exactly
    the same amount to every leaf again. All or nothing: if anything raises
    (a rule's domain error, a non-finite gradient, an interrupt), every
    `.grad` is put back as it was.
    """
    inner, leaves = _ordered(root, False)
    nodes = inner + leaves
    saved = [node.grad for node in nodes]  # (quicker than map(attrgetter) on 3.11)
    _check_grads(nodes, saved)
    try:
        _accumulate(root, inner, nodes, saved)
        return inner
    except BaseException:
        _restore(nodes, saved)
        raise


def gradients(root: Value, inputs: list[Value]) -> list[float]:
    """d(root)/d(input) for each input by one backward pass; every `.grad` is left as it was."""
    inner, leaves = _ordered(root, False)
    nodes = inner + leaves
    saved = [node.grad for node in nodes]  # (quicker than map(attrgetter) on 3.11)
    try:
        zeros = [0.0] * len(nodes)
        _restore(nodes, zeros)  # a pass from zero, whatever earlier calls left
        _accumulate(root, inner, nodes, zeros)
        on_graph = set(nodes)
        found = [v.grad if v in on_graph else 0.0 for v in inputs]
        _restore(nodes, saved)
        return found
    except BaseException:
        _restore(nodes, saved)
        raise


def _restore(nodes: list[Value], saved: list[float]) -> None:
    """Put every node's `.grad` back in one C-level loop, which no interrupt can split."""
    _consume(map(setattr, nodes, repeat("grad"), saved))


def _accumulate(root: Value, inner: list[Value], nodes: list[Value], start: list[float]) -> None:
    """One backward pass from the nodes' grads, which are `start` (kept for the replay that
    names a non-finite gradient); raises NonFiniteGradientError on inf or NaN."""
    _seed(root, inner)
    for node in inner:
        node._backward(node)  # type: ignore[misc]
    total = sum([node.grad for node in nodes])
    if total - total != 0.0:  # some gradient is inf or NaN (or only the sum overflowed)
        _raise_non_finite(root, inner, nodes, start)


def _seed(root: Value, inner: list[Value]) -> None:
    """Start a pass: intermediate nodes hold this pass's gradient only; d(root)/d(root) = 1."""
    for node in inner:
        node.grad = 0.0
    root.grad += 1.0


def _check_grads(nodes: list[Value], saved: list[float]) -> None:
    """Refuse a graph where some `.grad` was set by hand to a non-number or a non-finite one."""
    try:
        total = sum(saved)
        if total - total == 0.0:
            return
    except TypeError:
        pass
    for node, g in zip(nodes, saved):
        if type(g) not in (float, int) or not math.isfinite(g):
            raise TypeError(
                f"{node!r} has .grad = {g!r}, set by hand; a gradient must be a finite float. "
                "Set it to 0.0 (or call zero_grad()) before backward"
            )


def _raise_non_finite(
    root: Value, inner: list[Value], nodes: list[Value], start: list[float]
) -> None:
    """Replay the pass rule by rule to find the first non-finite gradient, then raise."""
    if all(math.isfinite(node.grad) for node in nodes):
        return  # only the check's own sum overflowed
    _restore(nodes, start)
    _seed(root, inner)
    for node in inner:
        upstream = node.grad
        before = [p.grad for p in node.parents]
        node._backward(node)  # type: ignore[misc]
        for i, parent in enumerate(node.parents):
            if not math.isfinite(parent.grad):
                raise _non_finite_error(node, i, parent, upstream, before[i])
    raise RuntimeError("a non-finite gradient vanished on replay; please report it")


_ADVICE = {
    "sqrt": "sqrt's derivative 0.5/sqrt(x) is infinite at 0 (and huge near it); add a small "
    "epsilon inside the sqrt, e.g. (x + 1e-12).sqrt()",
    "log": "log's derivative 1/x grows without bound near 0; keep its input away from 0, "
    "e.g. (x + 1e-12).log()",
    "/": "the derivative of a / b grows like 1/b^2 as b nears 0; keep the divisor away from 0",
    "**": "the derivative n * x ** (n - 1) is infinite at x = 0 for n < 1 and huge near 0 "
    "for negative n; keep the base away from 0",
}


def _non_finite_error(
    node: Value, i: int, parent: Value, upstream: float, before: float
) -> NonFiniteGradientError:
    from autodiff.engine import local_derivatives

    local: float | None
    try:
        local = local_derivatives(node)[i]
    except (ArithmeticError, ValueError):
        local = None  # infinite (or unknown)
    got = parent.grad
    if local is not None and math.isfinite(upstream) and math.isfinite(local) and \
            math.isfinite(upstream * local) and math.isfinite(before):
        how = (f"the gradients added into it ({before!r} + {upstream * local!r}) "
               "sum beyond the float range")
        advice = "scale the loss or the inputs down"
    else:
        shown = "infinite (or beyond the float range)" if local is None else repr(local)
        how = f"upstream gradient {upstream!r} x local derivative {shown} = {got!r}"
        if upstream == 0.0:
            how += " (0 times infinity has no value)"
        advice = _ADVICE.get(node.op, "the product is beyond the float range; scale the loss "
                             "or the inputs down")
    return NonFiniteGradientError(
        f"backward through op {node.op!r} at {node!r} gives input {i} ({parent!r}) a gradient "
        f"of {got!r}: {how}. {advice}. No .grad was changed.",
        node, parent, upstream, local,
    )


def zero_grad(root: Value) -> None:
    """Set `.grad` to 0 on every node of root's graph."""
    for node in backward_order(root):
        node.grad = 0.0
