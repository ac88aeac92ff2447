"""Benchmarks: autodiff against micrograd 0.1.0 and PyTorch scalar autograd, in one run.

    python benchmarks/run.py              # all workloads, a table of medians and ratios
    python benchmarks/run.py --quick      # fewer repeats and smaller sizes
    python benchmarks/run.py --json out.json
    python benchmarks/run.py --full-micrograd   # also time micrograd's 100-step demo (~2 min)

Every workload runs for each engine in the same process, interleaved, several
times; the table shows median times and the ratio to autodiff (how many times
slower the other engine is). Raw times drift on shared machines; ratios hold.
micrograd comes from the `bench` extra; PyTorch is used when it is installed
(`pip install torch==2.13.0`) and skipped with a note otherwise.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn  # noqa: E402
from autodiff import Value, sum_values  # noqa: E402
from nn import datasets, losses  # noqa: E402

try:
    import micrograd.engine as mg_engine
    import micrograd.nn as mg_nn
except ImportError:  # pragma: no cover - reported in the output
    mg_engine = mg_nn = None

# Importing torch adds ~165,000 GC-tracked objects to the process, which makes
# every full collection slower for the pure-Python engines; --no-torch leaves it out.
if "--no-torch" in sys.argv:
    torch = None
else:
    try:
        import torch
    except ImportError:  # pragma: no cover - reported in the output
        torch = None

SIZES = [2, 16, 16, 1]
ALPHA = 1e-4


# ---------------------------------------------------------------------------
# The moons step for each engine, all built from the same weights


def moons_data() -> tuple[list[list[float]], list[float]]:
    X, y = datasets.make_moons(n=100, noise=0.1, seed=1)
    return X, [2.0 * label - 1.0 for label in y]  # labels -1 / +1, as in micrograd's demo


def reference_weights() -> list[float]:
    """The weights of our MLP(2, [16, 16, 1], seed=1337), in micrograd's parameter order."""
    return [p.data for p in nn.MLP(2, SIZES[1:], seed=1337).parameters()]


class OurMoons:
    name = "autodiff"

    def __init__(self, weights: list[float]) -> None:
        self.model = nn.MLP(2, SIZES[1:], seed=1337)
        for p, w in zip(self.model.parameters(), weights, strict=True):
            p.data = w
        self.params = self.model.parameters()
        self.optimizer = nn.SGD(self.params, lr=lambda k: 1.0 - 0.9 * k / 100)

    def step(self, X, y) -> Value:
        scores = [self.model(x) for x in X]
        loss = losses.hinge(scores, y) + ALPHA * losses.l2(self.params)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss

    def loss_and_grads(self, X, y) -> tuple[float, list[float]]:
        scores = [self.model(x) for x in X]
        loss = losses.hinge(scores, y) + ALPHA * losses.l2(self.params)
        self.optimizer.zero_grad()
        loss.backward()
        return loss.data, [p.grad for p in self.params]


class MicrogradMoons:
    name = "micrograd"

    def __init__(self, weights: list[float]) -> None:
        self.model = mg_nn.MLP(2, SIZES[1:])
        for p, w in zip(self.model.parameters(), weights, strict=True):
            p.data = w
        self.k = 0

    def _loss(self, X, y):
        V = mg_engine.Value
        scores = [self.model([V(a) for a in x]) for x in X]
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / len(X))
        reg_loss = ALPHA * sum(p * p for p in self.model.parameters())
        return data_loss + reg_loss

    def step(self, X, y):
        loss = self._loss(X, y)
        self.model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * self.k / 100
        for p in self.model.parameters():
            p.data -= lr * p.grad
        self.k += 1
        return loss

    def loss_and_grads(self, X, y) -> tuple[float, list[float]]:
        loss = self._loss(X, y)
        self.model.zero_grad()
        loss.backward()
        return loss.data, [p.grad for p in self.model.parameters()]


