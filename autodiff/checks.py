"""Gradient checking: backward against central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autodiff.engine import Value, _real
from autodiff.gradients import grad


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when analytic and numeric gradients disagree."""


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float | Value],
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    raise_exception: bool = True,
) -> bool:
    """Check backward of `f(*inputs)` against central differences; True if all agree.

    `f` takes one Value per input and returns a Value. Each input i passes
    when |analytic - numeric| <= atol + rtol * |numeric|, with numeric =
    (f(x + eps e_i) - f(x - eps e_i)) / (2 eps). On a mismatch a
    GradcheckError lists every failing input with both values (or, with
    raise_exception=False, False is returned).
    """
    for name, v in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if _real(v, f"gradcheck {name}") < 0 or (name == "eps" and v == 0):
            raise ValueError(f"gradcheck {name} must be positive, got {v!r}")
    points = [_real(x.data if isinstance(x, Value) else x, "gradcheck input") for x in inputs]
    labels = [x.label if isinstance(x, Value) else "" for x in inputs]

    def evaluate(xs: list[float]) -> Value:
        out = f(*[Value(x, label) for x, label in zip(xs, labels)])
        if not isinstance(out, Value):
            raise TypeError(
                f"gradcheck: f must return a Value, got {out!r} ({type(out).__name__})"
            )
        return out

    leaves = [Value(x, label) for x, label in zip(points, labels)]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {out!r} ({type(out).__name__})")
    analytic = grad(out, leaves)

    failures = []
    for i, a in enumerate(analytic):
        up = list(points)
        down = list(points)
        up[i] += eps
        down[i] -= eps
        numeric = (evaluate(up).data - evaluate(down).data) / (2 * eps)
        if not abs(a - numeric) <= atol + rtol * abs(numeric):
            name = f"input {i}" + (f" ({labels[i]!r})" if labels[i] else "")
            failures.append(
                f"  {name} at {points[i]!r}: analytic {a!r}, numeric {numeric!r}, "
                f"difference {a - numeric:.3g}"
            )
    if not failures:
        return True
    if raise_exception:
        raise GradcheckError(
            f"gradcheck: {len(failures)} of {len(points)} gradients disagree with central "
            f"differences (eps={eps}, atol={atol}, rtol={rtol}):\n" + "\n".join(failures)
        )
    return False
