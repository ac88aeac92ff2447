"""autodiff: a scalar reverse-mode automatic differentiation engine."""
