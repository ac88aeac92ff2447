"""The textbook picture of an MLP: neurons as circles in layers, each weight on its edge.

    from nn import MLP, draw_network, render_network, losses
    model = MLP(2, [3, 1], activation="tanh")
    draw_network(model)                                    # weights and their current .grad
    render_network(model, "net.svg", x=[0.6, 0.7],         # plus each neuron's net input,
                   loss=lambda out: (out - 0.9) ** 2 / 2)  # output and delta dloss/dnet

Unlike `autodiff.draw`, which draws every op of a computation graph, this draws the
network's architecture: one circle per input and neuron, one edge per weight with its
value (and gradient), as in the worked examples of textbooks. Drawing never changes the
model: with `x` and `loss` the gradients come from `autodiff.grad`, which leaves every
`.grad` as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import graphviz

from autodiff import Value, grad
from autodiff.drawing import (
    FONT,
    _check_format,
    _check_precision,
    _html,
    _output_path,
    digraph_of,
    format_number,
    render_dot,
    shorten_label,
)

from .module import MLP

__all__ = ["draw_network", "network_dot", "render_network"]

_NEURON_STYLE = ('shape=circle style=filled fillcolor="#f3f4f6" color="#374151" '
                 'margin="0.02" fixedsize=false')
_INPUT_STYLE = 'shape=circle style=filled fillcolor="#dbeafe" color="#374151" margin="0.02"'
_OUTPUT_STYLE = ('shape=doublecircle style=filled fillcolor="#bbf7d0" color="#374151" '
                 'margin="0.02"')


def network_dot(
    model: MLP,
    x: Sequence[float] | None = None,
    loss: Callable[[Any], Value] | None = None,
    *,
    names: Sequence[Sequence[str]] | None = None,
    show_grad: bool = True,
    show_bias: bool = True,
    precision: int = 4,
) -> str:
    """The DOT text of draw_network's picture (pure Python, no Graphviz needed).

    `x`: an input to show every neuron's net input and output for; `loss`: a function of
    the model's output (a Value, or a list for several outputs) whose gradients are shown:
    each neuron's delta dloss/dnet and each weight's dloss/dw. Without `loss` each weight
    shows its current `.grad` (as left by your backward) when `show_grad`. `names`: one
    list of names per layer, inputs first (default x1.., then L1.N1 ...); weights are
    named by their label, else w<layer>.<neuron>.<input>. `show_bias` adds each bias.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"draw_network draws an nn.MLP, got {type(model).__name__}; for any "
                        f"other graph of Values use autodiff.draw(output).")
    precision = _check_precision(precision)
    for flag, value in (("show_grad", show_grad), ("show_bias", show_bias)):
        if not isinstance(value, bool):
            raise TypeError(f"{flag} must be True or False, got {value!r}.")
    widths = [model.nin] + [len(layer.neurons) for layer in model.layers]
    labels = _names(names, widths)
    nets, outs, deltas, weight_grads = _values(model, x, loss)

    def num(v: float) -> str:
        return format_number(v, precision)

    lines = [
        "digraph network {\n",
        f'\tgraph [rankdir=LR fontname="{FONT}" fontsize=11 nodesep=0.25 ranksep=0.9 '
        f'labelloc=b]\n',
        f'\tnode [fontname="{FONT}" fontsize=11]\n',
        f'\tedge [fontname="{FONT}" fontsize=10 color="#6b7280" arrowsize=0.6 '
        f'fontcolor="#1f2937"]\n',
    ]
    for layer in range(len(widths)):
        lines.append(f"\tsubgraph layer{layer} {{\n\t\trank=same\n")
        for j in range(widths[layer]):
            rows = [f"<B>{_html(labels[layer][j])}</B>"]
            if layer == 0:
                if x is not None:
                    rows.append(f"out {num(float(x[j]))}")
                style = _INPUT_STYLE
            else:
                neuron = model.layers[layer - 1].neurons[j]
                if nets is not None and outs is not None:
                    rows += [f"net {num(nets[layer - 1][j])}", f"out {num(outs[layer - 1][j])}"]
                if deltas is not None:
                    rows.append(f"\u03b4 {num(deltas[layer - 1][j])}")
                if show_bias:
                    rows.append(f"b {num(neuron.b.data)}")
                style = _OUTPUT_STYLE if layer == len(widths) - 1 else _NEURON_STYLE
            label = "<BR/>".join(rows)
            lines.append(f"\t\tu{layer}_{j} [label=<{label}> {style}]\n")
        lines.append("\t}\n")
    automatic = {id(p): name for name, p in model.named_parameters()}
    for layer in range(1, len(widths)):
        for j, neuron in enumerate(model.layers[layer - 1].neurons):
            for i, w in enumerate(neuron.w):
                # a label of your own, else a short name: the model's automatic dotted
                # names (layers.0.neurons.2.w.1) would bury the picture
                own = w.label and w.label != automatic.get(id(w))
                name = shorten_label(str(w.label), 40) if own else f"w{layer}.{j + 1}.{i + 1}"
                text = f"<B>{_html(name)}</B> {num(w.data)}"
                g = (weight_grads[(layer - 1, j, i)] if weight_grads is not None
                     else w.grad if show_grad else None)
                if g is not None:
                    text += f"<BR/>\u2202/\u2202w {num(g)}"
                lines.append(f"\tu{layer - 1}_{i} -> u{layer}_{j} [label=<{text}>]\n")
    caption = ["net: weighted sum of the inputs (+ bias); out: the activation of net"]
    if deltas is not None:
        caption.append("\u03b4 = \u2202loss/\u2202net; each edge: weight, then \u2202loss/\u2202w")
    elif show_grad:
        caption.append("each edge: weight, then its .grad")
    lines.append(f'\tlabel=<{"<BR/>".join(_html(c) for c in caption)}>\n')
    lines.append("}\n")
    return "".join(lines)


