"""The demo scripts: each runs from its command line and writes the files it promises;
moons reaches 100% with its defaults; the worked examples match hand computation."""

from __future__ import annotations

import csv
import importlib.util
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

DEMOS = Path(__file__).resolve().parent.parent / "demos"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def load_demo(name: str):
    """Import demos/<name>.py as a module (the scripts set up their own sys.path)."""
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def run_demo(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `python demos/<name>.py args` from cwd, as a user would, and capture its output."""
    return subprocess.run(
        [sys.executable, str(DEMOS / f"{name}.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_picture(path: Path) -> None:
    """The file exists and parses: a PNG header, or XML with an <svg> root."""
    assert path.is_file(), f"{path.name} was not written"
    if path.suffix == ".png":
        assert path.read_bytes()[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    elif path.suffix == ".svg":
        root = ET.parse(path).getroot()
        assert root.tag.rsplit("}", 1)[-1] == "svg", f"{path.name} has root <{root.tag}>"


# demo, its arguments (small --steps), the files it promises
RUNS = [
    (
        "moons",
        ["--steps", "3"],
        ["moons_boundary.png", "moons_boundary.svg", "moons_curves.png", "moons_curves.svg",
         "moons_neuron.svg", "moons_neuron.png", "moons_neuron_explore.html"],
    ),
    (
        "classify",
        ["--steps", "2"],
        ["classify_spirals_boundary.png", "classify_spirals_boundary.svg",
         "classify_spirals_curves.png", "classify_spirals_curves.svg"],
    ),
    (
        "classify",
        ["--dataset", "xor", "--steps", "2", "--seed", "1"],
        ["classify_xor_boundary.png", "classify_xor_boundary.svg",
         "classify_xor_curves.png", "classify_xor_curves.svg"],
    ),
    ("regression", ["--steps", "3"], ["regression_fit.png", "regression_fit.svg"]),
    (
        "graph_tour",
        [],
        ["graph_tour_expression.svg", "graph_tour_expression.png",
         "graph_tour_neuron.svg", "graph_tour_neuron.png", "graph_tour_dot.svg",
         "graph_tour_dot.png", "graph_tour_dot_expanded.svg", "graph_tour_dot_expanded.png"],
    ),
    (
        "worked_examples",
        ["--steps", "2"],
        ["worked_examples.txt", "worked_examples_graph.svg", "worked_examples_graph.png",
         "worked_examples_network.svg", "worked_examples_network.png"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "args", "files"), RUNS, ids=[" ".join([name, *args]) for name, args, _ in RUNS]
)
def test_demo_runs_and_writes_its_files(tmp_path, name, args, files):
    out = tmp_path / "pictures"
    elsewhere = tmp_path / "cwd"  # not the repository: the script must find its imports
    elsewhere.mkdir()
    result = run_demo(name, *args, "--out", str(out), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    for file in files:
        path = out / file
        if path.suffix in (".png", ".svg"):
            assert_picture(path)
        else:
            assert path.read_text(encoding="utf-8").strip()
        assert str(path) in result.stdout, f"{name} did not say it wrote {file}"


def test_progress_is_plain_lines_when_not_a_terminal(tmp_path):
    result = run_demo("moons", "--steps", "2", "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("moons step")]
    assert lines == [line for line in lines if "loss" in line and "acc" in line]
    assert [line.split()[2] for line in lines] == ["1/2", "2/2"]
    assert "\r" not in result.stdout  # no bar redrawing


def test_bad_flag_is_a_clear_error(tmp_path):
    result = run_demo("regression", "--steps", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "--steps" in result.stderr and "not at least 1" in result.stderr


def test_moons_reaches_100_percent_with_the_defaults():
    moons = load_demo("moons")
    result = moons.train()  # the default 100 steps and seeds
    assert len(result.loss) == 100
    assert result.final_accuracy == 1.0
    assert result.accuracy[-1] == 1.0


# --- the article's worked example, by the textbook formulas -----------------------------

WEIGHTS = {
    "w13": -1.0, "w23": 1.0, "w14": 2.5, "w24": 0.4, "w15": 1.0, "w25": -1.5,
    "w36": 2.2, "w46": -1.4, "w56": 0.56, "w37": 0.34, "w47": 1.05, "w57": 3.1,
    "w68": 0.75, "w78": -0.22,
}  # fmt: skip


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def textbook_article(steps: int) -> list[dict[str, float]]:
    """Each step's I, O, E, delta (= (t - o) f'), dE/dw, dw and new w, by hand."""
    w = dict(WEIGHTS)
    previous = {name: 0.0 for name in w}
    t, lr, momentum = 0.9, 0.3, 0.1
    steps_out = []
    for _ in range(steps):
        out = {1: 0.6, 2: 0.7}
        net = {}
        for j, before in ((3, (1, 2)), (4, (1, 2)), (5, (1, 2)), (6, (3, 4, 5)),
                          (7, (3, 4, 5)), (8, (6, 7))):  # fmt: skip
            net[j] = sum(out[i] * w[f"w{i}{j}"] for i in before)
            out[j] = sigmoid(net[j])
        delta = {8: (t - out[8]) * out[8] * (1 - out[8])}
        for j in (6, 7):
            delta[j] = delta[8] * w[f"w{j}8"] * out[j] * (1 - out[j])
        for j in (3, 4, 5):
            delta[j] = (delta[6] * w[f"w{j}6"] + delta[7] * w[f"w{j}7"]) * out[j] * (1 - out[j])
        values = {"E": (t - out[8]) ** 2 / 2}
        values |= {f"I{j}": net[j] for j in net} | {f"O{j}": out[j] for j in range(3, 9)}
        values |= {f"delta{j}": d for j, d in delta.items()}
        for name in w:
            i, j = int(name[1]), int(name[2])
            change = lr * delta[j] * out[i] + momentum * previous[name]
            values[f"dE/d{name}"] = -delta[j] * out[i]
            values[f"d{name}"] = change
            values[f"new {name}"] = w[name] + change
            previous[name] = change
        w = {name: values[f"new {name}"] for name in w}
        steps_out.append(values)
    return steps_out


def test_article_example_matches_the_textbook_formulas():
    rows = load_demo("worked_examples").run_article_example(steps=2)
    expected = textbook_article(2)
    assert {r["step"] for r in rows} == {1, 2}
    for r in rows:
        want = expected[r["step"] - 1]
        assert r["value"] == pytest.approx(want[r["name"]], rel=1e-9, abs=1e-12), r["name"]
        if r["kind"] == "delta":  # the engine's grad at I_j is dE/dI_j = -delta_j
            assert r["grad"] == pytest.approx(-want[r["name"]], rel=1e-9, abs=1e-12)
        if r["kind"] == "dw":
            weight = r["name"][1:]
            assert r["grad"] == pytest.approx(want[f"dE/d{weight}"], rel=1e-9, abs=1e-12)
    names = {(r["step"], r["name"]) for r in rows}
    assert len(names) == 2 * (13 + 6 + 2 * 14)  # I, O (6 each), E; 6 deltas; dw, new w


def test_article_example_flags_the_delta3_sign_slip():
    rows = load_demo("worked_examples").run_article_example(steps=1)
    checks = {r["name"]: r["check"] for r in rows}
    by_name = {r["name"]: r for r in rows}
    assert by_name["delta3"]["value"] > 0 > by_name["delta3"]["article"]
    assert checks["delta3"] == "SLIP"
    flagged = {name for name, check in checks.items() if check not in ("ok", "rounding", "")}
    assert flagged == {"delta3", "dw13", "dw23", "new w13", "new w23"}
    assert {checks[n] for n in ("dw13", "dw23", "new w13", "new w23")} == {"CARRIED"}
    assert checks["O3"] == checks["delta6"] == checks["new w68"] == "ok"
    assert checks["I6"] == "rounding"  # the article sums rounded outputs: 0.158, not 0.175
    assert checks["E"] == ""  # the article prints no figure for E


# --- log loss on a sigmoid output, by hand ------------------------------------------------


def textbook_logloss(p: dict[str, float], y: int, lr: float) -> tuple[float, float]:
    """(o, o after one gradient step) of the 2-2-2-1 sigmoid network at x = (1, 0)."""

    def forward(p):
        a = [[1.0, 0.0]]
        for layer, width in ((1, 2), (2, 2), (3, 1)):
            a.append([
                sigmoid(sum(p[f"w{layer}_{i}{j}"] * a[-1][j - 1] for j in (1, 2))
                        + p[f"b{layer}_{i}"])
                for i in range(1, width + 1)
            ])  # fmt: skip
        return a

    a = forward(p)
    o = a[3][0]
    deltas = {3: [o - y]}  # log loss + sigmoid: dL/dz = o - y
    for layer in (2, 1):
        deltas[layer] = [
            sum(deltas[layer + 1][k - 1] * p[f"w{layer + 1}_{k}{i}"]
                for k in range(1, len(deltas[layer + 1]) + 1))
            * a[layer][i - 1] * (1 - a[layer][i - 1])
            for i in (1, 2)
        ]  # fmt: skip
    new = dict(p)
    for layer, ds in deltas.items():
        for i, d in enumerate(ds, start=1):
            new[f"b{layer}_{i}"] -= lr * d
            for j in (1, 2):
                new[f"w{layer}_{i}{j}"] -= lr * d * a[layer - 1][j - 1]
    return o, forward(new)[3][0]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_logloss_output_delta_is_o_minus_y(seed):
    demo = load_demo("worked_examples")
    rows = demo.run_logloss_example(seed=seed)
    assert [r["label"] for r in rows] == [1, 0]
    for r in rows:
        o, o_after = textbook_logloss(r["weights"], r["label"], demo.LOGLOSS_LR)
        assert r["output"] == pytest.approx(o, rel=1e-12)
        assert r["dL_dz"] == pytest.approx(o - r["label"], rel=1e-9, abs=1e-12)
        assert r["dE_dz_squared"] == pytest.approx((o - r["label"]) * o * (1 - o), rel=1e-9)
        assert r["output_after"] == pytest.approx(o_after, rel=1e-9)
        assert abs(o_after - r["label"]) < abs(o - r["label"])
        assert r["moved_towards_label"]
        assert r["loss_after"] < r["loss"]


# --- second order, vanishing gradients, forward vs reverse: files and their figures --------


def run_into(tmp_path: Path, name: str, *args: str) -> tuple[Path, str]:
    """Run a demo from elsewhere into tmp_path/out; return the folder and its stdout."""
    out = tmp_path / "out"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    result = run_demo(name, *args, "--out", str(out), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_second_order_demo_lm_descends_and_ends_lowest(tmp_path):
    out, stdout = run_into(tmp_path, "second_order", "--steps", "8")
    for file in ("second_order.png", "second_order.svg"):
        assert_picture(out / file)
    for file in ("second_order.png", "second_order.svg", "second_order.csv"):
        assert str(out / file) in stdout
    rows = read_rows(out / "second_order.csv")
    by_step = {}
    for r in rows:
        if r["run"] == "steps":
            by_step.setdefault(r["method"], []).append(float(r["loss"]))
    assert sorted(by_step) == ["Adam", "LM", "Newton", "SGD"]
    assert all(len(losses) == 9 for losses in by_step.values())  # the start and 8 steps
    assert len({losses[0] for losses in by_step.values()}) == 1  # one common start
    lm = by_step["LM"]
    assert all(b <= a for a, b in zip(lm, lm[1:]))  # LM only takes steps that lower the loss
    assert all(lm[-1] < losses[-1] for name, losses in by_step.items() if name != "LM")
    # the time-matched first-order runs got at least LM's training time
    seconds = {}
    for r in rows:
        if r["run"] == "time":
            seconds[r["method"]] = float(r["seconds"])  # the last row of each run wins
    assert seconds["SGD"] >= seconds["LM"] and seconds["Adam"] >= seconds["LM"]


def test_vanishing_gradients_demo_sigmoid_gradients_shrink_towards_the_input(tmp_path):
    out, stdout = run_into(tmp_path, "vanishing_gradients", "--steps", "2")
    for file in ("vanishing_gradients.png", "vanishing_gradients.svg"):
        assert_picture(out / file)
        assert str(out / file) in stdout
    grads = {}
    for r in read_rows(out / "vanishing_gradients.csv"):
        grads.setdefault((r["activation"], r["when"]), []).append(float(r["mean_abs_grad"]))
    when = ("init", "trained")
    assert sorted(grads) == [(a, w) for a in ("relu", "sigmoid", "tanh") for w in when]
    assert all(len(layers) == 10 and min(layers) > 0 for layers in grads.values())
    sigmoid, tanh, relu = (grads[a, "init"] for a in ("sigmoid", "tanh", "relu"))
    assert sigmoid[0] / sigmoid[-1] < 1e-3  # at least a thousandfold over ten layers
    assert all(a < b for a, b in zip(sigmoid, sigmoid[1:]))  # smaller at every layer down
    assert tanh[0] / tanh[-1] > 0.05 and relu[0] / relu[-1] > 0.05


def test_forward_vs_reverse_demo_counts_the_sweeps(tmp_path):
    out, stdout = run_into(tmp_path, "forward_vs_reverse", "--steps", "4")
    for file in ("forward_vs_reverse.png", "forward_vs_reverse.svg"):
        assert_picture(out / file)
        assert str(out / file) in stdout
    visits = {
        (r["problem"], int(r["size"]), r["mode"]): int(r["visits"])
        for r in read_rows(out / "forward_vs_reverse.csv")
    }
    assert len(visits) == 2 * 4 * 2
    for size in (2, 4, 8, 16):
        # f has 3n + 1 nodes: one reverse sweep, or n forward sweeps
        assert visits["gradient", size, "reverse"] == 3 * size + 1
        assert visits["gradient", size, "forward"] == size * (3 * size + 1)
        # g's k-th output has 3k + 1 nodes: one forward sweep over all, or m reverse sweeps
        assert visits["jacobian", size, "forward"] == 3 * size + 1
        assert visits["jacobian", size, "reverse"] == sum(3 * k + 1 for k in range(1, size + 1))
    difference = float(stdout.split("derivatives: ")[1].split()[0])
    assert difference < 1e-12  # both modes give the same derivatives
