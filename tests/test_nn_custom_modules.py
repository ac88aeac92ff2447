"""A user's own Module subclass: parameters found from attributes, names, caching, labels,
Sequential and custom activations."""

import copy
import math
import sys

import pytest

import nn
from autodiff import Value, no_grad
from nn import MLP, Layer, Module, Neuron, Sequential


class Residual(Module):
    """y = x + W2 relu(W1 x + b1) + b2: a residual block with no code about parameters."""

    def __init__(self, width, hidden, seed=0):
        self.inner = Layer(width, hidden, activation="relu", seed=seed)
        self.outer = Layer(hidden, width, activation="linear", seed=seed + 1)

    def forward(self, x):
        return [xi + yi for xi, yi in zip(x, self.outer(self.inner(x)))]


def numeric_gradient(loss_of, p, eps=1e-6):
    """Central difference of loss_of() in p.data, with p restored afterwards."""
    old = p.data
    with no_grad():
        p.data = old + eps
        up = loss_of().data
        p.data = old - eps
        down = loss_of().data
    p.data = old
    return (up - down) / (2 * eps)


def test_residual_block_gets_parameters_names_and_correct_gradients():
    block = Residual(2, 3, seed=4)
    names = [name for name, _ in block.named_parameters()]
    # attribute order, then each Layer's own order: inner first, 3 neurons of 2 weights + bias
    assert names[:4] == ["inner.neurons.0.w.0", "inner.neurons.0.w.1", "inner.neurons.0.b",
                         "inner.neurons.1.w.0"]
    assert names[9:12] == ["outer.neurons.0.w.0", "outer.neurons.0.w.1", "outer.neurons.0.w.2"]
    assert len(names) == 3 * 3 + 2 * 4 == len(set(names))
    assert block.parameters() == [p for _, p in block.named_parameters()]
    assert block.parameters() == block.inner.parameters() + block.outer.parameters()

    x = [0.7, -0.4]
    for layer in (block.inner, block.outer):  # biases away from zero, every relu active
        for n in layer.neurons:
            n.b.data = 2.0  # |w . x| < 1.9 for these inputs
    with no_grad():
        assert all(v.data > 0 for v in block.inner(x))

    def loss_of():
        y = block(x)
        return y[0] * y[0] + 3.0 * y[1]

    block.zero_grad()
    loss_of().backward()
    for name, p in block.named_parameters():
        assert p.grad == pytest.approx(numeric_gradient(loss_of, p), rel=1e-6, abs=1e-9), name
    block.zero_grad()
    assert all(p.grad == 0.0 for p in block.parameters())


def test_residual_block_state_dict_and_save_load_round_trip(tmp_path):
    block = Residual(2, 3, seed=1)
    other = Residual(2, 3, seed=7)
    assert [p.data for p in other.parameters()] != [p.data for p in block.parameters()]
    other.load_state_dict(block.state_dict())
    assert [p.data for p in other.parameters()] == [p.data for p in block.parameters()]
    block.outer.neurons[1].b.data = 2.5
    nn.save(block, tmp_path / "block.json")
    loaded = nn.load(Residual(2, 3, seed=9), tmp_path / "block.json")
    assert loaded.outer.neurons[1].b.data == 2.5
    assert loaded.state_dict() == block.state_dict()


def test_lists_tuples_dicts_and_nested_modules_give_dotted_names():
    class Heads(Module):
        def __init__(self):
            self.scale = Value(1.0)
            self.heads = [MLP(2, [1], seed=0), MLP(2, [1], seed=1)]
            self.pair = (Value(2.0), [Value(3.0)])
            self.table = {"b": Value(4.0), "a": Value(5.0), 7: Neuron(1, seed=2)}
            self.sizes = [3, 4]  # numbers are not parameters
            self.name = "heads"

    names = [name for name, _ in Heads().named_parameters()]
    assert names == [
        "scale",
        *(f"heads.{h}.layers.0.neurons.0.{p}" for h in (0, 1) for p in ("w.0", "w.1", "b")),
        "pair.0",
        "pair.1.0",
        "table.b",  # dict insertion order, not sorted
        "table.a",
        "table.7.w.0",
        "table.7.b",
    ]


