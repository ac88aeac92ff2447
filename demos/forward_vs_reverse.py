"""Forward mode against reverse mode: who pays what for a full gradient and for a Jacobian.

    python demos/forward_vs_reverse.py               # sizes 2, 4, ..., 128; writes out/
    python demos/forward_vs_reverse.py --steps 8 --seed 1 --out /tmp/fr

Two functions, growing in size:

    f: R^n -> R     f(x) = sum_i tanh(x_i * x_(i+1 mod n))        (3n + 1 nodes)
    g: R -> R^m     y_0 = x,  y_k = tanh(0.9 * y_(k-1) + x),  g(x) = (y_1, ..., y_m)

The gradient of f needs n forward sweeps (one `jvp` per input direction, each
building and sweeping the whole graph) but one reverse sweep (`grad`). The
Jacobian of g needs one forward sweep (all m outputs move together) but m
reverse sweeps (`jacobian`, one `grad` per output, the k-th over a graph of
3k + 1 nodes). You will see a table of times and node visits per size, and the
largest difference between the two modes' answers (rounding only), then the files:

    out/forward_vs_reverse.png, .svg   top: time; bottom: nodes visited;
                                       left: gradient of f; right: Jacobian of g
    out/forward_vs_reverse.csv         problem, size, mode, seconds, visits

`--steps` is the number of sizes (doubling from 2), `--seed` picks the point x.
A few seconds.
"""

from __future__ import annotations

import csv
import io
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent, HERE):  # the packages and _common, from any directory
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import _common  # noqa: E402

from autodiff import Value, grad, jacobian, jvp, sum_values, topological_order  # noqa: E402
from autodiff.fileio import write_atomic  # noqa: E402
from autodiff.higher_order import forward_derivatives  # noqa: E402

STEPS = 7  # sizes 2, 4, ..., 2 ** STEPS
SEED = 0
REPEATS = 3  # each time is the best of this many runs
DECAY = 0.9
COLOURS = {"forward": "#d97706", "reverse": "#2563eb"}


@dataclass
class Measure:
    """One mode on one problem at one size."""

    problem: str  # "gradient" (f: R^n -> R) or "jacobian" (g: R -> R^m)
    size: int
    mode: str  # "forward" or "reverse"
    seconds: float
    visits: int
    answer: list[float]


def f(*xs: Value) -> Value:
    """sum_i tanh(x_i * x_(i+1 mod n))"""
    n = len(xs)
    return sum_values([(xs[i] * xs[(i + 1) % n]).tanh() for i in range(n)])


def g(x: Value, m: int) -> list[Value]:
    """The chain y_k = tanh(DECAY * y_(k-1) + x), k = 1..m; every y_k is an output."""
    ys = []
    y = x
    for _ in range(m):
        y = (DECAY * y + x).tanh()
        ys.append(y)
    return ys


def best_time(run: Callable[[], list[float]]) -> tuple[float, list[float]]:
    """The fastest of REPEATS runs, and the run's answer."""
    best = float("inf")
    answer: list[float] = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        answer = run()
        best = min(best, time.perf_counter() - start)
    return best, answer


def measure_gradient(n: int, rng: random.Random) -> list[Measure]:
    """The gradient of f at a random point: n jvp sweeps against one grad sweep."""
    point = [rng.uniform(-1, 1) for _ in range(n)]
    basis = [[1.0 if j == i else 0.0 for j in range(n)] for i in range(n)]

    def forward() -> list[float]:
        return [jvp(f, point, direction)[1] for direction in basis]

    def reverse() -> list[float]:
        xs = [Value(p) for p in point]
        return grad(f(*xs), xs)

    nodes = len(topological_order(f(*[Value(p) for p in point])))
    t_forward, by_forward = best_time(forward)
    t_reverse, by_reverse = best_time(reverse)
    return [
        Measure("gradient", n, "forward", t_forward, n * nodes, by_forward),
        Measure("gradient", n, "reverse", t_reverse, nodes, by_reverse),
    ]


