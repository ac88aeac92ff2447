"""The benchmarked workloads, one adapter per engine, all from the same weights and inputs.

Engines: "ours" (the working tree's autodiff), "base" (an older commit's, see
baseline.py), micrograd 0.1.0, PyTorch scalar autograd (one 0-d float64 tensor
op per scalar op), the hand-written "floor" (floor.py) and "compiled"
(autodiff.trace, issue 14, when it exists). Each moons adapter has
step(X, y) (one training step) and flat_grads(X, y) (loss and gradients
before any update) so run.py can check they agree before timing them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, cast

from floor import FloorMoons, expression_floor

import autodiff
import nn

SIZES = [2, 16, 16, 1]
ALPHA = 1e-4
SEED = 1337
EXPRESSION_INPUTS = (-4.0, 2.0)
# micrograd's README prints these for the expression's gradient
EXPRESSION_README_GRADS = (138.8338, 645.5773)


def moons_data() -> tuple[list[list[float]], list[float]]:
    X, y = nn.datasets.make_moons(n=100, noise=0.1, seed=1)
    return [list(x) for x in X], [2.0 * label - 1.0 for label in y]  # labels -1/+1 as in micrograd


def reference_weights() -> list[float]:
    """The weights of our MLP(2, [16, 16, 1], seed=1337), in micrograd's parameter order too."""
    return [p.data for p in nn.MLP(SIZES[0], SIZES[1:], seed=SEED).parameters()]


def lr_at(k: int) -> float:
    return 1.0 - 0.9 * k / 100


# ---------------------------------------------------------------------------
# The moons step


class AutodiffMoons:
    """The moons step with an autodiff/nn pair of packages (ours or a base commit's)."""

    def __init__(self, nn_pkg: ModuleType, weights: Sequence[float], name: str = "ours") -> None:
        self.name = name
        self.nn = nn_pkg
        self.model = nn_pkg.MLP(SIZES[0], SIZES[1:], seed=SEED)
        self.params: list[Any] = self.model.parameters()
        for p, w in zip(self.params, weights, strict=True):
            p.data = w
        self.optimizer = nn_pkg.SGD(self.params, lr=lr_at)

    def loss(self, X: Sequence[Sequence[float]], y: Sequence[float]) -> Any:
        losses = self.nn.losses
        scores = [self.model(x) for x in X]
        return losses.hinge(scores, y) + ALPHA * losses.l2(self.params)

    def step(self, X: Sequence[Sequence[float]], y: Sequence[float]) -> Any:
        loss = self.loss(X, y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss

    def flat_grads(
        self, X: Sequence[Sequence[float]], y: Sequence[float]
    ) -> tuple[float, list[float]]:
        loss = self.loss(X, y)
        self.optimizer.zero_grad()
        loss.backward()
        return float(loss.data), [p.grad for p in self.params]


class CompiledMoons(AutodiffMoons):
    """Our moons step traced once with autodiff.trace (issue 14) and replayed."""

    def __init__(self, weights: Sequence[float]) -> None:
        super().__init__(nn, weights, name="compiled")
        X, y = moons_data()
        self.replay = trace_function()(lambda: self.loss(X, y), inputs=self.params)

    def step(self, X: Sequence[Sequence[float]], y: Sequence[float]) -> float:
        self.optimizer.zero_grad()
        loss = self.replay()
        self.optimizer.step()
        return loss

    def flat_grads(
        self, X: Sequence[Sequence[float]], y: Sequence[float]
    ) -> tuple[float, list[float]]:
        self.optimizer.zero_grad()
        loss = self.replay()
        return float(loss), [p.grad for p in self.params]


class MicrogradMoons:
    name = "micrograd"

    def __init__(self, weights: Sequence[float]) -> None:
        import micrograd.engine
        import micrograd.nn

        self.Value = micrograd.engine.Value
        self.model = micrograd.nn.MLP(SIZES[0], SIZES[1:])
        for p, w in zip(self.model.parameters(), weights, strict=True):
            p.data = w
        self.k = 0

    def loss(self, X: Sequence[Sequence[float]], y: Sequence[float]) -> Any:
        V = self.Value
        scores = [self.model([V(a) for a in x]) for x in X]
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / len(X))
        reg_loss = ALPHA * sum(p * p for p in self.model.parameters())
        return data_loss + reg_loss

    def step(self, X: Sequence[Sequence[float]], y: Sequence[float]) -> Any:
        loss = self.loss(X, y)
        self.model.zero_grad()
        loss.backward()
        lr = lr_at(self.k)
        for p in self.model.parameters():
            p.data -= lr * p.grad
        self.k += 1
        return loss

    def flat_grads(
        self, X: Sequence[Sequence[float]], y: Sequence[float]
    ) -> tuple[float, list[float]]:
        loss = self.loss(X, y)
        self.model.zero_grad()
        loss.backward()
        return float(loss.data), [p.grad for p in self.model.parameters()]


