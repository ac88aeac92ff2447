"""The backprop explorer: one self-contained HTML page that plays a backward pass.

`record_backward(root)` replays the engine's backward pass exactly as `graph.backward`
runs it (the same visiting order, the same seed, each node's own backward rule) and
records what every rule added to its parents' `.grad`. `explore(root, path)` writes that
trace, together with the graph drawn by `to_dot` and laid out by Graphviz's `dot`, into
one HTML file with play/pause, step, back, reset, a speed slider and keyboard arrows.
The page only shows the recorded numbers: it computes no gradient itself.

    from autodiff import Value, explore
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    loss = (x * w).tanh(); loss.label = "L"
    explore(loss, "backprop.html")    # open the file in any browser, offline
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import os
import re
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import graphviz

from autodiff import graph
from autodiff.drawing import (
    INSTALL_HELP,
    GraphvizNotFound,
    check_max_nodes,
    format_number,
    graph_of,
    to_dot,
)
from autodiff.engine import DERIVATIVES, Value, no_grad

__all__ = ["DEFAULT_MAX_NODES", "Contribution", "Step", "Trace", "explore", "record_backward"]

# Beyond a couple of hundred values the picture is unreadable and stepping takes forever.
DEFAULT_MAX_NODES = 200

# Ops written between their operands in the panel ("a * b"); others as calls ("tanh(a)").
_INFIX = ("+", "-", "*", "/", "**")


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
        return _replay(root, nodes)


def explore(
    root: Value,
    path: str | os.PathLike = "backprop.html",
    *,
    params: Iterable[Value] | None = None,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    title: str | None = None,
    precision: int = 4,
) -> str:
    """Write the step-through backprop page for root's graph to `path`; return the path.

    `params` colours parameters as in `to_dot`; graphs with more than `max_nodes` values
    are refused (None lifts the limit). Every `.grad` is left as it was.
    """
    nodes = graph_of(root)
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
    out = _check_path(path)
    with _grads_restored(nodes):
        trace = _replay(root, nodes)
        # drawn while the graph holds this pass's gradients, so the boxes fit them
        dot_text = to_dot(root, params=params, precision=precision, max_nodes=None)
    svg = _safe_svg(_run_dot(dot_text, out))
    heading = title if title is not None else f"Backprop explorer: {_name(trace, trace.root)}"
    data = _page_data(trace, precision)
    for node, position in zip(data["nodes"], _grad_text_positions(svg, len(trace.nodes))):
        node["grad_text"] = position
    page = _page(heading, svg, data)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(out, page.encode("utf-8"))
    return out


# --- recording ------------------------------------------------------------------------


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
    visit = graph.reverse_topological_order(root)
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
    rule = DERIVATIVES.get(node.op)
    if rule is None:
        return None
    try:
        with no_grad():
            terms = tuple(rule(node))
            if len(terms) != len(node.parents):
                return None
            found: dict[Value, float] = {}
            for parent, term in zip(node.parents, terms):
                found[parent] = found.get(parent, 0.0) + float(term)
    except (ArithmeticError, ValueError, TypeError):
        return None  # e.g. sqrt'(0); the measured ratio is used instead
    return found


# --- checks ---------------------------------------------------------------------------


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


def _describe(node: Value) -> str:
    if node.label:
        return f"Value {node.label!r}"
    return f"Value(data={node.data!r})"


# --- Graphviz ---------------------------------------------------------------------------


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
    return svg.decode("utf-8")


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


def _grad_text_positions(svg: str, count: int) -> list[int | None]:
    """For each value node n0 .. n<count-1>: which of its SVG <text> elements is the grad cell.

    to_dot's box is one row of cells, label first and grad last, and dot writes the texts in
    that order, so the grad cell is the last text starting with "grad ". Taking the first
    would pick the label of a node labelled "grad x" instead. None: no such text was found.
    """
    positions: list[int | None] = [None] * count
    for group in ElementTree.fromstring(svg).iter(f"{_SVG_NS}g"):
        if "node" not in group.get("class", "").split():
            continue
        title = group.find(f"{_SVG_NS}title")
        name = "".join(title.itertext()).strip() if title is not None else ""
        match = re.fullmatch(r"n(\d+)", name)
        if match is None or int(match.group(1)) >= count:
            continue  # an op node or a legend sample
        texts = ["".join(t.itertext()) for t in group.iter(f"{_SVG_NS}text")]
        found = [k for k, text in enumerate(texts) if text.startswith("grad ")]
        positions[int(match.group(1))] = found[-1] if found else None
    return positions


# --- the page -----------------------------------------------------------------------------


def _fmt(x: float) -> str:
    """A short number for the panel: 4 significant digits, '1.0' rather than '1'."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    x = float(x) + 0.0  # -0.0 shows as 0.0
    text = f"{x:.4g}"
    if text.lstrip("-").isdigit():
        text = f"{x:.1f}"
    return text


