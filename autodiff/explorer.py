"""The backprop explorer: one self-contained HTML page that plays the forward and backward pass.

`record_backward(root)` replays the engine's backward pass exactly as `graph.backward`
runs it (the same visiting order, the same seed, each node's own backward rule) and
records what every rule added to its parents' `.grad`. `explore(root, path)` writes that
trace, the graph drawn by `drawing` and laid out by Graphviz's `dot`, and the page's own
files (autodiff/assets: explorer.html, .css, .js) into one HTML file: the forward pass
node by node, then the backward pass rule by rule, zoom and pan, gradient colours at the
end, and a click on any node for its value, local derivatives and every contribution to
its grad. The page only shows numbers computed here in Python; it computes nothing itself.

    from autodiff import Value, explore
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    loss = (x * w).tanh(); loss.label = "L"
    explore(loss, "backprop.html", lr=0.1)    # open the file in any browser, offline
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import operator
import os
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import graphviz

from autodiff import graph
from autodiff.drawing import (
    INSTALL_HELP,
    GraphvizNotFound,
    _check_params,
    _check_precision,
    _check_rankdir,
    check_max_nodes,
    dot_body,
    format_number,
    graph_names,
    graph_of,
)
from autodiff.engine import Value, local_derivatives
from autodiff.fileio import write_atomic

__all__ = [
    "DEFAULT_MAX_NODES", "Contribution", "ExplorerPage", "Step", "Trace", "explore",
    "record_backward",
]

# Beyond a couple of hundred values the picture is unreadable and stepping takes forever.
DEFAULT_MAX_NODES = 200

# Ops written between their operands in the panel ("a * b"); others as calls ("tanh(a)").
_INFIX = ("+", "-", "*", "/", "**")
# A name with any other character is put in parentheses in ∂ notation: ∂o/∂(x1*w1).
_PLAIN_NAME = re.compile(r"[\w.#\[\]']+")
# A piece of panel text: a literal string, a node index (its name) or [index] (its name
# inside ∂ notation, parenthesised when needed). The page turns indices into name spans.
Part = Any


@dataclass(frozen=True)
class Contribution:
    """What one backward rule added to one parent's grad (a repeated parent counts once)."""

    parent: int  # index in `Trace.nodes`; the graph names it f"n{parent}"
    before: float
    after: float
    increment: float  # after - before, as measured on the engine's floats
    local: float | None  # d(node)/d(parent) from the engine's derivative table
    uses: int  # how many times the parent appears among the node's inputs


@dataclass(frozen=True)
class Step:
    """One backward rule run: the node, its gradient at that moment, and its parents' changes."""

    node: int
    upstream: float
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class Trace:
    """A recorded backward pass: nodes in topological order (root last) and the rule runs."""

    nodes: tuple[Value, ...]  # the same order as to_dot's names n0, n1, ...
    root: int
    seed: float  # root.grad right after backward seeds it
    steps: tuple[Step, ...]  # in the order backward runs the rules
    grads: tuple[float, ...]  # every node's grad at the end of the pass


def record_backward(root: Value) -> Trace:
    """Replay root's backward pass rule by rule, recording each parent's grad before and after.

    The pass starts from zero gradients on every node (so it shows this pass alone, not
    what earlier calls left on the leaves), and every `.grad` is restored afterwards.
    """
    nodes = graph_of(root)
    with _grads_restored(nodes):
        return _replay(nodes[-1], nodes)  # root, or its copy with fused neurons split


class ExplorerPage(str):
    """The path of the page `explore` wrote (a str, so it works wherever a path does); in
    Jupyter it also shows the page itself inline (an iframe holding the whole page)."""

    html: str

    def __new__(cls, path: str, page: str) -> ExplorerPage:
        obj = super().__new__(cls, path)
        obj.html = page
        return obj

    @property
    def path(self) -> str:
        """The file the page was written to."""
        return str(self)

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
                f'title="backprop explorer" style="width:100%;height:680px;'
                f'border:1px solid #d1d5db"></iframe>')


