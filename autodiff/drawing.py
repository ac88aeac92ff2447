"""Drawing computation graphs: DOT text, SVG/PNG/PDF files and inline Jupyter pictures.

`to_dot` is pure Python (standard library only) and needs no Graphviz; `draw` wraps the same
DOT text in a `graphviz.Digraph` (it displays inline in Jupyter) and `render` runs Graphviz's
`dot` program to write a file. The command line that draws an expression is autodiff.cli.

Every node is named the same way everywhere (picture, explorer panel and table): by its label,
or, unlabelled, by its op and position (`mul1`, `tanh2`, `leaf1`); see `graph_names`.
"""

from __future__ import annotations

import html
import math
import os
import shlex
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import graphviz

from autodiff.engine import Value, unfuse
from autodiff.fileio import write_atomic
from autodiff.graph import topological_order

__all__ = [
    "DEFAULT_MAX_NODES", "FONT", "INSTALL_HELP", "GraphvizNotFound", "draw", "format_number",
    "graph_names", "render", "to_dot", "value_html",
]

# dot needs ~5 s for 3000 values of a dense MLP graph and grows faster than linearly.
DEFAULT_MAX_NODES = 3000
# A font Debian ships (fonts-dejavu-core) and browsers find, so PNG, SVG and page look alike.
FONT = "DejaVu Sans"

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
    f'\tgraph [rankdir={{rankdir}} fontname="{FONT}" fontsize=10 nodesep=0.18 ranksep=0.3]\n'
    f'\tnode [fontname="{FONT}" fontsize=11 margin="0.05,0.02"]\n'
    f'\tedge [color="#6b7280" arrowsize=0.6 fontname="{FONT}" fontsize=10 '
    f'fontcolor="#4b5563"]\n'
)
_ROLE_STYLE = {
    "input": 'shape=box style="rounded,filled" fillcolor="#dbeafe"',
    # the 3-D box's front face is smaller than the node: a wider margin keeps text on it
    "parameter": 'shape=box3d style=filled fillcolor="#fde68a" margin="0.09,0.07"',
    "intermediate": 'shape=box style=filled fillcolor="#f3f4f6"',
    "output": 'shape=box style="filled,bold" peripheries=2 fillcolor="#bbf7d0"',
    "op": ('shape=ellipse style=filled fillcolor="#ffffff" color="#9ca3af" fontsize=10 '
           'height=0.28 margin="0.03,0.01"'),
}
_ROLES = tuple(_ROLE_STYLE)
# The explorer's op nodes: as large a font as the values' (it sets the page's smallest text).
_COMPACT_OP = ('shape=ellipse style=filled fillcolor="#ffffff" color="#9ca3af" fontsize=11 '
               'height=0.22 margin="0.02,0"')
_TABLE_ATTRS = 'BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2"'
# A generated name (no label) is grey and italic: it tells the nodes apart, it is not user text.
_GENERATED = '<FONT COLOR="#4b5563"><I>{}</I></FONT>'
# Ops whose operand order matters: their two edges are labelled a and b.
_ORDERED_OPS = ("-", "/", "**")
# One-parent ops that keep a plain-number operand in `_ctx`: parent OP constant.
_CONSTANT_OPS = ("+", "-", "*", "/", "**")
# Words for unlabelled nodes' names; other ops (tanh, dot, ...) are their own word.
_OP_WORDS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}


class GraphvizNotFound(graphviz.ExecutableNotFound):  # type: ignore[misc]
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
    *,
    expand_dot: bool = False,
) -> str:
    """Return the DOT text of the graph that computes `root` (pure Python, no Graphviz needed).

    `rankdir` is the layout direction (LR, RL, TB or BT); `show_grad` adds each Value's grad;
    `precision` is the number of decimals shown; graphs with more than `max_nodes` Values are
    refused (None lifts the limit); Values in `params` are coloured as parameters; `legend`
    adds a small key of the colours used; `expand_dot` draws each `dot` node (a neuron's
    weighted sum) as one multiply per weight and an add, as micrograd's pictures do.
    """
    order = graph_of(root)
    root = order[-1]  # itself, or its copy with fused neurons split
    max_nodes = check_max_nodes(max_nodes, DEFAULT_MAX_NODES)
    _check_size(root, order, max_nodes)
    body = dot_body(
        order, root, params=_check_params(params), rankdir=_check_rankdir(rankdir),
        show_grad=_check_flag("show_grad", show_grad), precision=_check_precision(precision),
        legend=_check_flag("legend", legend), expand_dot=_check_flag("expand_dot", expand_dot),
    )
    return "".join([f"digraph {_GRAPH_NAME} {{\n", *body, "}\n"])