def test_a_shared_value_or_module_appears_once_under_its_first_name():
    class Tied(Module):
        def __init__(self):
            self.w = Value(0.5)
            self.again = self.w
            self.layer = Layer(2, 1)
            self.same_layer = [self.layer]
            self.also = [self.w, self.layer.neurons[0].b]

    tied = Tied()
    named = tied.named_parameters()
    assert [name for name, _ in named] == ["w", "layer.neurons.0.w.0", "layer.neurons.0.w.1",
                                           "layer.neurons.0.b"]
    assert len(set(tied.parameters())) == len(tied.parameters()) == 4
    assert tied.state_dict() == {name: p.data for name, p in named}


def test_a_cycle_between_modules_does_not_loop():
    class Node(Module):
        def __init__(self):
            self.w = Value(1.0)
            self.parent = None

    root, child = Node(), Node()
    root.child = child
    child.parent = root
    assert [name for name, _ in root.named_parameters()] == ["w", "child.w"]


def test_a_chain_deeper_than_the_recursion_limit_is_searched():
    class Box(Module):
        pass

    root = node = Box()
    depth = sys.getrecursionlimit() + 500
    for _ in range(depth):
        node.next = Box()
        node = node.next
    node.w = Value(2.0)
    (name, p), = root.named_parameters()
    assert name == ".".join(["next"] * depth + ["w"]) and p is node.w


def test_order_is_attribute_assignment_order():
    class Order(Module):
        def __init__(self):
            self.z = Value(1.0)
            self.a = Value(2.0)
            self.m = Value(3.0)

    m = Order()
    assert [name for name, _ in m.named_parameters()] == ["z", "a", "m"]
    m.z = Value(9.0)  # reassigning keeps the place, as a dict does
    assert [name for name, _ in m.named_parameters()] == ["z", "a", "m"]
    assert m.parameters()[0] is m.z


def test_a_set_of_values_is_refused_clearly():
    class Bad(Module):
        def __init__(self):
            self.ws = {Value(1.0), Value(2.0)}

    with pytest.raises(TypeError, match="Bad.ws is a set of Values or Modules; a set has no"):
        Bad()


@pytest.mark.parametrize("key", ["", "a.b", (1, 2), True])
def test_dict_keys_that_cannot_make_names_are_refused(key):
    class Bad(Module):
        def __init__(self):
            self.d = {key: Value(1.0)}

    with pytest.raises(TypeError, match=r"the dict at 'd' has the key .* use non-empty str keys"):
        Bad()


def test_clashing_names_from_dict_keys_are_refused():
    class Clash(Module):
        def __init__(self):
            self.d = {"0": Value(1.0), 0: Value(2.0)}

    with pytest.raises(ValueError, match="two different parameters are both named 'd.0'"):
        Clash()


# --- the cache follows every change -------------------------------------------


def test_the_cache_sees_every_kind_of_change():
    model = MLP(2, [2, 1], seed=0)
    first = model.parameters()
    assert model.parameters() == first and model.parameters() is not first  # a copy

    new = Value(7.0)
    model.layers[0].neurons[1].w[0] = new  # item replaced deep inside
    assert model.parameters()[3] is new
    model.layers[1].neurons[0].w.append(Value(8.0))  # list grown in place
    assert len(model.parameters()) == 10
    del model.layers[1].neurons[0].w[-1]
    assert len(model.parameters()) == 9
    model.extra = {"k": Value(1.0)}  # new attribute
    assert model.named_parameters()[-1][0] == "extra.k"
    model.extra["j"] = Value(2.0)  # dict grown in place
    assert model.named_parameters()[-1][0] == "extra.j"
    model.extra["k"] = Value(3.0)  # dict value replaced
    assert model.named_parameters()[-2][1].data == 3.0
    del model.extra
    assert len(model.parameters()) == 9
    model.layers[0] = Layer(2, 3, seed=5)  # sub-module replaced
    assert len(model.parameters()) == 9 + 3
    model.layers[0].neurons[0].b = Value(4.0)  # attribute of a sub-module
    assert model.parameters()[2].data == 4.0
    model.layers.reverse()  # reordered
    assert model.named_parameters()[0][0] == "layers.0.neurons.0.w.0"
    assert model.parameters()[0] is model.layers[0].neurons[0].w[0]


def test_the_parameter_list_cannot_be_changed_through_a_returned_list():
    model = MLP(2, [1])
    model.parameters().clear()
    model.named_parameters().clear()
    assert len(model.parameters()) == len(model.named_parameters()) == 3


def test_zero_grad_reaches_a_parameter_added_after_the_optimizer():
    model = MLP(2, [1])
    model.parameters()
    model.layers[0].neurons[0].w.append(Value(1.0))
    model.layers[0].neurons[0].w[-1].grad = 5.0
    model.zero_grad()
    assert model.layers[0].neurons[0].w[-1].grad == 0.0