def explore(
    root: Value,
    path: str | os.PathLike[str] = "backprop.html",
    *,
    params: Iterable[Value] | None = None,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    title: str | None = None,
    precision: int = 4,
    lr: float | None = None,
    rankdir: str = "TB",
) -> ExplorerPage:
    """Write the step-through page for root's graph to `path`; return the path (an ExplorerPage).

    The page plays the forward pass node by node, then the backward pass rule by rule.
    `params` marks parameters (coloured as in `to_dot`; clicking one shows the finite-
    difference check of its gradient and, with a learning rate `lr`, the update
    data - lr*grad); without `params` every leaf gets the check. Graphs with more than
    `max_nodes` values are refused (None lifts the limit); `precision` is the number of
    decimals of every number shown; `rankdir` the layout direction. Every `.grad` is left
    as it was.
    """
    nodes = graph_of(root)
    root = nodes[-1]  # itself, or its copy with fused neurons split
    max_nodes = check_max_nodes(max_nodes, DEFAULT_MAX_NODES)
    if max_nodes is not None and len(nodes) > max_nodes:
        raise ValueError(
            f"the graph of {_describe(root)} has {len(nodes)} nodes, more than the explorer's "
            f"limit of max_nodes={max_nodes}; a page that steps through that many nodes is slow "
            f"to lay out and hard to follow. Explore a smaller graph (one example instead of a "
            f"batch, or an intermediate Value as root), or raise the limit with "
            f"explore(root, path, max_nodes={len(nodes)})."
        )
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__} {title!r}.")
    precision = _check_precision(precision)
    rankdir = _check_rankdir(rankdir)
    param_set = _check_params(params)
    rate = _check_lr(lr)
    out = _check_path(path)
    with _grads_restored(nodes):
        trace = _replay(root, nodes)
    names = graph_names(nodes)
    data = _page_data(trace, names, param_set, precision, rate)
    cells = [(node["sizing"][0], node["sizing"][1]) for node in data["nodes"]]
    body = dot_body(nodes, root, params=param_set, rankdir=rankdir, precision=precision,
                    legend=False, cells=cells, compact=True)
    svg = _safe_svg(_run_dot("".join(["digraph autodiff {\n", *body, "}\n"]), out))
    for node, count in zip(data["nodes"], _text_counts(svg, len(nodes))):
        del node["sizing"]
        # the box's last two texts are its data and grad cells (a label may span lines)
        node["texts"] = [count - 2, count - 1] if count >= 2 else None
    heading = title if title is not None else f"Backprop explorer: {names[trace.root]}"
    page = _page(heading, svg, data)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, page.encode("utf-8"))
    return ExplorerPage(out, page)


def _check_lr(lr: object) -> float | None:
    if lr is None:
        return None
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise TypeError(f"lr must be a number or None, got {type(lr).__name__} {lr!r}; "
                        f"try lr=0.1.")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr={lr!r} is not a positive finite learning rate; try lr=0.1.")
    return float(lr)


# --- recomputing the root, for finite differences ----------------------------------------


def _numeric_gradient(order: Sequence[Value], leaf: Value) -> float | None:
    """d(root)/d(leaf) by central differences, recomputing the graph from plain floats.

    None when an op of the graph cannot be recomputed here (or leaves its domain).
    """
    h = 1e-6 * max(1.0, abs(leaf.data))
    plus = _recompute(order, leaf, leaf.data + h)
    minus = _recompute(order, leaf, leaf.data - h)
    if plus is None or minus is None:
        return None
    return (plus - minus) / (2.0 * h)


def _recompute(order: Sequence[Value], leaf: Value, value: float) -> float | None:
    """The root's value (last in `order`) with `leaf` set to `value`; the graph is untouched."""
    values: dict[Value, float] = {leaf: value}
    for node in order:
        if node in values:
            continue
        if not node.parents:
            values[node] = node.data
            continue
        xs = [values[p] for p in node.parents]
        if all(x == p.data for x, p in zip(xs, node.parents)):
            values[node] = node.data  # nothing upstream moved
            continue
        out = _forward(node, xs)
        if out is None or not math.isfinite(out):
            return None
        values[node] = out
    return values[order[-1]]


_BINARY: dict[str, Callable[[float, float], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "**": operator.pow,
}
_UNARY: dict[str, Callable[[float], float]] = {
    "exp": math.exp, "log": math.log, "tanh": math.tanh, "sqrt": math.sqrt, "sin": math.sin,
    "cos": math.cos, "neg": lambda x: -x, "relu": lambda x: max(x, 0.0),
    "sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)) if x >= 0 else
    math.exp(x) / (1.0 + math.exp(x)),
    "softplus": lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x))),
}


