"""The backprop explorer: the recorded trace, the page it writes, and the page in a browser."""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autodiff import Value, dot, explore, logsumexp, render, sum_values
from autodiff.drawing import INSTALL_HELP, GraphvizNotFound, graph_of
from autodiff.explorer import _safe_svg, record_backward
from autodiff.graph import reverse_topological_order
from nn import MLP

ROOT = Path(__file__).resolve().parent.parent
SVG_NS = "{http://www.w3.org/2000/svg}"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
HOSTILE = [
    "</script><script>alert(1)</script>",
    "<!-- \u2028\u2029 ]]> &amp; \"q\" 'q' <img src=x onerror=\"window.__pwned=1\">",
    "<svg onload=\"window.__pwned=2\">\\N",
]


# --- graphs -----------------------------------------------------------------------------


def neuron() -> dict[str, Value]:
    """micrograd's worked example: o = tanh(x1*w1 + x2*w2 + b)."""
    v = {name: Value(x, label=name) for name, x in
         [("x1", 2.0), ("x2", 0.0), ("w1", -3.0), ("w2", 1.0), ("b", 6.8813735870195432)]}
    v["x1*w1"] = v["x1"] * v["w1"]
    v["x2*w2"] = v["x2"] * v["w2"]
    v["n"] = v["x1*w1"] + v["x2*w2"] + v["b"]
    v["o"] = v["n"].tanh()
    for name in ("x1*w1", "x2*w2", "n", "o"):
        v[name].label = name
    return v


def mlp_loss() -> Value:
    """Squared error of a 2-2-1 tanh MLP on two examples, weights shared between them."""
    w = [Value(x, label=f"w{i}") for i, x in enumerate([0.3, -0.7, 0.1, 0.5, 0.9, -0.2])]
    b = [Value(x, label=f"b{i}") for i, x in enumerate([0.05, -0.1, 0.2])]
    total = 0.0
    for xs, target in [((0.0, 1.0), 1.0), ((1.0, 1.0), -1.0)]:
        h1 = (xs[0] * w[0] + xs[1] * w[1] + b[0]).tanh()
        h2 = (xs[0] * w[2] + xs[1] * w[3] + b[1]).tanh()
        y = h1 * w[4] + h2 * w[5] + b[2]
        total = total + (y - target) ** 2
    return total / 2


def graphs() -> dict[str, Value]:
    """Graphs that exercise the hard cases: sharing, repeated parents, every op."""
    out = {"neuron": neuron()["o"], "mlp": mlp_loss()}
    a, b = Value(1.5, label="a"), Value(-0.5, label="b")
    out["diamond"] = (a + b) * a  # x = a + b; y = x * a
    c = a + a
    out["double"] = c + c  # b = a + a; c = b + b
    out["square"] = a * a
    out["self-minus"] = a - a
    x = Value(0.7, label="x")
    unary = [x.exp(), x.log(), x.tanh(), x.sigmoid(), x.relu(), x.leaky_relu(), x.softplus(),
             x.sqrt(), x.sin(), x.cos(), abs(-x), x**3, 2**x, x ** Value(1.5), 1 / x, x / 3,
             3 - x, -x + 1]
    out["ops"] = sum_values(unary + [logsumexp([x, a, b]), dot([x, a], [b, x], bias=a),
                                     dot([x, a], [2.0, -1.0])])
    out["leaf"] = Value(4.0, label="alone")
    return out


# --- the trace --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(graphs()))
def test_trace_increments_sum_to_the_real_backward_grads(name):
    root = graphs()[name]
    trace = record_backward(root)
    root.zero_grad()
    root.backward()
    totals = [0.0] * len(trace.nodes)
    totals[trace.root] += trace.seed
    for step in trace.steps:
        for c in step.contributions:
            assert c.increment == pytest.approx(c.after - c.before)
            totals[c.parent] += c.increment
    for i, node in enumerate(trace.nodes):
        assert totals[i] == pytest.approx(node.grad, rel=1e-12, abs=1e-12), trace.nodes[i]
        assert trace.grads[i] == node.grad  # same floats, same order of additions


@pytest.mark.parametrize("name", list(graphs()))
def test_trace_follows_the_engines_order_and_complete_upstream(name):
    root = graphs()[name]
    trace = record_backward(root)
    visited = [n for n in reverse_topological_order(root) if n.parents]
    assert [trace.nodes[s.node] for s in trace.steps] == visited
    for step in trace.steps:
        # when a node's rule runs, every consumer has already run: its grad is final
        assert step.upstream == trace.grads[step.node]
        parents = trace.nodes[step.node].parents
        assert [trace.nodes[c.parent] for c in step.contributions] == list(dict.fromkeys(parents))


