"""Drawing computation graphs: DOT text, SVG/PNG/PDF files and inline Jupyter pictures.

`to_dot` is pure Python (standard library only) and needs no Graphviz; `draw` wraps the same
DOT text in a `graphviz.Digraph` (it displays inline in Jupyter) and `render` runs Graphviz's
`dot` program to write a file. The command line that draws an expression is autodiff.cli.
"""

from __future__ import annotations

import math
import os
import secrets
import shlex
from collections.abc import Iterable
from pathlib import Path

import graphviz

from autodiff.engine import Value
from autodiff.graph import topological_order

__all__ = [
    "DEFAULT_MAX_NODES", "INSTALL_HELP", "GraphvizNotFound", "draw", "render", "to_dot",
]

# dot needs ~5 s for 3000 values of a dense MLP graph and grows faster than linearly.
DEFAULT_MAX_NODES = 3000

_GRAPH_NAME = "autodiff"
_RANKDIRS = ("LR", "RL", "TB", "BT")
# How to install Graphviz, shared by every message about a missing `dot` (drawing, explorer).
INSTALL_HELP = (
    "Install Graphviz (the Python package `graphviz` is only a wrapper around it) with one of:\n"
    "  sudo apt-get install graphviz            # Debian, Ubuntu\n"
    "  brew install graphviz                    # macOS\n"
    "  conda install -c conda-forge graphviz    # conda environments"
)

# Graph-wide defaults, then one style per node role.  Names are stable so DOT text is too.
_HEADER = (
    '\tgraph [rankdir={rankdir} fontname="Helvetica" fontsize=10 nodesep=0.25 ranksep=0.35]\n'
    '\tnode [fontname="Helvetica" fontsize=11 margin="0.06,0.03"]\n'
    '\tedge [color="#4b5563" arrowsize=0.7 fontname="Helvetica" fontsize=9]\n'
)
_ROLE_STYLE = {
    "input": 'shape=box style="rounded,filled" fillcolor="#dbeafe"',
    "parameter": 'shape=box3d style=filled fillcolor="#fde68a"',
    "intermediate": 'shape=box style=filled fillcolor="#f3f4f6"',
    "output": 'shape=box style="filled,bold" peripheries=2 fillcolor="#bbf7d0"',
    "op": ('shape=ellipse style=filled fillcolor="#ffffff" color="#6b7280" fontsize=10 '
           'height=0.3 margin="0.04,0.02"'),
}
_ROLES = tuple(_ROLE_STYLE)
_TABLE_ATTRS = 'BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3"'
# Ops whose operand order matters: their two edges are labelled a and b.
_ORDERED_OPS = ("-", "/", "**")
# One-parent ops that keep a plain-number operand in `_ctx`: parent OP constant.
_CONSTANT_OPS = ("+", "-", "*", "/", "**")


class GraphvizNotFound(graphviz.ExecutableNotFound):
    """Raised when Graphviz's `dot` program is missing; says where the DOT text was saved."""

    def __init__(self, message: str, dot_path: str | None = None) -> None:
        RuntimeError.__init__(self, message)
        self.dot_path = dot_path


def to_dot(
    root: Value,
    rankdir: str = "LR",
    show_grad: bool = True,
    precision: int = 4,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    params: Iterable[Value] | None = None,
    legend: bool = True,
) -> str:
    """Return the DOT text of the graph that computes `root` (pure Python, no Graphviz needed).

    `rankdir` is the layout direction (LR, RL, TB or BT); `show_grad` adds each Value's grad;
    `precision` is the number of digits shown; graphs with more than `max_nodes` Values are
    refused (None lifts the limit); Values in `params` are coloured as parameters; `legend`
    adds a small key of the colours used.
    """
    body = _dot_body(root, params, rankdir, show_grad, precision, max_nodes, legend)
    return "".join([f"digraph {_GRAPH_NAME} {{\n", *body, "}\n"])


