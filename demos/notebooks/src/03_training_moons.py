# %% [markdown]
# # 3. Training: the moons
#
# Gradients tell each weight which way to move; **training** repeats that small move until
# the network does its job. Here the job is micrograd's classic: separate 100 points of two
# interleaving half-moons with a 2-16-16-1 ReLU network. We train it twice, with plain
# gradient descent (SGD) and with Adam, plot the loss and the decision boundary, and then
# break it on purpose with a learning rate that is too large.
#
# Training runs for real, so this notebook takes some seconds.

# %%
from collections.abc import Callable
from functools import partial

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib_inline.backend_inline import set_matplotlib_formats

from autodiff import Value, no_grad
from nn import MLP, SGD, Adam, datasets, losses
from nn.optim import Optimizer

set_matplotlib_formats("svg", metadata={"Date": None})
plt.rcParams["svg.hashsalt"] = "autodiff-notebooks"

# %% [markdown]
# ## The data
#
# `make_moons` draws the points with a seed, so every run sees the same ones. The labels
# are 0 and 1; the max-margin loss below wants them as $-1$ and $+1$.

# %%
X, labels = datasets.make_moons(100, noise=0.1, seed=3)
y = [2 * t - 1 for t in labels]
COLOURS = {-1: "#2563eb", 1: "#dc2626"}

fig, ax = plt.subplots(figsize=(5, 3.6))
for label in (-1, 1):
    points = [p for p, t in zip(X, y) if t == label]
    ax.scatter([p[0] for p in points], [p[1] for p in points], s=18, color=COLOURS[label],
               label=f"class {label:+d}")
ax.set_xlabel("x1")
ax.set_ylabel("x2")
ax.legend()
plt.show()

# %% [markdown]
# ## The model, the loss and one training step
#
# The network outputs one score per point: positive means class $+1$. The **max-margin
# (hinge) loss** is $\max(0, 1 - y \cdot \text{score})$ averaged over the points: zero for
# a point on the right side by a margin of at least 1, growing linearly otherwise. A small
# penalty $10^{-4} \sum w^2$ keeps the weights from growing without need.
#
# One training step is always the same four lines: forward pass over every point, the loss,
# zero the old gradients, `backward()`, and let the optimizer move every parameter.

# %%
def train(optimizer: Callable[[list[Value]], Optimizer], steps: int,
          seed: int = 3) -> tuple[MLP, list[float], list[float]]:
    """Train a fresh 2-16-16-1 MLP; return it with the loss and accuracy of every step."""
    model = MLP(2, [16, 16, 1], seed=seed)
    params = model.parameters()
    opt = optimizer(params)
    history, accuracy = [], []
    for _ in range(steps):
        scores = [model(x) for x in X]
        loss = losses.hinge(scores, y) + 1e-4 * losses.l2(params)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.data)
        accuracy.append(sum((s.data > 0) == (t > 0) for s, t in zip(scores, y)) / len(y))
    return model, history, accuracy


STEPS = 40
sgd_model, sgd_loss, sgd_acc = train(lambda p: SGD(p, lr=lambda k: 1.0 - 0.9 * k / 100), STEPS)
adam_model, adam_loss, adam_acc = train(lambda p: Adam(p, lr=0.05), STEPS)
print(f"parameters: {len(sgd_model.parameters())}")
print(f"SGD  (lr 1.0 falling by 0.009 a step): loss {sgd_loss[-1]:.4f}, "
      f"accuracy {sgd_acc[-1]:.0%} after {STEPS} steps")
print(f"Adam (lr 0.05):                        loss {adam_loss[-1]:.4f}, "
      f"accuracy {adam_acc[-1]:.0%} after {STEPS} steps")

# %% [markdown]
# SGD moves each weight by $-\text{lr} \cdot \text{grad}$; its learning rate here starts at
# 1 and falls a little each step, as in micrograd's demo. Adam keeps a running average of
# each gradient and of its square, and moves each weight by roughly the learning rate in
# the direction of the average, whatever the size of its gradient. Both get every point
# right within the 40 steps:

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
steps = range(1, STEPS + 1)
for name, loss_curve, acc_curve, colour in (("SGD", sgd_loss, sgd_acc, "#6b7280"),
                                            ("Adam", adam_loss, adam_acc, "#2563eb")):
    left.plot(steps, loss_curve, color=colour, label=name)
    right.plot(steps, [100 * a for a in acc_curve], color=colour, label=name)
left.set_yscale("log")
left.set_ylabel("loss")
right.set_ylabel("training accuracy (%)")
for ax in (left, right):
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The decision boundary
#
# To see what the network learned, we ask it for a score at every point of a grid and
# colour the plane by the sign. `no_grad()` tells the engine not to record a graph: these
# forward passes are for looking, not for learning, and run faster.

