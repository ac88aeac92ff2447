# %% [markdown]
# # 2. The explorer: both passes, node by node
#
# A picture of a finished graph shows the result of backpropagation, not how it happens.
# `autodiff.explore` writes a page that *plays* it: first the **forward pass**, where each
# node's value is computed from its inputs in order, then the **backward pass**, where the
# gradient flows from the output back to every input one chain-rule step at a time. In a
# notebook the page also shows itself right here, below the cell.
#
# We explore two graphs: a single neuron, then the loss of a small 2-2-1 network.

# %%
from autodiff import Value, draw, explore
from nn import MLP, draw_network

# %% [markdown]
# ## One neuron
#
# A neuron multiplies each input by a weight, adds a bias and squashes the sum with an
# activation function. These are micrograd's numbers for
# $o = \tanh(x_1 w_1 + x_2 w_2 + b)$; the bias is chosen so that $o = \tanh(0.8814) \approx
# 0.7071$. We label every step, so the pictures and the page can name it.

# %%
x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
x1w1 = x1 * w1
x1w1.label = "x1*w1"
x2w2 = x2 * w2
x2w2.label = "x2*w2"
n = x1w1 + x2w2 + b
n.label = "n"
o = n.tanh()
o.label = "o"
print(f"o = {o.data:.4f}")

# %% [markdown]
# Now the page. Press **Step** (or the right arrow key) to advance one node, **Play** to
# watch it all. During the forward pass each box fills in its value; during the backward
# pass the panel writes out the chain-rule product for the current edge in numbers, such
# as $\partial o / \partial x_1 \mathrel{+}= \partial o / \partial (x_1 w_1) \cdot
# \partial (x_1 w_1) / \partial x_1$, and the table keeps every node's running `grad`. At
# the end nodes are coloured by their gradient: red above zero, blue below.
#
# Click any node to see its value, its local derivatives and every contribution to its
# gradient. For the parameters we name (`w1`, `w2`, `b`) the panel also shows a
# finite-difference check and the gradient-descent update $w - \mathrm{lr} \cdot
# \partial o / \partial w$ for the learning rate we pass. The page is saved to
# `out/neuron.html` too: open it in any browser, offline. (JupyterLab shows pages and
# pictures only for notebooks it trusts: run the cell, or open the course with `./run lab`,
# which trusts it.)

# %%
explore(o, "out/neuron.html", params=[w1, w2, b], lr=0.1)

# %% [markdown]
# The explorer leaves every `.grad` as it was (zero here): it records the passes on the
# side. Running `backward()` ourselves gives the numbers the page ended with. By hand:
# $\partial o / \partial n = 1 - o^2 = 0.5$, then each product node passes on $0.5$ times
# its *other* input.

# %%
o.backward()
by_hand = {"n": 1 - o.data**2, "x1": (1 - o.data**2) * w1.data, "w1": (1 - o.data**2) * x1.data,
           "x2": (1 - o.data**2) * w2.data, "w2": (1 - o.data**2) * x2.data, "b": 1 - o.data**2}
for v in (n, x1, w1, x2, w2, b):
    print(f"d o / d {v.label:3} by hand {by_hand[v.label]:+.4f}   backward() {v.grad:+.4f}")

# %% [markdown]
# Note that $w_2$ gets no gradient: its input $x_2$ is 0, so nudging $w_2$ changes nothing.
# The static picture of the same graph, after `backward()` (a step we did not label is named
# by its op and position, like `add1`, in the page and the picture alike). Inputs are blue,
# the parameters we named yellow, intermediate values grey and the output green:

# %%
draw(o, params=[w1, w2, b], rankdir="TB", legend=False)

# %% [markdown]
# ## A 2-2-1 network
#
# The `nn` library builds the same neurons for us. `MLP(2, [2, 1], activation="tanh")` has
# two inputs, a hidden layer of two tanh neurons and one linear output neuron: nine
# parameters (six weights, three biases), each labelled with its name in the model, such
# as `layers.0.neurons.1.w.0` (layer 0, neuron 1, the weight of input 0).
#
# We train it towards the target 1.0 for the input (0.5, -1.0), with the squared error
# $L = (y - 1)^2$ as the loss. Textbooks draw such a network as circles in layers, with a
# weight on each edge; `draw_network` does that, and when given the input and the loss it
# also writes each neuron's net input, output and delta ($\partial L / \partial$ net) and
# each weight's gradient.

# %%
model = MLP(2, [2, 1], activation="tanh", seed=1)
inputs = [0.5, -1.0]
target = 1.0
for name, p in model.named_parameters():
    print(f"{name:24} {p.data:+.4f}")
draw_network(model, x=inputs, loss=lambda y: (y - target) ** 2)

# %% [markdown]
# The explorer shows the same computation as a graph of Values. Each neuron is one `Σ w·x +
# b` node (the engine computes a weighted sum as a single step) followed by its activation.
# We make the inputs Values too, so we can watch their gradients: each input feeds *both*
# hidden neurons, so during the backward pass it receives two contributions, one through
# each neuron, and its gradient is their sum. Step to the end and click `x1` to see them.

# %%
x = [Value(inputs[0], label="x1"), Value(inputs[1], label="x2")]
y = model(x)
y.label = "y"
loss = (y - target) ** 2
loss.label = "L"
explore(loss, "out/mlp.html", params=model.parameters(), lr=0.1)

# %% [markdown]
# ## Checking the page's numbers in Python
#
# Backpropagation through a layer is one formula: a hidden neuron's delta is the delta of
# the neuron it feeds times the weight between them times its own activation's slope,
# $\delta_j = \delta_y \, w_j \, (1 - h_j^2)$, and an input's gradient sums over the
# neurons it feeds, $\partial L / \partial x_1 = \sum_j \delta_j \, w_{j1}$. We compute it
# from the model's weights and compare with `backward()`.

# %%
loss.backward()
hidden, output = model.layers
h = [neuron(inputs).data for neuron in hidden.neurons]  # the hidden outputs
delta_y = 2 * (y.data - target)  # dL/dy; the output neuron is linear
deltas = [delta_y * output.neurons[0].w[j].data * (1 - h[j] ** 2) for j in range(2)]
for i, xi in enumerate(x):
    parts = [deltas[j] * hidden.neurons[j].w[i].data for j in range(2)]
    print(f"dL/d{xi.label}: {parts[0]:+.4f} (via neuron 0) {parts[1]:+.4f} (via neuron 1) "
          f"= {sum(parts):+.4f}; backward() {xi.grad:+.4f}")

# %% [markdown]
# And one step of gradient descent with the learning rate the page used: every parameter
# moves against its gradient, $p \leftarrow p - 0.1 \cdot \partial L / \partial p$, and the
# loss goes down.

# %%
lr = 0.1
print(f"{'parameter':24}{'data':>9}{'grad':>9}{'data - lr*grad':>16}")
for name, p in model.named_parameters():
    print(f"{name:24}{p.data:>+9.4f}{p.grad:>+9.4f}{p.data - lr * p.grad:>+16.4f}")
    p.data -= lr * p.grad
print(f"loss before the step {loss.data:.4f}, after {((model(inputs) - target) ** 2).data:.4f}")

# %% [markdown]
# ## What to remember
#
# - The forward pass computes values parents first; the backward pass visits the same
#   nodes in reverse and applies one local rule per edge.
# - A value that feeds several nodes collects one contribution from each: that sum *is*
#   backpropagation through a layer.
# - `explore(root, path, params=..., lr=...)` writes the page and shows it inline; the
#   numbers are a recording of the engine's real passes.
#
# Next: [3. Training on the moons](03_training_moons.ipynb).
