"""Two worked examples of backpropagation from the literature, recomputed by the engine.

    python demos/worked_examples.py                  # prints both tables, writes out/
    python demos/worked_examples.py --steps 3 --seed 1 --out /tmp/worked

You will see tables to read line by line next to the texts:

1. The worked example of the Russian article "Обратное распространение ошибки:
   пример расчета" (../shared/seeds/003_...): a 2-3-2-1 sigmoid network without
   biases, input (0.6, 0.7), target 0.9, E = (t - o)^2 / 2, learning rate 0.3,
   momentum 0.1. For --steps steps (default 2) it prints every net input I_j and
   output O_j, every delta, and every weight's gradient, change and new value. The
   article's printed figures (step 1) stand next to the engine's, with a check:
   where they differ beyond rounding it says so (the article's delta3 has a sign
   slip, which flips the changes of w13 and w23).
2. The derivation in "Backpropagation: Step-By-Step Derivation" (../shared/seeds/
   004_...): with a sigmoid output and log loss the output delta dL/dz is simply
   o - y. A small 2-2-2-1 sigmoid network (weights from --seed) shows it for both
   labels, next to the delta of squared error, and one gradient step moves the
   output towards the label.

Files: out/worked_examples.txt (the same tables); out/worked_examples_network.svg and
.png, the article's network drawn as the article draws it (nn.draw_network: neurons 1-8
as circles with their net input I_j, output O_j and delta dE/dI_j, each weight w13 ...
w78 on its edge with dE/dw, at step 1); and out/worked_examples_graph.svg and .png (the
same step as a computation graph: every I_j node carries dE/dI_j as its grad). Runs in
about a second.
"""

from __future__ import annotations

import math
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent, HERE):  # the packages and _common, from any directory
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import _common  # noqa: E402

from autodiff import Value, dot, grad, render  # noqa: E402
from nn import MLP, SGD, losses, render_network  # noqa: E402

# --- example 1: the article's network -------------------------------------------------
# Neurons 1, 2 are the inputs, 3-5 and 6-7 the hidden layers, 8 the output;
# wij is the weight from neuron i to neuron j. No biases.
LAYERS = ((1, 2), (3, 4, 5), (6, 7), (8,))
WEIGHTS = {
    "w13": -1.0, "w23": 1.0, "w14": 2.5, "w24": 0.4, "w15": 1.0, "w25": -1.5,
    "w36": 2.2, "w46": -1.4, "w56": 0.56, "w37": 0.34, "w47": 1.05, "w57": 3.1,
    "w68": 0.75, "w78": -0.22,
}  # fmt: skip
INPUTS = (0.6, 0.7)
TARGET = 0.9
LR = 0.3
MOMENTUM = 0.1
STEPS = 2

# The article's figures for step 1, as printed (kept as text: the digits shown matter).
# Its delta follows the convention delta_j = -dE/dI_j, e.g. delta8 = (t - O8) f'(I8).
ARTICLE = {
    "I3": "0.1", "I4": "1.78", "I5": "-0.45", "O3": "0.52", "O4": "0.86", "O5": "0.39",
    "I6": "0.158", "I7": "2.288", "O6": "0.54", "O7": "0.908", "I8": "0.205", "O8": "0.551",
    "delta8": "0.0863", "delta7": "-0.0016", "delta6": "0.016", "delta5": "0.001",
    "delta4": "-0.003", "delta3": "-0.0087",
    "dw78": "0.0235", "dw68": "0.014", "dw57": "-0.00019", "dw47": "-0.0004",
    "dw37": "-0.00025", "dw56": "0.0019", "dw46": "0.0041", "dw36": "0.0025",
    "dw25": "0.00021", "dw15": "0.00018", "dw24": "-0.00063", "dw14": "-0.00054",
    "dw23": "-0.00183", "dw13": "-0.00157",
    "new w78": "-0.1965", "new w68": "0.764", "new w57": "3.0998", "new w47": "1.0496",
    "new w37": "0.3398", "new w56": "0.5619", "new w46": "-1.3959", "new w36": "2.2025",
    "new w25": "-1.4998", "new w15": "1.00018", "new w24": "0.39937", "new w14": "2.49946",
    "new w23": "0.99817", "new w13": "-1.00157",
}  # fmt: skip