def _factor(x: float | None) -> str:
    """A number inside a product, negative ones in parentheses."""
    if x is None:
        return "?"
    text = _fmt(x)
    return f"({text})" if text.startswith("-") else text


def _json_number(x: float) -> float | str:
    """JSON has no NaN or infinity: those travel as strings the page reads with Number()."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _name(trace: Trace, i: int) -> str:
    """How the panel names a node: its label, or its graph name n<i> (shown on hover)."""
    label = trace.nodes[i].label
    return " ".join(str(label).split()) if label else f"n{i}"


def _formula(trace: Trace, i: int, index: dict[Value, int]) -> str:
    """The node as an expression of its inputs, e.g. 'o = tanh(n)' or 'n4 = x1 * w1'."""
    node = trace.nodes[i]
    args = [_name(trace, index[p]) for p in node.parents]
    op = str(node.op)
    constant = node._ctx if isinstance(node._ctx, (int, float)) else None
    if op in _INFIX and len(args) == 2:
        expression = f" {op} ".join(args)
    elif op in _INFIX and len(args) == 1 and constant is not None:
        expression = f"{args[0]} {op} {constant:.6g}"
    elif op == "neg":
        expression = f"-{args[0]}"
    elif op == "sum" and args:
        expression = " + ".join(args + ([f"{constant:.6g}"] if constant else []))
    elif op == "dot" and _dot_terms(node, args):
        expression = " + ".join(_dot_terms(node, args))
    else:
        expression = f"{op}({', '.join(args)})"
    return f"{_name(trace, i)} = {expression}"


def _dot_terms(node: Value, args: list[str]) -> list[str]:
    """The terms of a dot node ('x1*w1', ..., 'b'), or [] if its layout is not the known one."""
    ctx, n = node._ctx, len(args)
    if isinstance(ctx, int) and not isinstance(ctx, bool) and 2 * ctx <= n <= 2 * ctx + 1:
        return [f"{x}*{y}" for x, y in zip(args[:ctx], args[ctx : 2 * ctx])] + args[2 * ctx :]
    if isinstance(ctx, tuple) and len(ctx) <= n <= len(ctx) + 1:
        return [f"{x}*{c:.6g}" for x, c in zip(args, ctx)] + args[len(ctx) :]
    return []


def _page_data(trace: Trace, precision: int) -> dict:
    """Everything the page shows, as JSON-ready data with the numbers already formatted."""
    loss = _name(trace, trace.root)
    index = {node: i for i, node in enumerate(trace.nodes)}
    nodes = []
    for i, node in enumerate(trace.nodes):
        nodes.append({
            "name": f"n{i}",
            "display": _name(trace, i),
            "label": str(node.label),
            "op": str(node.op),
            "data": _json_number(node.data),
            "data_text": _fmt(node.data),
            "grad": _json_number(trace.grads[i]),
            "parents": sorted({index[p] for p in node.parents}),
        })
    steps = []
    reached = {trace.root}  # nodes that have received gradient so far
    for step in trace.steps:
        out = _name(trace, step.node)
        contributions = []
        for c in step.contributions:
            a = _name(trace, c.parent)
            text = (f"∂{loss}/∂{a} += ∂{loss}/∂{out} · ∂{out}/∂{a} = "
                    f"{_factor(step.upstream)} · {_factor(c.local)} = {_fmt(c.increment)}")
            change = f"{a}.grad: {_fmt(c.before)} → {_fmt(c.after)}"
            if c.uses > 1:
                change += f" ({a} is used {c.uses} times by {out}; the engine adds every use)"
            elif c.parent in reached:
                change += f" (accumulates: {a} also feeds another node that already ran)"
            reached.add(c.parent)
            parent = trace.nodes[c.parent]
            # an unlabelled node is named n<i>: say what it computes
            where = _formula(trace, c.parent, index) if parent.parents and not parent.label else ""
            contributions.append({
                "parent": c.parent,
                "before": _json_number(c.before),
                "after": _json_number(c.after),
                "increment": _json_number(c.increment),
                "local": None if c.local is None else _json_number(c.local),
                "text": text,
                "change": change,
                "where": where,
                "after_text": _fmt(c.after),
                "after_graph": "grad " + format_number(c.after, precision),
            })
        steps.append({
            "node": step.node,
            "formula": _formula(trace, step.node, index),
            "upstream": _json_number(step.upstream),
            "upstream_text": f"∂{loss}/∂{out} = {out}.grad = {_fmt(step.upstream)}",
            "contributions": contributions,
        })
    return {
        "root": trace.root,
        "loss": loss,
        "nodes": nodes,
        "seed": {
            "grad": _json_number(trace.seed),
            "text": _fmt(trace.seed),
            "graph": "grad " + format_number(trace.seed, precision),
            "explain": f"∂{loss}/∂{loss} = 1: backward seeds {loss}.grad = {_fmt(trace.seed)}",
        },
        "zero": {"text": _fmt(0.0), "graph": "grad " + format_number(0.0, precision)},
        "steps": steps,
    }


def _embed_json(data: dict) -> str:
    """JSON that is inert inside <script>: no '<', '>', '&' and no U+2028/2029 left raw."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(heading: str, svg: str, data: dict) -> str:
    """Assemble the page; each part is inserted once, so no part is scanned for markers."""
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode()
    parts = {
        "TITLE": html.escape(heading),
        "CSP": f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'",
        "STYLE": _STYLE,
        "SVG": svg,
        "DATA": _embed_json(data),
        "SCRIPT": _SCRIPT,
    }
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], _TEMPLATE)


