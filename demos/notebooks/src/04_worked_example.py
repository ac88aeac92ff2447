# %% [markdown]
# # 4. A worked example, by the numbers
#
# Textbooks and blog posts teach backpropagation with a small network worked out by hand.
# Here we redo one such example, from the Russian article "Обратное распространение
# ошибки: пример расчета" (*Backpropagation: a worked example*), cell by cell, with the
# article's printed figures beside the engine's. Its network has two inputs (neurons 1 and
# 2), hidden layers of three (3, 4, 5) and two (6, 7) neurons and one output (8), sigmoid
# activations everywhere and no biases; $w_{ij}$ is the weight from neuron $i$ to neuron $j$.
#
# - input $(0.6, 0.7)$, target $t = 0.9$;
# - error $E = \frac{1}{2}(t - O_8)^2$ (the article writes the square without the half,
#   but its formulas, with no factor 2, are those of the half);
# - learning rate $\alpha = 0.3$, momentum $\gamma = 0.1$:
#   $\Delta w(t) = -\alpha\, \partial E / \partial w + \gamma\, \Delta w(t - 1)$.
#
# The article prints one step, where the momentum term is still zero; we also take a second
# step, where it is not.

# %%
import math

from autodiff import Value
from nn import MLP, SGD, draw_network

INPUTS = [0.6, 0.7]
TARGET = 0.9
LR, MOMENTUM = 0.3, 0.1
LAYERS = [[1, 2], [3, 4, 5], [6, 7], [8]]  # the article's neuron numbers, layer by layer
WEIGHTS = {
    "w13": -1.0, "w23": 1.0, "w14": 2.5, "w24": 0.4, "w15": 1.0, "w25": -1.5,
    "w36": 2.2, "w46": -1.4, "w56": 0.56, "w37": 0.34, "w47": 1.05, "w57": 3.1,
    "w68": 0.75, "w78": -0.22,
}

# %% [markdown]
# ## The network
#
# `nn.MLP(2, [3, 2, 1])` with sigmoid activations has exactly this shape. We load the
# article's weights, label them `w13` … `w78`, and set the biases to zero; the optimizer
# gets only the weights, so the biases stay zero, as in the article.

# %%
model = MLP(2, [3, 2, 1], activation="sigmoid", output_activation="sigmoid")
weights: dict[str, Value] = {}
for layer, inputs_of, neurons_of in zip(model.layers, LAYERS, LAYERS[1:]):
    for neuron, j in zip(layer.neurons, neurons_of):
        for w, i in zip(neuron.w, inputs_of):
            w.data, w.label = WEIGHTS[f"w{i}{j}"], f"w{i}{j}"
            weights[w.label] = w
        neuron.b.data = 0.0
optimizer = SGD(list(weights.values()), lr=LR, momentum=MOMENTUM)
print(f"{len(weights)} weights, {len(model.parameters()) - len(weights)} biases fixed at 0")

# %% [markdown]
# `draw_network` draws it as the article does. Given the input and the error function, it
# writes in every neuron its net input $I_j$, its output $O_j$ and its delta
# $\partial E / \partial I_j$ (the article's $\delta_j$ has the opposite sign, see below),
# and on every edge the weight and its gradient $\partial E / \partial w_{ij}$.

# %%
def error(output: Value) -> Value:
    return (TARGET - output) ** 2 * 0.5


NAMES = [[str(j) for j in layer] for layer in LAYERS]
draw_network(model, x=INPUTS, loss=error, names=NAMES, show_bias=False)

# %% [markdown]
# ## Step 1, the forward pass
#
# Each neuron's net input is the weighted sum of the outputs before it,
# $I_j = \sum_i w_{ij} O_i$, and its output is $O_j = f(I_j) = 1 / (1 + e^{-I_j})$. We run
# the network layer by layer to keep every $I_j$ and $O_j$: a neuron's output is a sigmoid
# node, and the Value it was computed from (`out.parents[0]`) is its net input.

# %%
ARTICLE = {
    "I3": "0.1", "I4": "1.78", "I5": "-0.45", "O3": "0.52", "O4": "0.86", "O5": "0.39",
    "I6": "0.158", "I7": "2.288", "O6": "0.54", "O7": "0.908", "I8": "0.205", "O8": "0.551",
}