class TorchMoons:
    """PyTorch scalar autograd: one 0-d float64 tensor op per scalar op."""

    name = "torch"

    def __init__(self, weights: Sequence[float]) -> None:
        import torch

        self.torch = torch
        it = iter(weights)
        self.layers: list[list[tuple[list[Any], Any]]] = []
        for nin, nout in zip(SIZES, SIZES[1:]):
            layer = []
            for _ in range(nout):
                w = [self._param(next(it)) for _ in range(nin)]
                layer.append((w, self._param(next(it))))
            self.layers.append(layer)
        self.params = [p for layer in self.layers for w, b in layer for p in (*w, b)]
        self.k = 0

    def _param(self, x: float) -> Any:
        return self.torch.tensor(x, dtype=self.torch.float64, requires_grad=True)

    def _forward(self, x: list[Any]) -> Any:
        for i, layer in enumerate(self.layers):
            out = []
            for w, b in layer:
                act = b
                for wi, xi in zip(w, x):
                    act = act + wi * xi
                out.append(act.relu() if i < len(self.layers) - 1 else act)
            x = out
        return x[0]

    def loss(self, X: Sequence[Sequence[float]], y: Sequence[float]) -> Any:
        t, f64 = self.torch.tensor, self.torch.float64
        scores = [self._forward([t(a, dtype=f64) for a in x]) for x in X]
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / len(X))
        return data_loss + ALPHA * sum(p * p for p in self.params)

    def step(self, X: Sequence[Sequence[float]], y: Sequence[float]) -> Any:
        loss = self.loss(X, y)
        for p in self.params:
            p.grad = None
        loss.backward()
        lr = lr_at(self.k)
        with self.torch.no_grad():
            for p in self.params:
                p -= lr * p.grad
        self.k += 1
        return loss

    def flat_grads(
        self, X: Sequence[Sequence[float]], y: Sequence[float]
    ) -> tuple[float, list[float]]:
        loss = self.loss(X, y)
        for p in self.params:
            p.grad = None
        loss.backward()
        return float(loss.item()), [float(p.grad.item()) for p in self.params]


def floor_moons(weights: Sequence[float]) -> FloorMoons:
    return FloorMoons(weights, SIZES, ALPHA)


# ---------------------------------------------------------------------------
# micrograd's README expression


def expression(a: Any, b: Any) -> Any:
    """g(a, b) from micrograd's README, for any Value-like class (c += x written c = c + x)."""
    c = a + b
    d = a * b + b**3
    c = c + (c + 1)
    c = c + (1 + c + (-a))
    d = d + (d * 2 + (b + a).relu())
    d = d + (3 * d + (b - a).relu())
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    return g


def value_expression(value_cls: Any) -> Callable[[], tuple[float, float, float]]:
    """Build g from fresh leaves and backpropagate; returns (g, dg/da, dg/db)."""
    a0, b0 = EXPRESSION_INPUTS

    def run() -> tuple[float, float, float]:
        a, b = value_cls(a0), value_cls(b0)
        g = expression(a, b)
        g.backward()
        return float(g.data), a.grad, b.grad

    return run


def torch_expression() -> Callable[[], tuple[float, float, float]]:
    import torch

    a0, b0 = EXPRESSION_INPUTS

    def run() -> tuple[float, float, float]:
        a = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
        g = expression(a, b)
        g.backward()
        da, db = a.grad, b.grad
        if da is None or db is None:
            raise RuntimeError("torch left a gradient unset")
        return float(g.item()), float(da.item()), float(db.item())

    return run


def compiled_expression() -> Callable[[], tuple[float, float, float]]:
    """The expression traced once with autodiff.trace; each call zeroes the grads and replays."""
    a, b = autodiff.Value(EXPRESSION_INPUTS[0]), autodiff.Value(EXPRESSION_INPUTS[1])
    replay = trace_function()(lambda: expression(a, b), inputs=[a, b])

    def run() -> tuple[float, float, float]:
        a.grad = 0.0
        b.grad = 0.0
        g = replay()
        return float(g), a.grad, b.grad

    return run


def floor_expression() -> Callable[[], tuple[float, float, float]]:
    a0, b0 = EXPRESSION_INPUTS
    return lambda: expression_floor(a0, b0)


def has_trace() -> bool:
    return callable(getattr(autodiff, "trace", None))


def trace_function() -> Callable[..., Callable[[], float]]:
    """autodiff.trace (issue 14), or a clear error while it does not exist."""
    trace = getattr(autodiff, "trace", None)
    if not callable(trace):
        raise RuntimeError("autodiff.trace does not exist yet (issue 14); no compiled row.")
    return cast(Callable[..., Callable[[], float]], trace)