# %%
def boundary(ax: Axes, model: MLP, title: str, grid: int = 36) -> None:
    """Colour the plane by the sign of the model's score; draw the points on top."""
    xs = [-1.6 + 4.2 * i / (grid - 1) for i in range(grid)]
    ys = [-1.2 + 2.6 * j / (grid - 1) for j in range(grid)]
    with no_grad():
        scores = [[model([a, b]).data for a in xs] for b in ys]
    ax.contourf(xs, ys, scores, levels=[-1e9, 0, 1e9], colors=["#bfdbfe", "#fecaca"])
    ax.contour(xs, ys, scores, levels=[0], colors="#374151", linewidths=0.8)
    for label in (-1, 1):
        points = [p for p, t in zip(X, y) if t == label]
        ax.scatter([p[0] for p in points], [p[1] for p in points], s=14,
                   color=COLOURS[label], edgecolors="white", linewidths=0.4)
    ax.set_title(title, fontsize=10)


fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
boundary(axes[0], sgd_model, f"SGD, {STEPS} steps")
boundary(axes[1], adam_model, f"Adam, {STEPS} steps")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What goes wrong with a learning rate that is too large
#
# Gradient descent trusts the gradient only locally: it is the slope *here*. A step so long
# that it jumps past the bottom of the valley lands higher on the other side. On the
# simplest loss, $L(w) = w^2$ with gradient $2w$, one step gives
# $w \leftarrow w - \text{lr} \cdot 2w = (1 - 2\,\text{lr})\,w$: it shrinks for
# $\text{lr} < 1$, oscillates while it shrinks between 0.5 and 1, and grows without bound
# above 1.

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.4))
for lr, colour in ((0.1, "#16a34a"), (0.8, "#d97706"), (1.1, "#dc2626")):
    w = Value(1.0)
    path = [w.data]
    opt = SGD([w], lr=lr)
    for _ in range(15):
        loss = w * w
        opt.zero_grad()
        loss.backward()
        opt.step()
        path.append(w.data)
    ax.plot(path, "o-", ms=3, color=colour, label=f"lr {lr}: w ends at {w.data:+.3g}")
ax.axhline(0, color="#9ca3af", linewidth=0.8)
ax.set_xlabel("step")
ax.set_ylabel("w")
ax.set_title("gradient descent on L(w) = w²", fontsize=10)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The moons network behaves the same way, only in 337 dimensions at once. We train it for
# 15 steps with three constant learning rates. At 0.3 the loss falls steadily. At 3 the
# first steps overshoot and the loss jumps up before it comes down again. At 30 it
# explodes. Large steps also kill ReLU units: a hidden unit whose input is negative for
# every point outputs 0 everywhere and gets a zero gradient, so nothing ever revives it. We
# count the dead units of each run.

# %%
def dead_units(model: MLP) -> int:
    """How many hidden ReLU units output 0 for every training point."""
    first, second, _ = model.layers
    alive = [False] * 32
    with no_grad():
        for x in X:
            h1 = first(x)
            h2 = second(h1)
            for unit, h in enumerate(h1 + h2):
                alive[unit] = alive[unit] or h.data > 0.0
    return alive.count(False)


runs = {lr: train(partial(SGD, lr=lr), 15) for lr in (0.3, 3.0, 30.0)}
fig, ax = plt.subplots(figsize=(6.5, 3.4))
for (lr, (model, loss_curve, acc_curve)), colour in zip(runs.items(),
                                                        ("#16a34a", "#d97706", "#dc2626")):
    ax.plot(range(1, 16), loss_curve, color=colour,
            label=f"lr {lr:g}: accuracy {acc_curve[-1]:.0%} at step 15")
    print(f"lr {lr:>4g}: loss {loss_curve[0]:.3g} at step 1, highest {max(loss_curve):.3g}, "
          f"{loss_curve[-1]:.3g} at step 15; accuracy {acc_curve[-1]:.0%}; "
          f"{dead_units(model)} of 32 hidden units dead")
ax.set_yscale("log")
ax.set_xlabel("step")
ax.set_ylabel("loss")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# If the steps grow large enough to leave the range of floating-point numbers, the engine
# does not carry on with `inf` or `nan`: the optimizer refuses the step, names the
# parameter, and leaves every parameter as it was.

# %%
w = Value(1.0, label="w")
opt = SGD([w], lr=1e308)
loss = w * w
loss.backward()
try:
    opt.step()
except ValueError as error:
    print(f"{type(error).__name__}: {error}")
print(f"w is still {w.data}")

# %% [markdown]
# ## What to remember
#
# - A training step: forward, loss, `zero_grad()`, `backward()`, `step()`.
# - The loss curve is the first thing to look at: falling is good; flat or rising means the
#   learning rate, the model or the data needs a look.
# - A learning rate is too large when a step jumps past the minimum; the loss then rises
#   or explodes, and ReLU units can die for good.
#
# Next: [4. A worked example, by the numbers](04_worked_example.ipynb).