def same(engine: float, text: str) -> str:
    """'yes' if the engine's number rounds to the article's figure at the digits printed."""
    digits = len(text.split(".")[1]) if "." in text else 0
    return "yes" if abs(engine - float(text)) <= 0.5 * 10.0**-digits * (1 + 1e-9) else "no"


def forward() -> tuple[dict[str, Value], Value]:
    """The net input and output of every neuron, by name (I3, O3, ...), and the error E."""
    nodes: dict[str, Value] = {}
    values: list[Value | float] = list(INPUTS)
    for layer, numbers in zip(model.layers, LAYERS[1:]):
        outputs = layer(values)
        for out, j in zip(outputs, numbers):
            nodes[f"I{j}"], nodes[f"O{j}"] = out.parents[0], out
        values = list(outputs)
    return nodes, error(nodes["O8"])


nodes, E = forward()
print(f"{'':5}{'engine':>10}{'article':>10}  same to the digits printed")
for name, text in ARTICLE.items():
    print(f"{name:5}{nodes[name].data:>10.4f}{text:>10}  {same(nodes[name].data, text)}")
print(f"E = (t - O8)^2 / 2 = {E.data:.5f}")

# %% [markdown]
# The first hidden layer agrees to the digits the article prints. From $I_6$ on its figures
# drift in the last digits, because the article computes each layer from the previous
# layer's outputs *rounded* as printed. The same sums on its rounded figures give its
# numbers, to within a unit of the last digit it prints:

# %%
A = {name: float(text) for name, text in ARTICLE.items()}
I6 = A["O3"] * 2.2 + A["O4"] * -1.4 + A["O5"] * 0.56
I7 = A["O3"] * 0.34 + A["O4"] * 1.05 + A["O5"] * 3.1
I8 = A["O6"] * 0.75 + A["O7"] * -0.22
print(f"I6 from the rounded outputs: {I6:.4f} (article {ARTICLE['I6']})")
print(f"I7 from the rounded outputs: {I7:.4f} (article {ARTICLE['I7']})")
print(f"I8 from the rounded outputs: {I8:.4f} (article {ARTICLE['I8']}), "
      f"f(0.205) = {1 / (1 + math.exp(-0.205)):.4f} (article {ARTICLE['O8']})")

# %% [markdown]
# So these differences are rounding, not mistakes.
#
# ## Step 1, the backward pass: the deltas
#
# The article defines each neuron's error as $\delta_j = -\partial E / \partial I_j$:
#
# - for the output, $\delta_8 = (t - O_8)\, f'(I_8)$ with $f'(I) = f(I)\,(1 - f(I))$;
# - for a hidden neuron, $\delta_j = \left(\sum_k \delta_k w_{jk}\right) f'(I_j)$, summed
#   over the neurons $k$ that $j$ feeds.
#
# The engine needs none of these formulas: `E.backward()` leaves $\partial E / \partial I_j$
# in the `grad` of every net-input node, so $\delta_j$ is minus that grad.

# %%
E.backward()
ARTICLE_DELTAS = {"delta8": "0.0863", "delta7": "-0.0016", "delta6": "0.016",
                  "delta5": "0.001", "delta4": "-0.003", "delta3": "-0.0087"}
deltas = {j: -nodes[f"I{j}"].grad for j in (8, 7, 6, 5, 4, 3)}
print(f"{'':8}{'engine':>10}{'article':>10}  same to the digits printed")
for j, value in deltas.items():
    text = ARTICLE_DELTAS[f"delta{j}"]
    print(f"delta{j:<3}{value:>+10.5f}{text:>10}  {same(value, text)}")

# %% [markdown]
# $\delta_8$ is off in the last digit, again from the rounded $O_8 = 0.551$. The one real
# difference is $\delta_3 = -0.0087$: it has the wrong sign. The article's own formula on
# its own rounded figures gives a positive number:

# %%
article_delta3 = (-0.0016 * 0.34 + 0.016 * 2.2) * 0.52 * (1 - 0.52)
print(f"(delta7 w37 + delta6 w36) f'(I3) = (-0.0016 * 0.34 + 0.016 * 2.2) * 0.52 * 0.48 "
      f"= {article_delta3:+.5f}")

