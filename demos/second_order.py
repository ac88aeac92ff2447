"""Fit sin(x) with a 1-5-1 tanh MLP four ways: SGD, Adam, Newton and Levenberg-Marquardt.

    python demos/second_order.py                    # 40 steps each, writes out/
    python demos/second_order.py --steps 100 --seed 0 --out /tmp/so

All four start from the same weights and see the same 20 points of sin on [-3, 3]
(full batch, mean squared error). You will see a progress bar per method (plain
lines when the output is not a terminal), one line per method with its final
loss and its time per step, then the files written:

    out/second_order.png, .svg   left: the four fits; middle: loss against the step;
                                 right: loss against wall-clock time, where SGD and
                                 Adam keep going for as long as LM took
    out/second_order.csv         run (steps or time), method, step, seconds, loss
                                 (step 0 = the start)

Levenberg-Marquardt solves (J^T J + damping I) d = -J^T r for the 16 weights at
every step, J the Jacobian of the 20 residuals, and adapts its damping. With the
default seed it ends about 180 times below SGD (lr 0.3) and Adam (lr 0.1), the
best rates of a small grid; from other starts the factor varies (5 to 100 over
seeds 0-5 after 30 steps), smaller where LM settles in a local minimum.
Newton, (H + 0.1 I) d = -g, uses the true Hessian, which is indefinite on this
non-convex loss, so it crawls along near a saddle. A few seconds.
"""

from __future__ import annotations

import csv
import io
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent, HERE):  # the packages and _common, from any directory
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import _common  # noqa: E402

from autodiff import Value, no_grad  # noqa: E402
from autodiff.fileio import write_atomic  # noqa: E402
from nn import MLP, SGD, Adam, LevenbergMarquardt, Newton, losses  # noqa: E402

N_POINTS = 20
LOW, HIGH = -3.0, 3.0
SIZES = [5, 1]
SEED = 2
STEPS = 40
SGD_LR = 0.3
ADAM_LR = 0.1
NEWTON_DAMPING = 0.1
PLOT_POINTS = 121
MAX_BUDGET_STEPS = 5000
METHODS = ("SGD", "Adam", "Newton", "LM")
COLOURS = {"SGD": "#6b7280", "Adam": "#2563eb", "Newton": "#d97706", "LM": "#dc2626"}
LABELS = {
    "SGD": f"SGD (lr {SGD_LR:g})",
    "Adam": f"Adam (lr {ADAM_LR:g})",
    "Newton": f"Newton (damping {NEWTON_DAMPING:g})",
    "LM": "Levenberg-Marquardt",
}


@dataclass
class Run:
    """One method's history: loss after each step (index 0: before any) and time spent."""

    method: str
    model: MLP
    loss: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    stopped: str = ""  # why the run ended early, if it did


def make_data() -> tuple[list[float], list[float]]:
    """N_POINTS evenly spaced x in [LOW, HIGH] and sin(x)."""
    xs = [LOW + (HIGH - LOW) * i / (N_POINTS - 1) for i in range(N_POINTS)]
    return xs, [math.sin(x) for x in xs]


def train(
    method: str,
    steps: int = STEPS,
    seed: int = SEED,
    budget: float = 0.0,
    on_step: Callable[[float], None] | None = None,
) -> Run:
    """Train a fresh MLP (same seed, same start for every method) with one method.

    With a time budget (seconds), keep going past `steps` until the steps have
    taken that long (at most MAX_BUDGET_STEPS steps). `on_step(loss)` runs after
    each of the first `steps` steps.
    """
    xs, ys = make_data()
    model = MLP(1, SIZES, activation="tanh", seed=seed)
    params = model.parameters()

    def loss_value() -> Value:
        return losses.mse([model([x]) for x in xs], ys)

    def residuals() -> list[Value]:
        return [model([x]) - y for x, y in zip(xs, ys)]

    step: Callable[[], object]
    if method in ("SGD", "Adam"):
        opt = SGD(params, lr=SGD_LR) if method == "SGD" else Adam(params, lr=ADAM_LR)

        def first_order() -> None:
            loss = loss_value()
            opt.zero_grad()
            loss.backward()
            opt.step()

        step = first_order
    elif method == "Newton":
        newton = Newton(params, damping=NEWTON_DAMPING)
        step = lambda: newton.step(loss_value)  # noqa: E731
    else:
        lm = LevenbergMarquardt(params)
        step = lambda: lm.step(residuals)  # noqa: E731

    run = Run(method, model)
    with no_grad():
        run.loss.append(loss_value().data)
    run.seconds.append(0.0)
    k = 0
    while k < steps or (run.seconds[-1] < budget and k < MAX_BUDGET_STEPS):
        k += 1
        start = time.perf_counter()
        try:
            step()
        except ValueError as error:  # e.g. a singular Newton system: the curve ends here
            run.stopped = f"stopped at step {k}: {type(error).__name__}"
            break
        spent = time.perf_counter() - start
        with no_grad():  # the evaluation is not part of the method's time
            run.loss.append(loss_value().data)
        run.seconds.append(run.seconds[-1] + spent)
        if on_step is not None and k <= steps:
            on_step(run.loss[-1])
    return run


