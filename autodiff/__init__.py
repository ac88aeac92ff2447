"""autodiff: a scalar reverse-mode automatic differentiation engine."""

from autodiff.checks import GradcheckError, gradcheck
from autodiff.drawing import draw, render, to_dot
from autodiff.engine import (
    Value,
    dot,
    log_softmax,
    logsumexp,
    no_grad,
    softmax,
    sum_values,
)
from autodiff.explorer import explore
from autodiff.gradients import grad
from autodiff.graph import GraphCycleError, topological_order

__all__ = [
    "GradcheckError",
    "GraphCycleError",
    "Value",
    "dot",
    "draw",
    "explore",
    "grad",
    "gradcheck",
    "log_softmax",
    "logsumexp",
    "no_grad",
    "render",
    "softmax",
    "sum_values",
    "to_dot",
    "topological_order",
]
