"""Train micrograd's classic: a 2-16-16-1 MLP separating two moons, with max-margin loss.

    python demos/moons.py                    # 100 steps, writes pictures to out/
    python demos/moons.py --steps 50 --seed 7 --data-seed 0 --out /tmp/moons
    python demos/moons.py --compiled         # also train with autodiff.trace and compare

You will see a progress bar with the loss and the training accuracy (plain lines
when the output is not a terminal), reaching 100% accuracy within the 100 steps,
then the list of files written:

    out/moons_boundary.png, .svg   the decision boundary over the 100 training points
    out/moons_curves.png, .svg     loss and accuracy against the step
    out/moons_neuron.svg, .png     the computation graph of one trained hidden neuron
                                   on one data point, after backward: data and grad
    out/moons_neuron_explore.html  the same neuron's backward pass, step by step
                                   (open it in a browser)

With --compiled the same training runs a second time from the same start, each
step replayed by autodiff.trace (the graph traced once, then straight-line code),
and a line says whether it ended at the same weights (it does, to the last bit)
and how much faster it was, tracing included.

The set-up follows micrograd's demo: 100 moons points (noise 0.1) with labels
-1/+1, loss = mean(relu(1 - y * score)) + 1e-4 * sum(w^2), plain SGD with the
learning rate 1.0 - 0.9 * k / 100 at step k (held at 0.1 after step 100), full
batch. --seed sets the weight initialisation, --data-seed the points. Runs in a
few seconds.
"""

from __future__ import annotations

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

from autodiff import Value, explore, no_grad, render, trace  # noqa: E402
from nn import MLP, SGD, Neuron, datasets, losses  # noqa: E402

N_POINTS = 100
NOISE = 0.1
DATA_SEED = 3  # on these points every model seed from 0 to 25 reaches 100% by step 80
MODEL_SEED = 3
SIZES = [16, 16, 1]
STEPS = 100
L2_WEIGHT = 1e-4


def learning_rate(k: int) -> float:
    """micrograd's schedule: from 1.0 at step 0 down to 0.1 at step 100, then held at 0.1.

    Holding it keeps a longer run (--steps 200) from reaching a negative rate, and makes
    a shorter run exactly the first steps of the default one.
    """
    return max(0.1, 1.0 - 0.9 * k / 100)


@dataclass
class Result:
    """What `train` returns: the model, the data and the per-step history."""

    model: MLP
    X: list[list[float]]
    y: list[int]  # labels -1/+1
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    final_accuracy: float = 0.0


def accuracy(scores: list[float], y: list[int]) -> float:
    """Fraction of points whose score has the sign of their label."""
    return sum((s > 0) == (t > 0) for s, t in zip(scores, y)) / len(y)


def train(
    steps: int = STEPS,
    seed: int = MODEL_SEED,
    data_seed: int = DATA_SEED,
    on_step: Callable[[float, float], None] | None = None,
) -> Result:
    """Train the moons MLP; `on_step(loss, accuracy)` is called after every step."""
    X, labels = datasets.make_moons(N_POINTS, noise=NOISE, seed=data_seed)
    y = [2 * t - 1 for t in labels]  # 0/1 -> -1/+1 for the max-margin loss
    model = MLP(2, SIZES, seed=seed)
    params = model.parameters()
    optimizer = SGD(params, lr=learning_rate)
    result = Result(model, X, y)
    for _ in range(steps):
        scores = [model(x) for x in X]
        loss = losses.hinge(scores, y) + L2_WEIGHT * losses.l2(params)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # loss and accuracy of the forward pass that this step learned from
        result.loss.append(loss.data)
        result.accuracy.append(accuracy([s.data for s in scores], y))
        if on_step is not None:
            on_step(result.loss[-1], result.accuracy[-1])
    with no_grad():
        result.final_accuracy = accuracy([model(x).data for x in X], y)
    return result


def train_compiled(
    steps: int = STEPS,
    seed: int = MODEL_SEED,
    data_seed: int = DATA_SEED,
    on_step: Callable[[float], None] | None = None,
) -> tuple[MLP, list[float], float]:
    """`train` with each step replayed by autodiff.trace: the model, the losses, seconds tracing."""
    X, labels = datasets.make_moons(N_POINTS, noise=NOISE, seed=data_seed)
    y = [2 * t - 1 for t in labels]
    model = MLP(2, SIZES, seed=seed)
    params = model.parameters()
    optimizer = SGD(params, lr=learning_rate)
    # the same loss as train()'s, traced once: every step replays its forward and backward
    start = time.perf_counter()
    step = trace(
        lambda: losses.hinge([model(x) for x in X], y) + L2_WEIGHT * losses.l2(params),
        inputs=params,
    )
    tracing = time.perf_counter() - start
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        history.append(step())
        optimizer.step()
        if on_step is not None:
            on_step(history[-1])
    return model, history, tracing