def fit_curve(model: MLP) -> tuple[list[float], list[float]]:
    grid = [LOW + (HIGH - LOW) * i / (PLOT_POINTS - 1) for i in range(PLOT_POINTS)]
    with no_grad():
        return grid, [model([x]).data for x in grid]


def write_csv(runs: list[Run], timed: list[Run], path: Path) -> Path:
    """run, method, step, seconds, loss: one row per recorded point of every run."""
    text = io.StringIO()
    out = csv.writer(text, lineterminator="\n")
    out.writerow(["run", "method", "step", "seconds", "loss"])
    for kind, group in (("steps", runs), ("time", timed)):
        for run in group:
            for k, (s, loss) in enumerate(zip(run.seconds, run.loss)):
                out.writerow([kind, run.method, k, f"{s:.6f}", repr(loss)])
    write_atomic(path, text.getvalue())  # the file appears whole or not at all
    return path


def plot(runs: list[Run], timed: list[Run], steps: int, folder: Path) -> list[Path]:
    """Fits, loss by step (equal steps) and loss by time (first-order runs given LM's time)."""
    plt = _common.pyplot()
    fig, (fits, by_step, by_time) = plt.subplots(1, 3, figsize=(14, 4))
    xs, ys = make_data()
    grid = [LOW + (HIGH - LOW) * i / (PLOT_POINTS - 1) for i in range(PLOT_POINTS)]
    fits.plot(grid, [math.sin(x) for x in grid], color="#d1d5db", lw=4, label="sin(x)")
    fits.scatter(xs, ys, s=14, color="black", zorder=3, label=f"{N_POINTS} training points")
    for run in runs:
        colour, label = COLOURS[run.method], LABELS[run.method]
        fits.plot(*fit_curve(run.model), color=colour, lw=1.4, label=label)
        if run.stopped:
            label += f" ({run.stopped})"
        by_step.plot(range(len(run.loss)), run.loss, color=colour, lw=1.6, label=label)
    for run in timed:
        label = f"{LABELS[run.method]}: {len(run.loss) - 1} steps"
        by_time.plot(run.seconds, run.loss, color=COLOURS[run.method], lw=1.6, label=label)
    fits.set_title(f"fits after {steps} steps (MLP 1-5-1, tanh)", fontsize=10)
    fits.set_xlabel("x")
    fits.set_ylabel("y")
    fits.legend(fontsize=7, loc="lower right")
    by_step.set_title(f"training loss, {steps} steps each", fontsize=10)
    by_step.set_xlabel("step")
    by_time.set_title("training loss against wall-clock time", fontsize=10)
    by_time.set_xlabel("seconds of training (first-order methods get LM's time)")
    for ax in (by_step, by_time):
        ax.set_yscale("log")
        ax.set_ylabel("mean squared error")
        ax.legend(fontsize=7)
    for ax in (fits, by_step, by_time):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _common.save_figure(fig, folder, "second_order")


def main(argv: list[str] | None = None) -> int:
    """Train with each method, print a summary, write the plot and the CSV."""
    args = _common.make_parser(__doc__, steps=STEPS, seed=SEED).parse_args(argv)
    out = _common.prepare_out(args.out)
    runs = {}
    for method in METHODS:
        with _common.Progress(args.steps, method) as progress:
            runs[method] = train(
                method, args.steps, args.seed, on_step=lambda loss: progress.update(loss=loss)
            )
    for run in runs.values():
        done = len(run.loss) - 1
        per_step = 1000 * run.seconds[-1] / max(done, 1)
        note = f"  ({run.stopped})" if run.stopped else ""
        print(
            f"{LABELS[run.method]:<22} loss {run.loss[0]:.3g} -> {run.loss[-1]:.3g} "
            f"in {done} steps, {per_step:.1f} ms/step{note}"
        )
    # the same wall-clock time for everyone: the first-order methods take more steps
    budget = runs["LM"].seconds[-1]
    timed = [train(m, args.steps, args.seed, budget) for m in ("SGD", "Adam")]
    for run in timed:
        print(
            f"{LABELS[run.method]:<22} in LM's {budget:.2f} s: {len(run.loss) - 1} steps, "
            f"loss {run.loss[-1]:.3g}"
        )
    timed += [runs["Newton"], runs["LM"]]
    paths = plot(list(runs.values()), timed, args.steps, out)
    paths.append(write_csv(list(runs.values()), timed, out / "second_order.csv"))
    _common.report(paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
