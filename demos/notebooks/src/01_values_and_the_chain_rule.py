# %% [markdown]
# # 1. Values and the chain rule
#
# A neural network learns by nudging its weights in the direction that lowers its error.
# To know that direction it needs the **derivative** of the error with respect to every
# weight. This notebook shows how a small engine gets those derivatives:
#
# 1. a derivative worked out by hand, then the same number from `backward()`;
# 2. the chain rule on an expression with several steps, with its graph drawn;
# 3. why a value used twice collects two contributions;
# 4. how to check any derivative with finite differences, and how small the step should be.
#
# Every number below is computed when the notebook runs; nothing is typed in by hand except
# the formulas we derive ourselves.

# %%
import math

import matplotlib.pyplot as plt
from matplotlib_inline.backend_inline import set_matplotlib_formats

from autodiff import GradcheckError, Value, draw, gradcheck

set_matplotlib_formats("svg", metadata={"Date": None})  # sharp plots, no date in the file
plt.rcParams["svg.hashsalt"] = "autodiff-notebooks"  # the same SVG on every run

# %% [markdown]
# ## A derivative by hand
#
# Take $y = x^3 - 2x$. The rules of calculus give $\frac{dy}{dx} = 3x^2 - 2$, so at
# $x = 1.5$ the slope is $3 \cdot 2.25 - 2 = 4.75$: if $x$ grows by a tiny $\varepsilon$,
# $y$ grows by about $4.75\,\varepsilon$.
#
# The engine does the same with a `Value`: a number that remembers how it was made.
# `backward()` walks back from `y` to `x` and stores $\frac{dy}{dx}$ in `x.grad`.

# %%
x = Value(1.5, label="x")
y = x**3 - 2 * x
y.backward()

slope = 3 * 1.5**2 - 2  # 3x^2 - 2 at x = 1.5
print(f"y          = {y.data}")
print(f"by hand    dy/dx = {slope}")
print(f"backward() dy/dx = {x.grad}")

# %% [markdown]
# The derivative is the slope of the tangent line. Drawn at $x = 1.5$, the line
# $y(1.5) + 4.75\,(t - 1.5)$ touches the curve and has the same steepness there.

# %%
ts = [-2 + 4 * i / 200 for i in range(201)]
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.plot(ts, [t**3 - 2 * t for t in ts], color="#2563eb", label="$y = x^3 - 2x$")
near = [t for t in ts if 0.7 <= t <= 2.3]
ax.plot(near, [y.data + x.grad * (t - 1.5) for t in near], color="#dc2626",
        label=f"tangent at x = 1.5, slope {x.grad}")
ax.scatter([1.5], [y.data], color="#dc2626", zorder=3)
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %% [markdown]
# ## The chain rule, one step at a time
#
# Real expressions are made of many small steps. Here is the one micrograd made famous:
#
# $$e = a \cdot b, \qquad d = e + c, \qquad L = d \cdot f$$
#
# with $a = 2$, $b = -3$, $c = 10$, $f = -2$. Going forwards: $e = -6$, $d = 4$, $L = -8$.
#
# Going backwards, the **chain rule** says: the derivative of $L$ with respect to anything
# is the derivative of $L$ with respect to the step right after it, times the local
# derivative of that step. Each local derivative is easy:
#
# - $L = d \cdot f$: $\partial L / \partial d = f = -2$ and $\partial L / \partial f = d = 4$;
# - $d = e + c$: a sum passes the gradient on unchanged, so
#   $\partial L / \partial e = \partial L / \partial c = -2 \cdot 1 = -2$;
# - $e = a \cdot b$: $\partial L / \partial a = -2 \cdot b = 6$ and
#   $\partial L / \partial b = -2 \cdot a = -4$.
#
# Let us write the same reasoning as plain Python, then ask the engine.

# %%
a_, b_, c_, f_ = 2.0, -3.0, 10.0, -2.0
e_ = a_ * b_
d_ = e_ + c_
dL_dd, dL_df = f_, d_  # L = d * f
dL_de = dL_dc = dL_dd * 1.0  # d = e + c
dL_da, dL_db = dL_de * b_, dL_de * a_  # e = a * b
by_hand = {"a": dL_da, "b": dL_db, "c": dL_dc, "f": dL_df, "e": dL_de, "d": dL_dd}

a = Value(2.0, label="a")
b = Value(-3.0, label="b")
c = Value(10.0, label="c")
f = Value(-2.0, label="f")
e = a * b
e.label = "e"
d = e + c
d.label = "d"
L = d * f
L.label = "L"
L.backward()

print(f"L = {L.data}")
print(f"{'':4}{'by hand':>9}{'backward()':>12}")
for v in (a, b, c, f, e, d):
    print(f"{v.label:4}{by_hand[v.label]:>9}{v.grad:>12}")

