"""Optimizers: SGD (with momentum) and Adam, updating p.data in place with plain floats."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

from autodiff import Value

LearningRate = float | Callable[[int], float]


def _to_float(value: Any) -> float:
    """Return float(value), or an infinity of the same sign for an int too large for a float."""
    try:
        return float(value)
    except OverflowError:  # e.g. 10 ** 400: report it as out of range, not as a crash
        return math.inf if value > 0 else -math.inf


def _check_number(name: str, value: Any, lo: float, hi: float, hint: str, hi_open: bool) -> float:
    """Return value as a float in [lo, hi) (or [lo, hi]), or raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}; {hint}.")
    number = _to_float(value)
    inside = lo <= number < hi if hi_open else lo <= number <= hi
    if not (math.isfinite(number) and inside):
        bracket = ")" if hi_open else "]"
        raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}{bracket}, got {number!r}; {hint}.")
    return number


def _check_positive(name: str, value: Any, hint: str) -> float:
    """Return value as a finite float > 0, or raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}; {hint}.")
    number = _to_float(value)
    if not (math.isfinite(number) and number > 0.0):
        raise ValueError(f"{name} must be a positive finite number, got {number!r}; {hint}.")
    return number


def _check_lr_value(lr: Any, k: int) -> float:
    """Return what a learning-rate schedule gave for step k as a float, or raise a clear error."""
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise TypeError(
            f"the learning-rate schedule returned {lr!r} at step {k}, not a number; "
            "it must return a finite number >= 0 for every step."
        )
    value = _to_float(lr)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(
            f"the learning-rate schedule returned {lr!r} at step {k}; "
            "it must return a finite number >= 0 for every step."
        )
    return value


def _check_schedule(schedule: Callable[[int], float]) -> None:
    """Call a learning-rate schedule for step 0, so a broken one fails now, not at step()."""
    try:
        lr = schedule(0)
    except Exception as error:
        kind = TypeError if isinstance(error, TypeError) else ValueError
        raise kind(
            f"lr is the callable {schedule!r}, but lr(0) raised {type(error).__name__}: {error}; "
            "a schedule must take the step index k (0, 1, 2, ...) and return the learning "
            "rate, e.g. lr=lambda k: 0.1 * 0.99 ** k."
        ) from error
    _check_lr_value(lr, 0)


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
        if callable(lr):
            _check_schedule(lr)  # calls lr(0) once, so a broken schedule fails here
        else:
            lr = _check_positive("lr", lr, "pass e.g. 0.01, or a schedule such as lambda k: 0.1")
        self.lr = lr
        self.step_count = 0

    def current_lr(self) -> float:
        """Return the learning rate the next step() will use (calling the schedule if any)."""
        if not callable(self.lr):
            return self.lr
        k = self.step_count
        return _check_lr_value(self.lr(k), k)

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its gradient."""
        raise NotImplementedError(f"{type(self).__name__} must define step().")

    def _refuse_step(self, new: list[float], lr: float, moments: list[float] | None = None) -> None:
        """Raise ValueError naming the first parameter whose update is NaN or infinite.

        step() calls this when its cheap test (the sum of the new values) is not finite,
        before it changes anything. If every value is finite after all (only the sum
        overflowed), this returns and the step goes on.
        """
        name = f"{type(self).__name__}.step"
        unchanged = "No parameter was changed."
        for i, x in enumerate(new):
            moment_ok = moments is None or moments[i] - moments[i] == 0.0
            if x - x == 0.0 and moment_ok:
                continue
            p = self.params[i]
            if p.data - p.data != 0.0:
                raise ValueError(
                    f"{name}: parameter {i} is {p.data!r} before the step, not a finite "
                    "number; it was set outside the optimizer: re-initialise the model or "
                    f"load a saved one. {unchanged}"
                )
            if p.grad - p.grad != 0.0:
                raise ValueError(
                    f"{name}: parameter {i} (value {p.data!r}) has gradient {p.grad!r}; the "
                    "loss or its backward pass is not finite: check the loss and the inputs, "
                    f"or lower the learning rate. {unchanged}"
                )
            if not moment_ok:
                raise ValueError(
                    f"{name}: parameter {i} (value {p.data!r}) has gradient {p.grad!r}, whose "
                    "square overflows the second-moment estimate; check the loss for huge "
                    f"values or scale it down. {unchanged}"
                )
            raise ValueError(
                f"{name}: the update would make parameter {i} {x!r} (value {p.data!r}, "
                f"gradient {p.grad!r}, lr {lr!r}); lower the learning rate or check the loss "
                f"for huge values. {unchanged}"
            )

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
        """Apply p.data += dw, dw = -lr * (grad + weight_decay * p.data) + momentum * dw.

        All updates are computed first; if any parameter would become NaN or infinite,
        ValueError is raised and nothing (parameters, momentum, step count) changes.
        """
        lr = self.current_lr()
        mu, wd = self.momentum, self.weight_decay
        params = self.params
        if mu:
            if wd:
                deltas = [
                    -lr * (p.grad + wd * p.data) + mu * d for p, d in zip(params, self.deltas)
                ]
            else:
                deltas = [-lr * p.grad + mu * d for p, d in zip(params, self.deltas)]
            new = [p.data + d for p, d in zip(params, deltas)]
        elif wd:
            new = [p.data - lr * (p.grad + wd * p.data) for p in params]
        else:
            new = [p.data - lr * p.grad for p in params]
        total = sum(new)  # NaN or infinite if any new value is (or, rarely, if the sum overflows)
        if total - total != 0.0:
            self._refuse_step(new, lr)
        for p, x in zip(params, new):
            p.data = x
        if mu:
            self.deltas[:] = deltas
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
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(
                f"betas must be a pair of numbers, got {betas!r}; pass a tuple or list of "
                "two numbers such as betas=(0.9, 0.999)."
            )
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
        """Apply one Adam update to every parameter.

        All updates are computed first; if any parameter (or second moment) would become
        NaN or infinite, ValueError is raised and nothing (parameters, moments, step count)
        changes.
        """
        lr = self.current_lr()
        b1, b2 = self.betas
        eps, wd = self.eps, self.weight_decay
        t = self.step_count + 1
        # bias correction: the moments start at zero, so early estimates are scaled up
        c1 = 1.0 - b1**t
        c2 = 1.0 - b2**t
        a1, a2 = 1.0 - b1, 1.0 - b2
        sqrt = math.sqrt
        params = self.params
        grads = [p.grad + wd * p.data for p in params] if wd else [p.grad for p in params]
        m = [b1 * mi + a1 * g for mi, g in zip(self.m, grads)]
        v = [b2 * vi + a2 * g * g for vi, g in zip(self.v, grads)]
        new = [p.data - lr * (mi / c1) / (sqrt(vi / c2) + eps) for p, mi, vi in zip(params, m, v)]
        total = sum(new) + sum(v)  # NaN or infinite if any of them is (or the sum overflows)
        if total - total != 0.0:
            self._refuse_step(new, lr, v)
        for p, x in zip(params, new):
            p.data = x
        self.m[:] = m
        self.v[:] = v
        self.step_count += 1
