"""Why the engine's nodes point to shared per-op functions instead of closures.

    python benchmarks/closure_vs_function.py [N]

Builds the chain x = x*1.0001 + 0.0001 (N steps, default 200000) three ways,
with the garbage collector at its default settings, and prints the time per
node and the GC-tracked objects each node costs:

  closure, cyclic   micrograd's shape: out._backward is a closure over out
  closure, acyclic  a closure that captures the parent and the local slope, not out
  function          autodiff's shape: the node points to a shared function
                    that is called with the node (no closure object at all)
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

NodeOp = Callable[["ClosureNode", float], "ClosureNode"]


class ClosureNode:
    __slots__ = ("data", "grad", "parents", "_backward")

    def __init__(self, data: float, parents: tuple[ClosureNode, ...] = ()) -> None:
        self.data = data
        self.grad = 0.0
        self.parents = parents
        self._backward: Callable[..., None] | None = None


def cyclic_mul(x: ClosureNode, c: float) -> ClosureNode:
    out = ClosureNode(x.data * c, (x,))

    def _backward() -> None:
        x.grad += c * out.grad  # captures out: out -> closure -> cell -> out

    out._backward = _backward
    return out


def cyclic_add(x: ClosureNode, c: float) -> ClosureNode:
    out = ClosureNode(x.data + c, (x,))

    def _backward() -> None:
        x.grad += out.grad

    out._backward = _backward
    return out


def acyclic_mul(x: ClosureNode, c: float) -> ClosureNode:
    out = ClosureNode(x.data * c, (x,))

    def _backward(g: float) -> None:  # the caller passes out.grad; nothing refers back to out
        x.grad += c * g

    out._backward = _backward
    return out


def acyclic_add(x: ClosureNode, c: float) -> ClosureNode:
    out = ClosureNode(x.data + c, (x,))

    def _backward(g: float) -> None:
        x.grad += g

    out._backward = _backward
    return out


def run_closures(n: int, mul: NodeOp, add: NodeOp, pass_grad: bool) -> float:
    x0 = ClosureNode(1.0)
    x = x0
    for _ in range(n):
        x = add(mul(x, 1.0001), 0.0001)
    x.grad = 1.0
    node = x
    while node.parents:  # a chain: walk it without a topological sort
        assert node._backward is not None  # every non-leaf has one
        if pass_grad:
            node._backward(node.grad)
        else:
            node._backward()
        node = node.parents[0]
    return x0.grad


def run_functions(n: int) -> float:
    sys.path.insert(0, __file__.rsplit("/", 2)[0])
    from autodiff import Value

    x0 = Value(1.0)
    x = x0
    for _ in range(n):
        x = x * 1.0001 + 0.0001
    x.backward()
    return x0.grad


def tracked_per_node(build: Callable[[], Any]) -> float:
    gc.collect()
    before = len(gc.get_objects())
    keep = build()
    after = len(gc.get_objects())
    del keep
    return (after - before) / 2000


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    variants: dict[str, Callable[[], float]] = {
        "closure, cyclic": lambda: run_closures(n, cyclic_mul, cyclic_add, False),
        "closure, acyclic": lambda: run_closures(n, acyclic_mul, acyclic_add, True),
        "function": lambda: run_functions(n),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(5):
        for name, run in variants.items():
            gc.collect()
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    from autodiff import Value

    def chain_of(mul: NodeOp, add: NodeOp) -> Callable[[], ClosureNode]:
        def build() -> ClosureNode:
            x = ClosureNode(1.0)
            for _ in range(1000):
                x = add(mul(x, 1.0001), 0.0001)
            return x

        return build

    def value_chain() -> Value:
        x = Value(1.0)
        for _ in range(1000):
            x = x * 1.0001 + 0.0001
        return x

    tracked = {
        "closure, cyclic": tracked_per_node(chain_of(cyclic_mul, cyclic_add)),
        "closure, acyclic": tracked_per_node(chain_of(acyclic_mul, acyclic_add)),
        "function": tracked_per_node(value_chain),
    }
    base = statistics.median(times["function"])
    print(f"chain of {n} steps ({2 * n} nodes), forward + backward, GC on, median of 5")
    for name, ts in times.items():
        t = statistics.median(ts)
        print(
            f"  {name:<17} {t / (2 * n) * 1e6:6.2f} us/node  {t / base:4.1f}x  "
            f"{tracked[name]:.1f} GC-tracked objects/node"
        )


if __name__ == "__main__":
    main()