CHECKS = {
    "ok": "agrees with the engine to the digits the article prints",
    "rounding": "off in the last digits only: the article computes from its own rounded\n"
    "earlier figures, and its arithmetic on them checks out",
    "SLIP": "beyond rounding: the article's own formula on its own figures gives\nanother number",
    "CARRIED": "beyond rounding: right arithmetic on an earlier wrong figure (a SLIP\n"
    "upstream) gives the wrong sign",
}

# Slips in the article's text that do not change its numbers.
ARTICLE_TYPOS = [
    "Not a number slip: the article's line for delta5 writes f'(I7) but multiplies",
    "by 0.39 * (1 - 0.39) = O5(1 - O5), i.e. f'(I5) as the formula requires.",
]

# --- example 2: log loss on a sigmoid output --------------------------------------------
LOGLOSS_SIZES = (2, 2, 2, 1)  # as in the derivation's example: two hidden layers
LOGLOSS_X = (1.0, 0.0)
LOGLOSS_LR = 0.5
LOGLOSS_SEED = 0


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _before(j: int) -> tuple[int, ...]:
    """The neurons feeding neuron j."""
    return next(LAYERS[k - 1] for k in range(1, len(LAYERS)) if j in LAYERS[k])


def _after(j: int) -> tuple[int, ...]:
    """The neurons neuron j feeds."""
    return next(LAYERS[k + 1] for k in range(len(LAYERS) - 1) if j in LAYERS[k])


def _neurons() -> list[int]:
    """Every non-input neuron, in forward order."""
    return [j for layer in LAYERS[1:] for j in layer]


def _formula(name: str) -> str:
    """The textbook formula of a table row, in the article's notation."""
    kind, j = name.rstrip("0123456789"), name[-1]
    if kind == "I":
        return f"I{j} = " + " + ".join(f"w{i}{j}*O{i}" for i in _before(int(j)))
    if kind == "O":
        return f"O{j} = f(I{j})"
    if name == f"delta{LAYERS[-1][0]}":
        return f"delta{j} = (t - O{j}) * O{j}(1 - O{j})"
    terms = " + ".join(f"delta{k}*w{j}{k}" for k in _after(int(j)))
    return f"delta{j} = ({terms}) * O{j}(1 - O{j})"


def forward(weights: dict[str, Value]) -> dict[str, Value]:
    """The article's network as Values: O1, O2, every I_j, O_j and the error E."""
    nodes = {f"O{i}": Value(x, label=f"O{i}") for i, x in zip(LAYERS[0], INPUTS)}
    for j in _neurons():
        before = _before(j)
        net = dot([weights[f"w{i}{j}"] for i in before], [nodes[f"O{i}"] for i in before])
        net.label = f"I{j}"
        out = net.sigmoid()
        out.label = f"O{j}"
        nodes[f"I{j}"], nodes[f"O{j}"] = net, out
    error = (Value(TARGET, label="t") - nodes[f"O{LAYERS[-1][0]}"]) ** 2 * 0.5
    error.label = "E"
    nodes["E"] = error
    return nodes


def _article_recomputed(name: str) -> float:
    """The article's formula for `name` evaluated on the article's own printed figures."""
    figure = {key: float(text) for key, text in ARTICLE.items()}
    out = dict(zip((f"O{i}" for i in LAYERS[0]), INPUTS)) | figure
    if name.startswith("new "):
        weight = name[4:]
        return WEIGHTS[weight] + figure[f"d{weight}"]
    if name.startswith("dw"):
        return LR * figure[f"delta{name[3]}"] * out[f"O{name[2]}"]
    kind, j = name.rstrip("0123456789"), int(name[-1])
    if kind == "I":
        return sum(WEIGHTS[f"w{i}{j}"] * out[f"O{i}"] for i in _before(j))
    if kind == "O":
        return _sigmoid(figure[f"I{j}"])
    slope = out[f"O{j}"] * (1.0 - out[f"O{j}"])
    if j == LAYERS[-1][0]:
        return (TARGET - out[f"O{j}"]) * slope
    return sum(figure[f"delta{k}"] * WEIGHTS[f"w{j}{k}"] for k in _after(j)) * slope


def check(name: str, engine: float, old: float = 0.0) -> str:
    """Compare the engine's value with the article's figure: a key of CHECKS, or ''.

    `old` is the weight before the step, for new weights: their sign test is on the change.
    """
    text = ARTICLE.get(name)
    if text is None:
        return ""
    article = float(text)
    exponent = Decimal(text).as_tuple().exponent  # an int for every figure the article prints
    unit = 10.0 ** (exponent if isinstance(exponent, int) else 0)  # one unit of the last digit
    if abs(engine - article) <= 0.5 * unit * (1 + 1e-9):
        return "ok"
    if abs(_article_recomputed(name) - article) > unit:
        return "SLIP"
    if (engine - old) * (article - old) > 0:
        return "rounding"
    return "CARRIED"