def _write_atomic(path: str, data: bytes) -> None:
    """Write bytes through a temporary file and a rename, so readers never see half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".explore-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{CSP}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}}</title>
<style>{{STYLE}}</style>
</head>
<body data-frame="0">
<header>
<h1>{{TITLE}}</h1>
<div id="controls" role="toolbar" aria-label="backward pass controls">
<button type="button" id="reset" title="Reset (Home)">&#8676; Reset</button>
<button type="button" id="back" title="Back (left arrow)">&#9664; Back</button>
<button type="button" id="play" title="Play or pause (space)">&#9654; Play</button>
<button type="button" id="step" title="Step (right arrow)">Step &#9654;</button>
<label for="speed">Speed</label>
<input type="range" id="speed" min="0.5" max="8" step="0.5" value="1.5">
<output id="speed-value" for="speed">1.5 steps/s</output>
<span id="counter" aria-live="polite"></span>
<button type="button" id="fit" title="Fit the graph to the window, or show it full size">
Full size</button>
</div>
</header>
<main>
<div id="graph" class="fit">{{SVG}}</div>
<aside id="panel">
<noscript><p>This page needs JavaScript to step through the backward pass.</p></noscript>
<section id="explain" aria-live="polite"></section>
<h2>Running .grad</h2>
<div id="grads-box">
<table id="grads">
<thead><tr><th>node</th><th>data</th><th>grad</th></tr></thead>
<tbody></tbody>
</table>
</div>
<p class="keys">Keys: &#8594; step, &#8592; back, space play/pause, Home reset, End last step.</p>
</aside>
</main>
<script type="application/json" id="trace">{{DATA}}</script>
<script>{{SCRIPT}}</script>
</body>
</html>
"""