class TorchMoons:
    """PyTorch scalar autograd: one 0-d float64 tensor op per scalar op."""

    name = "torch"

    def __init__(self, weights: list[float]) -> None:
        it = iter(weights)
        self.layers = []
        nin = SIZES[0]
        for nout in SIZES[1:]:
            layer = []
            for _ in range(nout):
                w = [self._param(next(it)) for _ in range(nin)]
                layer.append((w, self._param(next(it))))
            self.layers.append(layer)
            nin = nout
        self.params = [p for layer in self.layers for w, b in layer for p in (*w, b)]
        self.k = 0

    @staticmethod
    def _param(x: float):
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)

    def _forward(self, x):
        for i, layer in enumerate(self.layers):
            out = []
            for w, b in layer:
                act = b
                for wi, xi in zip(w, x):
                    act = act + wi * xi
                out.append(act.relu() if i < len(self.layers) - 1 else act)
            x = out
        return x[0]

    def _loss(self, X, y):
        t = torch.tensor
        scores = [self._forward([t(a, dtype=torch.float64) for a in x]) for x in X]
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / len(X))
        return data_loss + ALPHA * sum(p * p for p in self.params)

    def step(self, X, y):
        loss = self._loss(X, y)
        for p in self.params:
            p.grad = None
        loss.backward()
        lr = 1.0 - 0.9 * self.k / 100
        with torch.no_grad():
            for p in self.params:
                p -= lr * p.grad
        self.k += 1
        return loss

    def loss_and_grads(self, X, y):
        loss = self._loss(X, y)
        for p in self.params:
            p.grad = None
        loss.backward()
        return loss.item(), [p.grad.item() for p in self.params]


def count_nodes(root, parents: Callable = lambda v: v.parents) -> int:
    """Nodes in a graph, counted with an explicit stack."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for p in parents(stack.pop()):
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return len(seen)


# ---------------------------------------------------------------------------
# Workloads


def engines_available() -> list[str]:
    names = ["autodiff"]
    if mg_engine is not None:
        names.append("micrograd")
    if torch is not None:
        names.append("torch")
    return names


MOONS = {"autodiff": OurMoons, "micrograd": MicrogradMoons, "torch": TorchMoons}


def count_torch_nodes(loss) -> int:
    """Autograd functions recorded for a torch scalar loss (its backward graph)."""
    seen = {loss.grad_fn}
    stack = [loss.grad_fn]
    while stack:
        for fn, _ in stack.pop().next_functions:
            if fn is not None and fn not in seen:
                seen.add(fn)
                stack.append(fn)
    return len(seen)


NODE_COUNTERS = {
    "autodiff": count_nodes,
    "micrograd": lambda loss: count_nodes(loss, parents=lambda v: v._prev),
    "torch": count_torch_nodes,
}


def check_moons_agreement() -> str:
    """Same weights, same data: loss and every gradient must agree to 1e-12."""
    X, y = moons_data()
    weights = reference_weights()
    ours_loss, ours_grads = OurMoons(weights).loss_and_grads(X, y)
    lines = []
    for name in engines_available()[1:]:
        loss, grads = MOONS[name](weights).loss_and_grads(X, y)
        worst = max(abs(a - b) for a, b in zip(ours_grads, grads, strict=True))
        if abs(loss - ours_loss) > 1e-12 or worst > 1e-12:
            raise SystemExit(
                f"moons step disagrees with {name}: loss {ours_loss!r} vs {loss!r}, "
                f"largest gradient difference {worst:.3g}; not timing a wrong answer"
            )
        lines.append(f"{name}: loss {loss:.15f}, max |grad difference| {worst:.1e}")
    return "; ".join(lines) or "no reference engine installed"


def bench_moons(repeats: int, steps: int) -> dict:
    """Mean time of `steps` back-to-back training steps (GC on) and best step (GC off)."""
    X, y = moons_data()
    weights = reference_weights()
    names = engines_available()
    gc_on = {n: [] for n in names}
    gc_off = {n: [] for n in names}
    nodes = {}
    for _ in range(repeats):
        for name in names:
            trainer = MOONS[name](weights)
            t0 = time.perf_counter()
            for _ in range(steps):
                loss = trainer.step(X, y)
            gc_on[name].append((time.perf_counter() - t0) / steps)
            nodes[name] = NODE_COUNTERS[name](loss)
            del loss
            gc.collect()
            gc.disable()
            try:
                best = math.inf
                for _ in range(3):
                    t0 = time.perf_counter()
                    trainer.step(X, y)
                    best = min(best, time.perf_counter() - t0)
                gc_off[name].append(best)
            finally:
                gc.enable()
            del trainer
            gc.collect()
    return {"gc_on": gc_on, "gc_off": gc_off, "nodes": nodes}


def chain(x0, n: int):
    """x = x*1.0001 + 0.0001 n times from x0, then backward: the same code for every engine."""
    x = x0
    for _ in range(n):
        x = x * 1.0001 + 0.0001
    x.backward()
    return x0


def chain_ours(n: int) -> float:
    return chain(Value(1.0), n).grad


def chain_micrograd(n: int) -> float:
    return chain(mg_engine.Value(1.0), n).grad


def chain_torch(n: int) -> float:
    return chain(torch.tensor(1.0, dtype=torch.float64, requires_grad=True), n).grad.item()


CHAIN = {"autodiff": chain_ours, "micrograd": chain_micrograd, "torch": chain_torch}


def bench_chain(repeats: int, sizes: list[int], torch_max: int) -> dict:
    """Seconds per node (2 nodes per step) for a deep chain; None where the engine fails."""
    names = engines_available()
    results = {n: {size: [] for size in sizes} for n in names}
    failed = {n: None for n in names}
    for size in sizes:
        for _ in range(repeats if size < 10**6 else 1):
            for name in names:
                if failed[name] is not None and failed[name] <= size:
                    continue
                if name == "torch" and size > torch_max:
                    continue
                t0 = time.perf_counter()
                try:
                    g = CHAIN[name](size)
                except RecursionError:
                    failed[name] = size
                    continue
                elapsed = time.perf_counter() - t0
                expected = 1.0001**size
                if not math.isclose(g, expected, rel_tol=1e-9):
                    raise SystemExit(f"chain: {name} got {g!r}, expected {expected!r}")
                results[name][size].append(elapsed / (2 * size))
                gc.collect()
    return {"per_node": results, "first_failure": failed}


def micrograd_max_chain() -> int:
    """Largest chain length micrograd's recursive backward survives (binary search)."""
    lo, hi = 1, 4000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            chain_micrograd(mid)
            lo = mid
        except RecursionError:
            hi = mid - 1
    return lo


