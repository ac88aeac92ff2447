"""The benchmarks' floor: the same steps written by hand with plain floats and lists.

No graph objects, no checks: the forward pass, the chain rule worked out on
paper, and the update, written the way one would write them fast in pure
CPython (dot products as sum(map(mul, ...)); the weight gradients summed over
the examples at the end, as one product of the stored inputs and gradients).
An engine's time divided by the floor's is what its generality costs.

- FloorMoons: the moons training step of benchmarks/run.py (MLP with relu
  hidden layers and a linear output, max-margin loss mean + alpha * L2 of all
  parameters, backward, SGD with lr = 1 - 0.9 k / 100).
- expression_floor: micrograd's README expression g(a, b) and its gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from operator import add, mul


def _relu(s: float) -> float:
    return s if s > 0.0 else 0.0


class FloorMoons:
    """The moons step on weights given in nn.MLP.parameters() order (per neuron: w..., b)."""

    name = "floor"

    def __init__(self, weights: Sequence[float], sizes: Sequence[int], alpha: float) -> None:
        if len(sizes) < 2:
            raise ValueError(f"sizes {list(sizes)!r} needs an input width and at least one layer.")
        expected = sum((nin + 1) * nout for nin, nout in zip(sizes, sizes[1:]))
        if len(weights) != expected:
            raise ValueError(
                f"an MLP of sizes {list(sizes)!r} has {expected} parameters, got {len(weights)} "
                "weights; pass [p.data for p in model.parameters()]."
            )
        self.sizes = list(sizes)
        self.alpha = alpha
        self.k = 0  # step count, for the learning-rate schedule
        # per layer: W[j] = neuron j's input weights, B[j] = its bias
        self.W: list[list[list[float]]] = []
        self.B: list[list[float]] = []
        it = iter(weights)
        for nin, nout in zip(sizes, sizes[1:]):
            W, B = [], []
            for _ in range(nout):
                W.append([float(next(it)) for _ in range(nin)])
                B.append(float(next(it)))
            self.W.append(W)
            self.B.append(B)

    def parameters(self) -> list[float]:
        """The weights in nn.MLP.parameters() order."""
        return [p for W, B in zip(self.W, self.B) for w, b in zip(W, B) for p in (*w, b)]

    def loss_and_grads(
        self, X: Sequence[Sequence[float]], y: Sequence[float]
    ) -> tuple[float, list[list[list[float]]], list[list[float]]]:
        """The loss and its gradient with respect to every W and B (same shapes)."""
        Ws, Bs = self.W, self.B
        last = len(Ws) - 1
        # columns of each weight matrix, for pushing a gradient back to the layer's inputs
        Wt = [[list(col) for col in zip(*W)] for W in Ws]
        inv_n = 1.0 / len(X)
        total = 0.0
        # per layer, for every example with a nonzero gradient: the layer's input and
        # d loss / d its outputs; dW is then sum over examples of d_j * input_k
        inputs: list[list[Sequence[float]]] = [[] for _ in Ws]
        douts: list[list[list[float]]] = [[] for _ in Ws]
        for x, yi in zip(X, y):
            acts: list[Sequence[float]] = [x]  # the input of each layer
            h: Sequence[float] = x
            for i, (W, B) in enumerate(zip(Ws, Bs)):
                pre = [sum(map(mul, w, h), b) for w, b in zip(W, B)]
                h = pre if i == last else [_relu(s) for s in pre]
                acts.append(h)
            margin = h[0] * -yi + 1.0
            if margin <= 0.0:
                continue  # relu(margin) is 0 here and so is its gradient
            total += margin
            d = [-yi * inv_n]  # d loss / d output
            for i in range(last, -1, -1):
                inp = acts[i]
                inputs[i].append(inp)
                douts[i].append(d)
                if i:  # back through the layer's weights, then the relu below it
                    d = [sum(map(mul, col, d)) if a > 0.0 else 0.0 for col, a in zip(Wt[i], inp)]
        flat = self.parameters()
        loss = total * inv_n + self.alpha * sum(map(mul, flat, flat), 0.0)
        two_alpha = 2.0 * self.alpha  # d (alpha * p * p) / dp
        gW: list[list[list[float]]] = []
        gB: list[list[float]] = []
        for W, B, ins, ds in zip(Ws, Bs, inputs, douts):
            in_cols = list(zip(*ins)) or [()] * len(W[0])  # per input k: its value per example
            d_cols = list(zip(*ds)) or [()] * len(W)  # per neuron j: its gradient per example
            gW.append(
                [
                    [sum(map(mul, dj, ik)) + two_alpha * wk for ik, wk in zip(in_cols, w)]
                    for dj, w in zip(d_cols, W)
                ]
            )
            gB.append([sum(dj) + two_alpha * b for dj, b in zip(d_cols, B)])
        return loss, gW, gB

    def flat_grads(
        self, X: Sequence[Sequence[float]], y: Sequence[float]
    ) -> tuple[float, list[float]]:
        """The loss and the gradient in nn.MLP.parameters() order."""
        loss, gW, gB = self.loss_and_grads(X, y)
        return loss, [g for W, B in zip(gW, gB) for w, b in zip(W, B) for g in (*w, b)]

    def step(self, X: Sequence[Sequence[float]], y: Sequence[float]) -> float:
        """One training step: loss, gradient, SGD update; returns the loss before the update."""
        loss, gW, gB = self.loss_and_grads(X, y)
        lr = 1.0 - 0.9 * self.k / 100
        neg_lr = -lr
        for W, B, gWi, gBi in zip(self.W, self.B, gW, gB):
            for j, (w, g) in enumerate(zip(W, gWi)):
                W[j] = list(map(add, w, map(mul, g, repeat(neg_lr))))
                B[j] -= lr * gBi[j]
        self.k += 1
        return loss


def expression_floor(a: float, b: float) -> tuple[float, float, float]:
    """micrograd's README expression g(a, b) and (dg/da, dg/db), by hand."""
    # forward, naming every intermediate (c += x is c = c + x)
    c1 = a + b
    d1 = a * b + b**3
    c2 = c1 + (c1 + 1.0)
    c3 = c2 + (1.0 + c2 + -a)
    s1 = b + a
    d2 = d1 + (d1 * 2.0 + _relu(s1))
    s2 = b - a
    d3 = d2 + (3.0 * d2 + _relu(s2))
    e = c3 - d3
    f = e * e
    g = f / 2.0 + 10.0 / f
    # backward, one line per step of the chain rule
    df = 0.5 - 10.0 / (f * f)
    de = df * 2.0 * e
    dc3, dd3 = de, -de
    dd2 = dd3 * 4.0  # d3 = d2 + 3 d2 + relu(s2)
    ds2 = dd3 if s2 > 0.0 else 0.0
    dd1 = dd2 * 3.0  # d2 = d1 + 2 d1 + relu(s1)
    ds1 = dd2 if s1 > 0.0 else 0.0
    dc2 = dc3 * 2.0  # c3 = c2 + 1 + c2 - a
    dc1 = dc2 * 2.0  # c2 = c1 + c1 + 1
    da = dc1 - dc3 + ds1 - ds2 + dd1 * b
    db = dc1 + ds1 + ds2 + dd1 * (a + 3.0 * b * b)
    return g, da, db
