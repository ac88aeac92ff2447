"""Tests for nn.Module, Neuron, Layer and MLP."""

import math
import random
import re

import pytest

from autodiff import Value, topological_order
from nn import MLP, Layer, Module, Neuron


def test_parameter_counts_and_shapes():
    model = MLP(2, [16, 16, 1])
    # (2 + 1) * 16 + (16 + 1) * 16 + (16 + 1) * 1
    assert len(model.parameters()) == 337
    assert [len(layer.neurons) for layer in model.layers] == [16, 16, 1]
    assert [layer.nin for layer in model.layers] == [2, 16, 16]
    assert all(len(n.w) == 2 for n in model.layers[0].neurons)
    assert len(set(model.parameters())) == 337  # distinct Values
    assert len(Neuron(5).parameters()) == 6
    assert len(Layer(3, 4).parameters()) == 16


def test_activations_by_layer():
    model = MLP(3, [4, 5, 2], activation="tanh")
    assert [layer.activation for layer in model.layers] == ["tanh", "tanh", "linear"]
    model = MLP(3, [4, 1], output_activation="sigmoid")
    assert [layer.activation for layer in model.layers] == ["relu", "sigmoid"]
    assert 0.0 < model([0.1, 0.2, 0.3]).data < 1.0


def test_same_seed_same_weights_other_seed_other_weights():
    a = [p.data for p in MLP(3, [4, 4, 1], seed=7).parameters()]
    b = [p.data for p in MLP(3, [4, 4, 1], seed=7).parameters()]
    c = [p.data for p in MLP(3, [4, 4, 1], seed=8).parameters()]
    assert a == b
    assert a != c


def test_global_random_generator_untouched():
    random.seed(123)
    expected = random.random()
    random.seed(123)
    MLP(2, [8, 8, 1], seed=5)
    Neuron(3)
    Layer(3, 2)
    assert random.random() == expected


def test_initial_weights_have_a_sensible_scale():
    model = MLP(64, [32, 1], seed=0)
    first = [w.data for n in model.layers[0].neurons for w in n.w]
    bound = math.sqrt(6 / 64)  # He-uniform for relu
    assert max(abs(w) for w in first) <= bound
    assert max(abs(w) for w in first) > 0.8 * bound
    assert all(n.b.data == 0.0 for layer in model.layers for n in layer.neurons)


def test_neuron_computes_activation_of_weighted_sum():
    x = [0.5, -1.5, 2.0]
    for activation, f in [
        ("relu", lambda s: max(s, 0.0)),
        ("tanh", math.tanh),
        ("sigmoid", lambda s: 1 / (1 + math.exp(-s))),
        ("linear", lambda s: s),
    ]:
        n = Neuron(3, activation=activation, seed=1)
        n.b.data = 0.25
        s = sum(w.data * xi for w, xi in zip(n.w, x)) + 0.25
        assert n(x).data == pytest.approx(f(s))


def test_weighted_sum_is_one_node():
    n = Neuron(4, activation="linear")
    out = n([1.0, 2.0, 3.0, 4.0])
    # one dot node whose parents are exactly the weights and the bias
    assert out.op == "dot"
    assert set(out.parents) == set(n.parameters())
    assert len(topological_order(out)) == 4 + 1 + 1
    hidden = Neuron(4, activation="relu")([Value(1.0), Value(2.0), Value(3.0), Value(4.0)])
    assert hidden.op == "relu" and hidden.parents[0].op == "dot"
    assert len(topological_order(hidden)) == 4 + 4 + 1 + 1 + 1


def test_neuron_gradient_by_hand():
    n = Neuron(2, activation="tanh")
    n.w[0].data, n.w[1].data, n.b.data = 0.3, -0.2, 0.1
    x = [Value(1.5), Value(-2.0)]
    out = n(x)
    out.backward()
    s = 0.3 * 1.5 + (-0.2) * (-2.0) + 0.1
    d = 1 - math.tanh(s) ** 2
    assert n.w[0].grad == pytest.approx(d * 1.5)
    assert n.w[1].grad == pytest.approx(d * -2.0)
    assert n.b.grad == pytest.approx(d)
    assert x[0].grad == pytest.approx(d * 0.3)  # inputs may be Values and get gradients
    assert x[1].grad == pytest.approx(d * -0.2)