# %% [markdown]
# A slip like this is easy to make by hand and impossible for the engine, which applies the
# same local rule at every node. (The article's line for $\delta_5$ also writes
# $f'(I_7)$ where it means, and multiplies by, $f'(I_5) = 0.39 \cdot (1 - 0.39)$.)
#
# ## Step 1, the weight changes
#
# With no previous change yet, $\Delta w_{ij} = -\alpha\, \partial E / \partial w_{ij} =
# \alpha\, \delta_j O_i$. `optimizer.step()` applies it to every weight at once; we record
# each change and compare.

# %%
ARTICLE_CHANGES = {
    "w78": "0.0235", "w68": "0.014", "w57": "-0.00019", "w47": "-0.0004", "w37": "-0.00025",
    "w56": "0.0019", "w46": "0.0041", "w36": "0.0025", "w25": "0.00021", "w15": "0.00018",
    "w24": "-0.00063", "w14": "-0.00054", "w23": "-0.00183", "w13": "-0.00157",
}
ARTICLE_NEW = {
    "w78": "-0.1965", "w68": "0.764", "w57": "3.0998", "w47": "1.0496", "w37": "0.3398",
    "w56": "0.5619", "w46": "-1.3959", "w36": "2.2025", "w25": "-1.4998", "w15": "1.00018",
    "w24": "0.39937", "w14": "2.49946", "w23": "0.99817", "w13": "-1.00157",
}
before = {name: w.data for name, w in weights.items()}
optimizer.step()
step1 = {name: w.data - before[name] for name, w in weights.items()}
print(f"{'':5}{'dE/dw':>10}{'change':>11}{'article':>10}{'new w':>10}{'article':>10}")
for name in ARTICLE_CHANGES:
    w = weights[name]
    flag = "  <- opposite sign" if step1[name] * float(ARTICLE_CHANGES[name]) < 0 else ""
    print(f"{name:5}{w.grad:>+10.5f}{step1[name]:>+11.5f}{ARTICLE_CHANGES[name]:>10}"
          f"{w.data:>10.5f}{ARTICLE_NEW[name]:>10}{flag}")

# %% [markdown]
# The slip in $\delta_3$ carries over: the article moves $w_{13}$ and $w_{23}$ down where
# the gradient says up. The other changes agree with it up to its rounding.
#
# ## Step 2: momentum at work
#
# Now a second forward and backward pass from the new weights. This time the optimizer adds
# a tenth of each weight's previous change: $\Delta w(2) = -0.3\, \partial E / \partial w +
# 0.1\, \Delta w(1)$. We compute both terms ourselves and compare with what `step()` does.

# %%
nodes, E2 = forward()
optimizer.zero_grad()
E2.backward()
print(f"error before step 1: {E.data:.6f}, before step 2: {E2.data:.6f}")
before = {name: w.data for name, w in weights.items()}
gradient_terms = {name: -LR * w.grad for name, w in weights.items()}
optimizer.step()
print(f"{'':5}{'-0.3 dE/dw':>12}{'0.1 dw(1)':>12}{'sum':>12}{'step()':>12}")
for name, w in weights.items():
    mine = gradient_terms[name] + MOMENTUM * step1[name]
    print(f"{name:5}{gradient_terms[name]:>+12.6f}{MOMENTUM * step1[name]:>+12.6f}"
          f"{mine:>+12.6f}{w.data - before[name]:>+12.6f}")
_, E3 = forward()
print(f"error after step 2: {E3.data:.6f}")

# %% [markdown]
# The error falls at each step, and the momentum term, a tenth of the last change, keeps
# every weight moving the way it moved before. Here is the network after the two steps, with
# the deltas and gradients of the next one:

# %%
draw_network(model, x=INPUTS, loss=error, names=NAMES, show_bias=False)

# %% [markdown]
# ## What to remember
#
# - The textbook deltas are the gradients of the net inputs: $\delta_j = -\partial E /
#   \partial I_j$. Backpropagation by hand and `backward()` compute the same numbers.
# - Momentum adds a fraction of the previous change to each step; the first step has none.
# - Hand calculations slip; a recomputation with an engine you trust finds where.
#
# Next: [5. Second order and forward mode](05_second_order_and_forward_mode.ipynb).