def _row(step: int, kind: str, name: str, value: float, **extra: Any) -> dict[str, Any]:
    text = ARTICLE.get(name) if step == 1 else None
    old = extra.pop("old", 0.0)
    return {
        "step": step,
        "kind": kind,
        "name": name,
        "value": value,
        "article": None if text is None else float(text),
        "article_text": text,
        "check": check(name, value, old) if step == 1 else "",
        **extra,
    }


def run_article_example(steps: int = STEPS, graph_path: Path | None = None) -> list[dict[str, Any]]:
    """Train the article's network for `steps` steps; one dict per table row.

    Rows have step, kind ("net", "output", "error", "delta", "dw", "weight"), name,
    value, article (float or None), article_text, check, and for deltas `grad` =
    dE/dI_j (value is the article's delta_j = -grad); for weight changes `grad` =
    dE/dw. With `graph_path`, the graph of
    step 1 is rendered there (SVG and PNG) after backward, before the update.
    """
    weights = {name: Value(w, label=name) for name, w in WEIGHTS.items()}
    optimizer = SGD(list(weights.values()), lr=LR, momentum=MOMENTUM)
    rows: list[dict[str, Any]] = []
    for step in range(1, steps + 1):
        nodes = forward(weights)
        optimizer.zero_grad()
        nodes["E"].backward()
        for j in _neurons():
            rows.append(_row(step, "net", f"I{j}", nodes[f"I{j}"].data))
            rows.append(_row(step, "output", f"O{j}", nodes[f"O{j}"].data))
        rows.append(_row(step, "error", "E", nodes["E"].data))
        for j in reversed(_neurons()):
            dE_dI = nodes[f"I{j}"].grad  # the engine's gradient at the net-input node
            rows.append(_row(step, "delta", f"delta{j}", -dE_dI, grad=dE_dI))
        if step == 1 and graph_path is not None:
            for fmt in ("svg", "png"):
                render(nodes["E"], graph_path.with_suffix(f".{fmt}"), format=fmt,
                       params=weights.values())  # fmt: skip
        before = {name: w.data for name, w in weights.items()}
        optimizer.step()
        for name, w in weights.items():
            change = w.data - before[name]
            rows.append(_row(step, "dw", f"d{name}", change, grad=w.grad))
            rows.append(_row(step, "weight", f"new {name}", w.data, old=before[name]))
    return rows


def article_network() -> MLP:
    """The article's 2-3-2-1 sigmoid network as an nn.MLP: its weights, labelled w13 ...
    w78, and zero biases (the article has none)."""
    model = MLP(2, [3, 2, 1], activation="sigmoid", output_activation="sigmoid")
    for layer, (before, after) in zip(model.layers, zip(LAYERS, LAYERS[1:])):
        for neuron, j in zip(layer.neurons, after):
            for w, i in zip(neuron.w, before):
                w.data, w.label = WEIGHTS[f"w{i}{j}"], f"w{i}{j}"
            neuron.b.data = 0.0
    return model


def render_article_network(path: Path) -> list[Path]:
    """Draw the article's network at step 1 (SVG and PNG next to `path`); return the files."""
    model = article_network()
    names = [[str(j) for j in layer] for layer in LAYERS]
    files = []
    for fmt in ("svg", "png"):
        files.append(Path(render_network(
            model, path.with_suffix(f".{fmt}"), format=fmt, x=list(INPUTS),
            loss=lambda out: (TARGET - out) ** 2 * 0.5, names=names, show_bias=False)))
    return files


