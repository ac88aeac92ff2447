"""Benchmarks: autodiff against its floor, an older commit, micrograd 0.1.0 and PyTorch, in one run.

    python benchmarks/run.py                  # every workload, medians and ratios
    python benchmarks/run.py --quick          # fewer steps and smaller sizes
    python benchmarks/run.py --quick --only moons --engines base   # ours, base, floor: seconds
    python benchmarks/run.py --base HEAD~1    # the "base" row from another commit
    python benchmarks/run.py --markdown       # also a table to paste into the README
    python benchmarks/run.py --json out.json

Engines: ours (the working tree), base (autodiff and nn as of --base COMMIT,
default 6d28a8c, imported side by side under other names), micrograd 0.1.0
(the `bench` extra), PyTorch scalar autograd (when installed; --no-torch
leaves it out), floor (the same step written by hand with plain floats,
benchmarks/floor.py) and compiled (autodiff.trace, issue 14, once it exists).

Every engine runs in the same process, in rounds: each round times every
engine once, in a rotating order, with the garbage collector on (CPU time of
this process unless --clock wall). The ratios (x floor, x ours) are the
medians of the per-round ratios, which hold on a shared machine where raw
times drift. Before timing, every engine's loss and gradients are checked
against the floor's (to 1e-12 relative), and a wrong engine is not timed.
--full-micrograd also times micrograd's whole 100-step demo (~2 minutes).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from baseline import BaseEngine, load_base  # noqa: E402
from engines import (  # noqa: E402
    EXPRESSION_INPUTS,
    EXPRESSION_README_GRADS,
    AutodiffMoons,
    CompiledMoons,
    MicrogradMoons,
    TorchMoons,
    compiled_expression,
    floor_expression,
    floor_moons,
    has_trace,
    moons_data,
    reference_weights,
    torch_expression,
    value_expression,
)

import autodiff  # noqa: E402
import nn  # noqa: E402

WORKLOADS = ("moons", "expression", "chain", "wide", "demo")
ENGINES = ("ours", "base", "micrograd", "torch", "floor", "compiled")
TOLERANCE = 1e-12

Moons = Any  # an adapter from engines.py: step(X, y), flat_grads(X, y)

# CPU time of this process by default: on a shared machine the wall clock also counts
# the time other processes hold the CPU (--clock wall measures that instead)
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCKS["cpu"]


# ---------------------------------------------------------------------------
# Setup: which engines run


@dataclass
class Setup:
    engines: list[str]  # in table order, ours first, floor near the end
    base: BaseEngine | None
    notes: list[str] = field(default_factory=list)

    def label(self, name: str) -> str:
        if name == "base" and self.base is not None:
            return self.base.label
        return name


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def make_setup(wanted: Sequence[str], base_commit: str, no_torch: bool) -> Setup:
    """The engines to run: ours and floor always (the ratios' denominators), others if they can."""
    setup = Setup(engines=[], base=None)
    for name in ENGINES:
        if name not in ("ours", "floor") and name not in wanted:
            continue
        if name == "base":
            setup.base = load_base(base_commit)
        elif name == "micrograd" and not installed("micrograd"):
            setup.notes.append("micrograd not installed (pip install micrograd==0.1.0): no row")
            continue
        elif name == "torch" and (no_torch or not installed("torch")):
            if not no_torch:
                setup.notes.append("torch not installed (pip install torch==2.13.0): no row")
            continue
        elif name == "compiled" and not has_trace():
            setup.notes.append("autodiff.trace does not exist yet (issue 14): no compiled row")
            continue
        setup.engines.append(name)
    if "torch" in setup.engines:
        # imported before any timing: its ~165,000 GC-tracked objects slow every
        # full collection of the pure-Python engines, in every round alike
        import torch  # noqa: F401
    return setup


def moons_factory(setup: Setup, name: str) -> Callable[[Sequence[float]], Moons]:
    if name == "ours":
        return lambda w: AutodiffMoons(nn, w, "ours")
    if name == "base":
        assert setup.base is not None  # make_setup loads it whenever "base" is an engine
        base_nn = setup.base.nn
        return lambda w: AutodiffMoons(base_nn, w, "base")
    return {
        "micrograd": MicrogradMoons,
        "torch": TorchMoons,
        "floor": floor_moons,
        "compiled": CompiledMoons,
    }[name]


def expression_runner(setup: Setup, name: str) -> Callable[[], tuple[float, float, float]]:
    if name == "ours":
        return value_expression(autodiff.Value)
    if name == "base":
        assert setup.base is not None
        return value_expression(setup.base.autodiff.Value)
    if name == "micrograd":
        import micrograd.engine

        return value_expression(micrograd.engine.Value)
    if name == "torch":
        return torch_expression()
    if name == "compiled":
        return compiled_expression()
    return floor_expression()


def value_class(setup: Setup, name: str) -> Any:
    """The scalar class of a graph engine (for the chain and wide workloads)."""
    if name == "ours":
        return autodiff.Value
    if name == "base":
        assert setup.base is not None
        return setup.base.autodiff.Value
    if name == "micrograd":
        import micrograd.engine

        return micrograd.engine.Value
    if name == "torch":
        import torch

        return lambda x: torch.tensor(x, dtype=torch.float64, requires_grad=True)
    raise ValueError(f"{name} has no Value class")


# ---------------------------------------------------------------------------
# Agreement before timing


def close(a: float, b: float, largest: float) -> bool:
    """a and b agree to TOLERANCE relative; a gradient that cancels to rounding noise
    (below 1e-3 of the largest gradient) is compared at TOLERANCE * 1e-3 * largest."""
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b), 1e-3 * largest)