@pytest.mark.parametrize("name", list(graphs()))
def test_local_derivative_times_upstream_is_the_measured_increment(name):
    trace = record_backward(graphs()[name])
    for step in trace.steps:
        for c in step.contributions:
            assert c.local is not None
            assert c.local * step.upstream == pytest.approx(c.increment, rel=1e-9, abs=1e-12)


def test_repeated_parent_is_one_contribution_with_the_summed_derivative():
    a = Value(3.0, label="a")
    trace = record_backward(a * a)
    (step,) = trace.steps
    (c,) = step.contributions
    assert (c.uses, c.local, c.increment) == (2, pytest.approx(6.0), pytest.approx(6.0))


def test_record_and_explore_leave_every_grad_as_it_was(tmp_path):
    v = neuron()
    for i, node in enumerate(v.values()):
        node.grad = 10.0 + i
    before = {name: node.grad for name, node in v.items()}
    record_backward(v["o"])
    explore(v["o"], tmp_path / "page.html")
    assert {name: node.grad for name, node in v.items()} == before


def plain(parts, nodes) -> str:
    """Panel text parts as the page shows them: indices become names, [i] names in d-notation."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, int):
            out.append(nodes[part]["name"])
        else:
            out.append(nodes[part[0]]["dname"])
    return "".join(out)


def test_worked_example_numbers_and_chain_rule_text(tmp_path):
    v = neuron()
    trace = record_backward(v["o"])
    grads = {name: trace.grads[trace.nodes.index(node)] for name, node in v.items()}
    assert grads["x1"] == pytest.approx(-1.5)
    assert grads["w1"] == pytest.approx(1.0)
    assert grads["x2"] == pytest.approx(0.5)
    assert grads["w2"] == pytest.approx(0.0)
    assert grads["n"] == pytest.approx(0.5)
    data = page_parts(explore(v["o"], tmp_path / "neuron.html")).data
    texts = [plain(c["text"], data["nodes"]) for s in data["steps"] for c in s["contributions"]]
    # one number format everywhere (4 decimals, as in the picture); a name with an
    # operator in it is parenthesised in the d-notation
    assert "∂o/∂n += ∂o/∂o · ∂o/∂n = 1.0000 · 0.5000 = 0.5000" in texts
    assert "∂o/∂x1 += ∂o/∂(x1*w1) · ∂(x1*w1)/∂x1 = 0.5000 · (-3.0000) = -1.5000" in texts
    assert "∂o/∂w1 += ∂o/∂(x1*w1) · ∂(x1*w1)/∂w1 = 0.5000 · 2.0000 = 1.0000" in texts


def test_every_node_has_one_name_shown_alike_on_picture_panel_and_table(tmp_path):
    x, w = Value(2.0, label="x"), Value(-3.0)  # w unlabelled, and so are the ops
    y = (x * w + 1.0).tanh() * w
    page = Page(explore(y, tmp_path / "names.html"))
    names = [n["name"] for n in page.data["nodes"]]
    assert names == ["x", "leaf1", "mul1", "add1", "tanh1", "mul2"]
    texts = svg_texts(page)
    for node in page.data["nodes"]:
        assert texts[node["id"]][0] == node["name"]  # the box's first text is the name
    assert page.data["nodes"][-1]["role"] == "output"
    assert "<title>Backprop explorer: mul2</title>" in page.html


def test_generated_names_never_repeat_a_label(tmp_path):
    a = Value(1.0, label="mul1")
    b = a * 2.0
    names = [n["name"] for n in Page(explore(b * 3.0, tmp_path / "n.html")).data["nodes"]]
    assert names == ["mul1", "mul2", "mul3"]


def test_forward_texts_show_each_value_computed_from_its_inputs(tmp_path):
    v = neuron()
    data = Page(explore(v["o"], tmp_path / "neuron.html")).data
    nodes = data["nodes"]
    forward = [plain(nodes[i]["forward"], nodes) for i in data["forward"]]
    assert forward[0] == "x1*w1 = x1 * w1 = 2.0000 * (-3.0000) = -6.0000"
    assert forward[-1] == "o = tanh(n) = tanh(0.8814) = 0.7071"
    assert [nodes[i]["name"] for i in data["forward"]] == ["x1*w1", "x2*w2", "add1", "n", "o"]


def test_clicked_node_details_list_every_contribution_and_check_the_gradient(tmp_path):
    a = Value(1.5, label="a")
    b = Value(-0.5, label="b")
    x = a + b
    x.label = "x"
    y = x * a  # a feeds two nodes: two contributions
    y.label = "y"
    data = Page(explore(y, tmp_path / "d.html", params=[a], lr=0.1)).data
    nodes = data["nodes"]
    by_name = {n["name"]: n for n in nodes}
    received = [plain(r, nodes) for r in by_name["a"]["received"]]
    assert received == ["from y: ∂y/∂y · ∂y/∂a = 1.0000 · 1.0000 = 1.0000",
                        "from x: ∂y/∂x · ∂x/∂a = 1.5000 · 1.0000 = 1.5000"]
    assert by_name["a"]["final"] == "2.5000"  # dy/da = x + a = 2a + b
    check = plain(by_name["a"]["check"], nodes)
    assert check.startswith("finite differences: (y(a + h) − y(a − h)) / 2h = 2.5000")
    assert check.endswith("vs backward 2.5000 ✓ agree")
    update = plain(by_name["a"]["update"], nodes)
    assert update == "update with lr = 0.1: a.data − lr·a.grad = 1.5000 − 0.1 · 2.5000 = 1.2500"
    assert "check" not in by_name["b"]  # params were given: b is an input
    assert [plain(t, nodes) for t in by_name["y"]["locals"]] == [
        "∂y/∂x = 1.5000", "∂y/∂a = 1.0000"]


@pytest.mark.parametrize("name", list(graphs()))
def test_finite_difference_checks_agree_with_backward_on_every_op(tmp_path, name):
    data = Page(explore(graphs()[name], tmp_path / "page.html")).data
    checks = [plain(n["check"], data["nodes"]) for n in data["nodes"] if "check" in n]
    assert checks or name == "leaf"
    for text in checks:
        assert text.endswith("✓ agree"), text


def test_a_wrong_gradient_would_be_flagged():
    from autodiff.explorer import _numeric_gradient

    x = Value(0.3, label="x")
    y = (x * x).sin() + x.exp() / 2.0
    order = graph_of(y)
    exact = math.cos(0.09) * 0.6 + math.exp(0.3) / 2.0
    assert _numeric_gradient(order, x) == pytest.approx(exact, rel=1e-8)


def test_bad_learning_rates_are_refused(tmp_path):
    with pytest.raises(TypeError, match="lr must be a number"):
        explore(Value(1.0), tmp_path / "x.html", lr="0.1")
    with pytest.raises(ValueError, match="lr=-1"):
        explore(Value(1.0), tmp_path / "x.html", lr=-1)
    assert not (tmp_path / "x.html").exists()


def test_explore_returns_the_path_and_shows_inline_in_a_notebook(tmp_path):
    page = explore(neuron()["o"], tmp_path / "nb.html")
    assert page == str(tmp_path / "nb.html") and page.path == page
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=\"") and 'sandbox="allow-scripts"' in frame
    inner = html.unescape(frame.split('srcdoc="', 1)[1].split('" sandbox', 1)[0])
    assert inner == Path(page).read_text(encoding="utf-8")


# --- the page ---------------------------------------------------------------------------

VOID = {"meta", "input", "br", "hr", "img", "link", "area", "base", "col", "embed", "source",
        "track", "wbr"}


class PageParser(HTMLParser):
    """Checks that every element is closed in order and collects scripts, tags and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts.append((dict(attrs), ""))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "script":
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.text.append(data)

    def handle_comment(self, data):
        self.problems.append(f"comment <!--{data}-->")