def draw(
    root: Value,
    rankdir: str = "LR",
    show_grad: bool = True,
    precision: int = 4,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    params: Iterable[Value] | None = None,
    legend: bool = True,
) -> graphviz.Digraph:
    """Return a graphviz.Digraph of `root`'s graph (inline SVG in Jupyter); options as in to_dot."""
    text = to_dot(root, rankdir, show_grad, precision, max_nodes, params, legend)
    # The Digraph's source is exactly to_dot's text: its body is every line between the braces.
    lines = text.split("\n")[1:-2]
    return _Drawing(name=_GRAPH_NAME, body=[line + "\n" for line in lines], format="svg")


def render(root: Value, path: str | os.PathLike, format: str = "svg", **opts) -> str:
    """Render `root`'s graph with Graphviz to a file and return the file's path as a str.

    The file is `path` itself when it already ends in ".<format>" (any letter case), otherwise
    `path` + ".<format>" ("graph" -> "graph.svg"); a path ending in another output format's
    extension ("graph.png" with format="svg") is refused. Missing folders are created.
    `opts` are those of to_dot. If `dot` is missing, the DOT text is saved next to the
    target (same name, extension ".gv") and GraphvizNotFound says where and how to install.
    """
    fmt = _check_format(format)
    out = _output_path(path, fmt)
    text = to_dot(root, **opts)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    try:
        picture = graphviz.pipe("dot", fmt, text.encode("utf-8"))
    except graphviz.ExecutableNotFound:
        saved = _save_dot(out, text)
        raise GraphvizNotFound(_missing_dot_message(out, saved, fmt), saved) from None
    except graphviz.CalledProcessError as exc:
        saved = _save_dot(out, text)
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip()
        raise RuntimeError(
            f"Graphviz's dot failed to render {out!r} (exit status {exc.returncode}): {detail}. "
            f"The DOT text was saved to {saved!r}; please report it with this message."
        ) from None
    _write_atomic(out, picture)
    return out


class _Drawing(graphviz.Digraph):
    """A Digraph whose notebook display explains how to install Graphviz when dot is missing."""

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound(_missing_dot_message(None, None, "svg")) from None


# --- building the DOT text -------------------------------------------------------------


def _dot_body(root, params, rankdir, show_grad, precision, max_nodes, legend) -> list[str]:
    """Return the lines between `digraph autodiff {` and `}`, each ending in a newline."""
    order = graph_of(root)
    rankdir = _check_rankdir(rankdir)
    precision = _check_precision(precision)
    show_grad = _check_flag("show_grad", show_grad)
    legend = _check_flag("legend", legend)
    max_nodes = check_max_nodes(max_nodes, DEFAULT_MAX_NODES)
    param_set = _check_params(params)

    if max_nodes is not None and len(order) > max_nodes:
        raise ValueError(
            f"the graph of {_describe(root)} has {len(order)} values, more than "
            f"max_nodes={max_nodes}; Graphviz would take very long to lay it out. Pass "
            f"max_nodes={len(order)} (or None for no limit), or draw a smaller sub-expression "
            f"by passing one of its intermediate Values as root."
        )

    names = {node: f"n{i}" for i, node in enumerate(order)}
    lines = [_HEADER.format(rankdir=rankdir)]
    used_roles = []
    for node in order:
        name = names[node]
        role = _role(node, root, param_set)
        if role not in used_roles:
            used_roles.append(role)
        label = _value_label(node, precision, show_grad)
        lines.append(f'\t{name} [label={label} class="{role}" {_ROLE_STYLE[role]}]\n')
        if not node.parents:
            continue
        op_name = f"{name}_op"
        if "op" not in used_roles:
            used_roles.append("op")
        lines.append(f'\t{op_name} [label=<{_html(shorten_label(_op_text(node)))}> class="op" '
                     f'{_ROLE_STYLE["op"]}]\n')
        for parent, edge_text in zip(node.parents, _edge_texts(node)):
            edge_label = f" [label=<{_html(edge_text)}>]" if edge_text else ""
            lines.append(f"\t{names[parent]} -> {op_name}{edge_label}\n")
        lines.append(f"\t{op_name} -> {name}\n")
    if legend:
        lines.extend(_legend_lines([role for role in _ROLES if role in used_roles]))
    return lines


