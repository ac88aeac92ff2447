"""Write two step-through pages (forward, then backward): a neuron and a 2-2-1 MLP's loss.

    python demos/explore.py --out out

writes out/explore_neuron.html (micrograd's worked example: o = tanh(x1*w1 + x2*w2 + b),
where backward gives x1.grad = -1.5, w1.grad = 1.0, x2.grad = 0.5, w2.grad = 0.0) and
out/explore_mlp.html (the squared-error loss of a 2-2-1 tanh MLP on two examples, built
from Values with one `dot` node per neuron as nn's Neuron does, so every weight receives
one contribution per example). Open either file in a browser, offline, and press the
right arrow or Step: the forward pass computes the values node by node, then the
backward pass sends the gradient back one rule at a time; at the end nodes and edges are
coloured by gradient. Zoom with the wheel or + and -, drag to pan, and click any node for
its local derivatives, every contribution to its grad, the finite-difference check of a
parameter's gradient and its update data - lr*grad (lr from --lr).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from autodiff import Value, dot, explore  # noqa: E402

SEED = 0
# Two points of the XOR problem: (inputs, target).
EXAMPLES = [((0.0, 1.0), 1.0), ((1.0, 1.0), -1.0)]


def neuron() -> tuple[Value, list[Value]]:
    """micrograd's single tanh neuron with its published numbers; returns (output, params)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, [w1, w2, b]


def mlp_loss(seed: int, samples: int) -> tuple[Value, list[Value]]:
    """Mean squared error of a 2-2-1 MLP (tanh hidden, linear output); returns (loss, params)."""
    rng = random.Random(seed)
    hidden = [
        [Value(rng.uniform(-1, 1), label=f"h{j}.w{i}") for i in (1, 2)]
        + [Value(rng.uniform(-1, 1), label=f"h{j}.b")]
        for j in (1, 2)
    ]
    output = [Value(rng.uniform(-1, 1), label=f"o.w{i}") for i in (1, 2)]
    output.append(Value(rng.uniform(-1, 1), label="o.b"))

    losses = []
    for s, (xs, target) in enumerate(EXAMPLES[:samples], start=1):
        x = [Value(v, label=f"x{i}#{s}") for i, v in enumerate(xs, start=1)]
        h = []
        for j, (w1, w2, b) in enumerate(hidden, start=1):
            z = dot(x, [w1, w2], b)  # x1*w1 + x2*w2 + b as one node
            z.label = f"z{j}#{s}"
            a = z.tanh()
            a.label = f"h{j}#{s}"
            h.append(a)
        y = dot(h, output[:2], output[2])
        y.label = f"y#{s}"
        error = y - Value(target, label=f"target#{s}")
        error.label = f"e#{s}"
        loss = error**2
        loss.label = f"loss#{s}"
        losses.append(loss)
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    total.label = "sum"
    mean = total / len(losses)
    mean.label = "L"
    params = [p for row in hidden for p in row] + output
    return mean, params


def main(argv: list[str] | None = None) -> int:
    """Write both pages and print their paths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the pages (default: out)")
    parser.add_argument("--seed", type=int, default=SEED, help="weight initialisation seed")
    parser.add_argument("--samples", type=int, default=2, choices=(1, 2),
                        help="examples in the MLP's loss (default: 2)")
    parser.add_argument("--lr", type=float, default=0.1,
                        help="learning rate for the update the pages show (default: 0.1)")
    parser.add_argument("--max-nodes", type=int, default=200,
                        help="refuse graphs with more values than this (default: 200)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    o, params = neuron()
    print(explore(o, out / "explore_neuron.html", params=params, max_nodes=args.max_nodes,
                  lr=args.lr, title="Backprop explorer: one tanh neuron"))
    loss, params = mlp_loss(args.seed, args.samples)
    print(explore(loss, out / "explore_mlp.html", params=params, max_nodes=args.max_nodes,
                  lr=args.lr, title="Backprop explorer: 2-2-1 MLP, squared-error loss"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