def draw(
    root: Value,
    rankdir: str = "LR",
    show_grad: bool = True,
    precision: int = 4,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    params: Iterable[Value] | None = None,
    legend: bool = True,
    *,
    expand_dot: bool = False,
) -> graphviz.Digraph:
    """Return a graphviz.Digraph of `root`'s graph (inline SVG in Jupyter); options as in to_dot."""
    text = to_dot(root, rankdir, show_grad, precision, max_nodes, params, legend,
                  expand_dot=expand_dot)
    return digraph_of(text)


def digraph_of(text: str) -> graphviz.Digraph:
    """Wrap DOT text in a Digraph whose source is exactly that text (inline SVG in Jupyter)."""
    # the body is every line between `digraph name {` and the closing brace
    lines = text.split("\n")[1:-2]
    return _Drawing(name=_GRAPH_NAME, body=[line + "\n" for line in lines], format="svg")


def render(root: Value, path: str | os.PathLike[str], format: str = "svg", **opts: Any) -> str:
    """Render `root`'s graph with Graphviz to a file and return the file's path as a str.

    The file is `path` itself when it already ends in ".<format>" (any letter case), otherwise
    `path` + ".<format>" ("graph" -> "graph.svg"); a path ending in another output format's
    extension ("graph.png" with format="svg") is refused. Missing folders are created.
    `opts` are those of to_dot. If `dot` is missing, the DOT text is saved next to the
    target (same name, extension ".gv") and GraphvizNotFound says where and how to install.
    """
    fmt = _check_format(format)
    out = _output_path(path, fmt)
    return render_dot(to_dot(root, **opts), out, fmt)


def render_dot(text: str, out: str, fmt: str) -> str:
    """Run dot on DOT text and write the picture to `out` atomically; return `out`."""
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
    write_atomic(out, picture)
    return out


class _Drawing(graphviz.Digraph):  # type: ignore[misc]
    """A Digraph whose notebook display explains how to install Graphviz when dot is missing."""

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            bundle: dict[str, Any] = super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound(_missing_dot_message(None, None, "svg")) from None
        return bundle


def value_html(value: Value, precision: int = 4) -> str:
    """A Value's small HTML picture for notebooks (Value._repr_html_): name, data, grad, op."""
    if not isinstance(value, Value):
        raise TypeError(f"value_html needs a Value, got {type(value).__name__}.")
    name = " ".join(shorten_label(str(value.label), 200).split()) if value.label else ""
    parts = [f"<b>{html.escape(name)}</b>"] if name else []
    parts.append(f"data {format_number(value.data, precision)}")
    parts.append(f"grad {format_number(value.grad, precision)}")
    if value.op:
        n = len(value.parents)
        parts.append(f"op {html.escape(shorten_label(str(value.op), 40))} of "
                     f"{n} input{'' if n == 1 else 's'}")
    cells = "".join(
        f'<span style="padding:1px 6px;border-left:{"0" if i == 0 else "1px solid #d1d5db"}">'
        f"{part}</span>" for i, part in enumerate(parts))
    return (f'<span style="display:inline-block;font:12px \'{FONT}\',sans-serif;'
            f'background:#f3f4f6;border:1px solid #9ca3af;border-radius:3px">'
            f"Value {cells}</span>")


# --- naming -----------------------------------------------------------------------------


def graph_names(order: Sequence[Value]) -> list[str]:
    """One unique name per node of `order`, as pictures, the explorer's panel and table show it.

    A labelled node is its label on one line (shortened like the drawing's); an unlabelled
    one gets its op's word and a count in graph order (`mul1`, `tanh2`; `leaf1` for leaves),
    skipping any name a label already uses.
    """
    names: list[str] = []
    taken = {label_text(node.label) for node in order if node.label}
    counts: dict[str, int] = {}
    for node in order:
        if node.label and label_text(node.label):  # a blank label names nothing
            names.append(label_text(node.label))
            continue
        word = "leaf" if not node.parents else _OP_WORDS.get(node.op, str(node.op))
        if not word.isidentifier() or len(word) > 12:
            word = "op"  # an op name edited into something odd
        k = counts.get(word, 0) + 1
        while f"{word}{k}" in taken:
            k += 1
        counts[word] = k
        taken.add(f"{word}{k}")
        names.append(f"{word}{k}")
    return names