def _legend_lines(roles: list[str]) -> list[str]:
    """Return a small dashed cluster with one sample node per role present in the graph."""
    lines = ['\tsubgraph cluster_legend {\n',
             '\t\tlabel="legend" style=dashed color="#9ca3af" fontcolor="#6b7280"\n']
    for role in roles:
        lines.append(f'\t\tlegend_{role} [label="{role}" class="legend" {_ROLE_STYLE[role]}]\n')
    # invisible edges lay the samples out in one row instead of a tall column
    for left, right in zip(roles, roles[1:]):
        lines.append(f"\t\tlegend_{left} -> legend_{right} [style=invis]\n")
    lines.append("\t}\n")
    return lines


def _role(node: Value, root: Value, param_set: set) -> str:
    """Classify a node: the output, a known parameter, an input leaf or an intermediate."""
    if node is root:
        return "output"
    if node in param_set:
        return "parameter"
    return "intermediate" if node.parents else "input"


def _value_label(node: Value, precision: int, show_grad: bool) -> str:
    """Return an HTML-like label: a one-row table of label, data and grad."""
    cells = []
    if node.label:
        cells.append(f"<B>{_html(shorten_label(str(node.label)))}</B>")
    cells.append(f"data {format_number(node.data, precision)}")
    if show_grad:
        cells.append(f"grad {format_number(node.grad, precision)}")
    row = "<VR/>".join(f"<TD>{cell}</TD>" for cell in cells)
    return f"<<TABLE {_TABLE_ATTRS}><TR>{row}</TR></TABLE>>"


def _op_text(node: Value) -> str:
    """Return the op node's text, showing a plain-number operand ("* 1.0001", "** 2")."""
    op = str(node.op)
    constant = _ctx_number(node)
    if len(node.parents) == 1 and op in _CONSTANT_OPS and constant is not None:
        return f"{op} {_constant(constant)}"
    if op == "sum" and constant:  # sum_values keeps its plain-number terms in one constant
        return f"sum + {_constant(constant)}"
    if op in _ORDERED_OPS and len(node.parents) == 2:
        return f"a {op} b"
    return op


def _edge_texts(node: Value) -> list[str]:
    """Return one edge label per parent: operand names where order matters, else ''."""
    parents = node.parents
    labels = [""] * len(parents)
    if node.op in _ORDERED_OPS and len(parents) == 2:
        return ["a", "b"]
    if node.op != "dot":
        return labels
    ctx = getattr(node, "_ctx", None)
    if isinstance(ctx, tuple) and len(ctx) <= len(parents):
        # Values times numbers: each edge shows its number; a last extra parent is the bias.
        if all(_is_number(c) for c in ctx):
            labels[: len(ctx)] = [f"\u00d7 {_constant(c)}" for c in ctx]
            labels[len(ctx):] = ["bias"] * (len(parents) - len(ctx))
    elif _is_number(ctx) and ctx == int(ctx) and 2 * int(ctx) <= len(parents):
        # Values times Values: parents are xs, then ys, then an optional bias.
        n = int(ctx)
        labels[:n] = [f"a{i + 1}" for i in range(n)]
        labels[n: 2 * n] = [f"b{i + 1}" for i in range(n)]
        labels[2 * n:] = ["bias"] * (len(parents) - 2 * n)
    return labels


def _ctx_number(node: Value) -> float | None:
    """Return the node's private `_ctx` when it is a plain number, else None."""
    ctx = getattr(node, "_ctx", None)
    return ctx if _is_number(ctx) else None


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _constant(c: float) -> str:
    """Format a constant operand compactly but exactly enough: 2, 0.5, 1.0001."""
    return f"{c:.12g}"