def format_article_table(rows: list[dict[str, Any]]) -> list[str]:
    """The rows of run_article_example as text tables, one block per step and phase."""
    lines = [
        "Example 1: the article's 2-3-2-1 sigmoid network, input (0.6, 0.7), target 0.9,",
        f"E = (t - o)^2 / 2, learning rate {LR}, momentum {MOMENTUM}: "
        f"dw(t) = -{LR} * dE/dw + {MOMENTUM} * dw(t-1).",
        "The article prints figures for step 1 only; its delta_j is -dE/dI_j.",
    ]

    def fmt(x: float | None, digits: int = 6) -> str:
        return "-" if x is None else f"{x:.{digits}f}"

    for step in sorted({r["step"] for r in rows}):
        mine = [r for r in rows if r["step"] == step]
        lines += [
            "",
            f"Step {step}: forward pass",
            f"  {'':34}{'engine':>12}{'article':>10}  check",
        ]
        for r in mine:
            if r["kind"] in ("net", "output", "error"):
                text = _formula(r["name"]) if r["kind"] != "error" else "E = (t - O8)^2 / 2"
                lines.append(
                    f"  {text:34}{fmt(r['value']):>12}{r['article_text'] or '-':>10}  {r['check']}"
                )
        lines += [
            "",
            f"Step {step}: deltas, computed by the engine as the grad of each net input I_j",
            f"  {'':52}{'dE/dI_j':>11}{'delta_j':>11}{'article':>9}  check",
        ]
        for r in mine:
            if r["kind"] == "delta":
                lines.append(
                    f"  {_formula(r['name']):52}{fmt(r['grad'], 7):>11}{fmt(r['value'], 7):>11}"
                    f"{r['article_text'] or '-':>9}  {r['check']}"
                )
        lines += [
            "",
            f"Step {step}: weight updates",
            f"  {'weight':7}{'dE/dw':>11}{'dw':>12}{'article':>10}  {'check':9}"
            f"{'new w':>11}{'article':>10}  check",
        ]
        changes = [r for r in mine if r["kind"] == "dw"]
        news = [r for r in mine if r["kind"] == "weight"]
        for d, w in zip(changes, news):
            lines.append(
                f"  {d['name'][1:]:7}{fmt(d['grad'], 7):>11}{fmt(d['value'], 7):>12}"
                f"{d['article_text'] or '-':>10}  {d['check']:9}"
                f"{fmt(w['value']):>11}{w['article_text'] or '-':>10}  {w['check']}"
            )
    flagged = [r for r in rows if r["check"] in ("SLIP", "CARRIED")]
    lines += ["", "Checks:"]
    for key, meaning in CHECKS.items():
        lines += [
            f"  {key if n == 0 else '':9} {part}" for n, part in enumerate(meaning.split("\n"))
        ]
    lines += ["", "Where the article differs beyond rounding:"]
    for r in flagged:
        name, text = r["name"], r["article_text"]
        if r["check"] == "SLIP":
            lines += [
                f"  {name}: the article prints {text}, the engine gives {r['value']:+.7f};",
                f"    the article's own formula on its own figures gives "
                f"{_article_recomputed(name):+.5f}: a slip in the article.",
            ]
        elif r["kind"] == "weight":
            weight, old = name[4:], WEIGHTS[name[4:]]
            lines.append(
                f"  {name}: the article moves {weight} {_direction(r['article'] - old)} to "
                f"{text}, the engine {_direction(r['value'] - old)} to {r['value']:.6f}."
            )
        else:
            lines.append(
                f"  {name}: the article prints {text}, the engine gives {r['value']:+.7f} "
                "(carried from the slip)."
            )
    if not flagged:
        lines.append("  nowhere")
    lines += ["", *ARTICLE_TYPOS]
    return lines


def _direction(change: float) -> str:
    return "up" if change > 0 else "down"


# --- example 2 --------------------------------------------------------------------------


def logloss_weights(seed: int = LOGLOSS_SEED) -> dict[str, float]:
    """Weights and biases of the 2-2-2-1 network: uniform in [-1, 1], two decimals.

    Names follow the derivation: w{l}_{i}{j} joins neuron j of layer l-1 to neuron i of
    layer l; b{l}_{i} is the bias of neuron i of layer l.
    """
    rng = random.Random(seed)
    params = {}
    for layer in range(1, len(LOGLOSS_SIZES)):
        for i in range(1, LOGLOSS_SIZES[layer] + 1):
            for j in range(1, LOGLOSS_SIZES[layer - 1] + 1):
                params[f"w{layer}_{i}{j}"] = round(rng.uniform(-1.0, 1.0), 2)
            params[f"b{layer}_{i}"] = round(rng.uniform(-1.0, 1.0), 2)
    return params