def _forward(node: Value, xs: list[float]) -> float | None:
    """Recompute one node from new parent values, by its op; None for an op unknown here."""
    op, c, n = node.op, node._ctx, len(xs)
    try:
        if op in _INFIX and n in (1, 2):
            other = xs[1] if n == 2 else c
            if not isinstance(other, (int, float)):
                return None
            out = _BINARY[op](xs[0], other)
            return out if isinstance(out, float) else None  # (-8) ** 0.5 would be complex
        if op in _UNARY and n == 1:
            return _UNARY[op](xs[0])
        if op in ("abs", "leaky_relu") and n == 1 and isinstance(c, float):
            # piecewise linear: the stored slope holds while the sign of the input does
            old = node.parents[0].data
            if (xs[0] > 0) == (old > 0) and (xs[0] < 0) == (old < 0):
                return xs[0] * c
            return abs(xs[0]) if op == "abs" else None
        if op == "sum":
            return math.fsum(xs) + (c if isinstance(c, (int, float)) else 0.0)
        if op == "dot":
            return _dot_value(node, xs)
        if op == "logsumexp":
            m = max(xs)
            return m + math.log(math.fsum(math.exp(x - m) for x in xs))
        if op == "log_softmax" and n == 2:
            return xs[0] - xs[1]
    except (ArithmeticError, ValueError, TypeError):
        return None
    return None


def _dot_value(node: Value, xs: list[float]) -> float | None:
    ctx, n = node._ctx, len(xs)
    if isinstance(ctx, tuple) and len(ctx) <= n <= len(ctx) + 1:
        return math.fsum(x * c for x, c in zip(xs, ctx)) + math.fsum(xs[len(ctx):])
    if isinstance(ctx, int) and 2 * ctx <= n <= 2 * ctx + 1:
        return math.fsum(a * b for a, b in zip(xs[:ctx], xs[ctx: 2 * ctx])) + \
            math.fsum(xs[2 * ctx:])
    return None


# --- the page's data ------------------------------------------------------------------------