_STYLE = """
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; font: 14px/1.45 system-ui, -apple-system,
  "Segoe UI", Helvetica, Arial, sans-serif; color: #111827; background: #fff; }
header { padding: 8px 14px; border-bottom: 1px solid #e5e7eb; background: #f9fafb; }
h1 { font-size: 17px; margin: 0 0 6px; }
h2 { font-size: 15px; margin: 14px 0 6px; }
#controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
button { font: inherit; padding: 4px 10px; border: 1px solid #9ca3af; border-radius: 5px;
  background: #fff; cursor: pointer; }
button:hover:not(:disabled) { background: #eef2ff; }
button:disabled { opacity: 0.45; cursor: default; }
#counter { font-variant-numeric: tabular-nums; margin-left: 6px; color: #374151; }
main { flex: 1; display: flex; min-height: 0; }
#graph { flex: 1; overflow: auto; padding: 10px; min-width: 0; }
#graph.fit svg { width: 100%; height: auto; max-height: 100%; }
#panel { width: 420px; max-width: 45vw; display: flex; flex-direction: column;
  padding: 6px 14px 8px; border-left: 1px solid #e5e7eb; background: #fcfcfd; }
#explain { flex: 0 1 auto; max-height: 55%; overflow: auto; }
#grads-box { flex: 1 1 0; min-height: 80px; overflow: auto; position: relative; }
#grads thead th { position: sticky; top: 0; background: #fcfcfd; }
#explain .formula { font-weight: 600; font-size: 15px; margin: 8px 0 4px; }
#explain .upstream, #explain .note { margin: 4px 0; color: #374151; }
#chain { padding-left: 18px; margin: 6px 0; }
#chain li { margin: 6px 0; }
#chain code { display: block; font: 13px/1.5 ui-monospace, "DejaVu Sans Mono", Menlo, monospace;
  background: #fff7ed; border: 1px solid #fed7aa; border-radius: 4px; padding: 3px 6px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
#chain .change { color: #92400e; font-size: 13px; margin: 2px 0; }
#chain .where { color: #6b7280; font-size: 12px; margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid #f3f4f6;
  overflow-wrap: anywhere; }
td.num { font-variant-numeric: tabular-nums; font-family: ui-monospace, monospace; }
tr.current td { background: #fee2e2; font-weight: 600; }
tr.changed td { background: #ffedd5; }
.keys { color: #6b7280; font-size: 12px; }
g.node.current { filter: drop-shadow(0 0 3px #dc2626) drop-shadow(0 0 3px #dc2626); }
g.node.receiving { filter: drop-shadow(0 0 3px #f59e0b) drop-shadow(0 0 2px #f59e0b); }
g.node.op-current ellipse { fill: #fee2e2; stroke: #dc2626; stroke-width: 2px; }
g.edge.lit path { stroke: #f59e0b; stroke-width: 3px; }
g.edge.lit polygon { fill: #f59e0b; stroke: #f59e0b; }
text.grad-changed { fill: #b45309; font-weight: bold; }
"""

