"""A tour of two computation graphs, drawn after backward with every node's data and grad.

    python demos/graph_tour.py                  # writes out/graph_tour_*.svg and .png
    python demos/graph_tour.py --out /tmp/tour

You will see, for each graph, a table of its labelled values with data and grad
(the same numbers the pictures show), a finite-difference check of the
gradients, and the files written:

    out/graph_tour_expression.svg, .png   L = (a*b + c) * f, micrograd's first example
    out/graph_tour_neuron.svg, .png       o = tanh(x1*w1 + x2*w2 + b), a neuron whose
                                          output is 0.7071 (so do/dn = 1 - o^2 = 0.5)
    out/graph_tour_dot.svg, .png          the same neuron as nn builds it (one fused dot
                                          node for x1*w1 + x2*w2 + b, then tanh)
    out/graph_tour_dot_expanded.svg, .png that dot node drawn as one multiply per weight
                                          and an add (expand_dot=True), for teaching

Inputs are drawn in blue, parameters (w1, w2, b) in yellow, the output in green,
each op as its own small node. No training, so there is no --steps or --seed.
Takes about a second (Graphviz's `dot` program draws the pictures).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent, HERE):  # the packages and _common, from any directory
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import _common  # noqa: E402

from autodiff import Value, dot, gradcheck, render, topological_order  # noqa: E402

# micrograd's neuron: this bias makes x1*w1 + x2*w2 + b = 0.8814, and tanh of it 0.7071
BIAS = 6.8813735870195432


def expression(a: Value, b: Value, c: Value, f: Value) -> Value:
    """L = (a*b + c) * f, with the intermediate values labelled e and d."""
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    out = d * f
    out.label = "L"
    return out


def neuron(x1: Value, x2: Value, w1: Value, w2: Value, b: Value) -> Value:
    """o = tanh(x1*w1 + x2*w2 + b), one op per node as in micrograd."""
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    total = x1w1 + x2w2
    total.label = "x1*w1 + x2*w2"
    n = total + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def fused_neuron(x1: Value, x2: Value, w1: Value, w2: Value, b: Value) -> Value:
    """The same neuron with its weighted sum as one dot node, as nn.Neuron computes it."""
    n = dot([w1, w2], [x1, x2], b)
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def build() -> dict[str, tuple[Value, list[Value], list[Value]]]:
    """Both graphs after backward: name -> (output, leaves, parameters)."""
    leaves = [Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c"), Value(-2.0, "f")]
    loss = expression(*leaves)
    loss.backward()
    inputs = [Value(2.0, "x1"), Value(0.0, "x2")]
    params = [Value(-3.0, "w1"), Value(1.0, "w2"), Value(BIAS, "b")]
    o = neuron(*inputs, *params)
    o.backward()
    inputs2 = [Value(2.0, "x1"), Value(0.0, "x2")]
    params2 = [Value(-3.0, "w1"), Value(1.0, "w2"), Value(BIAS, "b")]
    fused = fused_neuron(*inputs2, *params2)
    fused.backward()
    return {
        "expression": (loss, leaves, []),
        "neuron": (o, [*inputs, *params], params),
        "dot": (fused, [*inputs2, *params2], params2),
    }


def table(root: Value) -> list[str]:
    """The labelled values of root's graph, inputs first, with data and grad."""
    lines = [f"  {'value':16}{'data':>10}{'grad':>10}"]
    for node in topological_order(root):
        if node.label:
            lines.append(f"  {node.label:16}{node.data:>10.4f}{node.grad:>10.4f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Build both graphs, print their values, check the gradients, draw the pictures."""
    args = _common.make_parser(__doc__, steps=None, seed=None).parse_args(argv)
    out = _common.prepare_out(args.out)
    functions: dict[str, Callable[..., Value]] = {
        "expression": expression, "neuron": neuron, "dot": fused_neuron}
    paths = []
    for name, (root, leaves, params) in build().items():
        print(f"{name}: {root.label} = {root.data:.4f}")
        print("\n".join(table(root)))
        ok = gradcheck(functions[name], leaves, raise_exception=False)
        print(f"  finite differences {'agree' if ok else 'DISAGREE'} with backward\n")
        for fmt in ("svg", "png"):
            target = out / f"graph_tour_{name}.{fmt}"
            paths.append(Path(render(root, target, format=fmt, params=params)))
            if name == "dot":
                target = out / f"graph_tour_dot_expanded.{fmt}"
                paths.append(Path(render(root, target, format=fmt, params=params,
                                         expand_dot=True)))
    _common.report(paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
