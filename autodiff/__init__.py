"""autodiff: a scalar reverse-mode automatic differentiation engine."""

# The one place the version is written (pyproject.toml reads it; see CHANGELOG.md).
__version__ = "0.2.0.dev0"

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
from autodiff.graph import GraphCycleError, NonFiniteGradientError, topological_order
from autodiff.higher_order import hessian, hvp, jacobian, jvp
from autodiff.trace import StaleTraceError, trace

__all__ = [
    "GradcheckError",
    "GraphCycleError",
    "NonFiniteGradientError",
    "StaleTraceError",
    "Value",
    "dot",
    "draw",
    "explore",
    "grad",
    "gradcheck",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "log_softmax",
    "logsumexp",
    "no_grad",
    "render",
    "softmax",
    "sum_values",
    "to_dot",
    "topological_order",
    "trace",
]