def _logloss_forward(params: dict[str, Value]) -> tuple[Value, Value]:
    """The 2-2-2-1 sigmoid network on LOGLOSS_X: (z, o), the output's net input and output."""
    a: list[Value | float] = list(LOGLOSS_X)
    z: Value | None = None
    for layer in range(1, len(LOGLOSS_SIZES)):
        zs = [
            dot(
                [params[f"w{layer}_{i}{j}"] for j in range(1, len(a) + 1)],
                a,
                params[f"b{layer}_{i}"],
            )
            for i in range(1, LOGLOSS_SIZES[layer] + 1)
        ]
        a = [v.sigmoid() for v in zs]
        z = zs[0]
    if z is None or not isinstance(a[0], Value):
        raise ValueError("LOGLOSS_SIZES needs at least one layer after the inputs.")
    return z, a[0]


def run_logloss_example(seed: int = LOGLOSS_SEED, lr: float = LOGLOSS_LR) -> list[dict[str, Any]]:
    """For the labels 1 and 0: o, o - y, the engine's dL/dz, and the output after one step.

    L is nn.losses.bce (log loss) of o = sigmoid(z). Each row also has the squared-error
    delta dE/dz for E = (o - y)^2 / 2, which keeps the factor o(1 - o) that log loss
    cancels, and the weights used.
    """
    rows = []
    for label in (1, 0):
        weights = logloss_weights(seed)
        params = {name: Value(w, label=name) for name, w in weights.items()}
        z, o = _logloss_forward(params)
        loss = losses.bce(o, label)
        loss.backward()
        squared = grad((o - label) ** 2 * 0.5, z)  # leaves .grad untouched
        dL_dz = z.grad
        SGD(list(params.values()), lr=lr).step()
        _, o_after = _logloss_forward(params)
        rows.append(
            {
                "label": label,
                "output": o.data,
                "o_minus_y": o.data - label,
                "dL_dz": dL_dz,
                "dE_dz_squared": squared,
                "loss": loss.data,
                "output_after": o_after.data,
                "loss_after": losses.bce(o_after, label).data,
                "moved_towards_label": abs(o_after.data - label) < abs(o.data - label),
                "weights": weights,
            }
        )
    return rows


def format_logloss_table(rows: list[dict[str, Any]], seed: int) -> list[str]:
    """The rows of run_logloss_example as a text table."""
    weights = rows[0]["weights"]
    lines = [
        "Example 2: log loss on a sigmoid output, L = -[y log o + (1 - y) log(1 - o)].",
        "The derivation says the output delta dL/dz is simply o - y. Here on a 2-2-2-1",
        f"sigmoid network with biases (seed {seed}), x = {LOGLOSS_X}, and one gradient step",
        f"with learning rate {LOGLOSS_LR}. Its weights:",
        *(
            "  " + ", ".join(f"{k}={v:g}" for k, v in weights.items() if k[1] == str(layer))
            for layer in range(1, len(LOGLOSS_SIZES))
        ),
        "",
        f"  {'y':>3}{'o':>10}{'o - y':>11}{'dL/dz':>11}  {'same':6}{'dE/dz, E=(o-y)^2/2':>20}"
        f"{'o after':>10}  towards y",
    ]
    for r in rows:
        same = "yes" if math.isclose(r["dL_dz"], r["o_minus_y"], abs_tol=1e-12) else "NO"
        lines.append(
            f"  {r['label']:>3}{r['output']:>10.4f}{r['o_minus_y']:>+11.6f}{r['dL_dz']:>+11.6f}"
            f"  {same:6}{r['dE_dz_squared']:>+20.6f}{r['output_after']:>10.4f}  "
            f"{'yes' if r['moved_towards_label'] else 'NO'}"
        )
    lines += [
        "",
        "  dL/dz is the engine's gradient at the output's net input z: it equals o - y, while",
        "  squared error gives (o - y) * o(1 - o), a smaller push when the sigmoid saturates.",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print both examples, save the text and the graph of example 1, list the files."""
    args = _common.make_parser(__doc__, steps=STEPS, seed=LOGLOSS_SEED).parse_args(argv)
    out = _common.prepare_out(args.out)
    graph = out / "worked_examples_graph.svg"
    lines = format_article_table(run_article_example(args.steps, graph_path=graph))
    lines += ["", ""] + format_logloss_table(run_logloss_example(args.seed), args.seed)
    text = "\n".join(line.rstrip() for line in lines) + "\n"
    print(text)
    table = out / "worked_examples.txt"
    table.write_text(text, encoding="utf-8")
    network = render_article_network(out / "worked_examples_network.svg")
    _common.report([table, *network, graph, graph.with_suffix(".png")])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
