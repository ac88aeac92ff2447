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
from importlib import resources
from pathlib import Path

import graphviz

from autodiff import graph
from autodiff.drawing import (
    INSTALL_HELP,
    GraphvizNotFound,
    check_max_nodes,
    format_number,
    graph_of,
    shorten_label,
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
    return " ".join(shorten_label(str(label)).split()) if label else f"n{i}"


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


def _asset(name: str) -> str:
    """The text of one of the page's files in autodiff/assets (shipped as package data)."""
    return resources.files("autodiff").joinpath("assets", name).read_text(encoding="utf-8")


def _page(heading: str, svg: str, data: dict) -> str:
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