class Page:
    def __init__(self, path: str) -> None:
        self.html = Path(path).read_text(encoding="utf-8")
        self.parser = PageParser()
        self.parser.feed(self.html)
        self.parser.close()
        (json_attrs, json_text), (_, self.script) = self.parser.scripts
        assert json_attrs == {"type": "application/json", "id": "trace"}
        self.json_text = json_text
        self.data = json.loads(json_text)


def page_parts(path: str) -> Page:
    return Page(path)


def hostile_graph() -> Value:
    a = Value(2.0, label=HOSTILE[0])
    b = Value(3.0, label=HOSTILE[1])
    c = (a * b).tanh()
    c.label = HOSTILE[2]
    return c


def test_page_is_well_formed_and_user_labels_stay_text(tmp_path):
    page = Page(explore(hostile_graph(), tmp_path / "hostile.html"))
    assert page.parser.problems == []
    assert page.parser.stack == []
    # only the page's own markup: two scripts, no element a label could have smuggled in
    assert [t for t, _ in page.parser.tags].count("script") == 2
    assert not {t for t, _ in page.parser.tags} & {"img", "iframe", "object", "foreignobject",
                                                     "a", "image", "embed"}
    assert [t for t, _ in page.parser.tags].count("style") == 1
    assert not [(t, a) for t, a in page.parser.tags for name in a if name.startswith("on")]
    for label in HOSTILE:
        assert label not in page.html
    # the embedded JSON is inert: no markup characters or JS line breaks left raw
    assert not re.search("[<>&\u2028\u2029]", page.json_text)
    assert [n["label"] for n in page.data["nodes"]] == [HOSTILE[0], HOSTILE[1], "", HOSTILE[2]]
    # the graph shows the labels literally (dot escaped them; the parser decodes them)
    assert HOSTILE[0] in page.parser.text
    assert HOSTILE[2] in page.parser.text