def measure_jacobian(m: int, rng: random.Random) -> list[Measure]:
    """The Jacobian (a column) of g at a random point: one forward sweep against m grads."""
    point = rng.uniform(-1, 1)

    def forward() -> list[float]:
        x = Value(point)
        return forward_derivatives(g(x, m), {x: 1.0})

    def reverse() -> list[float]:
        x = Value(point)
        return [row[0] for row in jacobian(g(x, m), [x])]

    x = Value(point)
    outputs = g(x, m)
    visits_reverse = sum(len(topological_order(y)) for y in outputs)
    visits_forward = len(topological_order(outputs[-1]))  # every output is on the last's graph
    t_forward, by_forward = best_time(forward)
    t_reverse, by_reverse = best_time(reverse)
    return [
        Measure("jacobian", m, "forward", t_forward, visits_forward, by_forward),
        Measure("jacobian", m, "reverse", t_reverse, visits_reverse, by_reverse),
    ]


def write_csv(measures: list[Measure], path: Path) -> Path:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["problem", "size", "mode", "seconds", "visits"])
    for r in measures:
        writer.writerow([r.problem, r.size, r.mode, f"{r.seconds:.6g}", r.visits])
    write_atomic(path, text.getvalue())  # the file appears whole or not at all
    return path


def plot(measures: list[Measure], folder: Path) -> list[Path]:
    plt = _common.pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 7), sharex="col")
    labels = {
        ("gradient", "forward"): "forward: n jvp sweeps",
        ("gradient", "reverse"): "reverse: 1 grad sweep",
        ("jacobian", "forward"): "forward: 1 sweep, all outputs",
        ("jacobian", "reverse"): "reverse: m grad sweeps",
    }
    titles = {
        "gradient": "gradient of f: R^n -> R",
        "jacobian": "Jacobian of g: R -> R^m",
    }
    for col, problem in enumerate(("gradient", "jacobian")):
        for mode in ("forward", "reverse"):
            rows = [r for r in measures if r.problem == problem and r.mode == mode]
            sizes = [r.size for r in rows]
            style = {"color": COLOURS[mode], "marker": "o", "ms": 4, "label": labels[problem, mode]}
            axes[0][col].plot(sizes, [1000 * r.seconds for r in rows], **style)
            axes[1][col].plot(sizes, [r.visits for r in rows], **style)
        axes[0][col].set_title(titles[problem], fontsize=10)
        axes[0][col].set_ylabel("time (ms, best of 3)")
        axes[1][col].set_ylabel("nodes visited by the sweeps")
        axes[1][col].set_xlabel("n (inputs)" if problem == "gradient" else "m (outputs)")
        for ax in (axes[0][col], axes[1][col]):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(
        "forward mode pays per input, reverse mode pays per output (log-log: slope 2 vs 1)",
        fontsize=10,
    )
    fig.tight_layout()
    return _common.save_figure(fig, folder, "forward_vs_reverse")


def main(argv: list[str] | None = None) -> int:
    """Measure both modes on both problems at every size; print, plot, write the CSV."""
    args = _common.make_parser(__doc__, steps=STEPS, seed=SEED).parse_args(argv)
    out = _common.prepare_out(args.out)
    rng = random.Random(args.seed)
    sizes = [2**k for k in range(1, args.steps + 1)]
    measures: list[Measure] = []
    for size in sizes:
        measures += measure_gradient(size, rng) + measure_jacobian(size, rng)
    worst = 0.0
    print(f"{'problem':<9} {'size':>5} {'forward ms':>11} {'reverse ms':>11} "
          f"{'fwd visits':>11} {'rev visits':>11}")  # fmt: skip
    for problem in ("gradient", "jacobian"):
        for size in sizes:
            fw, rv = (
                next(r for r in measures if (r.problem, r.size, r.mode) == (problem, size, mode))
                for mode in ("forward", "reverse")
            )
            worst = max([worst] + [abs(a - b) for a, b in zip(fw.answer, rv.answer)])
            print(
                f"{problem:<9} {size:>5} {1000 * fw.seconds:>11.2f} {1000 * rv.seconds:>11.2f} "
                f"{fw.visits:>11} {rv.visits:>11}"
            )
    print(f"largest difference between the two modes' derivatives: {worst:.1e}")
    paths = plot(measures, out)
    paths.append(write_csv(measures, out / "forward_vs_reverse.csv"))
    _common.report(paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