def format_number(x: float, precision: int) -> str:
    """Format data or grad: fixed point for everyday magnitudes, scientific otherwise."""
    x = float(x) + 0.0  # turns -0.0 into 0.0
    if not math.isfinite(x) or x == 0.0 or 1e-3 <= abs(x) < 1e6:
        return f"{x:.{precision}f}"
    return f"{x:.{precision}e}"


def shorten_label(text: str, limit: int | None = None) -> str:
    """`text` as drawn: cut with an ellipsis where its escaped form would pass `limit`.

    Graphviz refuses an HTML-like label longer than 16384 characters, so a Value's label
    (which keeps its full text) is shortened for drawing; the cut never splits an escape.
    """
    budget = LABEL_LIMIT if limit is None else limit
    used = 0
    for i, ch in enumerate(text):
        used += len(_escape_char(ch))
        if used > budget:
            return text[:i] + "\u2026"
    return text


def _html(text: str) -> str:
    """Escape user text for a Graphviz HTML-like label so it shows literally.

    XML syntax becomes entities; a backslash is doubled because Graphviz expands escapes
    such as \\N and \\G even inside HTML-like labels (after entities are decoded); line
    breaks become <BR/>; characters XML cannot carry, and the bidirectional overrides
    that would reorder the text around them, are shown as \\xNN or \\uNNNN.
    """
    return "".join(map(_escape_char, text.replace("\r\n", "\n").replace("\r", "\n")))


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if ch in _HTML_ESCAPES:
        return _HTML_ESCAPES[ch]
    if code < 0x20 or 0x7F <= code < 0xA0:
        return f"\\\\x{code:02x}"
    if 0xD800 <= code < 0xE000 or code in (0xFFFE, 0xFFFF) or code in _BIDI_CONTROLS:
        return f"\\\\u{code:04x}"
    return ch


# Embeddings, overrides and isolates (U+202A-202E, U+2066-2069): shown, not obeyed.
_BIDI_CONTROLS = frozenset([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
# Escaped characters allowed per label: Graphviz's limit is 16384 for the whole label.
LABEL_LIMIT = 15_000


# How _html shows each character that is syntax somewhere on its way into the SVG.
_HTML_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    "\\": "\\\\",
    "\n": "<BR/>",
    "\t": " ",
}


def _describe(node: Value) -> str:
    """Name a Value in a message by its label when it has one."""
    if node.label:
        return f"Value {str(node.label)!r}"
    return f"Value(data={node.data!r})"


def _check_rankdir(rankdir: object) -> str:
    if isinstance(rankdir, str) and rankdir.upper() in _RANKDIRS:
        return rankdir.upper()
    raise ValueError(
        f"rankdir={rankdir!r} is not a Graphviz direction; use one of {', '.join(_RANKDIRS)} "
        f"(LR draws inputs on the left, TB on top)."
    )


def _check_precision(precision: object) -> int:
    if isinstance(precision, bool) or not isinstance(precision, int):
        raise TypeError(f"precision must be an int number of digits, got {precision!r}; "
                        f"try precision=4.")
    if not 0 <= precision <= 17:
        raise ValueError(f"precision={precision} is outside 0..17; try precision=4.")
    return precision


def _check_flag(name: str, value: object) -> bool:
    # Options may be given by position now, so a number meant for precision can land here.
    if isinstance(value, bool):
        return value
    raise TypeError(f"{name} must be True or False, got {value!r}; the options in order are "
                    f"rankdir, show_grad, precision, max_nodes, params, legend, so pass "
                    f"{name}=True (or False) by keyword.")


def graph_of(root: object) -> list[Value]:
    """The nodes of root's graph in topological order, or a TypeError if root is no Value."""
    if not isinstance(root, Value):
        hint = ("combine several outputs into one first, e.g. with sum_values(outputs)"
                if isinstance(root, (list, tuple)) else "pass the Value your expression produced")
        raise TypeError(f"root must be a Value, got {type(root).__name__}; {hint}.")
    return topological_order(root)


def check_max_nodes(max_nodes: object, suggested: int) -> int | None:
    """Validate a node limit (a positive int, or None for no limit)."""
    if max_nodes is None:
        return None
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int):
        raise TypeError(f"max_nodes must be an int or None, got {max_nodes!r}; "
                        f"try max_nodes={suggested} or None for no limit.")
    if max_nodes < 1:
        raise ValueError(f"max_nodes={max_nodes} allows no node at all; give a positive number "
                         f"such as {suggested}, or None for no limit.")
    return max_nodes