def compare(
    what: str, reference: tuple[float, Sequence[float]], other: tuple[float, Sequence[float]]
) -> float:
    """The largest relative difference, or ValueError naming the first disagreement."""
    (loss0, grads0), (loss1, grads1) = reference, other
    if len(grads0) != len(grads1):
        raise ValueError(f"{what}: {len(grads1)} gradients, the floor has {len(grads0)}")
    largest = max(map(abs, grads0), default=0.0)
    if not close(loss0, loss1, abs(loss0)):
        raise ValueError(f"{what}: loss {loss1!r}, the floor's is {loss0!r}")
    worst = 0.0
    for i, (g0, g1) in enumerate(zip(grads0, grads1)):
        if not close(g0, g1, largest):
            raise ValueError(f"{what}: gradient {i} is {g1!r}, the floor's is {g0!r}")
        worst = max(worst, abs(g0 - g1) / max(abs(g0), abs(g1), 1e-3 * largest, 1e-300))
    return worst


def check_moons(setup: Setup) -> dict[str, float]:
    """Every engine's moons loss and gradients against the floor's, before and after one step."""
    X, y = moons_data()
    weights = reference_weights()
    floor = floor_moons(weights)
    before = floor.flat_grads(X, y)
    floor.step(X, y)
    after = floor.flat_grads(X, y)
    worst = {}
    for name in setup.engines:
        if name == "floor":
            continue
        engine = moons_factory(setup, name)(weights)
        w0 = compare(f"moons, {setup.label(name)}", before, engine.flat_grads(X, y))
        engine.step(X, y)
        w1 = compare(f"moons after one step, {setup.label(name)}", after, engine.flat_grads(X, y))
        worst[name] = max(w0, w1)
    return worst


def check_expression(setup: Setup) -> dict[str, float]:
    g, da, db = floor_expression()()
    for got, printed in zip((da, db), EXPRESSION_README_GRADS):
        if abs(got - printed) > 5e-5:  # the README prints 4 decimals
            raise ValueError(
                f"expression floor: gradient {got!r}, micrograd's README says {printed}"
            )
    worst = {}
    for name in setup.engines:
        if name != "floor":
            g1, da1, db1 = expression_runner(setup, name)()
            worst[name] = compare(
                f"expression, {setup.label(name)}", (g, [da, db]), (g1, [da1, db1])
            )
    return worst


# ---------------------------------------------------------------------------
# Timing


def ratios(times: dict[str, list[float]], denominator: str) -> dict[str, float]:
    """The median over rounds of each engine's time divided by denominator's in that round."""
    base = times.get(denominator)
    if not base:
        return {}
    return {
        name: statistics.median(t / d for t, d in zip(ts, base))
        for name, ts in times.items()
        if len(ts) == len(base)
    }


def summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    to_floor, to_ours = ratios(times, "floor"), ratios(times, "ours")
    return {
        name: {
            "median": statistics.median(ts),
            "x_floor": to_floor.get(name, math.nan),
            "x_ours": to_ours.get(name, math.nan),
        }
        for name, ts in times.items()
        if ts
    }


def rotated(names: list[str], k: int) -> list[str]:
    k %= len(names)
    return names[k:] + names[:k]


def bench_moons(setup: Setup, rounds: int, steps: dict[str, int]) -> dict[str, Any]:
    """Per round and engine: the mean of `steps` back-to-back steps with GC on, and the
    best of 5 steps with GC off (the collector's share), from fresh weights."""
    X, y = moons_data()
    weights = reference_weights()
    gc_on: dict[str, list[float]] = {n: [] for n in setup.engines}
    gc_off: dict[str, list[float]] = {n: [] for n in setup.engines}
    nodes: dict[str, int] = {}
    for r in range(rounds):
        for name in rotated(setup.engines, r):
            engine = moons_factory(setup, name)(weights)
            n = steps[name]
            t0 = clock()
            for _ in range(n):
                loss = engine.step(X, y)
            gc_on[name].append((clock() - t0) / n)
            counted = count_graph(name, loss)
            if counted:
                nodes[name] = counted
            del loss
            gc.collect()
            gc.disable()
            try:
                best = math.inf
                for _ in range(5):
                    t0 = clock()
                    engine.step(X, y)
                    best = min(best, clock() - t0)
                gc_off[name].append(best)
            finally:
                gc.enable()
            del engine
            gc.collect()
    return {
        "gc_on": summary(gc_on),
        "gc_off": summary(gc_off),
        "nodes": nodes,
        "raw": {"gc_on": gc_on, "gc_off": gc_off},
    }


def bench_expression(setup: Setup, rounds: int, calls: int) -> dict[str, Any]:
    """Per round and engine: the mean time of `calls` forward + backward passes of g(a, b)."""
    times: dict[str, list[float]] = {n: [] for n in setup.engines}
    runners = {name: expression_runner(setup, name) for name in setup.engines}
    for r in range(rounds):
        for name in rotated(setup.engines, r):
            run = runners[name]
            t0 = clock()
            for _ in range(calls):
                run()
            times[name].append((clock() - t0) / calls)
            gc.collect()
    return {"times": summary(times), "raw": times}


def count_graph(name: str, loss: Any) -> int | None:
    """Nodes in the graph of a loss (explicit stack); None for engines without one."""
    if name in ("ours", "base"):
        return count_nodes(loss, lambda v: v.parents)
    if name == "micrograd":
        return count_nodes(loss, lambda v: v._prev)
    if name == "torch":
        return count_nodes(
            loss.grad_fn, lambda f: [g for g, _ in f.next_functions if g is not None]
        )
    return None


def count_nodes(root: Any, parents: Callable[[Any], Any]) -> int:
    seen = {id(root)}
    stack = [root]
    while stack:
        for p in parents(stack.pop()):
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return len(seen)


def chain(x0: Any, n: int) -> Any:
    """x = x*1.0001 + 0.0001 n times from x0, then backward: the same code for every engine."""
    x = x0
    for _ in range(n):
        x = x * 1.0001 + 0.0001
    x.backward()
    return x0


def chain_grad(value_cls: Any, n: int) -> float:
    g = chain(value_cls(1.0), n).grad
    return float(g.item() if hasattr(g, "item") else g)


def bench_chain(setup: Setup, rounds: int, sizes: list[int], torch_max: int) -> dict[str, Any]:
    """Seconds per node (2 nodes per step) for a deep chain; no entry where an engine fails."""
    names = [n for n in setup.engines if n in ("ours", "base", "micrograd", "torch")]
    per_node: dict[str, dict[int, list[float]]] = {n: {s: [] for s in sizes} for n in names}
    failed: dict[str, int] = {}
    for size in sizes:
        for r in range(rounds if size < 10**6 else 1):
            for name in rotated(names, r):
                if failed.get(name, math.inf) <= size or (name == "torch" and size > torch_max):
                    continue
                cls = value_class(setup, name)
                t0 = clock()
                try:
                    g = chain_grad(cls, size)
                except RecursionError:
                    failed[name] = size
                    continue
                elapsed = clock() - t0
                if not math.isclose(g, 1.0001**size, rel_tol=1e-9):
                    raise ValueError(f"chain: {name} got {g!r}, expected {1.0001**size!r}")
                per_node[name][size].append(elapsed / (2 * size))
                gc.collect()
    return {"per_node": per_node, "first_failure": failed}


