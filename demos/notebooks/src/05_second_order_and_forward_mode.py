# %% [markdown]
# # 5. Second order and forward mode
#
# `backward()` gives the gradient: the slope of the loss in every direction at once. Two
# further questions come up quickly:
#
# 1. **How does the slope change?** That is the matrix of second derivatives, the
#    **Hessian**. Methods that use it (Newton, Levenberg–Marquardt) take much better steps
#    than gradient descent on small problems.
# 2. **Could we go forwards instead?** **Forward mode** pushes a small change of the inputs
#    through the graph alongside the values, and gives a directional derivative. It is the
#    right tool when there are few inputs and many outputs, the opposite of backward.
#
# Both are built on the engine's one table of local derivatives: nothing new is derived.

# %%
import math

import matplotlib.pyplot as plt
from matplotlib_inline.backend_inline import set_matplotlib_formats

from autodiff import Value, grad, hessian, hvp, jacobian, jvp, sum_values, topological_order
from autodiff.higher_order import forward_derivatives
from nn import MLP, SGD, Adam, LevenbergMarquardt, Newton, losses

set_matplotlib_formats("svg", metadata={"Date": None})
plt.rcParams["svg.hashsalt"] = "autodiff-notebooks"

# %% [markdown]
# ## A Hessian, by hand and by the engine
#
# Take $f(x, y) = x^2 y + y^3$ at $(1, 2)$. Its gradient is $(2xy,\; x^2 + 3y^2)$ and,
# differentiating once more, its Hessian is
#
# $$H = \begin{pmatrix} 2y & 2x \\ 2x & 6y \end{pmatrix} =
# \begin{pmatrix} 4 & 2 \\ 2 & 12 \end{pmatrix}.$$
#
# `grad(f, inputs, create_graph=True)` returns the gradient as Values, themselves part of a
# graph, so they can be differentiated again; `hessian` does that for every entry.

# %%
x, y = Value(1.0, label="x"), Value(2.0, label="y")
f = x * x * y + y**3
print("by hand:  ", [[2 * 2.0, 2 * 1.0], [2 * 1.0, 6 * 2.0]])
print("hessian():", hessian(f, [x, y]))
print("H times (1, 0), without forming H:", hvp(f, [x, y], [1.0, 0.0]))

# %% [markdown]
# As with gradients, finite differences give an independent check: each column of $H$ is
# how fast the gradient changes when one input moves.

# %%
def gradient_at(a: float, b: float) -> list[float]:
    u, v = Value(a), Value(b)
    return grad(u * u * v + v**3, [u, v])


h = 1e-5
columns = [[(p - m) / (2 * h) for p, m in zip(gradient_at(1 + h, 2), gradient_at(1 - h, 2))],
           [(p - m) / (2 * h) for p, m in zip(gradient_at(1, 2 + h), gradient_at(1, 2 - h))]]
print("finite differences of grad:", [[round(columns[j][i], 6) for j in range(2)]
                                      for i in range(2)])

# %% [markdown]
# ## Newton's method: a step that knows the curvature
#
# Gradient descent steps $-\text{lr} \cdot g$. On a long narrow valley that is a poor
# direction: the gradient points mostly across the valley, so the steps zigzag from wall to
# wall while creeping along it. Newton's method solves $H\,d = -g$ for the step $d$: on a
# quadratic it lands on the minimum in **one** step, whatever the shape of the valley.
#
# Here is $L(a, b) = (a - 1)^2 + 10\,(b + 0.5)^2$, from $(-1.5, 0.8)$: 25 steps of gradient
# descent at the learning rate 0.09 against one step of `nn.Newton`. (Across the valley the
# curvature is 20, so any rate above $2 / 20 = 0.1$ makes those zigzags grow, not shrink.)

# %%
def valley(a: Value, b: Value) -> Value:
    return (a - 1.0) ** 2 + 10.0 * (b + 0.5) ** 2


def descend(opt_for: str, steps: int) -> list[tuple[float, float]]:
    a, b = Value(-1.5), Value(0.8)
    path = [(a.data, b.data)]
    if opt_for == "newton":
        newton = Newton([a, b])
        for _ in range(steps):
            newton.step(lambda: valley(a, b))
            path.append((a.data, b.data))
        return path
    sgd = SGD([a, b], lr=0.09)
    for _ in range(steps):
        loss = valley(a, b)
        sgd.zero_grad()
        loss.backward()
        sgd.step()
        path.append((a.data, b.data))
    return path


gd_path, newton_path = descend("sgd", 25), descend("newton", 1)
print(f"gradient descent after 25 steps: ({gd_path[-1][0]:.4f}, {gd_path[-1][1]:.4f})")
print(f"Newton after 1 step:             ({newton_path[-1][0]:.4f}, {newton_path[-1][1]:.4f})")