def test_layer_always_returns_a_list():
    out = Layer(3, 1)([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)
    assert len(Layer(3, 4)([1.0, 2.0, 3.0])) == 4


def test_mlp_returns_value_for_one_output_and_list_otherwise():
    assert isinstance(MLP(2, [3, 1])([1.0, 2.0]), Value)
    out = MLP(2, [3, 2])([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 2


def test_one_neuron_hidden_layer_works():
    model = MLP(2, [1, 3, 1], activation="tanh")
    out = model([0.5, -0.5])
    out.backward()
    assert isinstance(out, Value)
    assert any(p.grad != 0.0 for p in model.layers[0].parameters())


def test_single_input_may_be_a_bare_number():
    model = MLP(1, [4, 1], activation="tanh")
    assert model(0.5).data == model([0.5]).data
    assert model(Value(0.5)).data == model((0.5,)).data == model([0.5]).data


def test_inputs_may_be_a_tuple():
    model = MLP(2, [3, 1], activation="tanh", seed=2)
    assert model((0.5, -1.0)).data == model([0.5, -1.0]).data
    assert [v.data for v in Layer(2, 2)((0.5, -1.0))] == [v.data for v in Layer(2, 2)([0.5, -1.0])]


def test_mlp_inputs_may_be_values_and_receive_gradients():
    model = MLP(2, [4, 1], activation="tanh", seed=3)
    x = [Value(0.3), Value(-0.7)]
    model(x).backward()
    assert x[0].grad != 0.0 and x[1].grad != 0.0


def test_zero_grad():
    model = MLP(2, [3, 1], activation="tanh")
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_repr_is_readable():
    assert repr(MLP(2, [16, 16, 1])) == (
        "MLP(2, [16, 16, 1], activation='relu', output_activation='linear', seed=0)"
    )
    assert repr(Layer(3, 4, activation="tanh")) == "Layer(3, 4, activation='tanh')"
    assert repr(Neuron(3)) == "Neuron(3, activation='relu')"


def test_state_dict_names_and_round_trip():
    model = MLP(2, [2, 1], seed=1)
    state = model.state_dict()
    assert list(state)[:3] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
    ]
    assert len(state) == len(model.parameters())
    other = MLP(2, [2, 1], seed=2)
    other.load_state_dict(state)
    assert [p.data for p in other.parameters()] == [p.data for p in model.parameters()]
    state["layers.0.neurons.0.b"] = 9.0  # the dict is a copy, not a view
    assert model.layers[0].neurons[0].b.data == 0.0


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        (lambda s: s.pop("layers.1.neurons.0.b"), ValueError, "'layers.1.neurons.0.b'"),
        (lambda s: s.update(extra=1.0), ValueError, "'extra'"),
        (lambda s: s.update({"layers.0.neurons.1.w.0": float("nan")}), ValueError, "nan"),
        (lambda s: s.update({"layers.0.neurons.1.w.0": "0.5"}), TypeError, "'0.5'"),
        (lambda s: s.update({"layers.0.neurons.1.w.0": True}), TypeError, "True"),
    ],
)
def test_load_state_dict_rejects_bad_state_and_changes_nothing(change, error, words):
    model = MLP(2, [2, 1], seed=1)
    before = [p.data for p in model.parameters()]
    state = {name: 0.5 for name in model.state_dict()}
    change(state)
    with pytest.raises(error, match=words):
        model.load_state_dict(state)
    assert [p.data for p in model.parameters()] == before


@pytest.mark.parametrize("huge", [10**400, -(10**400)])
def test_load_state_dict_rejects_an_int_too_large_for_a_float(huge):
    model = MLP(2, [2, 1], seed=1)
    before = [p.data for p in model.parameters()]
    state = {name: 0.5 for name in model.state_dict()}
    state["layers.0.neurons.1.w.0"] = huge
    with pytest.raises(
        ValueError, match=r"parameter 'layers.0.neurons.1.w.0' is a (negative )?401-digit integer"
    ):
        model.load_state_dict(state)
    assert [p.data for p in model.parameters()] == before


def test_load_state_dict_rejects_non_dict():
    with pytest.raises(TypeError, match="list"):
        MLP(2, [1]).load_state_dict([0.0, 0.0, 0.0])


def test_custom_module_subclass():
    class Affine(Module):
        def __init__(self):
            self.a = Value(2.0)
            self.b = Value(1.0)

        def forward(self, x):
            return self.a * x + self.b

        def parameters(self):
            return [self.a, self.b]

    m = Affine()
    assert m(3.0).data == 7.0
    # names come from the attributes now (they were "0" and "1", the positions)
    assert m.state_dict() == {"a": 2.0, "b": 1.0}
    assert m.architecture() == {"type": "Affine", "parameters": 2}


def test_default_repr_names_the_class_and_counts_parameters():
    class Scale(Module):
        def __init__(self, n):
            self.ws = [Value(1.0) for _ in range(n)]

        def parameters(self):
            return self.ws

    assert repr(Scale(3)) == "Scale(3 parameters)"
    assert repr(Scale(1)) == "Scale(1 parameter)"
    assert repr(Module()) == "Module(0 parameters)"