def wide_graph(value_cls, n: int, nary: bool):
    xs = [value_cls(float(i % 7) - 3.0) for i in range(n)]
    ys = [value_cls(0.5) for _ in range(n)]
    products = [x * y for x, y in zip(xs, ys)]
    if nary:
        return xs, sum_values(products)
    level = products
    while len(level) > 1:
        nxt = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return xs, level[0]


def bench_wide(repeats: int, n: int) -> dict:
    """Forward+backward time and bytes per node (tracemalloc) of n products summed."""
    names = [name for name in engines_available() if name != "torch"]
    classes = {"autodiff": Value, "micrograd": mg_engine.Value if mg_engine else None}
    out = {}
    for nary in (False, True):
        kind = "n-ary" if nary else "pairwise"
        for name in names:
            if nary and name != "autodiff":
                continue
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                xs, root = wide_graph(classes[name], n, nary)
                try:
                    root.backward()
                except RecursionError:
                    times = None
                    break
                times.append(time.perf_counter() - t0)
                del xs, root
                gc.collect()
            gc.collect()
            tracemalloc.start()
            xs, root = wide_graph(classes[name], n, nary)
            size = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            parents = (lambda v: v.parents) if name == "autodiff" else (lambda v: v._prev)
            count = count_nodes(root, parents)
            del xs, root
            gc.collect()
            out[f"{name} ({kind})"] = {
                "times": times,
                "bytes_per_node": size / count,
                "nodes": count,
            }
    return out


def bench_full_demo(include_micrograd: bool) -> dict:
    """Wall time of 100 training steps of the moons demo."""
    X, y = moons_data()
    weights = reference_weights()
    names = ["autodiff"] + (["micrograd"] if include_micrograd and mg_engine else [])
    out = {}
    for name in names:
        trainer = MOONS[name](weights)
        t0 = time.perf_counter()
        for _ in range(100):
            trainer.step(X, y)
        out[name] = time.perf_counter() - t0
    return out