def test_page_allows_only_its_own_script(tmp_path):
    page = Page(explore(neuron()["o"], tmp_path / "neuron.html"))
    csp = next(a["content"] for t, a in page.parser.tags
               if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    digest = base64.b64encode(hashlib.sha256(page.script.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp
    assert "http://" not in page.html.replace("http://www.w3.org/", "")
    assert "https://" not in page.html


def test_unsafe_svg_is_refused():
    ok = '<svg xmlns="http://www.w3.org/2000/svg"><g class="node"><text>a &lt; b</text></g></svg>'
    assert _safe_svg(ok) == ok
    for bad in [
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><g onclick="alert(1)"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><text><![CDATA[<b>]]></text></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><text>a</svg>',
    ]:
        with pytest.raises(RuntimeError, match="does not put in a page"):
            _safe_svg(bad)


def grad_labelled_graph() -> Value:
    """y = x * w where the labels look like grad cells: "grad x" and "grad 1.0000"."""
    x, w = Value(2.0, label="grad x"), Value(-3.0, label="grad 1.0000")
    y = x * w
    y.label = "y"
    return y


def svg_texts(page: Page) -> dict[str, list[str]]:
    """Node name (n0, n1_op, ...) -> the texts of its SVG group, in document order."""
    svg = re.search(r'<div id="graph">(.*?)</div>', page.html, re.S).group(1)
    texts = {}
    for g in ElementTree.fromstring(svg).iter(f"{SVG_NS}g"):
        if "node" in g.get("class", "").split():
            texts[g.find(f"{SVG_NS}title").text] = [
                "".join(t.itertext()) for t in g.iter(f"{SVG_NS}text")]
    return texts


def test_the_grad_cell_is_found_even_when_a_label_starts_with_grad(tmp_path):
    page = Page(explore(grad_labelled_graph(), tmp_path / "grad-labels.html"))
    texts = svg_texts(page)
    labels = {n["label"]: n for n in page.data["nodes"]}
    for label, grad in [("grad x", "grad -3.0000"), ("grad 1.0000", "grad 2.0000"),
                        ("y", "grad 1.0000")]:
        node = labels[label]
        shown = texts[node["id"]]
        assert shown[0] == label  # the label cell comes first ...
        assert node["texts"] == [len(shown) - 2, len(shown) - 1]  # ... data and grad last
        assert shown[node["texts"][1]].startswith("grad ")  # sized for its longest text
        assert node["grad"] == grad


def test_missing_dot_says_how_to_install_it_as_drawing_does(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    target = tmp_path / "page.html"
    with pytest.raises(GraphvizNotFound) as info:
        explore(neuron()["o"], target)
    message = str(info.value)
    assert INSTALL_HELP in message
    for command in ("sudo apt-get install graphviz", "brew install graphviz",
                    "conda install -c conda-forge graphviz"):
        assert command in message
    assert str(target) in message and "not written" in message
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(GraphvizNotFound) as drawing:  # drawing gives the same install help
        render(neuron()["o"], tmp_path / "graph.svg")
    assert INSTALL_HELP in str(drawing.value)


def test_refuses_graphs_above_the_node_limit(tmp_path):
    x = Value(1.0, label="x")
    y = x
    for _ in range(30):
        y = y * 1.01
    with pytest.raises(ValueError, match=r"has 31 nodes.*max_nodes=30.*max_nodes=31\)"):
        explore(y, tmp_path / "big.html", max_nodes=30)
    assert not (tmp_path / "big.html").exists()
    assert Path(explore(y, tmp_path / "ok.html", max_nodes=31)).exists()


def test_bad_arguments_are_explained(tmp_path):
    with pytest.raises(TypeError, match="root must be a Value"):
        explore([Value(1.0)], tmp_path / "x.html")
    with pytest.raises(TypeError, match="root must be a Value"):
        record_backward(1.0)
    with pytest.raises(ValueError, match="is a folder"):
        explore(Value(1.0), tmp_path)
    with pytest.raises(ValueError, match="max_nodes=0"):
        explore(Value(1.0), tmp_path / "x.html", max_nodes=0)
    with pytest.raises(TypeError, match="max_nodes must be an int"):
        explore(Value(1.0), tmp_path / "x.html", max_nodes="10")


def test_demo_writes_the_neuron_and_mlp_pages(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "demos" / "explore.py"), "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name, rules in [("neuron", 5), ("mlp", 16)]:
        page = Page(str(tmp_path / f"explore_{name}.html"))
        assert page.parser.problems == []
        assert len(page.data["steps"]) == rules
    # both examples send gradient into the shared weights: the panel says it accumulates
    changes = [plain(c["change"], page.data["nodes"])
               for s in page.data["steps"] for c in s["contributions"]]
    assert any(c.startswith("o.w1.grad:") and "accumulates" in c for c in changes)


# --- a real browser ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium through Selenium and the Debian chromedriver (nothing downloaded)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package")
    if missing:
        reason = (f"the browser test needs {', '.join(missing)}: run `bash .ci/setup dev,demos` "
                  f"(or apt-get install -y chromium chromium-driver, and "
                  f"pip install -e '.[dev]')")
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(reason)
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1400,1000"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def js(driver, code: str):
    return driver.execute_script(code)


def current_node(driver) -> str | None:
    return js(driver, "var t = document.querySelector('g.node.current > title');"
                      "return t ? t.textContent : null;")


def severe_logs(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def set_viewport(driver, width: int, height: int) -> None:
    """Make the page's viewport exactly width x height CSS px (window chrome aside)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def press(driver, key: str) -> None:
    js(driver, f"document.dispatchEvent(new KeyboardEvent('keydown', {{key: '{key}'}}));")


def frame_count(driver) -> int:
    return int(js(driver, "return document.getElementById('counter').textContent"
                          ".split('/ ')[1];"))


def load_demo(name: str):
    spec = importlib.util.spec_from_file_location(f"demo_{name}", ROOT / "demos" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def demo_pages(folder: Path) -> dict[str, str]:
    """The two pages the issue measures: the moons demo's neuron and the 2-2-1 MLP."""
    moons = load_demo("moons")
    result = moons.train(3, moons.MODEL_SEED, moons.DATA_SEED)
    root, params = moons.neuron_graph(result.model, result.X)
    pages = {"moons-neuron": explore(root, folder / "moons_neuron.html", params=params)}
    loss, params = load_demo("explore").mlp_loss(0, 2)
    pages["mlp-2-2-1"] = explore(loss, folder / "mlp.html", params=params, lr=0.1)
    # the same shape as nn builds it: its own parameter names, floats as inputs
    model = MLP(2, [2, 1], activation="tanh")
    error = [model(x) - t for x, t in [((0.0, 1.0), 1.0), ((1.0, 1.0), -1.0)]]
    pages["hostile"] = explore(hostile_graph(), folder / "hostile.html")
    pages["nn-mlp"] = explore(sum_values([e * e for e in error]) * 0.5, folder / "nn.html",
                              params=model.parameters(), lr=0.1)
    return pages


SCREENSHOTS = ROOT / "out" / "screenshots"

# For every value and op box: how far (CSS px) any of its texts sticks out of its shape.
OVERFLOW_JS = """
var worst = [];
document.querySelectorAll('#graph g.node').forEach(function (g) {
  var shapes = g.querySelectorAll('polygon, ellipse, path'), b = null;
  shapes.forEach(function (s) {
    var r = s.getBoundingClientRect();
    b = b ? {l: Math.min(b.l, r.left), r: Math.max(b.r, r.right), t: Math.min(b.t, r.top),
             b: Math.max(b.b, r.bottom)} : {l: r.left, r: r.right, t: r.top, b: r.bottom};
  });
  if (!b) { return; }
  g.querySelectorAll('text').forEach(function (t) {
    var r = t.getBoundingClientRect();
    var out = Math.max(b.l - r.left, r.right - b.r, b.t - r.top, r.bottom - b.b);
    if (out > 0.5) { worst.push([g.querySelector('title').textContent, t.textContent, out]); }
  });
});
return worst;
"""
SMALLEST_TEXT_JS = """
var small = Infinity;
document.querySelectorAll('#graph svg text').forEach(function (t) {
  small = Math.min(small, parseFloat(t.getAttribute('font-size')) * t.getScreenCTM().a);
});
return small;
"""
# The names the panel shows (name spans), and each value box's name as the picture shows
# it (its texts before data and grad, lines joined), whitespace runs made one space.
PANEL_NAMES_JS = """
return Array.from(document.querySelectorAll('#panel .name'), function (s) {
  return s.textContent.split(/\\s+/).filter(Boolean).join(' '); });
"""
PICTURE_TEXTS_JS = """
return Array.from(document.querySelectorAll('#graph g.node'), function (g) {
  var texts = Array.from(g.querySelectorAll('text'), function (t) { return t.textContent; });
  return texts.slice(0, -2).join(' ').split(/\\s+/).filter(Boolean).join(' ');
});
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    return demo_pages(tmp_path_factory.mktemp("pages"))


@pytest.mark.parametrize("size", [(1400, 900), (800, 700)], ids=["1400x900", "800x700"])
@pytest.mark.parametrize("page", ["moons-neuron", "mlp-2-2-1", "nn-mlp", "hostile"])
def test_browser_page_is_readable_and_every_text_stays_in_its_box(browser, pages, page, size):
    set_viewport(browser, *size)
    browser.get(Path(pages[page]).as_uri())
    assert severe_logs(browser) == []
    assert js(browser, "return [innerWidth, innerHeight];") == list(size)
    smallest = js(browser, SMALLEST_TEXT_JS)
    assert smallest >= 9, f"smallest graph text {smallest:.1f} px at the start view"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"explorer_{page}_{size[0]}x{size[1]}"
    browser.save_screenshot(f"{shot}_start.png")
    picture = set(js(browser, PICTURE_TEXTS_JS))
    frames = frame_count(browser)
    overflow, strangers = [], set()
    for frame in range(frames + 1):
        assert js(browser, "return document.body.getAttribute('data-frame');") == str(frame)
        overflow += [(frame, *o) for o in js(browser, OVERFLOW_JS)]
        strangers |= set(js(browser, PANEL_NAMES_JS)) - picture
        if frame == frames // 2:
            browser.save_screenshot(f"{shot}_middle.png")
        press(browser, "ArrowRight")
    assert overflow == []
    browser.save_screenshot(f"{shot}_done.png")
    # click every value box: the details name only what the picture shows
    for node in js(browser, "return Array.from(document.querySelectorAll('#graph g.node'),"
                            " function (g) { return g.querySelector('title').textContent; })"
                            ".filter(function (t) { return /^n\\d+$/.test(t); });"):
        js(browser, "var g = Array.from(document.querySelectorAll('#graph g.node')).filter("
                    f"function (g) {{ return g.querySelector('title').textContent === '{node}';"
                    " })[0]; var r = g.getBoundingClientRect();"
                    " ['pointerdown', 'pointerup'].forEach(function (type) {"
                    " g.querySelector('text').dispatchEvent(new PointerEvent(type, {bubbles: true,"
                    " button: 0, clientX: r.left + 2, clientY: r.top + 2})); });")
        assert js(browser, "return document.body.getAttribute('data-selected');") == node
        strangers |= set(js(browser, PANEL_NAMES_JS)) - picture
        assert js(browser, OVERFLOW_JS) == []
    browser.save_screenshot(f"{shot}_details.png")
    assert strangers == set()
    assert severe_logs(browser) == []


def test_browser_zoom_and_pan_change_the_view(browser, pages):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    set_viewport(browser, 1400, 900)
    browser.get(Path(pages["mlp-2-2-1"]).as_uri())

    def view():
        return [float(x) for x in js(browser, "return document.querySelector('#graph svg')"
                                              ".getAttribute('viewBox');").split()]

    start = view()
    browser.find_element(By.ID, "zoom-in").click()
    zoomed = view()
    assert zoomed[2] == pytest.approx(start[2] / 1.25) and zoomed[3] < start[3]
    assert js(browser, SMALLEST_TEXT_JS) > 9 * 1.2  # the text grew with the zoom
    pane = browser.find_element(By.ID, "graph")
    ActionChains(browser).move_to_element(pane).click_and_hold().move_by_offset(60, 40) \
        .release().perform()
    panned = view()
    assert panned[2:] == zoomed[2:]  # same scale ...
    assert panned[0] == pytest.approx(zoomed[0] - 60 / 1.25 * start[2] / pane.size["width"],
                                      rel=0.2)  # ... moved by the drag
    assert panned[1] < zoomed[1]
    js(browser, "var p = document.getElementById('graph'), r = p.getBoundingClientRect();"
                "p.dispatchEvent(new WheelEvent('wheel', {deltaY: 300, clientX: r.left + 50,"
                " clientY: r.top + 50, bubbles: true, cancelable: true}));")
    assert view()[2] > panned[2]  # wheel down zooms out
    browser.find_element(By.ID, "zoom-fit").click()
    fitted = view()
    assert fitted[2] >= start[2] * 0.99 and fitted[3] >= start[3] * 0.99
    assert severe_logs(browser) == []


def test_browser_plays_forward_then_backward(browser, tmp_path):
    from selenium.webdriver.common.by import By

    set_viewport(browser, 1400, 900)
    v = neuron()
    page = explore(v["o"], tmp_path / "neuron.html", params=[v["w1"], v["w2"], v["b"]])
    data = Page(page).data
    ids = {n["name"]: n["id"] for n in data["nodes"]}
    browser.get(Path(page).as_uri())
    assert severe_logs(browser) == []  # the script ran: CSP hash right, no error
    counter = browser.find_element(By.ID, "counter")
    # 5 forward values, the seed, 5 backward rules, the end
    assert counter.text == "step 0 / 12"
    assert current_node(browser) is None

    def table(name, column):
        return browser.find_element(
            By.CSS_SELECTOR, f"#grads tr[data-node='{ids[name]}'] td.{column}").text

    def box(name):
        return js(browser, "var g = Array.from(document.querySelectorAll('g.node')).filter("
                           f"g => g.querySelector('title').textContent === '{ids[name]}')[0];"
                           "return Array.from(g.querySelectorAll('text'), t => t.textContent);")

    assert box("o")[1:] == ["data …", "grad 0.0000"] and table("o", "num:not(.grad)") == "…"
    assert box("x1")[1:] == ["data 2.0000", "grad 0.0000"]
    step = browser.find_element(By.ID, "step")
    step.click()  # forward 1: x1*w1
    assert current_node(browser) == ids["x1*w1"]
    assert box("x1*w1")[1] == "data -6.0000" and box("o")[1] == "data …"
    assert browser.find_element(By.ID, "phase").text == "forward pass"
    for _ in range(4):
        step.click()
    assert box("o")[1] == "data 0.7071" and table("o", "num:not(.grad)") == "0.7071"
    step.click()  # the seed
    assert browser.find_element(By.ID, "phase").text == "backward pass"
    assert box("o")[2] == "grad 1.0000"
    step.click()  # rule 1: o = tanh(n)
    chain = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#explain ol li code")]
    assert chain == ["∂o/∂n += ∂o/∂o · ∂o/∂n = 1.0000 · 0.5000 = 0.5000"]
    for _ in range(4):
        press(browser, "ArrowRight")
    assert counter.text == "step 11 / 12"
    assert current_node(browser) == ids["x1*w1"]
    chain = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#explain ol li code")]
    assert chain == ["∂o/∂x1 += ∂o/∂(x1*w1) · ∂(x1*w1)/∂x1 = 0.5000 · (-3.0000) = -1.5000",
                     "∂o/∂w1 += ∂o/∂(x1*w1) · ∂(x1*w1)/∂w1 = 0.5000 · 2.0000 = 1.0000"]
    lit = js(browser, "return Array.from(document.querySelectorAll('g.edge.lit > title'),"
                      " function (t) { return t.textContent; }).sort();")
    op = ids["x1*w1"] + "_op"
    assert lit == sorted([f"{ids['x1']}->{op}", f"{ids['w1']}->{op}", f"{op}->{ids['x1*w1']}"])
    expected = {"x1": "-1.5000", "w1": "1.0000", "x2": "0.5000", "w2": "0.0000", "b": "0.5000"}
    assert {name: table(name, "grad") for name in expected} == expected
    assert box("x1")[2] == "grad -1.5000"
    assert js(browser, "return document.getElementById('legend').hidden;")
    press(browser, "ArrowRight")  # the end: gradient colours and their legend
    assert not step.is_enabled()
    assert not js(browser, "return document.getElementById('legend').hidden;")
    fills = js(browser, "return Array.from(document.querySelectorAll('g.node.parameter')," +
                        " g => g.querySelector('polygon').style.fill);")
    assert len(set(fills)) == 3  # w1 (+1), w2 (0) and b (+0.5) get three colours
    press(browser, "ArrowLeft")
    press(browser, "ArrowLeft")  # back: x1*w1's rule is undone on the page
    assert current_node(browser) == ids["x2*w2"]
    assert table("x1", "grad") == "0.0000" and box("x1")[2] == "grad 0.0000"
    browser.find_element(By.ID, "to-backward").click()
    assert counter.text == "step 6 / 12"
    browser.find_element(By.ID, "reset").click()
    assert current_node(browser) is None and counter.text == "step 0 / 12"
    js(browser, "var s = document.getElementById('speed'); s.value = s.max;"
                "s.dispatchEvent(new Event('input'));")
    browser.find_element(By.ID, "play").click()
    deadline = time.monotonic() + 10
    while counter.text != "step 12 / 12" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert counter.text == "step 12 / 12"
    assert browser.find_element(By.ID, "play").text.endswith("Play")  # stopped at the end
    assert severe_logs(browser) == []


def test_browser_updates_the_grad_cell_not_a_label_that_starts_with_grad(browser, tmp_path):
    from selenium.webdriver.common.by import By

    y = grad_labelled_graph()
    names = {node.label: f"n{i}" for i, node in enumerate(record_backward(y).nodes)}
    browser.get(Path(explore(y, tmp_path / "grad-labels.html")).as_uri())
    assert severe_logs(browser) == []

    def box_texts():
        return {label: js(browser, "var g = Array.from(document.querySelectorAll('g.node'))"
                                   f".filter(g => g.querySelector('title').textContent === "
                                   f"'{name}')[0];"
                                   "return Array.from(g.querySelectorAll('text'),"
                                   " t => t.textContent);")
                for label, name in names.items()}

    start = box_texts()
    assert start["grad x"][0] == "grad x" and start["grad x"][-1] == "grad 0.0000"
    assert start["grad 1.0000"][0] == "grad 1.0000" and start["grad 1.0000"][-1] == "grad 0.0000"
    step = browser.find_element(By.ID, "step")
    step.click()  # forward: y = x * w
    step.click()  # the seed
    step.click()  # y = x * w sends gradient to both
    done = box_texts()
    assert done["grad x"][0] == "grad x" and done["grad x"][-1] == "grad -3.0000"
    assert done["grad 1.0000"][0] == "grad 1.0000"
    assert done["grad 1.0000"][-1] == "grad 2.0000"
    assert done["y"][-1] == "grad 1.0000"
    changed = js(browser, "return Array.from(document.querySelectorAll('text.changed'),"
                          " t => t.textContent).sort();")
    assert changed == ["grad -3.0000", "grad 2.0000"]  # the grad cells, not the labels
    names_in_table = [td.text for td in
                      browser.find_elements(By.CSS_SELECTOR, "#grads tbody td:first-child")]
    assert "grad x" in names_in_table and "grad 1.0000" in names_in_table
    assert severe_logs(browser) == []


def test_browser_shows_hostile_labels_as_text(browser, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    browser.get(Path(explore(hostile_graph(), tmp_path / "hostile.html")).as_uri())
    browser.find_element(By.ID, "step").click()
    assert js(browser, "return window.__pwned === undefined;")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    names = [td.get_attribute("textContent") for td in
             browser.find_elements(By.CSS_SELECTOR, "#grads tbody td:first-child")]
    assert names[0] == HOSTILE[0]
    assert names[3] == " ".join(HOSTILE[2].split())
    assert js(browser, "return document.querySelectorAll('script').length;") == 2
    smuggled = "return document.querySelectorAll('img, iframe, foreignObject').length;"
    assert js(browser, smuggled) == 0
    assert severe_logs(browser) == []


# --- files ------------------------------------------------------------------------------


def test_page_gets_ordinary_permissions_and_a_longest_legal_name_works(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    target = tmp_path / ("p" * 250 + ".html")  # 255 bytes: the longest name most systems allow
    path = explore(neuron()["o"], target)
    assert path == str(target)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temp file left


def test_browser_runs_the_notebook_iframe(browser, tmp_path):
    from selenium.webdriver.common.by import By

    set_viewport(browser, 1000, 800)
    page = explore(neuron()["o"], tmp_path / "nb.html")
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body>{page._repr_html_()}</body></html>",
                    encoding="utf-8")
    browser.get(host.as_uri())
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    try:
        assert browser.find_element(By.ID, "counter").text == "step 0 / 12"  # the script ran
        browser.find_element(By.ID, "step").click()
        assert browser.find_element(By.ID, "counter").text == "step 1 / 12"
    finally:
        browser.switch_to.default_content()
    assert severe_logs(browser) == []


def test_a_blank_label_gets_a_generated_name_like_no_label(tmp_path):
    page = Page(explore(Value(1.0, label="  \n ") * 2, tmp_path / "blank.html"))
    assert [n["name"] for n in page.data["nodes"]] == ["leaf1", "mul1"]
    assert svg_texts(page)["n0"][0] == "leaf1"
    assert all(n["texts"] is not None for n in page.data["nodes"])