def _page_data(trace: Trace, names: list[str], params: set[Value], precision: int,
               lr: float | None) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data with every number already formatted."""
    nodes = trace.nodes
    index = {node: i for i, node in enumerate(nodes)}
    root = trace.root

    def num(x: float | None) -> str:
        return "?" if x is None else format_number(x, precision)

    def factor(x: float | None) -> str:  # a number inside a product, negatives in parentheses
        text = num(x)
        return f"({text})" if text.startswith("-") else text

    # what each node received, from which consumer: the contributions to its grad
    received: list[list[Part]] = [[] for _ in nodes]
    received[root].append(["seed: ∂", [root], "/∂", [root], " = ", num(trace.seed)])
    grad_texts: list[list[str]] = [["grad " + num(0.0)] for _ in nodes]
    grad_texts[root].append("grad " + num(trace.seed))
    steps = []
    reached = {root}
    for step in trace.steps:
        i = step.node
        contributions = []
        for c in step.contributions:
            p = c.parent
            text = ["∂", [root], "/∂", [p], " += ∂", [root], "/∂", [i], " · ∂", [i], "/∂", [p],
                    " = ", factor(step.upstream), " · ", factor(c.local), " = ", num(c.increment)]
            change: list[Part] = [p, ".grad: ", num(c.before), " → ", num(c.after)]
            if c.uses > 1:
                change += [" (", p, f" is used {c.uses} times by ", i,
                           "; the engine adds every use)"]
            elif p in reached:
                change += [" (accumulates: ", p, " also feeds another node that already ran)"]
            reached.add(p)
            received[p].append(["from ", i, ": ∂", [root], "/∂", [i], " · ∂", [i], "/∂", [p],
                                " = ", factor(step.upstream), " · ", factor(c.local), " = ",
                                num(c.increment)])
            grad_texts[p].append("grad " + num(c.after))
            contributions.append({"parent": p, "text": text, "change": change,
                                  "after": num(c.after), "increment": _json_number(c.increment)})
        steps.append({
            "node": i,
            "formula": _formula(nodes[i], i, index),
            "upstream": ["∂", [root], "/∂", [i], " = ", i, ".grad = ", num(step.upstream)],
            "contributions": contributions,
        })
    locals_of = {s.node: s for s in trace.steps}

    out_nodes = []
    peak = max((abs(g) for g in trace.grads if math.isfinite(g)), default=0.0)
    for i, node in enumerate(nodes):
        role = ("output" if i == root else "parameter" if node in params
                else "intermediate" if node.parents else "input")
        entry: dict[str, Any] = {
            "id": f"n{i}",
            "name": names[i],
            "dname": names[i] if _PLAIN_NAME.fullmatch(names[i]) else f"({names[i]})",
            "label": str(node.label),
            "op": str(node.op),
            "role": role,
            "data": "data " + num(node.data),
            "grad": "grad " + num(trace.grads[i]),
            "value": num(node.data),
            "final": num(trace.grads[i]),
            "parents": sorted({index[p] for p in node.parents}),
            "received": received[i],
            "heat": _heat(trace.grads[i], peak),
            # the texts the boxes are sized for: the longest each cell ever shows
            "sizing": ("data " + num(node.data), max(grad_texts[i], key=len)),
        }
        if node.parents:
            entry["formula"] = _formula(node, i, index)
            values = [factor(p.data) for p in node.parents]
            entry["forward"] = [*_formula(node, i, index), " = ",
                                *_expression(node, values), " = ", num(node.data)]
            rule = locals_of.get(i)
            entry["locals"] = [] if rule is None else [
                ["∂", [i], "/∂", [c.parent], " = ", num(c.local)] for c in rule.contributions]
        if not node.parents and (node in params or not params) and i != root:
            entry["check"] = _check_text(nodes, node, i, root, trace.grads[i], precision)
            if lr is not None:
                new = node.data - lr * trace.grads[i]
                entry["update"] = [f"update with lr = {lr:g}: ", i, ".data − lr·", i,
                                   ".grad = ", num(node.data), " − ", f"{lr:g}", " · ",
                                   factor(trace.grads[i]), " = ", num(new)]
        out_nodes.append(entry)
    edges = {}
    for step in trace.steps:
        for c in step.contributions:
            edges[f"n{c.parent}->n{step.node}_op"] = _heat(c.increment, peak)
        edges[f"n{step.node}_op->n{step.node}"] = _heat(trace.grads[step.node], peak)
    return {
        "root": root,
        "nodes": out_nodes,
        "forward": [i for i, node in enumerate(nodes) if node.parents],
        "seed": ["seed: backward sets ", root, ".grad = ∂", [root], "/∂", [root], " = ",
                 num(trace.seed)],
        "zero": {"data": "data …", "grad": "grad " + num(0.0)},
        "steps": steps,
        "edges": edges,
        "peak": num(peak),
        "lr": None if lr is None else f"{lr:g}",
    }


def _check_text(nodes: Sequence[Value], leaf: Value, i: int, root: int, grad: float,
                precision: int) -> list[Part]:
    """The finite-difference check of a leaf's gradient, as panel text."""
    numeric = _numeric_gradient(nodes, leaf)
    if numeric is None:
        return ["finite differences: not available (an op of this graph cannot be "
                "recomputed here, or leaves its domain)"]
    agree = abs(numeric - grad) <= 1e-6 + 1e-4 * max(abs(numeric), abs(grad))
    return ["finite differences: (", root, "(", i, " + h) − ", root, "(", i, " − h)) / 2h = ",
            format_number(numeric, precision), " vs backward ",
            format_number(grad, precision),
            " ✓ agree" if agree else " ✗ DISAGREE (please report this graph)"]


def _heat(g: float, peak: float) -> str:
    """A fill colour for a gradient: blue below zero, red above, stronger with |g| / peak."""
    if not math.isfinite(g) or peak == 0.0 or g == 0.0:
        return "#ffffff"
    t = math.sqrt(min(abs(g) / peak, 1.0))  # square root: small gradients stay visible
    hue = (220, 38, 38) if g > 0 else (37, 99, 235)
    mix = 0.12 + 0.6 * t
    r, gr, b = (round(255 + (h - 255) * mix) for h in hue)
    return f"#{r:02x}{gr:02x}{b:02x}"


def _formula(node: Value, i: int, index: dict[Value, int]) -> list[Part]:
    """The node as an expression of its inputs' names, e.g. [o, ' = tanh(', n, ')']."""
    return [i, " = ", *_expression(node, [index[p] for p in node.parents])]