# --- labels -------------------------------------------------------------------


def test_mlp_parameters_are_labelled_with_their_names():
    model = MLP(2, [16, 16, 1])
    named = model.named_parameters()
    assert [p.label for _, p in named] == [name for name, _ in named]
    assert named[0][1].label == "layers.0.neurons.0.w.0"
    assert named[-1][1].label == "layers.2.neurons.0.b"
    assert [p.label for p in Neuron(2).parameters()] == ["w.0", "w.1", "b"]


def test_labels_follow_composition_and_keep_the_users_own():
    class Pair(Module):
        def __init__(self, a, b):
            self.a, self.b = a, b

    a = MLP(2, [1], seed=0)
    b = MLP(2, [1], seed=1)
    b.layers[0].neurons[0].b.label = "bias of b"
    pair = Pair(a, b)  # built from modules that were labelled on their own
    labels = [p.label for p in pair.parameters()]
    assert labels == ["a.layers.0.neurons.0.w.0", "a.layers.0.neurons.0.w.1",
                      "a.layers.0.neurons.0.b", "b.layers.0.neurons.0.w.0",
                      "b.layers.0.neurons.0.w.1", "bias of b"]


def test_a_user_module_is_labelled_at_construction():
    block = Residual(2, 2)
    assert block.inner.neurons[1].w[0].label == "inner.neurons.1.w.0"


# --- Sequential ---------------------------------------------------------------


def test_sequential_stacks_modules_value_methods_and_functions():
    first = Layer(2, 3, activation="linear", seed=0)
    second = Layer(3, 1, activation="linear", seed=1)

    def double(values):
        return [2.0 * v for v in values]

    model = Sequential(first, Value.tanh, double, second)
    x = [0.3, -0.8]
    out = model(x)
    assert isinstance(out, list) and len(out) == 1  # the last Layer's list
    hidden = [2.0 * math.tanh(v.data) for v in first(x)]
    n = second.neurons[0]
    expected = sum(w.data * h for w, h in zip(n.w, hidden)) + n.b.data
    assert out[0].data == pytest.approx(expected, rel=1e-12)
    assert [name for name, _ in model.named_parameters()][:3] == [
        "steps.0.neurons.0.w.0", "steps.0.neurons.0.w.1", "steps.0.neurons.0.b"]
    assert model.parameters() == first.parameters() + second.parameters()
    assert model.architecture() == {
        "type": "Sequential",
        "steps": [first.architecture(), "Value.tanh", double.__qualname__, second.architecture()],
    }
    assert repr(model).startswith("Sequential(Layer(2, 3, activation='linear'), Value.tanh, ")


def test_sequential_gradients_match_finite_differences():
    model = Sequential(Layer(2, 4, activation="linear", seed=3), Value.sigmoid,
                       Layer(4, 1, activation="linear", seed=4), lambda out: out[0])
    x = [0.5, 1.5]

    def loss_of():
        return model(x) ** 2

    model.zero_grad()
    loss_of().backward()
    for name, p in model.named_parameters():
        assert p.grad == pytest.approx(numeric_gradient(loss_of, p), rel=1e-6, abs=1e-9), name


def test_sequential_saves_and_loads(tmp_path):
    def make(seed):
        return Sequential(Layer(2, 2, seed=seed), Value.relu, Layer(2, 1, seed=seed + 1))

    model = make(0)
    nn.save(model, tmp_path / "seq.json")
    loaded = nn.load(make(5), tmp_path / "seq.json")
    assert loaded.state_dict() == model.state_dict()
    with pytest.raises(ValueError, match="architecture"):
        nn.load(Sequential(Layer(2, 2), Value.tanh, Layer(2, 1)), tmp_path / "seq.json")


def test_sequential_bad_steps():
    with pytest.raises(ValueError, match="Sequential needs at least one step"):
        Sequential()
    with pytest.raises(TypeError, match="Sequential step 1 is 3, which cannot be called"):
        Sequential(Layer(2, 2), 3)
    with pytest.raises(TypeError, match="Value.tanh applies to a Value or a list of Values"):
        Sequential(Value.tanh)("text")


# --- custom activations -------------------------------------------------------


def swish(v):
    return v * v.sigmoid()