# --- bad input gets a clear error ---------------------------------------------


def test_neuron_called_with_wrong_number_of_inputs():
    with pytest.raises(ValueError, match=r"expects 3 inputs, got 2"):
        Neuron(3)([1.0, 2.0])
    with pytest.raises(ValueError, match=r"expects 2 inputs, got 3"):
        MLP(2, [4, 1])([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"expects 3 inputs, got 1"):
        Layer(3, 2)([1.0])


def test_inputs_not_a_list():
    with pytest.raises(TypeError, match="None"):
        MLP(2, [4, 1])(None)


@pytest.mark.parametrize(
    "x",
    [{0: 1.0, 1: 2.0}, {1.0, 2.0}, frozenset({1.0, 2.0}), "ab", b"ab", {1.0: "a", 2.0: "b"}.keys()],
    ids=["dict", "set", "frozenset", "str", "bytes", "dict keys"],
)
@pytest.mark.parametrize("make", [lambda: MLP(2, [3, 1]), lambda: Layer(2, 3), lambda: Neuron(2)])
def test_inputs_that_are_not_a_list_or_tuple(make, x):
    model = make()
    before = [p.data for p in model.parameters()]
    with pytest.raises(
        TypeError, match=f"expects a list of 2 inputs, got the .*{re.escape(repr(x))}"
    ):
        model(x)
    assert [p.data for p in model.parameters()] == before


@pytest.mark.parametrize("x", [{0: 1.0}, {1.0}, "a"], ids=["dict", "set", "str"])
def test_one_input_model_refuses_a_mapping_set_or_text(x):
    with pytest.raises(TypeError, match=f"got the {type(x).__name__} {re.escape(repr(x))}"):
        MLP(1, [2, 1])(x)


@pytest.mark.parametrize("nin", [2.0, "2", None, True])
def test_non_int_nin(nin):
    with pytest.raises(TypeError, match=f"nin must be an int, got {nin!r}"):
        MLP(nin, [4, 1])


@pytest.mark.parametrize("size", [2.5, "4", None, False])
def test_non_int_layer_size(size):
    with pytest.raises(TypeError, match=rf"sizes\[1\] must be an int, got {size!r}"):
        MLP(2, [4, size, 1])


@pytest.mark.parametrize("size", [0, -3])
def test_non_positive_layer_size(size):
    with pytest.raises(ValueError, match=rf"sizes\[0\] must be at least 1, got {size}"):
        MLP(2, [size, 1])
    with pytest.raises(ValueError, match=f"nout must be at least 1, got {size}"):
        Layer(2, size)


def test_negative_nin():
    with pytest.raises(ValueError, match="nin must be at least 1, got -1"):
        Neuron(-1)


def test_mlp_with_no_inputs_and_no_layers():
    with pytest.raises(ValueError, match="nin must be at least 1, got 0"):
        MLP(0, [])
    with pytest.raises(ValueError, match="sizes is empty"):
        MLP(2, [])


def test_sizes_not_a_list():
    with pytest.raises(TypeError, match="sizes must be a list"):
        MLP(2, 3)


@pytest.mark.parametrize("name", ["Relu", "softmax", "", None])
def test_unknown_activation(name):
    with pytest.raises(ValueError, match=f"unknown activation {name!r}"):
        Neuron(2, activation=name)
    with pytest.raises(ValueError, match=f"unknown activation {name!r}"):
        MLP(2, [3, 1], activation=name)
    with pytest.raises(ValueError, match=f"unknown activation {name!r}"):
        MLP(2, [3, 1], output_activation=name)


@pytest.mark.parametrize("seed", [1.5, "0", None])
def test_bad_seed(seed):
    with pytest.raises(TypeError, match=f"seed must be an int, got {seed!r}"):
        MLP(2, [3, 1], seed=seed)


def test_bad_rng():
    with pytest.raises(TypeError, match="rng must be a random.Random, got 42"):
        Neuron(2, rng=42)


def test_load_state_dict_refuses_clashing_names_clearly():
    class TwoMLPs(Module):
        def __init__(self):
            self.a = MLP(2, [1], seed=1)
            self.b = MLP(2, [1], seed=2)

        def named_parameters(self):
            return self.a.named_parameters() + self.b.named_parameters()

    model = TwoMLPs()
    state = MLP(2, [1], seed=3).state_dict()
    before = [p.data for _, p in model.named_parameters()]
    with pytest.raises(ValueError, match="both named 'layers.0.neurons.0.w.0'"):
        model.load_state_dict(state)  # was an IndexError
    assert [p.data for _, p in model.named_parameters()] == before
    with pytest.raises(ValueError, match="both named"):
        model.state_dict()  # was a dict with 3 of the 6 parameters