grid_a = [-2 + 4 * i / 80 for i in range(81)]
grid_b = [-1.5 + 2.7 * j / 80 for j in range(81)]
heights = [[(a - 1) ** 2 + 10 * (b + 0.5) ** 2 for a in grid_a] for b in grid_b]
fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.contour(grid_a, grid_b, heights, levels=[0.5, 2, 5, 10, 20, 35], colors="#cbd5e1")
ax.plot(*zip(*gd_path), "o-", ms=3, color="#6b7280", label="gradient descent, lr 0.09")
ax.plot(*zip(*newton_path), "o-", ms=5, color="#dc2626", label="Newton, one step")
ax.scatter([1], [-0.5], marker="*", s=120, color="#111827", zorder=3, label="minimum")
ax.set_xlabel("a")
ax.set_ylabel("b")
ax.legend(fontsize=8, loc="upper right")
plt.show()

# %% [markdown]
# ## Newton and Levenberg–Marquardt on a real fit
#
# A network's loss is not a quadratic, and its Hessian can have negative curvature (near a
# saddle), where a pure Newton step goes *uphill*. `Newton(params, damping=...)` adds
# `damping` to the diagonal to soften that.
#
# **Levenberg–Marquardt** (LM) is made for least squares, a loss that is a mean of squared
# residuals $r_i$. It replaces the Hessian by $J^\top J$, from the Jacobian $J$ of the
# residuals, which never curves downwards, and solves $(J^\top J + \lambda I)\, d = -J^\top r$.
# The damping $\lambda$ adapts: a step that does not lower the loss is retried with more
# damping (closer to a small gradient step), a good one lowers it (closer to the undamped
# Gauss–Newton step).
#
# We fit $\sin x$ at 20 points on $[-3, 3]$ with a 1-5-1 tanh network (16 parameters), from
# the same start, for 40 steps with each method. The closure passed to `step` rebuilds the
# loss (Newton) or the residuals (LM), because these methods evaluate them more than once.

# %%
xs = [-3 + 6 * i / 19 for i in range(20)]
targets = [math.sin(t) for t in xs]


def fit(method: str, steps: int = 40) -> tuple[MLP, list[float]]:
    """Fit sin with a fresh 1-5-1 tanh MLP (the same start for every method)."""
    model = MLP(1, [5, 1], activation="tanh", seed=2)
    params = model.parameters()

    def loss() -> Value:
        return losses.mse([model([t]) for t in xs], targets)

    def residuals() -> list[Value]:
        return [model([t]) - target for t, target in zip(xs, targets)]

    opt = SGD(params, lr=0.3) if method == "SGD" else Adam(params, lr=0.1)
    newton, lm = Newton(params, damping=0.1), LevenbergMarquardt(params)
    history = [loss().data]
    for _ in range(steps):
        if method == "Newton":
            newton.step(loss)
        elif method == "LM":
            lm.step(residuals)
        else:  # SGD or Adam: the usual four lines
            value = loss()
            opt.zero_grad()
            value.backward()
            opt.step()
        history.append(loss().data)
    return model, history


fits = {method: fit(method) for method in ("SGD", "Adam", "Newton", "LM")}
for method, (_, history) in fits.items():
    print(f"{method:7} loss {history[0]:.4f} at the start, {history[-1]:.2e} after 40 steps")

# %%
colours = {"SGD": "#6b7280", "Adam": "#2563eb", "Newton": "#d97706", "LM": "#dc2626"}
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
for method, (model, history) in fits.items():
    left.plot(history, color=colours[method], label=method)
    grid = [-3 + 6 * i / 120 for i in range(121)]
    model_out = [model([t]) for t in grid]
    right.plot(grid, [v.data for v in model_out], color=colours[method], label=method)
right.scatter(xs, targets, s=12, color="#111827", zorder=3, label="sin x")
left.set_yscale("log")
left.set_xlabel("step")
left.set_ylabel("mean squared error")
right.set_xlabel("x")
for ax in (left, right):
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# LM ends far below the first-order methods after the same number of steps; damped Newton
# does better than they do but stays far behind LM. (SGD, at 0.3 the best rate of a small
# grid, overshoots for a while around step 10, as in notebook 3.) Each of LM's
# steps costs more (a Jacobian of 20 residuals, one backward sweep per residual, and a
# 16 × 16 linear solve), which is affordable for tens of parameters and not for millions:
# that is why large networks are trained with first-order methods.
#
# ## Forward mode: `jvp` against backward
#
# `jvp(f, primals, tangents)` calls `f` on fresh Values and makes one sweep over the graph
# from the inputs to the output: every node's **tangent** (how fast it moves when the inputs
# move along `tangents`) is the sum over its parents of local derivative × parent's
# tangent. The result is the directional derivative $\nabla f \cdot v$, the same number as
# the gradient from backward dotted with $v$.

