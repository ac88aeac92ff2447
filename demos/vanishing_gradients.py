"""Vanishing gradients: how large the gradient is in each layer of a deep MLP, by activation.

    python demos/vanishing_gradients.py                # 40 training steps, writes out/
    python demos/vanishing_gradients.py --steps 100 --seed 3 --out /tmp/vg

Three MLPs of 10 layers (1 input, nine hidden layers of 8 units, 1 linear output)
differ only in their hidden activation: sigmoid, tanh or relu. Each fits sin on
[-3, 3] (20 points, mean squared error, Adam with learning rate 0.01). For every
layer we take the mean |dL/dw| over its weights, at initialisation and after
training. You will see a progress bar per network, then one line per network
(the loss before and after, and the gradient ratio between the first and the
last layer), then the files written:

    out/vanishing_gradients.png, .svg   left: gradient per layer at initialisation;
                                        middle: after training; right: the loss
    out/vanishing_gradients.csv         activation, when, layer, mean_abs_grad

Backpropagation multiplies one activation derivative per layer on the way down.
sigmoid' is at most 1/4, so the gradient shrinks by orders of magnitude towards
the input (about a million times at this depth), and the sigmoid network's loss
barely moves even though Adam rescales every weight's step; tanh' is at most 1
and relu' is 0 or 1, so with a matching initialisation their gradients stay
within a small factor across the depth and both networks learn. A few seconds.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent, HERE):  # the packages and _common, from any directory
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import _common  # noqa: E402

from autodiff.fileio import write_atomic  # noqa: E402
from nn import MLP, Adam, losses  # noqa: E402

ACTIVATIONS = ("sigmoid", "tanh", "relu")
COLOURS = {"sigmoid": "#dc2626", "tanh": "#2563eb", "relu": "#16a34a"}
WIDTH = 8
HIDDEN_LAYERS = 9
N_POINTS = 20
LOW, HIGH = -3.0, 3.0
LR = 0.01
STEPS = 40
SEED = 0


@dataclass
class Result:
    """One network's per-layer gradient sizes (input side first) and its loss history."""

    activation: str
    at_init: list[float] = field(default_factory=list)
    trained: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)


def make_data() -> tuple[list[float], list[float]]:
    xs = [LOW + (HIGH - LOW) * i / (N_POINTS - 1) for i in range(N_POINTS)]
    return xs, [math.sin(x) for x in xs]


def layer_gradients(model: MLP) -> list[float]:
    """Mean |grad| over the weights (not the biases) of each layer, input side first."""
    sizes = []
    for layer in model.layers:
        weights = [w for neuron in layer.neurons for w in neuron.w]
        sizes.append(math.fsum(abs(w.grad) for w in weights) / len(weights))
    return sizes


def train(
    activation: str,
    steps: int = STEPS,
    seed: int = SEED,
    on_step: Callable[[float], None] | None = None,
) -> Result:
    """Fit sin with a deep MLP; record the layer gradients at the first and the last step."""
    xs, ys = make_data()
    model = MLP(1, [WIDTH] * HIDDEN_LAYERS + [1], activation=activation, seed=seed)
    opt = Adam(model.parameters(), lr=LR)
    result = Result(activation)
    for k in range(steps + 1):  # the extra pass measures the trained network, no update
        loss = losses.mse([model([x]) for x in xs], ys)
        opt.zero_grad()
        loss.backward()
        result.loss.append(loss.data)
        if k == 0:
            result.at_init = layer_gradients(model)
        if k == steps:
            result.trained = layer_gradients(model)
            break
        opt.step()
        if on_step is not None:
            on_step(loss.data)
    return result


def write_csv(results: list[Result], path: Path) -> Path:
    text = io.StringIO()
    out = csv.writer(text, lineterminator="\n")
    out.writerow(["activation", "when", "layer", "mean_abs_grad"])
    for r in results:
        for when, sizes in (("init", r.at_init), ("trained", r.trained)):
            for layer, g in enumerate(sizes, start=1):
                out.writerow([r.activation, when, layer, repr(g)])
    write_atomic(path, text.getvalue())  # the file appears whole or not at all
    return path


def plot(results: list[Result], steps: int, folder: Path) -> list[Path]:
    plt = _common.pyplot()
    fig, (init, trained, curves) = plt.subplots(1, 3, figsize=(14, 4))
    layers = range(1, HIDDEN_LAYERS + 2)
    for r in results:
        colour = COLOURS[r.activation]
        init.plot(layers, r.at_init, color=colour, marker="o", ms=4, label=r.activation)
        trained.plot(layers, r.trained, color=colour, marker="o", ms=4, label=r.activation)
        curves.plot(range(len(r.loss)), r.loss, color=colour, lw=1.6, label=r.activation)
    for ax, title in ((init, "at initialisation"), (trained, f"after {steps} steps of Adam")):
        ax.set_yscale("log")
        ax.set_xticks(list(layers))
        ax.set_xlabel("layer (1 = next to the input, 10 = output)")
        ax.set_ylabel("mean |dL/dw| over the layer's weights")
        ax.set_title(f"gradient size per layer, {title}", fontsize=10)
    low = min(min(r.at_init + r.trained) for r in results)
    high = max(max(r.at_init + r.trained) for r in results)
    for ax in (init, trained):  # one scale for both panels, so they compare at a glance
        ax.set_ylim(low / 3, high * 3)
    curves.set_yscale("log")
    curves.set_xlabel("step")
    curves.set_ylabel("mean squared error")
    curves.set_title(f"training loss, MLP 1-{WIDTH}x{HIDDEN_LAYERS}-1 on sin", fontsize=10)
    for ax in (init, trained, curves):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _common.save_figure(fig, folder, "vanishing_gradients")


def main(argv: list[str] | None = None) -> int:
    """Train the three networks, print the summary, write the plot and the CSV."""
    args = _common.make_parser(__doc__, steps=STEPS, seed=SEED).parse_args(argv)
    out = _common.prepare_out(args.out)
    results = []
    for activation in ACTIVATIONS:
        with _common.Progress(args.steps, activation) as progress:
            results.append(
                train(activation, args.steps, args.seed, lambda loss: progress.update(loss=loss))
            )
    for r in results:
        print(
            f"{r.activation:<8} loss {r.loss[0]:.3g} -> {r.loss[-1]:.3g}; layer 1 / layer "
            f"{HIDDEN_LAYERS + 1} gradient: {r.at_init[0] / r.at_init[-1]:.2g} at init, "
            f"{r.trained[0] / r.trained[-1]:.2g} after {args.steps} steps"
        )
    paths = plot(results, args.steps, out)
    paths.append(write_csv(results, out / "vanishing_gradients.csv"))
    _common.report(paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