def label_text(label: object) -> str:
    """A label as the picture shows it (shortened, escapes shown), its lines on one line."""
    text = shorten_label(str(label))
    shown = "".join(" " if ch in "\r\n\t" else shown_char(ch) for ch in text)
    return " ".join(shown.split())


# --- building the DOT text -------------------------------------------------------------


def dot_body(
    order: Sequence[Value],
    root: Value,
    *,
    params: set[Value],
    rankdir: str = "LR",
    show_grad: bool = True,
    precision: int = 4,
    legend: bool = True,
    expand_dot: bool = False,
    cells: Sequence[tuple[str, str]] | None = None,
    compact: bool = False,
) -> list[str]:
    """The lines between `digraph autodiff {` and `}`, each ending in a newline.

    Value nodes are n0, n1, ... in graph order and op nodes n<i>_op. `cells` replaces each
    node's data and grad texts (the explorer sizes boxes for the longest text a cell shows);
    `compact` stacks name, data and grad in narrow boxes set close together (the explorer's
    layout, so a whole MLP fits a window with readable text).
    """
    index = {node: i for i, node in enumerate(order)}
    names = graph_names(order)
    header = _HEADER.format(rankdir=rankdir)
    if compact:
        header = header.replace("nodesep=0.18 ranksep=0.3", "nodesep=0.1 ranksep=0.15")
        header = header.replace("fontsize=10 fontcolor", "fontsize=11 fontcolor")
    lines = [header]
    used_roles: list[str] = []
    for i, node in enumerate(order):
        role = _role(node, root, params)
        if role not in used_roles:
            used_roles.append(role)
        if cells is not None:
            data_text, grad_text = cells[i]
        else:
            data_text = f"data {format_number(node.data, precision)}"
            grad_text = f"grad {format_number(node.grad, precision)}" if show_grad else ""
        title = (f"<B>{_html(shorten_label(str(node.label)))}</B>"
                 if node.label and label_text(node.label) else _GENERATED.format(_html(names[i])))
        label = _value_label(title, data_text, grad_text, compact)
        lines.append(f'\tn{i} [label={label} class="{role}" {_ROLE_STYLE[role]}]\n')
        if not node.parents:
            continue
        if "op" not in used_roles:
            used_roles.append("op")
        parents = [f"n{index[p]}" for p in node.parents]
        if expand_dot and node.op == "dot" and _dot_layout(node) is not None:
            lines.extend(_expanded_dot(node, f"n{i}", parents, names, index, precision,
                                       show_grad, cells is not None))
            continue
        edge_texts = _edge_texts(node)
        pairs = list(zip(parents, edge_texts))
        ordering = ""
        layout = _dot_layout(node) if node.op == "dot" else None
        if layout is not None and layout[0] == "values":
            # weight k beside input k: edges in the order w1 x1 w2 x2 ... bias, kept in place
            n = layout[1]
            pairs = [pair for k in range(n) for pair in (pairs[k], pairs[n + k])] + pairs[2 * n:]
            ordering = " ordering=in"
        op_style = _COMPACT_OP if compact else _ROLE_STYLE["op"]
        lines.append(f'\tn{i}_op [label=<{_html(shorten_label(_op_text(node)))}> class="op" '
                     f'{op_style}{ordering}]\n')
        for parent, edge_text in pairs:
            edge_label = f" [label=<{_html(edge_text)}>]" if edge_text else ""
            lines.append(f"\t{parent} -> n{i}_op{edge_label}\n")
        lines.append(f"\tn{i}_op -> n{i}\n")
    if legend:
        lines.extend(_legend_lines([role for role in _ROLES if role in used_roles]))
    return lines