# %%
def ring(*v: Value) -> Value:
    """sum_i tanh(v_i * v_(i+1)), the last one wrapping round to the first."""
    return sum_values([(vi * v[(i + 1) % len(v)]).tanh() for i, vi in enumerate(v)])


point = [0.3, -1.2, 0.8, 0.5]
direction = [1.0, 0.5, -2.0, 0.25]
value, along = jvp(ring, point, direction)
leaves = [Value(p) for p in point]
gradient = grad(ring(*leaves), leaves)
print(f"f = {value:.6f}")
print(f"jvp, one forward sweep:      {along:+.12f}")
print(f"backward gradient . v:       {sum(g * d for g, d in zip(gradient, direction)):+.12f}")

# %% [markdown]
# **Which mode costs less?** One forward sweep gives the derivative along one input
# direction; one backward sweep gives the derivative of one output. So:
#
# - for $f: \mathbb{R}^n \to \mathbb{R}$ (a loss of $n$ weights), the full gradient takes
#   $n$ forward sweeps but **one** backward sweep;
# - for $g: \mathbb{R} \to \mathbb{R}^m$ (one input, $m$ outputs), the full Jacobian takes
#   **one** forward sweep but $m$ backward sweeps.
#
# We count the work as the number of graph nodes the sweeps visit, for growing $n$ and $m$
# (the graph sizes are counted with `topological_order`).

# %%
def chain(x: Value, m: int) -> list[Value]:
    """y_k = tanh(0.9 y_(k-1) + x), y_0 = x: m outputs of one input."""
    ys, current = [], x
    for _ in range(m):
        current = (0.9 * current + x).tanh()
        ys.append(current)
    return ys


sizes = [2, 4, 8, 16, 32, 64]
grad_cost: dict[str, list[int]] = {"forward (n jvp sweeps)": [], "reverse (1 backward)": []}
jac_cost: dict[str, list[int]] = {"forward (1 sweep)": [], "reverse (m backward)": []}
largest_difference = 0.0
for n in sizes:
    leaves = [Value(0.1 * i) for i in range(n)]
    nodes = len(topological_order(ring(*leaves)))
    grad_cost["forward (n jvp sweeps)"].append(n * nodes)
    grad_cost["reverse (1 backward)"].append(nodes)
    x = Value(0.3)
    outputs = chain(x, n)
    forward_column = forward_derivatives(outputs, {x: 1.0})  # all m outputs in one sweep
    reverse_column = [row[0] for row in jacobian(outputs, [x])]  # one backward per output
    largest_difference = max([largest_difference] + [abs(a - b) for a, b in
                                                     zip(forward_column, reverse_column)])
    jac_cost["forward (1 sweep)"].append(len(topological_order(outputs[-1])))
    jac_cost["reverse (m backward)"].append(sum(len(topological_order(y)) for y in outputs))
print("n or m:              ", sizes)
for name, counts in (grad_cost | jac_cost).items():
    print(f"{name:22}", counts)
print(f"the two modes' Jacobians differ by at most {largest_difference:.1e} (rounding)")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
for ax, costs, title in ((left, grad_cost, "gradient of f: Rⁿ → R"),
                         (right, jac_cost, "Jacobian of g: R → Rᵐ")):
    for (name, counts), colour in zip(costs.items(), ("#2563eb", "#dc2626")):
        ax.plot(sizes, counts, "o-", ms=3, color=colour, label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("nodes visited")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
left.set_xlabel("inputs n")
right.set_xlabel("outputs m")
fig.tight_layout()
plt.show()

# %% [markdown]
# The pictures are mirror images: each mode grows with the number of things it has to
# sweep once each. Training a network is the left picture with $n$ in the thousands or
# millions and one loss, which is why deep learning runs on reverse mode, backpropagation.
#
# ## What to remember
#
# - The Hessian is the derivative of the gradient; `grad(..., create_graph=True)` makes
#   gradients differentiable, and `hessian`, `hvp` and `jacobian` build on it.
# - Newton and Levenberg–Marquardt use curvature and need far fewer steps on small
#   problems; each step solves a linear system, which limits them to few parameters.
# - Forward mode (`jvp`) costs one sweep per input direction, reverse mode one per output.
#
# Back to the start: [1. Values and the chain rule](01_values_and_the_chain_rule.ipynb).