def _expression(node: Value, args: Sequence[Part]) -> list[Part]:
    """The node's op applied to `args` (names or numbers), as text parts."""
    op = str(node.op)
    ctx = node._ctx
    constant = float(ctx) if isinstance(ctx, (int, float)) and not isinstance(ctx, bool) else None
    if op in _INFIX and len(args) == 2:
        return [args[0], f" {op} ", args[1]]
    if op in _INFIX and len(args) == 1 and constant is not None:
        return [args[0], f" {op} {constant:.6g}"]
    if op == "neg" and len(args) == 1:
        return ["-", args[0]]
    if op == "sum" and args:
        parts = _joined(list(args), " + ")
        return parts + ([f" + {constant:.6g}"] if constant else [])
    if op == "dot":
        terms = _dot_terms(node, args)
        if terms:
            return _joined(terms, " + ")
    if op == "log_softmax" and len(args) == 2:
        return [args[0], " - ", args[1]]
    return [f"{op}(", *_joined(list(args), ", "), ")"]


def _joined(items: list[Any], separator: str) -> list[Part]:
    parts: list[Part] = []
    for k, item in enumerate(items):
        if k:
            parts.append(separator)
        parts.extend(item if isinstance(item, list) else [item])
    return parts


def _dot_terms(node: Value, args: Sequence[Part]) -> list[list[Part]]:
    """The terms of a dot node ([x1, '*', w1], ..., [b]), or [] if its layout is unknown."""
    ctx, n = node._ctx, len(args)
    if isinstance(ctx, int) and not isinstance(ctx, bool) and 2 * ctx <= n <= 2 * ctx + 1:
        return [[x, "*", y] for x, y in zip(args[:ctx], args[ctx: 2 * ctx])] + \
            [[a] for a in args[2 * ctx:]]
    if isinstance(ctx, tuple) and len(ctx) <= n <= len(ctx) + 1:
        return [[x, f"*{c:.6g}"] for x, c in zip(args, ctx)] + [[a] for a in args[len(ctx):]]
    return []


def _text_counts(svg: str, count: int) -> list[int]:
    """How many <text> elements each value node n0 .. n<count-1> has in dot's SVG."""
    counts = [0] * count
    for group in ElementTree.fromstring(svg).iter(f"{_SVG_NS}g"):
        if "node" not in group.get("class", "").split():
            continue
        title = group.find(f"{_SVG_NS}title")
        name = "".join(title.itertext()).strip() if title is not None else ""
        match = re.fullmatch(r"n(\d+)", name)
        if match is not None and int(match.group(1)) < count:
            counts[int(match.group(1))] = len(list(group.iter(f"{_SVG_NS}text")))
    return counts


def _json_number(x: float) -> float | str:
    """JSON has no NaN or infinity: those travel as strings the page reads with Number()."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _describe(node: Value) -> str:
    if node.label:
        return f"Value {node.label!r}"
    return f"Value(data={node.data!r})"


# --- recording ---------------------------------------------------------------


@contextmanager
def _grads_restored(nodes: list[Value]) -> Iterator[None]:
    """Put every node's `.grad` back as it was when the block ends."""
    saved = [node.grad for node in nodes]
    try:
        yield
    finally:
        for node, grad in zip(nodes, saved):
            node.grad = grad


def _replay(root: Value, nodes: list[Value]) -> Trace:
    """graph.backward, one rule at a time, snapshotting the parents around each rule."""
    index = {node: i for i, node in enumerate(nodes)}
    visit = graph.reverse_topological_order(root)  # the forward pass mirrored
    for node in visit:
        node.grad = 0.0
    root.grad += 1.0
    seed = root.grad
    steps = []
    for node in visit:
        rule = node._backward
        if rule is None:
            continue
        parents = list(dict.fromkeys(node.parents))  # a*a changes a once, by both terms
        upstream = node.grad
        before = [p.grad for p in parents]
        rule(node)
        locals_ = _local_derivatives(node)
        contributions = []
        for parent, old in zip(parents, before):
            new = parent.grad
            increment = new - old
            local = locals_.get(parent) if locals_ is not None else None
            if local is None and upstream != 0.0 and math.isfinite(upstream):
                local = increment / upstream
            uses = sum(1 for p in node.parents if p is parent)
            contributions.append(Contribution(index[parent], old, new, increment, local, uses))
        steps.append(Step(index[node], upstream, tuple(contributions)))
    grads = tuple(node.grad for node in nodes)
    return Trace(tuple(nodes), index[root], seed, tuple(steps), grads)