def micrograd_max_chain() -> int:
    """Largest chain length micrograd's recursive backward survives (binary search)."""
    import micrograd.engine

    lo, hi = 1, 4000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            chain_grad(micrograd.engine.Value, mid)
            lo = mid
        except RecursionError:
            hi = mid - 1
    return lo


def wide_graph(value_cls: Any, sum_values: Any, n: int) -> tuple[list[Any], Any]:
    xs = [value_cls(float(i % 7) - 3.0) for i in range(n)]
    ys = [value_cls(0.5) for _ in range(n)]
    products = [x * y for x, y in zip(xs, ys)]
    if sum_values is not None:
        return xs, sum_values(products)
    level = products
    while len(level) > 1:
        nxt = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return xs, level[0]


def bench_wide(setup: Setup, rounds: int, n: int) -> dict[str, Any]:
    """Forward+backward time and bytes per node (tracemalloc) of n products summed."""
    cases: list[tuple[str, Any, Any, Callable[[Any], Any]]] = []
    sums = {"ours": autodiff.sum_values}
    if setup.base is not None:
        sums["base"] = setup.base.autodiff.sum_values
    for name in setup.engines:
        if name in ("ours", "base"):
            cls = value_class(setup, name)
            cases.append((f"{setup.label(name)} (pairwise)", cls, None, lambda v: v.parents))
            cases.append((f"{setup.label(name)} (n-ary)", cls, sums[name], lambda v: v.parents))
        elif name == "micrograd":
            cases.append(
                ("micrograd (pairwise)", value_class(setup, name), None, lambda v: v._prev)
            )
    out = {}
    for key, cls, summer, parents in cases:
        times = []
        for _ in range(rounds):
            t0 = clock()
            xs, root = wide_graph(cls, summer, n)
            root.backward()
            times.append(clock() - t0)
            del xs, root
            gc.collect()
        tracemalloc.start()
        xs, root = wide_graph(cls, summer, n)
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        count = count_nodes(root, parents)
        del xs, root
        gc.collect()
        out[key] = {
            "median": statistics.median(times),
            "bytes_per_node": size / count,
            "nodes": count,
        }
    return out


def bench_demo(setup: Setup, full_micrograd: bool) -> dict[str, float]:
    """Wall time of 100 training steps of the moons demo."""
    X, y = moons_data()
    weights = reference_weights()
    out = {}
    for name in setup.engines:
        if name in ("torch",) or (name == "micrograd" and not full_micrograd):
            continue
        engine = moons_factory(setup, name)(weights)
        t0 = clock()
        for _ in range(100):
            engine.step(X, y)
        out[name] = clock() - t0
    return out


# ---------------------------------------------------------------------------
# Report