# ---------------------------------------------------------------------------
# Report


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "fails"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def median(xs):
    return statistics.median(xs) if xs else None


def ratio(theirs, ours) -> str:
    if theirs is None or ours is None:
        return "-"
    return f"{theirs / ours:.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller sizes")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--full-micrograd",
        action="store_true",
        help="also time micrograd's 100-step demo (about 2 minutes)",
    )
    parser.add_argument(
        "--no-torch",
        action="store_true",
        help="leave PyTorch out (its import slows the cyclic GC for everyone)",
    )
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    steps = 5 if args.quick else 25
    chain_sizes = [10**3, 10**4, 10**5] + ([] if args.quick else [10**6])

    print(f"autodiff benchmarks, {time.strftime('%Y-%m-%d')}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"python: {platform.python_implementation()} {platform.python_version()}")
    print(
        f"engines: {', '.join(engines_available())}"
        + ("" if torch else "  (torch not installed: pip install torch==2.13.0)")
        + ("" if mg_engine else "  (micrograd not installed: pip install micrograd==0.1.0)")
    )
    print(f"agreement check: {check_moons_agreement()}\n")
    results: dict = {"python": platform.python_version(), "machine": platform.platform()}

    moons = bench_moons(repeats, steps)
    results["moons"] = moons
    ours_on = median(moons["gc_on"]["autodiff"])
    ours_off = median(moons["gc_off"]["autodiff"])
    print(
        f"1. moons step (MLP 2-16-16-1, 100 points; mean of {steps} steps with GC on, "
        "best step with GC off; median of repeats)"
    )
    print(f"   {'engine':<10} {'GC on':>10} {'ratio':>8} {'GC off':>10} {'ratio':>8} {'nodes':>8}")
    for name in engines_available():
        on, off = median(moons["gc_on"][name]), median(moons["gc_off"][name])
        nodes = moons["nodes"].get(name) or "-"
        print(
            f"   {name:<10} {fmt_time(on):>10} {ratio(on, ours_on):>8} "
            f"{fmt_time(off):>10} {ratio(off, ours_off):>8} {nodes:>8}"
        )

    chain = bench_chain(repeats, chain_sizes, torch_max=10**5)
    results["chain"] = chain
    print("\n2. deep chain x = x*1.0001 + 0.0001, forward+backward, time per node")
    print(f"   {'engine':<10} " + " ".join(f"{'N=' + format(s, '.0e'):>10}" for s in chain_sizes))
    for name in engines_available():
        row = [median(chain["per_node"][name][s]) for s in chain_sizes]
        print(f"   {name:<10} " + " ".join(f"{fmt_time(t) if t else '-':>10}" for t in row))
    if mg_engine:
        print(
            f"   largest chain micrograd handles: {micrograd_max_chain()} steps "
            f"(recursion limit {sys.getrecursionlimit()})"
        )
    largest = max(s for s in chain_sizes if chain["per_node"]["autodiff"][s])
    print(f"   largest chain autodiff ran here: {largest:.0e} steps")

    wide = bench_wide(repeats, 10**5)
    results["wide"] = wide
    print("\n3. wide sum: 10^5 products summed, forward+backward; memory per node (tracemalloc)")
    for key, row in wide.items():
        t = median(row["times"]) if row["times"] else None
        print(
            f"   {key:<24} {fmt_time(t):>10} {row['bytes_per_node']:>8.0f} B/node "
            f"({row['nodes']} nodes)"
        )

    full = bench_full_demo(args.full_micrograd)
    results["full_demo"] = full
    print("\n4. full moons demo training, 100 steps, wall time")
    for name, seconds in full.items():
        print(f"   {name:<10} {fmt_time(seconds):>10} {ratio(seconds, full['autodiff']):>8}")
    if "micrograd" not in full and mg_engine:
        est = median(moons["gc_on"]["micrograd"]) * 100
        print(
            f"   micrograd  ~{fmt_time(est)} (estimated from its step time; "
            "--full-micrograd measures it)"
        )

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
        print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