# %% [markdown]
# The engine recorded every step as a node of a graph. `draw` shows it: each box holds a
# value's name, its `data` (computed going forwards) and its `grad` (computed going
# backwards); the small nodes between them are the operations. Follow the grads from `L`
# (where the grad is 1: $\partial L / \partial L = 1$) back to the inputs and you will see
# the products of the chain rule above.

# %%
draw(L, rankdir="TB")  # top to bottom, so it fits the page

# %% [markdown]
# ## A value used twice
#
# When a value feeds two steps, a change in it reaches the output along both paths, so its
# gradient is the **sum** of the two contributions. With $y = x \cdot x + x$ the derivative
# is $2x + 1$; at $x = 3$ that is 7: 3 + 3 from the product (one for each operand) and 1
# from the sum. The engine accumulates with `+=` for exactly this reason.

# %%
x = Value(3.0, label="x")
y = x * x + x
y.label = "y"
y.backward()
print(f"by hand 2x + 1 = {2 * 3.0 + 1}, backward() gives {x.grad}")
draw(y, rankdir="TB")

# %% [markdown]
# Because leaves accumulate, a second `backward()` adds the same gradient again (PyTorch
# behaves the same way). Training loops therefore zero the gradients before each step.

# %%
y.backward()
print(f"after a second backward(): x.grad = {x.grad}")
x.grad = 0.0

# %% [markdown]
# ## Checking a derivative with finite differences
#
# A derivative is a limit: $\frac{dy}{dx} \approx \frac{y(x + h) - y(x - h)}{2h}$ for a small
# step $h$. This **central difference** needs nothing but the function itself, so it is the
# standard way to test a gradient. How small should $h$ be? Too large and the formula's own
# error (it grows like $h^2$) dominates; too small and the two nearly equal values of $y$
# cancel and leave only rounding noise (it grows like $10^{-16} / h$).
#
# Here is the error of the central difference for $y = \tanh(x)\,e^{x}$ at $x = 0.5$ against
# the exact derivative from `backward()`, for steps from $10^{-1}$ down to $10^{-12}$.

# %%
def func(v: Value) -> Value:
    return v.tanh() * v.exp()


x = Value(0.5, label="x")
func(x).backward()
exact = x.grad
# the derivative by hand, as a check on backward() itself: (1 - tanh^2) e^x + tanh e^x
t = math.tanh(0.5)
print(f"backward(): {exact:.15f}")
print(f"by hand:    {(1 - t * t) * math.exp(0.5) + t * math.exp(0.5):.15f}")

steps = [10.0 ** -k for k in range(1, 13)]
errors = []
for h in steps:
    estimate = (func(Value(0.5 + h)).data - func(Value(0.5 - h)).data) / (2 * h)
    errors.append(abs(estimate - exact))
best = steps[errors.index(min(errors))]
print(f"the smallest error, {min(errors):.1e}, is at h = {best:.0e}")

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(steps, errors, "o-", color="#2563eb")
ax.set_xlabel("step h")
ax.set_ylabel("|central difference - backward()|")
ax.set_title("too large: formula error ~ h²; too small: rounding ~ 1e-16 / h", fontsize=9)
ax.invert_xaxis()
ax.grid(alpha=0.3, which="both")
plt.show()

# %% [markdown]
# Any step between about $10^{-4}$ and $10^{-7}$ is good here; `gradcheck` uses $10^{-6}$.
# It compares `backward()` with central differences for every input at once, returns
# `True` when they agree and otherwise raises a `GradcheckError` that lists each input
# whose gradient is off, with both numbers. Here it checks the neuron
# $\tanh(x_1 w_1 + x_2 w_2 + b)$ that the next notebook explores.

# %%
def neuron(x1: Value, x2: Value, w1: Value, w2: Value, b: Value) -> Value:
    return (x1 * w1 + x2 * w2 + b).tanh()


print(gradcheck(neuron, [2.0, 0.0, -3.0, 1.0, 6.8813735870195432]))

# %% [markdown]
# A disagreement is not always the gradient's fault. At a kink the derivative does not
# exist: $\mathrm{relu}(x) = \max(0, x)$ has slope 0 on the left of 0 and 1 on the right.
# The engine uses 0 at exactly $x = 0$, while the central difference averages the two sides
# and says 0.5, so `gradcheck` reports it. Check gradients at points away from kinks.

# %%
try:
    gradcheck(lambda v: v.relu(), [Value(0.0, label="x")])
except GradcheckError as error:
    print(error)

# %% [markdown]
# ## What to remember
#
# - A `Value` records the operation that made it; `backward()` visits the graph from the
#   output back to the inputs and multiplies local derivatives (the chain rule).
# - Gradients from different paths add up, so zero them between training steps.
# - Finite differences check any gradient where the function is smooth; a step near
#   $10^{-6}$ suits central differences.
#
# Next: [2. The explorer](02_the_explorer.ipynb) plays both passes node by node.