def fmt_time(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.2f}x"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, str]:
    return {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def print_ratio_table(setup: Setup, stats: dict[str, dict[str, float]], extra: str = "") -> None:
    print(f"   {'engine':<16} {'time':>10} {'x floor':>9} {'x ours':>9}{extra}")
    for name in setup.engines:
        s = stats.get(name)
        if s:
            print(
                f"   {setup.label(name):<16} {fmt_time(s['median']):>10} "
                f"{fmt_ratio(s['x_floor']):>9} {fmt_ratio(s['x_ours']):>9}"
            )


def cell(s: dict[str, float] | None, name: str) -> str:
    if not s:
        return "-"
    parts = []
    if name != "floor":
        parts.append(f"{s['x_floor']:.1f}x floor")
    if name != "ours":
        parts.append(f"{s['x_ours']:.2f}x ours")
    return f"{fmt_time(s['median'])} ({', '.join(parts)})" if parts else fmt_time(s["median"])


def markdown(setup: Setup, results: dict[str, Any]) -> str:
    m = results["machine"]
    heads = {
        "ours": "autodiff",
        "base": f"autodiff at {setup.base.commit}" if setup.base else "base",
        "micrograd": "micrograd 0.1.0",
        "torch": "PyTorch scalar",
        "floor": "hand-written floats (floor)",
        "compiled": "autodiff, compiled (trace)",
    }
    names = setup.engines
    lines = [
        f"Measured on {m['date']}: {m['cores']} cores, {m['cpu']}, {m['os']}, {m['python']}; "
        f"all engines in one process, interleaved rounds, {results['clock']} time, "
        "GC on unless stated; ratios are medians of per-round ratios.",
        "",
        "| workload | " + " | ".join(heads[n] for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    if "moons" in results:
        mo = results["moons"]
        lines.append(
            "| moons step, MLP 2-16-16-1 on 100 points | "
            + " | ".join(cell(mo["gc_on"].get(n), n) for n in names)
            + " |"
        )
        lines.append(
            "| moons step, GC off (best of 5 steps) | "
            + " | ".join(cell(mo["gc_off"].get(n), n) for n in names)
            + " |"
        )
        lines.append(
            "| nodes per moons step | "
            + " | ".join(f"{mo['nodes'][n]:,}" if n in mo["nodes"] else "-" for n in names)
            + " |"
        )
    if "expression" in results:
        ex = results["expression"]["times"]
        lines.append(
            "| micrograd README expression, forward + backward | "
            + " | ".join(cell(ex.get(n), n) for n in names)
            + " |"
        )
    if "chain" in results:
        per = results["chain"]["per_node"]
        for size in results["chain_sizes"]:
            row = []
            for n in names:
                ts = per.get(n, {}).get(size)
                if ts:
                    row.append(f"{fmt_time(statistics.median(ts))}")
                elif n in results["chain"]["first_failure"]:
                    row.append(f"fails (at {results['chain']['first_failure'][n]:.0e})")
                else:
                    row.append("-")
            lines.append(f"| deep chain, {size:.0e} steps, per node | " + " | ".join(row) + " |")
    if "wide" in results:
        for kind in ("pairwise", "n-ary"):
            row = []
            for n in names:
                w = results["wide"].get(f"{setup.label(n)} ({kind})")
                row.append(
                    f"{fmt_time(w['median'])}, {w['bytes_per_node']:.0f} B/node" if w else "-"
                )
            lines.append(f"| wide sum of 10^5 products ({kind}) | " + " | ".join(row) + " |")
    if "demo" in results:
        d = results["demo"]
        lines.append(
            "| moons demo, 100 training steps | "
            + " | ".join(fmt_time(d[n]) if n in d else "-" for n in names)
            + " |"
        )
    return "\n".join(lines)


def parse_list(text: str, allowed: Sequence[str], what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in items if t not in allowed]
    if unknown or not items:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(unknown) or repr(text)}; choose from {', '.join(allowed)}"
        )
    return items


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        description=doc.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(doc.splitlines()[1:]),
    )
    parser.add_argument("--quick", action="store_true", help="fewer steps per round, smaller sizes")
    parser.add_argument(
        "--only",
        type=lambda s: parse_list(s, WORKLOADS, "workload"),
        default=list(WORKLOADS),
        metavar="W,...",
        help=f"run only these workloads ({', '.join(WORKLOADS)})",
    )
    parser.add_argument(
        "--engines",
        type=lambda s: parse_list(s, ENGINES, "engine"),
        default=list(ENGINES),
        metavar="E,...",
        help=f"engines to run besides ours and floor ({', '.join(ENGINES)}; default all)",
    )
    parser.add_argument(
        "--base",
        default="6d28a8c",
        metavar="COMMIT",
        help="commit for the base row (default 6d28a8c; e.g. HEAD~1)",
    )
    parser.add_argument(
        "--rounds", type=int, metavar="N", help="rounds (default 7, 5 with --quick)"
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: this process's CPU time (default; other load on the machine does not count); "
        "wall: elapsed time",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
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
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    rounds = args.rounds or (5 if args.quick else 7)
    if rounds < 1:
        parser.error(f"--rounds must be at least 1, got {rounds}")
    moons_steps = 10 if args.quick else 25
    slow_steps = 1 if args.quick else 5  # micrograd and torch take ~0.5-1.6 s a step
    chain_sizes = [10**3, 10**4, 10**5] + ([] if args.quick else [10**6])

    try:
        setup = make_setup(args.engines, args.base, args.no_torch)
    except ValueError as error:
        parser.error(str(error))
    m = machine()
    print(f"autodiff benchmarks, {m['date']}")
    print(f"machine: {m['cores']} cores, {m['cpu']}, {m['os']}")
    print(f"python: {m['python']}; clock: {args.clock} time")
    print(f"engines: {', '.join(setup.label(n) for n in setup.engines)}")
    for note in setup.notes:
        print(f"  note: {note}")
    results: dict[str, Any] = {
        "machine": m,
        "engines": [setup.label(n) for n in setup.engines],
        "rounds": rounds,
        "clock": args.clock,
    }

    if "moons" in args.only:
        worst = check_moons(setup)
        print(
            "moons agreement with the floor (loss and gradients, before and after a step): "
            + ", ".join(f"{setup.label(n)} {w:.1e}" for n, w in worst.items())
        )
        # the same number of steps for every engine that can afford it: the collector's
        # full collections come every few steps, so a longer run would include more of them
        steps = {n: moons_steps for n in setup.engines}
        steps.update({n: slow_steps for n in ("micrograd", "torch")})
        moons = bench_moons(setup, rounds, steps)
        results["moons"] = moons
        print(
            f"\n1. moons step (MLP 2-16-16-1, 100 points, hinge + L2, forward + backward + SGD); "
            f"{rounds} rounds, mean of {moons_steps} steps (micrograd/torch {slow_steps}), GC on"
        )
        print_ratio_table(setup, moons["gc_on"])
        print("   GC off (best of 5 steps):")
        print_ratio_table(setup, moons["gc_off"])
        print(
            "   nodes per step: "
            + ", ".join(f"{setup.label(n)} {c:,}" for n, c in moons["nodes"].items())
        )

    if "expression" in args.only:
        worst = check_expression(setup)
        print(
            f"\nexpression agreement with the floor (g, dg/da, dg/db at {EXPRESSION_INPUTS}): "
            + ", ".join(f"{setup.label(n)} {w:.1e}" for n, w in worst.items())
        )
        calls = 200 if args.quick else 1000
        expression = bench_expression(setup, rounds, calls)
        results["expression"] = expression
        print(
            f"\n2. micrograd README expression g(a, b), forward + backward; mean of {calls} calls"
        )
        print_ratio_table(setup, expression["times"])

    if "chain" in args.only:
        chain_res = bench_chain(setup, rounds, chain_sizes, torch_max=10**5)
        results["chain"], results["chain_sizes"] = chain_res, chain_sizes
        print("\n3. deep chain x = x*1.0001 + 0.0001, forward + backward, time per node")
        print(
            f"   {'engine':<16} " + " ".join(f"{'N=' + format(s, '.0e'):>10}" for s in chain_sizes)
        )
        for name, per in chain_res["per_node"].items():
            row = [statistics.median(per[s]) if per[s] else None for s in chain_sizes]
            print(f"   {setup.label(name):<16} " + " ".join(f"{fmt_time(t):>10}" for t in row))
        if "micrograd" in setup.engines:
            print(
                f"   largest chain micrograd handles: {micrograd_max_chain()} steps "
                f"(recursion limit {sys.getrecursionlimit()})"
            )

    if "wide" in args.only:
        wide = bench_wide(setup, rounds, 10**5)
        results["wide"] = wide
        print(
            "\n4. wide sum: 10^5 products summed, forward + backward; memory per node (tracemalloc)"
        )
        for key, row in wide.items():
            print(
                f"   {key:<24} {fmt_time(row['median']):>10} {row['bytes_per_node']:>8.0f} B/node "
                f"({row['nodes']} nodes)"
            )

    if "demo" in args.only:
        demo = bench_demo(setup, args.full_micrograd)
        results["demo"] = demo
        print(f"\n5. moons demo training, 100 steps, {args.clock} time (one run each)")
        for name, seconds in demo.items():
            print(
                f"   {setup.label(name):<16} {fmt_time(seconds):>10} "
                f"{fmt_ratio(seconds / demo['ours']):>9} of ours"
            )

    if args.markdown:
        print("\n" + markdown(setup, results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
        print(f"\nresults written to {args.json}")
    return results


if __name__ == "__main__":
    main()