def _local_derivatives(node: Value) -> dict[Value, float] | None:
    """d(node)/d(parent) for each distinct parent, from the engine's derivative table."""
    try:
        terms = local_derivatives(node)
    except (ArithmeticError, ValueError):
        return None  # e.g. sqrt'(0); the measured ratio is used instead
    if len(terms) != len(node.parents):
        return None
    found: dict[Value, float] = {}
    for parent, term in zip(node.parents, terms):
        found[parent] = found.get(parent, 0.0) + term
    return found


# --- checks ----------------------------------------------------------------------


def _check_path(path: object) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__} "
                        f"{path!r}; try 'backprop.html'.")
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        raise ValueError(f"path {path!r} is not a usable file name; try 'backprop.html'.")
    if os.path.isdir(text) or text.endswith(("/", os.sep)):
        raise ValueError(f"path {text!r} is a folder; give a file name such as "
                         f"{os.path.join(text, 'backprop.html')!r}.")
    return text


# --- Graphviz ----------------------------------------------------------------------


def _run_dot(dot_text: str, out: str) -> str:
    """Lay the graph out with Graphviz's dot program and return the SVG text."""
    try:
        svg = graphviz.pipe("dot", "svg", dot_text.encode("utf-8"))
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFound(
            f"Graphviz's `dot` program was not found on PATH, and the explorer needs it to lay "
            f"out the graph, so {out!r} was not written. {INSTALL_HELP}\n"
            f"Then call explore again."
        ) from None
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip()
        raise RuntimeError(
            f"Graphviz's dot failed to lay out the graph (exit status {exc.returncode}): "
            f"{detail}. Please report it with this message and the output of to_dot(root)."
        ) from None
    text: str = svg.decode("utf-8")
    return text


_SVG_TAGS = frozenset({
    "svg", "g", "title", "desc", "text", "tspan", "path", "polygon", "polyline", "ellipse",
    "circle", "rect", "line", "defs", "linearGradient", "radialGradient", "stop",
})
_SVG_NS = "{http://www.w3.org/2000/svg}"
_SVG_PREAMBLE = re.compile(r"<\?xml.*?\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.DOTALL)


def _safe_svg(svg: str) -> str:
    """Return dot's SVG without prolog and comments, after checking it holds only drawing markup.

    Labels are user text: dot writes them as escaped XML text, and this check makes sure
    that stays true (no script, no event handler, no link, no foreign markup) before the
    SVG goes inline into a page.
    """
    body = _SVG_PREAMBLE.sub("", svg).strip()
    problem = None
    if re.search(r"<[!?]|</?script|</?style", body, re.IGNORECASE):
        problem = "a comment, CDATA section, processing instruction, script or style"
    else:
        try:
            tree = ElementTree.fromstring(body)
        except ElementTree.ParseError as exc:
            tree, problem = None, f"markup that is not well-formed XML ({exc})"
        for element in tree.iter() if tree is not None else ():
            tag = element.tag.rsplit("}", 1)[-1]
            if tag not in _SVG_TAGS:
                problem = f"a <{tag}> element"
                break
            for name, value in element.attrib.items():
                local = name.rsplit("}", 1)[-1].lower()
                if (local.startswith("on") or local == "href"
                        or re.search(r"url\(\s*['\"]?(?!#)|javascript:", value, re.IGNORECASE)):
                    problem = f"the attribute {local}={value!r} on <{tag}>"
                    break
            if problem:
                break
    if problem:
        raise RuntimeError(
            f"Graphviz's SVG contains {problem}, which the explorer does not put in a page. "
            f"This means a label was not escaped; please report it with the output of "
            f"to_dot(root)."
        )
    return body


def _embed_json(data: dict[str, Any]) -> str:
    """JSON that is inert inside <script>: no '<', '>', '&' and no U+2028/2029 left raw."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    """The text of one of the page's files in autodiff/assets (shipped as package data)."""
    return resources.files("autodiff").joinpath("assets").joinpath(name).read_text(
        encoding="utf-8")


def _page(heading: str, svg: str, data: dict[str, Any]) -> str:
    """Assemble the page; each part is inserted once, so no part is scanned for markers."""
    script = _asset("explorer.js")
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    parts = {
        "TITLE": html.escape(heading),
        "CSP": f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'",
        "STYLE": _asset("explorer.css"),
        "SVG": svg,
        "DATA": _embed_json(data),
        "SCRIPT": script,
    }
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], _asset("explorer.html"))
