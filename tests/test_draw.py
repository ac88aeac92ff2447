"""Tests for autodiff.drawing: DOT structure, determinism, roles, escaping, rendering."""

from __future__ import annotations

import inspect
import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import pytest

from autodiff.drawing import (
    DEFAULT_MAX_NODES,
    INSTALL_HELP,
    GraphvizNotFound,
    draw,
    render,
    to_dot,
)
from autodiff.engine import Value, dot, sum_values
from autodiff.graph import topological_order

ROOT = Path(__file__).resolve().parent.parent
NODE_LINE = re.compile(r"^\t(n\d+(?:_op)?) \[(.*)\]$", re.M)
EDGE_LINE = re.compile(r"^\t(n\d+(?:_op)?) -> (n\d+(?:_op)?)(?: \[label=<(.*)>\])?$", re.M)
SVG = "{http://www.w3.org/2000/svg}"
INSTALL_COMMANDS = (
    "sudo apt-get install graphviz",
    "brew install graphviz",
    "conda install -c conda-forge graphviz",
)


@pytest.fixture
def dot_program() -> str:
    """Path of Graphviz's dot; skips without it locally, fails without it in CI."""
    found = shutil.which("dot")
    if found is None:
        message = "Graphviz's dot is not installed (sudo apt-get install graphviz)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI is set but {message}; rendering tests must run in CI")
        pytest.skip(message)
    return found