def _expanded_dot(node: Value, name: str, parents: list[str], names: list[str],
                  index: dict[Value, int], precision: int, show_grad: bool,
                  blank: bool) -> list[str]:
    """A dot node as micrograd draws a neuron: one product box per term, then one add."""
    layout = _dot_layout(node)
    if layout is None:  # the caller draws only dot nodes of a known layout here
        raise RuntimeError(f"cannot expand {node!r}: not a dot node of a known layout; "
                           "please report it")
    kind, n = layout
    ps = node.parents
    lines = []
    grad_text = f"grad {format_number(node.grad, precision)}" if show_grad and not blank else ""
    for k in range(n):
        if kind == "values":
            left, right = ps[k], ps[n + k]
            text = f"{names[index[left]]}*{names[index[right]]}"
            data = left.data * right.data
            operands = [parents[k], parents[n + k]]
            op_text = "*"
        else:
            c = node._ctx[k]  # the number coefficient of parent k
            text = f"{names[index[ps[k]]]}*{_constant(c)}"
            data = ps[k].data * c
            operands = [parents[k]]
            op_text = f"* {_constant(c)}"
        product = f"{name}_t{k}"
        data_text = "" if blank else f"data {format_number(data, precision)}"
        label = _value_label(_GENERATED.format(_html(shorten_label(text))), data_text,
                             grad_text)
        lines.append(f'\t{product} [label={label} class="intermediate" '
                     f'{_ROLE_STYLE["intermediate"]}]\n')
        lines.append(f'\t{product}_op [label=<{_html(op_text)}> class="op" '
                     f'{_ROLE_STYLE["op"]}]\n')
        lines.extend(f"\t{p} -> {product}_op\n" for p in operands)
        lines.append(f"\t{product}_op -> {product}\n")
    lines.append(f'\t{name}_op [label=<+> class="op" {_ROLE_STYLE["op"]}]\n')
    lines.extend(f"\t{name}_t{k} -> {name}_op\n" for k in range(n))
    lines.extend(f"\t{p} -> {name}_op\n" for p in parents[(2 if kind == "values" else 1) * n:])
    lines.append(f"\t{name}_op -> {name}\n")
    return lines


def _dot_layout(node: Value) -> tuple[str, int] | None:
    """How a dot node keeps its terms: ("values", n) for n Value pairs (parents xs, ys, bias),
    ("numbers", n) for n Values times numbers (parents xs, bias); None if not recognised."""
    ctx, count = getattr(node, "_ctx", None), len(node.parents)
    if isinstance(ctx, tuple) and all(_is_number(c) for c in ctx) and \
            len(ctx) <= count <= len(ctx) + 1:
        return ("numbers", len(ctx))
    if isinstance(ctx, int) and not isinstance(ctx, bool) and 2 * ctx <= count <= 2 * ctx + 1:
        return ("values", ctx)
    return None


def _legend_lines(roles: list[str]) -> list[str]:
    """One small key node: a swatch per role present in the graph, in its fill colour."""
    cells = "".join(
        f'<TD BGCOLOR="{_ROLE_FILL[role]}" BORDER="1" COLOR="{_ROLE_EDGE[role]}">{role}</TD>'
        for role in roles)
    return [f'\tlegend [label=<<TABLE BORDER="0" CELLSPACING="4" CELLPADDING="3"><TR>'
            f'<TD><FONT COLOR="#6b7280">key</FONT></TD>{cells}</TR></TABLE>> shape=plaintext '
            f'class="legend" fontsize=10]\n']


_ROLE_FILL = {"input": "#dbeafe", "parameter": "#fde68a", "intermediate": "#f3f4f6",
              "output": "#bbf7d0", "op": "#ffffff"}
_ROLE_EDGE = {"input": "#000000", "parameter": "#000000", "intermediate": "#000000",
              "output": "#000000", "op": "#9ca3af"}


def _role(node: Value, root: Value, param_set: set[Value]) -> str:
    """Classify a node: the output, a known parameter, an input leaf or an intermediate."""
    if node is root:
        return "output"
    if node in param_set:
        return "parameter"
    return "intermediate" if node.parents else "input"


def _value_label(title: str, data_text: str, grad_text: str, stacked: bool = False) -> str:
    """An HTML-like label: name | data | grad in one row, or stacked (empty cells left out)."""
    cells = [title] + [_html(text) for text in (data_text, grad_text) if text]
    if stacked:
        rows = "".join(f"<TR><TD>{cell}</TD></TR>" for cell in cells)
        return f"<<TABLE {_TABLE_ATTRS}>{rows}</TABLE>>"
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
    if op == "dot":
        layout = _dot_layout(node)
        if layout is not None:
            kind, n = layout
            bias = len(node.parents) > (2 if kind == "values" else 1) * n
            ps = node.parents
            squares = kind == "values" and all(ps[k] is ps[n + k] for k in range(n))
            text = "\u03a3 x\u00b2" if squares else "\u03a3 w\u00b7x"  # e.g. dot(e, e)
            return text + " + b" if bias else text
    return op