def draw_network(model: MLP, x: Sequence[float] | None = None,
                 loss: Callable[[Any], Value] | None = None, **opts: Any) -> graphviz.Digraph:
    """A graphviz.Digraph of the network (inline SVG in Jupyter); options as in network_dot."""
    return digraph_of(network_dot(model, x, loss, **opts))


def render_network(model: MLP, path: str | os.PathLike[str], format: str = "svg",
                   x: Sequence[float] | None = None,
                   loss: Callable[[Any], Value] | None = None, **opts: Any) -> str:
    """Render draw_network's picture to a file and return its path (naming as autodiff.render)."""
    fmt = _check_format(format)
    return render_dot(network_dot(model, x, loss, **opts), _output_path(path, fmt), fmt)


def _names(names: Sequence[Sequence[str]] | None, widths: list[int]) -> list[list[str]]:
    if names is None:
        return [[f"x{i + 1}" for i in range(widths[0])]] + [
            [f"L{layer}.N{j + 1}" for j in range(width)]
            for layer, width in enumerate(widths[1:], start=1)]
    rows = [list(row) for row in names]
    if [len(row) for row in rows] != widths or not all(
            isinstance(n, str) for row in rows for n in row):
        raise ValueError(f"names must give one string per input and per neuron, layer by "
                         f"layer: {widths} names, got {[len(row) for row in rows]}.")
    return rows


def _values(
    model: MLP, x: Sequence[float] | None, loss: Callable[[Any], Value] | None
) -> tuple[list[list[float]] | None, list[list[float]] | None, list[list[float]] | None,
           dict[tuple[int, int, int], float] | None]:
    """Net inputs, outputs, deltas and weight gradients of every neuron for input x."""
    if x is None:
        if loss is not None:
            raise ValueError("loss needs an input: pass x, the example the loss is about.")
        return None, None, None, None
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence) or len(x) != model.nin:
        raise ValueError(f"x must be a list of {model.nin} numbers (one per input), got {x!r}.")
    inputs: list[Value | float] = [float(v) for v in x]
    net_nodes: list[list[Value]] = []
    out_nodes: list[list[Value]] = []
    for layer in model.layers:
        outs = [neuron(inputs) for neuron in layer.neurons]
        out_nodes.append(outs)
        # the net input is the neuron's dot node: the output itself, or its activation's input
        net_nodes.append([o if o.op == "dot" or not o.parents else o.parents[0] for o in outs])
        inputs = list(outs)
    nets = [[v.data for v in row] for row in net_nodes]
    outs_data = [[v.data for v in row] for row in out_nodes]
    if loss is None:
        return nets, outs_data, None, None
    output = out_nodes[-1][0] if len(out_nodes[-1]) == 1 else out_nodes[-1]
    value = loss(output)
    if not isinstance(value, Value):
        raise TypeError(f"loss must return a Value (the loss of the output), got "
                        f"{type(value).__name__}.")
    flat = [v for row in net_nodes for v in row]
    weights = [(li, j, i, w) for li, layer in enumerate(model.layers)
               for j, neuron in enumerate(layer.neurons) for i, w in enumerate(neuron.w)]
    grads = grad(value, [*flat, *(w for *_, w in weights)])
    it = iter(grads[: len(flat)])
    deltas = [[next(it) for _ in row] for row in net_nodes]
    weight_grads = {(li, j, i): g for (li, j, i, _), g in zip(weights, grads[len(flat):])}
    return nets, outs_data, deltas, weight_grads
