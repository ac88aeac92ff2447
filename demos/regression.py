"""Fit sin(x) on [-3, 3] with a small tanh MLP and mean squared error.

    python demos/regression.py                       # 200 steps, writes out/
    python demos/regression.py --steps 500 --seed 2 --out /tmp/sin

You will see a progress bar with the loss and the largest error on the training
points (plain lines when the output is not a terminal), then the largest error of
the fit on a fine grid over [-3, 3] and the files written:

    out/regression_fit.png, .svg   left: sin(x), the training points and the fit;
                                   right: the loss against the step

40 points x spread over [-3, 3] (one random point in each of 40 equal bins),
targets sin(x) without noise, MLP 1-16-16-1 with tanh hidden layers and a linear
output, Adam with learning rate 0.02, full batch. A few seconds.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent, HERE):  # the packages and _common, from any directory
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import _common  # noqa: E402

from autodiff import no_grad  # noqa: E402
from nn import MLP, Adam, losses  # noqa: E402

N_POINTS = 40
LOW, HIGH = -3.0, 3.0
DATA_SEED = 0
SEED = 0  # weight init
SIZES = [16, 16, 1]
LR = 0.02
STEPS = 200
PLOT_POINTS = 201


@dataclass
class Result:
    """What `train` returns: the model, the data and the per-step history."""

    model: MLP
    xs: list[float]
    ys: list[float]
    loss: list[float] = field(default_factory=list)
    max_error: list[float] = field(default_factory=list)


def make_data(seed: int = DATA_SEED) -> tuple[list[float], list[float]]:
    """N_POINTS x in [LOW, HIGH], one uniform draw in each of N_POINTS equal bins, and sin(x).

    One point per bin covers the whole interval, with no large gap for the fit to guess.
    """
    rng = random.Random(seed)
    width = (HIGH - LOW) / N_POINTS
    xs = [LOW + width * (i + rng.random()) for i in range(N_POINTS)]
    return xs, [math.sin(x) for x in xs]


def train(
    steps: int = STEPS, seed: int = SEED, on_step: Callable[[float, float], None] | None = None
) -> Result:
    """Fit the MLP to sin; `on_step(loss, max_error)` runs after every step."""
    xs, ys = make_data()
    model = MLP(1, SIZES, activation="tanh", seed=seed)
    optimizer = Adam(model.parameters(), lr=LR)
    result = Result(model, xs, ys)
    for _ in range(steps):
        predictions = [model([x]) for x in xs]
        loss = losses.mse(predictions, ys)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        result.loss.append(loss.data)
        result.max_error.append(max(abs(p.data - y) for p, y in zip(predictions, ys)))
        if on_step is not None:
            on_step(result.loss[-1], result.max_error[-1])
    return result


def fit_curve(model: MLP, n: int = PLOT_POINTS) -> tuple[list[float], list[float]]:
    """The model's prediction on n evenly spaced points of [LOW, HIGH]."""
    grid = [LOW + (HIGH - LOW) * i / (n - 1) for i in range(n)]
    with no_grad():
        return grid, [model([x]).data for x in grid]


def main(argv: list[str] | None = None) -> int:
    """Fit, plot the fit against the truth and the loss, print the file names."""
    args = _common.make_parser(__doc__, steps=STEPS, seed=SEED).parse_args(argv)
    out = _common.prepare_out(args.out)

    with _common.Progress(args.steps, "sin") as progress:
        result = train(
            args.steps,
            args.seed,
            on_step=lambda loss, err: progress.update(loss=loss, max_err=err),
        )
    grid, fit = fit_curve(result.model)
    worst = max(abs(f - math.sin(x)) for x, f in zip(grid, fit))
    print(f"largest error of the fit on [{LOW:g}, {HIGH:g}]: {worst:.4f}")

    plt = _common.pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    left.plot(grid, [math.sin(x) for x in grid], color="#9ca3af", lw=3, label="sin(x)")
    left.plot(grid, fit, color=_common.CLASS_COLOURS[1], lw=1.5, label="MLP fit")
    left.scatter(result.xs, result.ys, s=14, color=_common.CLASS_COLOURS[0], zorder=3,
                 label=f"{N_POINTS} training points")  # fmt: skip
    left.set_title(f"MLP 1-16-16-1 (tanh) after {args.steps} steps", fontsize=10)
    left.set_xlabel("x")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    right.plot(range(1, len(result.loss) + 1), result.loss, color=_common.CLASS_COLOURS[0])
    right.set_yscale("log")
    right.set_title("mean squared error", fontsize=10)
    right.set_xlabel("step")
    right.grid(alpha=0.3)
    fig.tight_layout()
    _common.report(_common.save_figure(fig, out, "regression_fit"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