def compare_compiled(result: Result, steps: int, seed: int, data_seed: int, eager: float) -> bool:
    """Train again with trace; print whether the weights match and the speed-up."""
    start = time.perf_counter()
    with _common.Progress(steps, "moons compiled") as progress:
        model, history, tracing = train_compiled(
            steps, seed, data_seed, on_step=lambda loss: progress.update(loss=loss)
        )
    compiled = time.perf_counter() - start
    pairs = zip(result.model.parameters(), model.parameters(), strict=True)
    gap = max(abs(a.data - b.data) for a, b in pairs)
    same = gap <= 1e-12 and history == result.loss
    per_step = (compiled - tracing) / steps
    print(
        f"compiled (autodiff.trace): {'the same' if same else 'DIFFERENT'} weights as eager "
        f"after {steps} steps (largest difference {gap:.1e})\n"
        f"  {eager:.2f} s eager, {compiled:.2f} s compiled ({tracing:.2f} s of it tracing "
        f"once): {eager / compiled:.1f}x faster; per step {1e3 * eager / steps:.1f} ms "
        f"against {1e3 * per_step:.1f} ms, {eager / steps / per_step:.1f}x"
    )
    return same


def neuron_graph(model: MLP, X: list[list[float]]) -> tuple[Value, list[Value]]:
    """One trained hidden neuron on one data point, labelled, after backward.

    The neuron is a copy of the first hidden neuron that is active (relu > 0) on
    the first data point, so the trained model's Values stay unlabelled and the
    gradients in the picture are not zero. Returns the output and the neuron's
    parameters (the drawing colours them as parameters).
    """
    x = X[0]
    hidden = model.layers[0].neurons
    with no_grad():
        source = next((n for n in hidden if n(x).data > 0), hidden[0])
    neuron = Neuron(2, activation="relu")
    neuron.load_state_dict(source.state_dict())
    neuron.w[0].label, neuron.w[1].label, neuron.b.label = "w1", "w2", "b"
    inputs = [Value(x[0], label="x1"), Value(x[1], label="x2")]
    out = neuron(inputs)
    out.label = "relu(w.x + b)"
    out.parents[0].label = "w.x + b"  # the pre-activation node
    out.backward()
    return out, neuron.parameters()


def main(argv: list[str] | None = None) -> int:
    """Train, plot the boundary and the curves, draw one neuron, print the file names."""
    parser = _common.make_parser(__doc__, steps=STEPS, seed=MODEL_SEED)
    parser.add_argument("--data-seed", type=int, default=DATA_SEED, help="seed of the points")
    parser.add_argument(
        "--compiled", action="store_true",
        help="also train with autodiff.trace and compare weights and time",
    )
    args = parser.parse_args(argv)
    out = _common.prepare_out(args.out)

    start = time.perf_counter()
    with _common.Progress(args.steps, "moons") as progress:
        result = train(
            args.steps,
            args.seed,
            args.data_seed,
            on_step=lambda loss, acc: progress.update(loss=loss, acc=acc),
        )
    eager = time.perf_counter() - start
    print(f"final training accuracy: {result.final_accuracy:.0%} on {len(result.y)} points")
    if args.compiled and not compare_compiled(
        result, args.steps, args.seed, args.data_seed, eager
    ):
        return 1

    model = result.model
    paths = _common.plot_decision_boundary(
        lambda a, b: model([a, b]).data,
        result.X,
        [(t + 1) // 2 for t in result.y],
        f"moons: MLP 2-16-16-1 after {args.steps} steps, accuracy {result.final_accuracy:.0%}",
        out,
        "moons_boundary",
    )
    paths += _common.plot_curves(
        {"loss": result.loss, "accuracy": result.accuracy},
        "moons: max-margin loss + 1e-4 L2, SGD",
        out,
        "moons_curves",
    )
    root, params = neuron_graph(model, result.X)
    for fmt in ("svg", "png"):
        paths.append(Path(render(root, out / f"moons_neuron.{fmt}", format=fmt, params=params)))
    page = explore(root, out / "moons_neuron_explore.html", params=params,
                   title="Backprop explorer: one hidden neuron of the moons MLP")
    paths.append(Path(page))
    _common.report(paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