def _check_params(params: object) -> set:
    if params is None:
        return set()
    if isinstance(params, Value):
        raise TypeError("params must be an iterable of Values, got a single Value; "
                        "wrap it in a list, e.g. params=[w].")
    if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(f"params must be an iterable of Values such as model.parameters(), "
                        f"got {type(params).__name__}.")
    found = set()
    for i, item in enumerate(params):
        if not isinstance(item, Value):
            raise TypeError(f"params item {i} is {type(item).__name__} {item!r}, not a Value; "
                            f"pass model.parameters() or a list of Values.")
        found.add(item)
    return found


# --- rendering files ----------------------------------------------------------------------


def _check_format(format: object) -> str:
    if not isinstance(format, str):
        raise TypeError(f"format must be a string such as 'svg', got {format!r}.")
    fmt = format.lower()
    if fmt not in graphviz.FORMATS:
        raise ValueError(f"format={format!r} is not a Graphviz output format; "
                         f"use 'svg', 'png' or 'pdf' (any name in graphviz.FORMATS works).")
    return fmt


def _output_path(path: object, fmt: str) -> str:
    """Apply render's naming rule: keep a path ending in .<fmt>, else append .<fmt>."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}.")
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        raise ValueError(f"path {path!r} is not a usable file name; try 'graph.{fmt}'.")
    if os.path.isdir(text) or text.endswith(("/", os.sep)):
        raise ValueError(f"path {text!r} is a folder; give a file name such as "
                         f"{os.path.join(text, 'graph.' + fmt)!r}.")
    if text.lower().endswith("." + fmt):
        return text
    suffix = Path(text).suffix.lower().lstrip(".")
    if suffix in graphviz.FORMATS:
        raise ValueError(f"path {text!r} ends in .{suffix} but format is {fmt!r}; pass "
                         f"format={suffix!r} or a path ending in .{fmt}.")
    return f"{text}.{fmt}"


def _save_dot(out: str, text: str) -> str:
    """Save DOT text next to the intended output (extension .gv) and return its path."""
    target = Path(out)
    saved = target.with_suffix(".dot" if target.suffix.lower() == ".gv" else ".gv")
    _write_atomic(str(saved), text.encode("utf-8"))
    return str(saved)


def _write_atomic(path: str, data: bytes) -> None:
    """Write bytes through a temporary file and a rename, so readers never see half a file."""
    # open(..., "xb") rather than mkstemp: the file gets the usual umask permissions, not 0600.
    temp = f"{path}.{secrets.token_hex(6)}.tmp"
    stream = open(temp, "xb")  # closed below, before the rename
    try:
        with stream:
            stream.write(data)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def _missing_dot_message(out: str | None, saved: str | None, fmt: str) -> str:
    if saved is None:
        where = ("The DOT text is still available: call to_dot(root), or read this "
                 "object's .source attribute.")
    else:
        where = (f"The DOT text was saved to {saved!r}; once Graphviz is installed, "
                 f"`dot -T{fmt} {shlex.quote(saved)} -o {shlex.quote(out)}` makes the picture.")
    target = f" to {out!r}" if out else ""
    return (f"Graphviz's `dot` program was not found on PATH, so the graph could not be "
            f"rendered{target}. {where}\n{INSTALL_HELP}")
