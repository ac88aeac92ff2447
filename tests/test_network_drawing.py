"""nn.draw_network: the textbook picture of an MLP, checked against the article's numbers."""

from __future__ import annotations

import math
import re
import shutil
import xml.etree.ElementTree as ET

import graphviz
import pytest

from autodiff import Value
from nn import MLP, Neuron, draw_network, render_network
from nn.drawing import network_dot

# The worked example of seed article 003: a 2-3-2-1 sigmoid network without biases.
LAYERS = ((1, 2), (3, 4, 5), (6, 7), (8,))
WEIGHTS = {
    "w13": -1.0, "w23": 1.0, "w14": 2.5, "w24": 0.4, "w15": 1.0, "w25": -1.5,
    "w36": 2.2, "w46": -1.4, "w56": 0.56, "w37": 0.34, "w47": 1.05, "w57": 3.1,
    "w68": 0.75, "w78": -0.22,
}  # fmt: skip
X, TARGET = (0.6, 0.7), 0.9
NAMES = [[str(j) for j in layer] for layer in LAYERS]


def article_model() -> MLP:
    model = MLP(2, [3, 2, 1], activation="sigmoid", output_activation="sigmoid")
    for layer, (before, after) in zip(model.layers, zip(LAYERS, LAYERS[1:])):
        for neuron, j in zip(layer.neurons, after):
            for w, i in zip(neuron.w, before):
                w.data, w.label = WEIGHTS[f"w{i}{j}"], f"w{i}{j}"
            neuron.b.data = 0.0
    return model


def by_hand() -> dict[str, float]:
    """Forward and backward of the article's network in plain floats (E = (t - O8)^2 / 2)."""
    s = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731
    o = {"O1": X[0], "O2": X[1]}
    for before, after in zip(LAYERS, LAYERS[1:]):
        for j in after:
            o[f"I{j}"] = sum(WEIGHTS[f"w{i}{j}"] * o[f"O{i}"] for i in before)
            o[f"O{j}"] = s(o[f"I{j}"])
    d = {"d8": -(TARGET - o["O8"]) * o["O8"] * (1 - o["O8"])}  # dE/dI8
    for j in (6, 7):
        d[f"d{j}"] = d["d8"] * WEIGHTS[f"w{j}8"] * o[f"O{j}"] * (1 - o[f"O{j}"])
    for j in (3, 4, 5):
        d[f"d{j}"] = sum(d[f"d{k}"] * WEIGHTS[f"w{j}{k}"] for k in (6, 7)) * \
            o[f"O{j}"] * (1 - o[f"O{j}"])
    return o | d


def node_label(text: str, name: str) -> str:
    return re.search(rf"^\t\tu\d+_\d+ \[label=<<B>{name}</B>(.*?)> ", text, re.M).group(1)


def edge_label(text: str, weight: str) -> str:
    return re.search(rf"\[label=<<B>{weight}</B> (.*?)>\]", text).group(1)


def test_neurons_show_net_output_and_delta_as_computed_by_hand():
    model = article_model()
    text = network_dot(model, X, lambda out: (TARGET - out) ** 2 * 0.5, names=NAMES,
                       show_bias=False)
    hand = by_hand()
    for j in range(3, 9):
        label = node_label(text, str(j))
        assert f"net {hand[f'I{j}']:.4f}" in label
        assert f"out {hand[f'O{j}']:.4f}" in label
        assert f"\u03b4 {hand[f'd{j}']:.4f}" in label
        assert "b 0.0000" not in label
    assert f"{hand['I3']:.4f}" == "0.1000" and f"{hand['O8']:.3f}" == "0.552"  # article: 0.551


def test_every_weight_is_on_its_edge_with_value_and_gradient():
    model = article_model()
    text = network_dot(model, X, lambda out: (TARGET - out) ** 2 * 0.5, names=NAMES)
    hand = by_hand()
    assert len(re.findall(r"^\tu\d+_\d+ -> u\d+_\d+ ", text, re.M)) == len(WEIGHTS)
    for name, value in WEIGHTS.items():
        i, j = name[1], name[2]
        gradient = hand[f"d{j}"] * hand[f"O{i}"]  # dE/dwij = delta_j * O_i
        assert edge_label(text, name) == f"{value:.4f}<BR/>\u2202/\u2202w {gradient:.4f}"
    # weight w13 runs from input 1 (layer 0, first) to neuron 3 (layer 1, first)
    assert re.search(r"^\tu0_0 -> u1_0 \[label=<<B>w13</B>", text, re.M)


def test_drawing_changes_no_grad_and_no_data():
    model = article_model()
    for k, p in enumerate(model.parameters()):
        p.grad = 100.0 + k
    before = [(p.data, p.grad) for p in model.parameters()]
    network_dot(model, X, lambda out: (TARGET - out) ** 2 * 0.5)
    assert [(p.data, p.grad) for p in model.parameters()] == before


def test_without_a_loss_the_weights_show_their_current_grad():
    model = MLP(2, [1], activation="tanh")
    model.layers[0].neurons[0].w[0].grad = 0.25
    text = network_dot(model)
    assert "\u2202/\u2202w 0.2500" in text and "net " not in text
    assert "x1" in text and "L1.N1" in text and "w1.1.1" in text
    assert "\u2202/\u2202w" not in network_dot(model, show_grad=False)


def test_bad_arguments_are_explained():
    with pytest.raises(TypeError, match="draws an nn.MLP"):
        draw_network(Neuron(2))
    model = MLP(2, [1])
    with pytest.raises(ValueError, match="names must give one string"):
        network_dot(model, names=[["a"], ["b"]])
    with pytest.raises(ValueError, match="loss needs an input"):
        network_dot(model, loss=lambda out: out)
    with pytest.raises(ValueError, match="x must be a list of 2 numbers"):
        network_dot(model, x=[1.0])
    with pytest.raises(TypeError, match="loss must return a Value"):
        network_dot(model, x=[1.0, 2.0], loss=lambda out: 1.0)
    with pytest.raises(TypeError, match="show_bias must be True or False"):
        network_dot(model, show_bias=1)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_network_writes_an_svg_with_one_circle_per_neuron(tmp_path):
    model = article_model()
    path = render_network(model, tmp_path / "net.svg", x=X,
                          loss=lambda out: (TARGET - out) ** 2 * 0.5, names=NAMES)
    svg = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    nodes = [g for g in svg.iter(f"{ns}g") if g.get("class") == "node"]
    assert len(nodes) == 8
    assert all(g.find(f"{ns}ellipse") is not None for g in nodes)
    assert isinstance(draw_network(model), graphviz.Digraph)


def test_value_graph_shows_the_activation_as_its_own_step():
    from autodiff import to_dot

    n = Neuron(2, activation="tanh")
    out = n([Value(1.0, label="x1"), Value(2.0, label="x2")])
    text = to_dot(out)
    assert "label=<tanh>" in text and "label=<\u03a3 w\u00b7x + b>" in text