def test_a_custom_activation_is_applied_and_differentiated():
    n = Neuron(2, activation=swish, seed=3)
    x = [0.4, -1.2]
    s = sum(w.data * xi for w, xi in zip(n.w, x)) + n.b.data
    out = n(x)
    assert out.data == pytest.approx(s / (1 + math.exp(-s)), rel=1e-12)

    out.backward()
    for p in n.parameters():
        assert p.grad == pytest.approx(numeric_gradient(lambda: n(x), p), rel=1e-6, abs=1e-9)
    assert n.activation is swish
    assert n.architecture() == {"type": "Neuron", "nin": 2, "activation": "swish"}
    assert repr(n) == "Neuron(2, activation=swish)"


def test_custom_activations_in_layers_and_mlps():
    model = MLP(2, [3, 1], activation=swish, output_activation=Value.sigmoid, seed=2)
    assert [layer.activation for layer in model.layers] == [swish, "sigmoid"]
    assert 0.0 < model([0.1, 0.2]).data < 1.0
    assert model.architecture()["activation"] == "swish"
    assert model.architecture()["output_activation"] == "sigmoid"
    assert repr(Layer(2, 2, activation=swish)) == "Layer(2, 2, activation=swish)"


def test_a_value_method_is_the_same_as_its_name():
    by_name = MLP(2, [3, 1], activation="tanh", seed=1)
    by_method = MLP(2, [3, 1], activation=Value.tanh, seed=1)
    assert by_method.architecture() == by_name.architecture()
    assert [p.data for p in by_method.parameters()] == [p.data for p in by_name.parameters()]
    assert by_method([0.3, 0.1]).data == by_name([0.3, 0.1]).data


def test_an_activation_that_returns_a_plain_number_is_refused():
    n = Neuron(2, activation=lambda v: max(v.data, 0.0))  # would cut the graph
    with pytest.raises(TypeError, match="returned .* not a Value, so no gradient could flow"):
        n([1.0, 2.0])


def test_an_activation_module_with_its_own_parameter():
    class PReLU(Module):
        def __init__(self):
            self.slope = Value(0.25)

        def forward(self, v):
            return v.relu() - self.slope * (-v).relu()

    act = PReLU()
    layer = Layer(2, 2, activation=act)
    assert [name for name, _ in layer.named_parameters()][0] == "activation.slope"
    assert layer.parameters().count(act.slope) == 1  # shared by both neurons, listed once
    n = layer.neurons[0]
    n.b.data = -10.0  # negative pre-activation: the slope matters
    out = layer([0.1, 0.1])[0]
    out.backward()
    pre = sum(w.data * 0.1 for w in n.w) - 10.0
    assert out.data == pytest.approx(0.25 * pre)
    assert act.slope.grad == pytest.approx(pre)  # out = -slope * relu(-pre) = slope * pre


def test_a_deep_copy_has_its_own_parameters_under_the_same_names():
    model = MLP(2, [3, 1], seed=0)
    model.parameters()  # a cache exists and is copied along
    twin = copy.deepcopy(model)
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert not set(twin.parameters()) & set(model.parameters())
    assert twin.parameters()[0] is twin.layers[0].neurons[0].w[0]
    twin.layers[0].neurons[0].w.append(Value(1.0))
    assert len(twin.parameters()) == len(model.parameters()) + 1


def test_the_bookkeeping_names_are_reserved():
    model = MLP(2, [1])
    for name in ("_nn_cache", "_nn_attributes"):
        with pytest.raises(AttributeError, match=f"'{name}' is reserved"):
            setattr(model, name, None)
    assert len(model.parameters()) == 3


def test_a_property_is_found_through_the_attribute_it_stores():
    class Scaled(Module):
        def __init__(self):
            self.weight = 2.0

        @property
        def weight(self):
            return self._weight

        @weight.setter
        def weight(self, value):
            self._weight = Value(value)

    m = Scaled()
    assert [(name, p.data) for name, p in m.named_parameters()] == [("_weight", 2.0)]
    m.weight = 3.0
    assert [(name, p.data) for name, p in m.named_parameters()] == [("_weight", 3.0)]


def test_the_cache_sees_an_item_moved_between_neighbouring_lists():
    class Two(Module):
        def __init__(self):
            self.a = [Value(1.0), Value(2.0)]
            self.b = [Value(3.0)]

    m = Two()
    assert [name for name, _ in m.named_parameters()] == ["a.0", "a.1", "b.0"]
    m.b.insert(0, m.a.pop())  # the flattened items are the same, the lengths are not
    assert [(name, p.data) for name, p in m.named_parameters()] == [
        ("a.0", 1.0), ("b.0", 2.0), ("b.1", 3.0)]
