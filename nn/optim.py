"""Optimizers: SGD (with momentum) and Adam, updating p.data in place with plain floats."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

from autodiff import Value

LearningRate = float | Callable[[int], float]


def _check_number(name: str, value: Any, lo: float, hi: float, hint: str, hi_open: bool) -> float:
    """Return value as a float in [lo, hi) (or [lo, hi]), or raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}; {hint}.")
    value = float(value)
    inside = lo <= value < hi if hi_open else lo <= value <= hi
    if not (math.isfinite(value) and inside):
        bracket = ")" if hi_open else "]"
        raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}{bracket}, got {value!r}; {hint}.")
    return value


def _check_positive(name: str, value: Any, hint: str) -> float:
    """Return value as a finite float > 0, or raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}; {hint}.")
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}; {hint}.")
    return value


def _check_params(params: Iterable[Value]) -> list[Value]:
    """Return params as a list of distinct Values, or raise a clear error."""
    if isinstance(params, Value):
        raise TypeError("params must be a list of Values, not one Value; pass [value].")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(
            f"params must be a list of Values, got {params!r}; pass model.parameters()."
        ) from None
    if not params:
        raise ValueError("params is empty; pass model.parameters() of a model with weights.")
    seen = set()
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"params[{i}] is {p!r}, not a Value; pass model.parameters().")
        if p in seen:
            raise ValueError(
                f"params[{i}] ({p!r}) appears twice, so it would be updated twice per step; "
                "pass each parameter once."
            )
        seen.add(p)
    return params


class Optimizer:
    """Base class: holds the parameters, the learning rate (or schedule) and the step count."""

    def __init__(self, params: Iterable[Value], lr: LearningRate) -> None:
        self.params = _check_params(params)
        if not callable(lr):
            lr = _check_positive("lr", lr, "pass e.g. 0.01, or a schedule such as lambda k: 0.1")
        self.lr = lr
        self.step_count = 0

    def current_lr(self) -> float:
        """Return the learning rate the next step() will use (calling the schedule if any)."""
        if not callable(self.lr):
            return self.lr
        k = self.step_count
        lr = self.lr(k)
        if (
            isinstance(lr, bool)
            or not isinstance(lr, numbers.Real)
            or not (math.isfinite(lr) and lr >= 0.0)
        ):
            raise ValueError(
                f"the learning-rate schedule returned {lr!r} at step {k}; "
                "it must return a finite number >= 0 for every step."
            )
        return float(lr)

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its gradient."""
        raise NotImplementedError(f"{type(self).__name__} must define step().")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr!r})"


class SGD(Optimizer):
    """Stochastic gradient descent; with momentum, dw(t) = -lr * dE/dw + momentum * dw(t-1)."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: LearningRate,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _check_number(
            "momentum", momentum, 0.0, 1.0, "pass e.g. 0.9, or 0 for plain SGD", hi_open=True
        )
        self.weight_decay = _check_number(
            "weight_decay", weight_decay, 0.0, math.inf, "pass e.g. 1e-4, or 0", hi_open=False
        )
        self.deltas = [0.0] * len(self.params)  # dw(t-1) for each parameter

    def step(self) -> None:
        """Apply p.data += dw, dw = -lr * (grad + weight_decay * p.data) + momentum * dw."""
        lr = self.current_lr()
        mu, wd = self.momentum, self.weight_decay
        deltas = self.deltas
        for i, p in enumerate(self.params):
            g = p.grad + wd * p.data if wd else p.grad
            if mu:
                d = -lr * g + mu * deltas[i]
                deltas[i] = d
                p.data += d
            else:
                p.data -= lr * g
        self.step_count += 1


class Adam(Optimizer):
    """Adam (Kingma and Ba) with bias correction; weight_decay adds an L2 term to the gradient."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise TypeError(f"betas must be a pair of numbers, got {betas!r}; pass (0.9, 0.999).")
        self.betas = (
            _check_number("betas[0]", betas[0], 0.0, 1.0, "pass e.g. 0.9", hi_open=True),
            _check_number("betas[1]", betas[1], 0.0, 1.0, "pass e.g. 0.999", hi_open=True),
        )
        self.eps = _check_positive("eps", eps, "pass e.g. 1e-8")
        self.weight_decay = _check_number(
            "weight_decay", weight_decay, 0.0, math.inf, "pass e.g. 1e-4, or 0", hi_open=False
        )
        self.m = [0.0] * len(self.params)  # first-moment estimates
        self.v = [0.0] * len(self.params)  # second-moment estimates

    def step(self) -> None:
        """Apply one Adam update to every parameter."""
        lr = self.current_lr()
        b1, b2 = self.betas
        eps, wd = self.eps, self.weight_decay
        t = self.step_count + 1
        # bias correction: the moments start at zero, so early estimates are scaled up
        c1 = 1.0 - b1**t
        c2 = 1.0 - b2**t
        m, v = self.m, self.v
        for i, p in enumerate(self.params):
            g = p.grad + wd * p.data if wd else p.grad
            m[i] = b1 * m[i] + (1.0 - b1) * g
            v[i] = b2 * v[i] + (1.0 - b2) * g * g
            p.data -= lr * (m[i] / c1) / (math.sqrt(v[i] / c2) + eps)
        self.step_count += 1
