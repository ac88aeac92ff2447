"""Print the code autodiff.trace writes: the forward pass and the chain rule, line by line.

    python demos/compiled.py             # a tanh neuron, then a 2-2-1 MLP
    python demos/compiled.py --only neuron

You will see, for each graph, the Python function that trace() generated from
it: one line per op forward (o = tanh(n)), then one line per node backward,
g_v = d(loss)/dv as the sum over v's uses of (local derivative) x (upstream
gradient), e.g. g_w1 = g_w1 + x1 * g_x1w1. Then the step is run and its loss
and gradients are printed next to those of loss.backward(): they are the same
numbers. The neuron is micrograd's (x1 = 2, x2 = 0, w1 = -3, w2 = 1,
b = 6.8813735870195432, o = tanh(x1 w1 + x2 w2 + b) = 0.7071); the MLP is
nn.MLP(2, [2, 1], seed=4) with its parameters renamed w11 ... c for reading,
and the loss (out - 1)^2 on the point (0.5, -1.0). Writes no files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # the packages, from any directory
    sys.path.insert(0, str(HERE.parent))

from autodiff import Value, trace  # noqa: E402
from nn import MLP  # noqa: E402

POINT = [0.5, -1.0]
TARGET = 1.0
SEED = 4  # both hidden neurons are active on POINT, so every gradient is nonzero
MLP_NAMES = ["w11", "w12", "b1", "w21", "w22", "b2", "v1", "v2", "c"]


def neuron() -> tuple[Callable[[], Value], list[Value]]:
    """micrograd's neuron: the loss function and its parameters (x1, x2 are data)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")

    def forward() -> Value:
        x1w1 = x1 * w1
        x2w2 = x2 * w2
        x1w1.label, x2w2.label = "x1w1", "x2w2"
        n = x1w1 + x2w2 + b
        n.label = "n"
        o = n.tanh()
        o.label = "o"
        return o

    return forward, [w1, w2, b]


def mlp() -> tuple[Callable[[], Value], list[Value]]:
    """A 2-2-1 MLP (relu hidden layer, linear output) and the squared error on one point."""
    model = MLP(2, [2, 1], seed=SEED)
    params = model.parameters()
    for p, name in zip(params, MLP_NAMES, strict=True):
        p.label = name

    def forward() -> Value:
        out: Value = model(POINT)
        out.label = "out"
        error = out - TARGET
        error.label = "error"
        loss = error * error
        loss.label = "loss"
        return loss

    return forward, params


EXAMPLES = {"neuron": neuron, "mlp": mlp}


def show(name: str, fn: Callable[[], Value], params: Sequence[Value]) -> None:
    """Trace fn, print its code, and compare one replay with loss.backward()."""
    step = trace(fn, inputs=params)
    print(f"# --- {name}: the code trace() wrote ---")
    print(step.source())
    loss = step()
    replayed = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    eager = fn()
    eager.backward()
    print(f"# step() gives loss {loss:.6f}; loss.backward() gives {eager.data:.6f}")
    for p, g in zip(params, replayed):
        same = "same" if g == p.grad else f"DIFFERENT ({p.grad!r})"
        print(f"#   d loss / d {p.label:<4} = {g: .6f}   backward(): {same}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").strip().split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--only", choices=sorted(EXAMPLES), help="print one example only")
    args = parser.parse_args(argv)
    for name, make in EXAMPLES.items():
        if args.only in (None, name):
            show(name, *make())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