def neuron() -> tuple[Value, list[Value]]:
    """The micrograd neuron o = tanh(x1*w1 + x2*w2 + b), after backward."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    o.backward()
    return o, [w1, w2, b]


def nodes(text: str) -> dict[str, str]:
    """Graph node name -> its attribute text (legend nodes excluded)."""
    return dict(NODE_LINE.findall(text))


def edges(text: str) -> list[tuple[str, str, str]]:
    return EDGE_LINE.findall(text)


def op_label(text: str, op_node: str) -> str:
    return re.search(rf"^\t{op_node} \[label=<(.*?)> ", text, re.M).group(1)


def parse_svg(path: str | Path) -> ET.Element:
    return ET.parse(path).getroot()


def svg_groups(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class", "").split()[:1] == [kind]]


def svg_title(group: ET.Element) -> str:
    return group.find(f"{SVG}title").text


def svg_texts(root: ET.Element) -> list[str]:
    """Visible text of the SVG, whitespace (including no-break spaces) collapsed."""
    return [" ".join((t.text or "").split()) for t in root.iter(f"{SVG}text")]


# --- DOT text --------------------------------------------------------------------------


def test_neuron_dot_has_one_box_per_value_and_one_node_per_op():
    o, params = neuron()
    text = to_dot(o, params=params)
    names = nodes(text)
    values = [n for n in names if not n.endswith("_op")]
    ops = [n for n in names if n.endswith("_op")]
    assert len(values) == 10  # x1 w1 x1*w1 x2 w2 x2*w2 + b + tanh
    assert len(ops) == 5  # * * + + tanh
    assert len(edges(text)) == 14  # 9 operand edges + 5 op -> result edges
    assert text.startswith("digraph autodiff {\n") and text.endswith("}\n")


def test_node_names_follow_topological_order_and_edges_match_parents():
    o, params = neuron()
    text = to_dot(o, params=params)
    order = topological_order(o)
    names = nodes(text)
    expected_edges = set()
    for i, node in enumerate(order):
        assert f"<B>{node.label}</B>" in names[f"n{i}"] or not node.label
        if node.parents:
            expected_edges.add((f"n{i}_op", f"n{i}"))
            for parent in node.parents:
                expected_edges.add((f"n{order.index(parent)}", f"n{i}_op"))
    assert {(tail, head) for tail, head, _ in edges(text)} == expected_edges


def test_value_boxes_show_label_data_and_grad():
    o, params = neuron()
    order = topological_order(o)
    names = nodes(to_dot(o, params=params))
    x1 = names[f"n{order.index(next(v for v in order if v.label == 'x1'))}"]
    assert "<B>x1</B>" in x1 and "data 2.0000" in x1 and "grad -1.5000" in x1
    out = names[f"n{len(order) - 1}"]
    assert "<B>o</B>" in out and "data 0.7071" in out and "grad 1.0000" in out


def test_roles_are_told_apart_and_the_legend_lists_those_present():
    o, params = neuron()
    text = to_dot(o, params=params)
    order = topological_order(o)
    names = nodes(text)
    role = {v.label or f"#{i}": re.search(r'class="(\w+)"', names[f"n{i}"]).group(1)
            for i, v in enumerate(order)}
    assert role["o"] == "output"
    assert role["w1"] == role["w2"] == role["b"] == "parameter"
    assert role["x1"] == role["x2"] == "input"
    assert sorted(r for k, r in role.items() if k.startswith("#")) == ["intermediate"] * 4
    styles = {r: re.search(r'class="\w+" (.*)', names[f"n{i}"]).group(1)
              for i, r in enumerate(role.values())}
    assert len(set(styles.values())) == 4  # each role its own colour and shape
    legend = re.search(r"^\tlegend \[label=<(.*)> shape=plaintext", text, re.M).group(1)
    assert re.findall(r">(\w+)</(?:FONT|TD)>", legend) == ["key", "input", "parameter",
                                                             "intermediate", "output", "op"]

    plain = to_dot(o)  # no params given: the weights are plain inputs
    assert 'class="parameter"' not in plain and ">parameter<" not in plain
    assert "\tlegend [" not in to_dot(o, legend=False)


def test_params_accepts_any_iterable_and_ignores_values_outside_the_graph():
    o, params = neuron()
    stranger = Value(1.0, label="elsewhere")
    text = to_dot(o, params=(p for p in [*params, stranger]))
    assert text == to_dot(o, params=params)
    assert "elsewhere" not in text


def test_dot_text_is_deterministic_and_draw_wraps_the_same_text():
    o, params = neuron()
    again, again_params = neuron()
    text = to_dot(o, params=params)
    assert text == to_dot(o, params=params)
    assert text == to_dot(again, params=again_params)  # same graph built twice
    graph = draw(o, params=params)
    assert isinstance(graph, graphviz.Digraph)
    assert graph.source == text
    odd = Value(1.0, label="line\u2028separator\u2029paragraph\x0bvertical tab")
    assert draw(odd * 2).source == to_dot(odd * 2)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda x, y: x * 1.0001, "* 1.0001"),
        (lambda x, y: x + 0.5, "+ 0.5"),
        (lambda x, y: x**2, "** 2"),
        (lambda x, y: x - 3, "- 3"),
        (lambda x, y: x / 4, "/ 4"),
        (lambda x, y: x - y, "a - b"),
        (lambda x, y: x / y, "a / b"),
        (lambda x, y: x**y, "a ** b"),
        (lambda x, y: x * y, "*"),
        (lambda x, y: x.leaky_relu(0.2), "leaky_relu"),  # its slope stays hidden
        (lambda x, y: (-x).leaky_relu(0.2), "leaky_relu"),
        (lambda x, y: -x, "neg"),
        (lambda x, y: x.tanh(), "tanh"),
        (lambda x, y: sum_values([x, y, 1.5]), "sum + 1.5"),
        (lambda x, y: sum_values([x, y]), "sum"),
    ],
)
def test_op_nodes_show_the_op_and_a_plain_number_operand(build, expected):
    root = build(Value(2.0, label="x"), Value(3.0, label="y"))
    text = to_dot(root)
    last = len(topological_order(root)) - 1
    assert op_label(text, f"n{last}_op") == expected


def test_operand_order_is_labelled_for_non_commutative_ops():
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    text = to_dot(x - y)
    order = topological_order(x - y)
    assert [v.label for v in order[:2]] == ["x", "y"]
    assert ("n0", "n2_op", "a") in edges(text) and ("n1", "n2_op", "b") in edges(text)


def test_dot_edges_show_number_coefficients_and_the_bias():
    w1, w2, b = Value(1.0, label="w1"), Value(2.0, label="w2"), Value(0.5, label="b")
    root = dot([w1, w2], [0.5, -2.0], b)
    labels = sorted(label for _, head, label in edges(to_dot(root)) if head.endswith("_op"))
    assert labels == ["", "\u00d7 -2", "\u00d7 0.5"]  # the bias edge needs no label
    assert op_label(to_dot(root), "n3_op") == "\u03a3 w\u00b7x + b"


def test_show_grad_and_precision_change_the_numbers_shown():
    o, _ = neuron()
    assert "grad " not in to_dot(o, show_grad=False)
    short = to_dot(o, precision=2)
    assert "data 2.00<" in short and "data 0.71<" in short
    tiny = to_dot(Value(1e-8, label="tiny") * 2)
    assert "data 1.0000e-08" in tiny and "data 2.0000e-08" in tiny
    assert "data -0.0000" not in to_dot(Value(-0.0) * 1)


def test_rankdir_is_written_into_the_graph_attributes():
    o, _ = neuron()
    assert "\tgraph [rankdir=LR " in to_dot(o)
    assert "\tgraph [rankdir=TB " in to_dot(o, rankdir="tb")


def test_options_can_be_given_in_the_order_of_the_issue():
    # issue 5: to_dot(root, rankdir="LR", show_grad=True, precision=4, max_nodes=...)
    order = ["root", "rankdir", "show_grad", "precision", "max_nodes", "params", "legend"]
    assert list(inspect.signature(to_dot).parameters) == [*order, "expand_dot"]
    assert list(inspect.signature(draw).parameters) == [*order, "expand_dot"]
    assert list(inspect.signature(render).parameters)[:3] == ["root", "path", "format"]
    o, params = neuron()
    assert "\tgraph [rankdir=TB " in to_dot(o, "TB")
    assert to_dot(o, "TB") == to_dot(o, rankdir="TB")
    assert to_dot(o, "BT", False, 2, 100, params, False) == to_dot(
        o, rankdir="BT", show_grad=False, precision=2, max_nodes=100, params=params, legend=False)
    assert draw(o, "TB").source == to_dot(o, "TB")
    assert draw(o, "RL", True, 3, params=params).source == to_dot(
        o, rankdir="RL", precision=3, params=params)


def test_an_option_given_in_the_wrong_position_is_explained():
    o, params = neuron()
    with pytest.raises(ValueError, match=r"rankdir=\[.*\] is not a Graphviz direction"):
        to_dot(o, params)  # params by position lands on rankdir
    with pytest.raises(TypeError, match="show_grad must be True or False, got 4.*by keyword"):
        to_dot(o, "LR", 4)  # a precision by position lands on show_grad


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"rankdir": "XY"}, ValueError, "rankdir='XY'"),
        ({"precision": -1}, ValueError, "precision=-1"),
        ({"precision": 2.5}, TypeError, "precision"),
        ({"max_nodes": 0}, ValueError, "max_nodes=0"),
        ({"max_nodes": "10"}, TypeError, "max_nodes"),
        ({"params": 3}, TypeError, "params"),
        ({"params": "w"}, TypeError, "params"),
        ({"params": [1.0]}, TypeError, "params item 0 is float"),
        ({"show_grad": "no"}, TypeError, "show_grad must be True or False, got 'no'"),
        ({"legend": 1}, TypeError, "legend must be True or False, got 1"),
    ],
)
def test_bad_options_are_refused_with_a_sentence(kwargs, error, fragment):
    o, _ = neuron()
    with pytest.raises(error, match=re.escape(fragment)):
        to_dot(o, **kwargs)


def test_a_single_value_as_params_asks_for_a_list():
    o, params = neuron()
    with pytest.raises(TypeError, match=r"params=\[w\]"):
        to_dot(o, params=params[0])


def test_root_must_be_a_value():
    with pytest.raises(TypeError, match="root must be a Value, got float"):
        to_dot(1.5)
    with pytest.raises(TypeError, match="sum_values"):
        to_dot([Value(1.0), Value(2.0)])
    with pytest.raises(TypeError, match="rank"):
        draw(Value(1.0), rank="LR")


def test_too_many_values_are_refused_with_the_count_and_the_way_out():
    x = Value(1.0, label="x")
    y = x
    for _ in range(49):
        y = y + 1.0
    with pytest.raises(ValueError, match="has 50 values, more than max_nodes=10") as info:
        to_dot(y, max_nodes=10)
    assert "max_nodes=50" in str(info.value) and "None" in str(info.value)
    with pytest.raises(ValueError, match="has 50 values, more than max_nodes=49"):
        to_dot(y, max_nodes=49)
    assert len(nodes(to_dot(y, max_nodes=50))) == 50 + 49
    assert len(nodes(to_dot(y, max_nodes=None))) == 50 + 49
    assert DEFAULT_MAX_NODES >= 1000


def test_a_ten_thousand_deep_chain_gives_dot_without_recursion():
    depth = 10_000
    assert depth > sys.getrecursionlimit()  # a recursive walk could not do this
    x = Value(1.0, label="x")
    y = x
    for _ in range(depth):
        y = y * 1.0001
    text = to_dot(y, max_nodes=None)
    names = nodes(text)
    assert len(names) == 2 * depth + 1
    assert len(edges(text)) == 2 * depth
    assert "n0 [label=<" in text and f"n{depth}_op -> n{depth}\n" in text


def test_dot_text_needs_no_graphviz(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    o, params = neuron()
    assert to_dot(o, params=params).count("\n") > 20


# --- hostile labels ----------------------------------------------------------------------

# (label, lines that must be visible in the SVG); None means "the label's own lines".
HOSTILE_LABELS = [
    ('say "hi"', None),
    ("it's", None),
    ("back\\slash", None),
    ("trailing\\", None),
    ("{braces} and [brackets]", None),
    ("a|b|c", None),
    ("<b>not bold</b>", None),
    ("<script>alert(1)</script>", None),
    ("<<TABLE><TR><TD>x</TD></TR></TABLE>>", None),
    ("first line\nsecond line", None),
    ("windows\r\nline", ["windows", "line"]),
    ("\\N \\G \\L \\E \\T \\H \\n \\l", None),
    ("\\\\N", None),
    ("\u03c3(\u2202L/\u2202x)", None),
    ("&amp; &lt; &#60;", None),
    ("]]> <!-- comment --> <?pi?>", None),
    ('"]; evil [label="x', None),
    ("}\ndigraph { x", None),
    ("  two  spaces  ", ["two spaces"]),
    ("tab\there", ["tab here"]),
    ("line\u2028separator\x85next", ["line\\u2028separator\\x85next"]),
    ("zero\u200bwidth\u00adsoft", ["zero\\u200bwidth\\u00adsoft"]),
    ("nul\x00bell\x07", ["nul\\x00bell\\x07"]),
    ("lone \ud800 surrogate", ["lone \\ud800 surrogate"]),
]


@pytest.mark.parametrize(("label", "visible"), HOSTILE_LABELS, ids=repr)
def test_hostile_label_renders_valid_svg_showing_the_text(dot_program, tmp_path, label, visible):
    leaf = Value(2.0, label="w")
    leaf.label = label  # labels are user text: anything goes
    root = leaf * Value(3.0, label="k")
    text = to_dot(root)
    assert "<script" not in text.lower()
    assert len(nodes(text)) == 4

    svg = parse_svg(render(root, tmp_path / "hostile.svg"))
    assert not [e for e in svg.iter() if e.tag.rsplit("}", 1)[-1].lower() == "script"]
    assert not [a for e in svg.iter() for a in e.attrib if a.lower().startswith("on")]
    titles = [svg_title(g) for g in svg_groups(svg, "node")]
    assert sorted(t for t in titles if not t.startswith("legend")) == ["n0", "n1", "n2", "n2_op"]
    texts = svg_texts(svg)
    for line in visible if visible is not None else label.split("\n"):
        wanted = " ".join(line.split())
        assert any(wanted in t for t in texts), (wanted, texts)
    assert any("data 2.0000" in t for t in texts)


def test_all_hostile_labels_in_one_graph_keep_every_node(dot_program, tmp_path):
    leaves = [Value(float(i), label=label) for i, (label, _) in enumerate(HOSTILE_LABELS)]
    root = sum_values(leaves)
    root.op = "<script>op</script>"  # even an op name is escaped
    svg = parse_svg(render(root, tmp_path / "all.svg"))
    assert not [e for e in svg.iter() if e.tag.rsplit("}", 1)[-1].lower() == "script"]
    titles = [svg_title(g) for g in svg_groups(svg, "node")]
    assert len([t for t in titles if re.fullmatch(r"n\d+", t)]) == len(leaves) + 1
    assert "<script>op</script>" in svg_texts(svg)


# --- rendering ---------------------------------------------------------------------------


def test_neuron_svg_parses_with_one_group_per_node_and_edge(dot_program, tmp_path):
    o, params = neuron()
    path = render(o, tmp_path / "neuron.svg", params=params)
    assert path == str(tmp_path / "neuron.svg")
    svg = parse_svg(path)
    groups = svg_groups(svg, "node")
    titles = [svg_title(g) for g in groups]
    assert len([t for t in titles if re.fullmatch(r"n\d+", t)]) == 10
    assert len([t for t in titles if re.fullmatch(r"n\d+_op", t)]) == 5
    assert len([t for t in titles if t == "legend"]) == 1
    assert len(svg_groups(svg, "edge")) == 14
    classes = [g.get("class") for g in groups]
    assert classes.count("node parameter") == 3 and classes.count("node output") == 1
    texts = svg_texts(svg)
    for shown in ("x1", "w1", "data 0.7071", "grad -1.5000", "tanh"):
        assert shown in texts


def test_draw_displays_as_svg_in_jupyter(dot_program):
    o, params = neuron()
    bundle = draw(o, params=params)._repr_mimebundle_()
    svg = ET.fromstring(bundle["image/svg+xml"].encode("utf-8"))
    assert len(svg_groups(svg, "node")) == 10 + 5 + 1


@pytest.mark.parametrize(
    ("name", "fmt", "written"),
    [
        ("graph.svg", "svg", "graph.svg"),
        ("graph", "svg", "graph.svg"),
        ("GRAPH.SVG", "svg", "GRAPH.SVG"),
        ("graph.v2", "svg", "graph.v2.svg"),
        ("nested/dir/graph.png", "png", "nested/dir/graph.png"),
        ("graph", "PDF", "graph.pdf"),
    ],
)
def test_render_returns_the_written_path(dot_program, tmp_path, name, fmt, written):
    o, _ = neuron()
    path = render(o, str(tmp_path / name), format=fmt)
    assert path == str(tmp_path / written)
    data = Path(path).read_bytes()
    magic = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF"}[fmt.lower()]
    assert data.startswith(magic)
    assert sorted(p.name for p in Path(path).parent.iterdir()) == [Path(path).name]


def test_rendered_file_gets_ordinary_permissions(dot_program, tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = render(Value(1.0, label="x") * 2, tmp_path / "graph.svg")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask


def test_render_refuses_a_mismatched_extension_and_unknown_formats(tmp_path):
    o, _ = neuron()
    with pytest.raises(ValueError, match=r"ends in \.png but format is 'svg'"):
        render(o, tmp_path / "graph.png")
    with pytest.raises(ValueError, match="format='nope' is not a Graphviz output format"):
        render(o, tmp_path / "graph", format="nope")
    with pytest.raises(ValueError, match="is a folder"):
        render(o, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_dot_gives_one_clear_error_and_leaves_the_dot_file(monkeypatch, tmp_path):
    o, params = neuron()
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    target = tmp_path / "out" / "neuron.svg"
    with pytest.raises(GraphvizNotFound) as info:
        render(o, target, params=params)
    error = info.value
    assert isinstance(error, RuntimeError) and isinstance(error, graphviz.ExecutableNotFound)
    saved = tmp_path / "out" / "neuron.gv"
    assert error.dot_path == str(saved)
    assert saved.read_text(encoding="utf-8") == to_dot(o, params=params)
    assert not target.exists()
    message = str(error)
    assert str(saved) in message and "was saved" in message
    for command in INSTALL_COMMANDS:
        assert command in message and command in INSTALL_HELP
    assert INSTALL_HELP in message  # the explorer reuses the same text

    with pytest.raises(GraphvizNotFound) as shown:  # the notebook display says the same
        draw(o)._repr_mimebundle_()
    assert INSTALL_HELP in str(shown.value)


# --- labels Graphviz cannot take as they are --------------------------------------------


@pytest.mark.parametrize("unit", ["a", "&", "\x07"], ids=["letters", "entities", "controls"])
def test_a_label_beyond_graphvizs_limit_is_drawn_shortened(dot_program, tmp_path, unit):
    label = unit * 40_000  # escaped, far beyond the 16384 characters dot accepts
    x = Value(2.0, label=label)
    svg = parse_svg(render(x * 3, tmp_path / "long.svg"))
    assert x.label == label  # the Value keeps its text
    texts = [t for t in svg_texts(svg) if t.endswith("\u2026")]
    assert len(texts) == 1 and len(texts[0]) < len(label)
    assert "data 2.0000" in svg_texts(svg)


def test_long_labels_in_the_explorer_page_are_shortened_alike(dot_program, tmp_path):
    from autodiff import explore

    x = Value(2.0, label="x" * 40_000)
    page = Path(explore(x * 3, tmp_path / "long.html")).read_text(encoding="utf-8")
    svg = page[page.index("<svg"): page.index("</svg>")]
    assert "\u2026" in svg and "x" * 20_000 not in svg


@pytest.mark.parametrize("code", [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
def test_bidi_controls_are_shown_escaped_not_obeyed(code):
    x = Value(1.0, label=f"abc{chr(code)}def")
    text = to_dot(x * 2)
    assert chr(code) not in text
    assert f"abc\\\\u{code:04x}def" in text


def test_render_writes_a_file_whose_name_is_the_longest_legal_one(dot_program, tmp_path):
    target = tmp_path / ("g" * 251 + ".svg")  # 255 bytes
    assert render(Value(1.0, label="x") * 2, target) == str(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


# --- names, numbers, the teaching expansion ---------------------------------------------


def test_unlabelled_nodes_are_named_by_op_and_position():
    x = Value(2.0, label="x")
    y = (x * 3.0 + x * x).tanh() - 1.0
    text = to_dot(y)
    shown = re.findall(r"<I>(\w+)</I>", text)
    assert shown == ["mul1", "mul2", "add1", "tanh1", "sub1"]


def test_one_number_format_for_every_magnitude():
    from autodiff.drawing import format_number

    assert [format_number(v) for v in (0.0061, -0.00067318, 2.5, 1234.5, 0.0)] == [
        "0.0061", "-0.0007", "2.5000", "1234.5000", "0.0000"]
    assert format_number(3e-5) == "3.0000e-05" and format_number(2e7) == "2.0000e+07"
    assert format_number(-0.0) == "0.0000"


def test_expand_dot_draws_one_multiply_per_weight_and_an_add():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2, b = Value(-3.0, label="w1"), Value(1.0, label="w2"), Value(6.8813735870195432, "b")
    n = dot([x1, x2], [w1, w2], b)
    n.label = "n"
    o = n.tanh()
    o.backward()
    text = to_dot(o, expand_dot=True)
    ops = re.findall(r"^\t(n\d+(?:_t\d+)?_op) \[label=<(.*?)>", text, re.M)
    assert sorted(label for _, label in ops) == ["*", "*", "+", "tanh"]
    assert "<I>x1*w1</I>" in text and "data -6.0000" in text and "grad 0.5000" in text
    assert "<I>x2*w2</I>" in text and "data 0.0000" in text
    assert "\u03a3" not in text  # the fused node is drawn as its parts
    assert "\u03a3 w\u00b7x + b" in to_dot(o)  # and by default as one node


def test_weight_k_is_drawn_beside_input_k():
    w = [Value(0.5, label=f"w{i}") for i in (1, 2, 3)]
    x = [Value(1.0, label=f"x{i}") for i in (1, 2, 3)]
    root = dot(w, x, Value(0.1, label="b"))
    text = to_dot(root)
    tails = re.findall(r"^\t(n\d+) -> n\d+_op$", text, re.M)
    label = {f"n{i}": v.label for i, v in enumerate(topological_order(root))}
    assert [label[t] for t in tails] == ["w1", "x1", "w2", "x2", "w3", "x3", "b"]
    assert "ordering=in" in text
    errors = [Value(0.5, label="e1"), Value(-1.0, label="e2")]
    assert "label=<\u03a3 x\u00b2>" in to_dot(dot(errors, errors))  # a sum of squares


def test_pictures_declare_a_font_the_machine_has():
    from autodiff.drawing import FONT

    assert FONT == "DejaVu Sans"
    assert to_dot(Value(1.0) * 2).count(f'fontname="{FONT}"') == 3
    if shutil.which("fc-list"):
        found = subprocess.run(["fc-list", FONT], capture_output=True, text=True).stdout
        assert found.strip(), f"{FONT} is not installed (apt-get install fonts-dejavu-core)"


def test_value_html_is_a_small_escaped_picture_of_the_value():
    from autodiff.drawing import value_html

    v = Value(-0.5, label="<w>")
    out = v * 2
    out.backward()
    text = value_html(v)
    assert "<b>&lt;w&gt;</b>" in text and "data -0.5000" in text and "grad 2.0000" in text
    assert "op * of 1 input" in value_html(out)
    with pytest.raises(TypeError, match="needs a Value"):
        value_html(1.0)