# Plain ES5-era JavaScript so any browser opens the page; it reads the embedded trace and
# only displays it. User text goes in with textContent, never as markup.
_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace").textContent);
  var nodes = data.nodes, steps = data.steps, root = data.root;
  var svg = document.querySelector("#graph svg");
  var $ = function (id) { return document.getElementById(id); };
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };

  // The SVG's node and edge groups carry dot's names in <title>: n3, n3_op, n0->n3_op.
  var groupOf = {}, edges = [], valueIndex = {};
  each(svg.querySelectorAll("g.node"), function (g) {
    var t = g.querySelector("title");
    if (t) { groupOf[t.textContent.trim()] = g; }
  });
  each(svg.querySelectorAll("g.edge"), function (g) {
    var t = g.querySelector("title");
    var ends = t ? t.textContent.split("->") : [];
    if (ends.length === 2) {
      edges.push({ tail: ends[0].trim().split(":")[0], head: ends[1].trim().split(":")[0], g: g });
    }
  });
  nodes.forEach(function (n, i) { valueIndex[n.name] = i; });
  // The grad cell of each value box: Python found its position among the box's texts
  // (the last one reading "grad ...", so a label such as "grad x" is never overwritten).
  var gradText = nodes.map(function (n) {
    var g = groupOf[n.name];
    if (!g || n.grad_text === null || n.grad_text === undefined) { return null; }
    return g.querySelectorAll("text")[n.grad_text] || null;
  });

  // What lights up when node i sends gradient to its parents: its op node(s), the edge
  // from each op node to i and the edges from i's parents into those op nodes.
  function flowOf(i) {
    var name = nodes[i].name, helpers = {}, lit = [], parentNames = {};
    nodes[i].parents.forEach(function (p) { parentNames[nodes[p].name] = true; });
    edges.forEach(function (e) {
      if (e.head === name && !(e.tail in valueIndex)) { helpers[e.tail] = true; lit.push(e.g); }
    });
    edges.forEach(function (e) {
      if (parentNames[e.tail] && (helpers[e.head] || e.head === name)) { lit.push(e.g); }
    });
    return { helpers: Object.keys(helpers), edges: lit };
  }

  // Frames: 0 before the pass, 1 the seed, then one per backward rule, in the engine's order.
  var frames = [];
  var panelGrad = nodes.map(function () { return data.zero.text; });
  var graphGrad = nodes.map(function () { return data.zero.graph; });
  frames.push({ kind: "start", panel: panelGrad.slice(), graph: graphGrad.slice(), changed: [] });
  panelGrad[root] = data.seed.text;
  graphGrad[root] = data.seed.graph;
  frames.push({ kind: "seed", node: root, panel: panelGrad.slice(), graph: graphGrad.slice(),
                changed: [root] });
  steps.forEach(function (s, k) {
    var changed = [];
    s.contributions.forEach(function (c) {
      panelGrad[c.parent] = c.after_text;
      graphGrad[c.parent] = c.after_graph;
      changed.push(c.parent);
    });
    frames.push({ kind: "step", node: s.node, step: s, number: k + 1, panel: panelGrad.slice(),
                  graph: graphGrad.slice(), changed: changed });
  });
  var last = frames.length - 1;

  // The side table: one row per node shown on the graph.
  var rows = nodes.map(function (n, i) {
    var tr = document.createElement("tr"), name = document.createElement("td");
    var value = document.createElement("td"), grad = document.createElement("td");
    tr.setAttribute("data-node", n.name);
    name.textContent = n.display;
    name.title = n.name + (n.op ? " (" + n.op + ")" : " (leaf)");
    value.textContent = n.data_text;
    value.className = "num";
    grad.className = "num grad";
    tr.appendChild(name); tr.appendChild(value); tr.appendChild(grad);
    $("grads").tBodies[0].appendChild(tr);
    return { tr: tr, grad: grad };
  });

  function para(parent, cls, text) {
    var p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    parent.appendChild(p);
    return p;
  }

  function explain(frame) {
    var box = $("explain");
    box.textContent = "";
    if (frame.kind === "start") {
      para(box, "formula", "Before backward: every .grad is 0.");
      para(box, "note", "Press Step (or \\u2192) to seed the output " + data.loss + ".");
    } else if (frame.kind === "seed") {
      para(box, "formula", "Seed: " + data.loss + ".grad = " + data.seed.text);
      para(box, "note", data.seed.explain);
    } else {
      var s = frame.step;
      para(box, "formula", "Rule " + frame.number + " of " + steps.length + ": " + s.formula);
      para(box, "upstream", s.upstream_text);
      var ol = document.createElement("ol");
      ol.id = "chain";
      s.contributions.forEach(function (c) {
        var li = document.createElement("li"), code = document.createElement("code");
        li.setAttribute("data-parent", nodes[c.parent].name);
        code.textContent = c.text;
        li.appendChild(code);
        para(li, "change", c.change);
        if (c.where) { para(li, "where", "where " + c.where); }
        ol.appendChild(li);
      });
      box.appendChild(ol);
    }
    if (frame === frames[last] && last > 0) {
      para(box, "note", "Backward is done: every .grad now holds \\u2202" + data.loss +
           "/\\u2202node. Leaves have no rule to run; their gradients are final.");
    }
  }

  // Scroll a box to show an element: centred when `centre` (the graph's node, so its
  // inputs show too), else just enough (the table's row).
  function reveal(box, el, centre) {
    var b = box.getBoundingClientRect(), r = el.getBoundingClientRect(), m = 30;
    var outside = r.left < b.left + m || r.right > b.right - m ||
                  r.top < b.top + m || r.bottom > b.bottom - m;
    if (!outside) { return; }
    if (centre) {
      box.scrollLeft += (r.left + r.right) / 2 - (b.left + b.right) / 2;
      box.scrollTop += (r.top + r.bottom) / 2 - (b.top + b.bottom) / 2;
      return;
    }
    if (r.left < b.left + m) { box.scrollLeft -= b.left + m - r.left; }
    else if (r.right > b.right - m) { box.scrollLeft += r.right - b.right + m; }
    if (r.top < b.top + m) { box.scrollTop -= b.top + m - r.top; }
    else if (r.bottom > b.bottom - m) { box.scrollTop += r.bottom - b.bottom + m; }
  }

  var current = 0, timer = null;
  function clearMarks() {
    each(svg.querySelectorAll(".current, .receiving, .op-current, .lit, .grad-changed"),
         function (el) {
      el.classList.remove("current", "receiving", "op-current", "lit", "grad-changed");
    });
  }

  function show(f) {
    current = Math.max(0, Math.min(last, f));
    var frame = frames[current], g = null;
    explain(frame);
    clearMarks();
    nodes.forEach(function (n, i) {
      if (gradText[i]) { gradText[i].textContent = frame.graph[i]; }
      rows[i].grad.textContent = frame.panel[i];
      rows[i].tr.className = "";
    });
    frame.changed.forEach(function (p) {
      rows[p].tr.className = "changed";
      if (gradText[p]) { gradText[p].classList.add("grad-changed"); }
    });
    if (frame.kind === "step") {
      var flow = flowOf(frame.node);
      flow.helpers.forEach(function (h) {
        if (groupOf[h]) { groupOf[h].classList.add("op-current"); }
      });
      flow.edges.forEach(function (e) { e.classList.add("lit"); });
      frame.changed.forEach(function (p) {
        if (groupOf[nodes[p].name]) { groupOf[nodes[p].name].classList.add("receiving"); }
      });
    }
    if (frame.kind !== "start") {
      g = groupOf[nodes[frame.node].name];
      if (g) { g.classList.add("current"); }
      rows[frame.node].tr.className = "current";
    }
    $("counter").textContent = "step " + current + " / " + last;
    $("back").disabled = $("reset").disabled = current === 0;
    $("step").disabled = current === last;
    document.body.setAttribute("data-frame", String(current));
    // scroll last, once the panel's new text has settled the boxes' sizes
    if (g) { reveal($("graph"), g, true); }
    if (frame.kind !== "start") { reveal($("grads-box"), rows[frame.node].tr, false); }
  }

  function delay() { return 1000 / Number($("speed").value); }
  function pause() {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    $("play").textContent = "\\u25b6 Play";
  }
  function tick() {
    show(current + 1);
    timer = current < last ? setTimeout(tick, delay()) : null;
    if (timer === null) { pause(); }
  }
  function play() {
    if (current >= last) { show(0); }
    $("play").textContent = "\\u275a\\u275a Pause";
    timer = setTimeout(tick, 0);
  }
  function setFit(fit) {
    $("graph").classList.toggle("fit", fit);
    $("fit").textContent = fit ? "Full size" : "Fit to window";
  }
  function toggle() { if (timer !== null) { pause(); } else { play(); } }

  $("step").addEventListener("click", function () { pause(); show(current + 1); });
  $("back").addEventListener("click", function () { pause(); show(current - 1); });
  $("reset").addEventListener("click", function () { pause(); show(0); });
  $("play").addEventListener("click", toggle);
  $("speed").addEventListener("input", function () {
    $("speed-value").textContent = $("speed").value + " steps/s";
  });
  $("fit").addEventListener("click", function () {
    setFit(!$("graph").classList.contains("fit"));
    if (current > 0) { show(current); }
  });
  document.addEventListener("keydown", function (event) {
    var key = event.key, target = event.target;
    if (target === $("speed") || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (target && target.tagName === "BUTTON" && (key === " " || key === "Enter")) { return; }
    if (key === "ArrowRight") { pause(); show(current + 1); }
    else if (key === "ArrowLeft") { pause(); show(current - 1); }
    else if (key === " " || key === "Spacebar") { toggle(); }
    else if (key === "Home") { pause(); show(0); }
    else if (key === "End") { pause(); show(last); }
    else { return; }
    event.preventDefault();
  });
  // Fit the graph to the window unless that would shrink its text below about half size
  // (dot sizes the picture in points: 4/3 of a CSS pixel).
  var box = svg.viewBox && svg.viewBox.baseVal;
  setFit(!box || box.width * 4 / 3 <= 2 * $("graph").clientWidth);
  show(0);
})();
"""