def _edge_texts(node: Value) -> list[str]:
    """One edge label per parent, only where it carries meaning: operand order (a, b) of
    - / **, and the number coefficient of a Values-times-numbers dot."""
    parents = node.parents
    labels = [""] * len(parents)
    if node.op in _ORDERED_OPS and len(parents) == 2:
        return ["a", "b"]
    if node.op == "dot":
        layout = _dot_layout(node)
        if layout is not None and layout[0] == "numbers":
            labels[: layout[1]] = [f"\u00d7 {_constant(c)}" for c in node._ctx]
    return labels


def _ctx_number(node: Value) -> float | None:
    """Return the node's private `_ctx` when it is a plain number, else None."""
    ctx = getattr(node, "_ctx", None)
    return float(ctx) if isinstance(ctx, (int, float)) and _is_number(ctx) else None


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _constant(c: float) -> str:
    """Format a constant operand compactly but exactly enough: 2, 0.5, 1.0001."""
    return f"{c:.12g}"


def format_number(x: float, precision: int = 4) -> str:
    """The one number format of pictures, pages and tables: `precision` decimals, fixed point,
    unless the number is too small to show that way (below 10**-precision) or 1e6 or more,
    which are written in scientific notation with the same decimals."""
    x = float(x) + 0.0  # turns -0.0 into 0.0
    if not math.isfinite(x) or x == 0.0 or 10.0 ** -precision <= abs(x) < 1e6:
        return f"{x:.{precision}f}"
    return f"{x:.{precision}e}"


def _check_size(root: Value, order: list[Value], max_nodes: int | None) -> None:
    if max_nodes is not None and len(order) > max_nodes:
        raise ValueError(
            f"the graph of {_describe(root)} has {len(order)} values, more than "
            f"max_nodes={max_nodes}; Graphviz would take very long to lay it out. Pass "
            f"max_nodes={len(order)} (or None for no limit), or draw a smaller sub-expression "
            f"by passing one of its intermediate Values as root."
        )


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
    """One character of user text as DOT's HTML-like label must carry it."""
    if ch in _HTML_ESCAPES:
        return _HTML_ESCAPES[ch]
    shown = shown_char(ch)
    return ch if shown == ch else shown.replace("\\", "\\\\")  # dot halves backslashes


def shown_char(ch: str) -> str:
    """How a picture shows one character of a label: itself, or an escape such as \\x07."""
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return f"\\x{code:02x}"
    if (0xD800 <= code < 0xE000 or code in (0xFFFE, 0xFFFF) or code in _BIDI_CONTROLS
            or unicodedata.category(ch) in _INVISIBLE):
        # also line and paragraph separators and format characters (zero-width joiners,
        # soft hyphens): Graphviz and browsers measure them differently, so text would
        # overflow its box
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return ch


_INVISIBLE = frozenset({"Zl", "Zp", "Cf"})
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
    """The nodes of root's graph as learners see it, in topological order (its root last).

    A fused neuron (one "dot_relu" node) is split back into its dot and relu
    steps (engine.unfuse), so the last node is a copy of root when the graph
    holds one. A TypeError if root is no Value.
    """
    if not isinstance(root, Value):
        hint = ("combine several outputs into one first, e.g. with sum_values(outputs)"
                if isinstance(root, (list, tuple)) else "pass the Value your expression produced")
        raise TypeError(f"root must be a Value, got {type(root).__name__}; {hint}.")
    return topological_order(unfuse(root))


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


def _check_params(params: object) -> set[Value]:
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
    write_atomic(str(saved), text.encode("utf-8"))
    return str(saved)


def _missing_dot_message(out: str | None, saved: str | None, fmt: str) -> str:
    if saved is None or out is None:
        where = ("The DOT text is still available: call to_dot(root), or read this "
                 "object's .source attribute.")
    else:
        where = (f"The DOT text was saved to {saved!r}; once Graphviz is installed, "
                 f"`dot -T{fmt} {shlex.quote(saved)} -o {shlex.quote(out)}` makes the picture.")
    target = f" to {out!r}" if out else ""
    return (f"Graphviz's `dot` program was not found on PATH, so the graph could not be "
            f"rendered{target}. {where}\n{INSTALL_HELP}")
