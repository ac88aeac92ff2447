"""Loss functions: each takes a batch of predictions and targets and returns one Value (the mean).

Every loss also accepts a single prediction with a single target, and builds as few
nodes as it can: the per-example terms are combined by one n-ary node.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from autodiff import Value, dot, sum_values
from autodiff.engine import log_softmax_at

Number = float | int


def _as_value(name: str, i: int, p: Any) -> Value:
    """Return p as a Value (plain numbers become constants), or raise a clear error."""
    if isinstance(p, Value):
        return p
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(
            f"{name}: prediction {i} is {p!r}; pass Values (or plain numbers) as predictions."
        )
    return Value(float(p))


def _as_target(name: str, i: int, t: Any, lo: float = -math.inf, hi: float = math.inf) -> float:
    """Return t as a float in [lo, hi], or raise a clear error."""
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise TypeError(f"{name}: target {i} is {t!r}; pass plain numbers as targets.")
    try:
        number = float(t)
    except OverflowError:  # an int such as 10 ** 400
        raise ValueError(
            f"{name}: target {i} is an integer too large for a float; targets must be "
            "finite numbers."
        ) from None
    if not math.isfinite(number):
        raise ValueError(f"{name}: target {i} is {number!r}; targets must be finite numbers.")
    if not lo <= number <= hi:
        raise ValueError(f"{name}: target {i} is {number!r}; it must lie in [{lo:g}, {hi:g}].")
    return number


def _pair(name: str, preds: Any, targets: Any) -> tuple[list[Any], list[Any]]:
    """Return preds and targets as two lists of the same non-zero length, or raise."""
    if isinstance(preds, (Value, numbers.Real)):
        preds = [preds]
        if isinstance(targets, (Value, numbers.Real)):
            targets = [targets]
    for what, seq in (("predictions", preds), ("targets", targets)):
        if isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence):
            raise TypeError(
                f"{name}: {what} must be a list, got {seq!r}; pass one entry per example."
            )
    if len(preds) != len(targets):
        raise ValueError(
            f"{name} got {len(preds)} predictions and {len(targets)} targets; "
            "pass one target per prediction."
        )
    if not preds:
        raise ValueError(f"{name} got no predictions; pass at least one example.")
    return list(preds), list(targets)


def mse(preds: Sequence[Value] | Value, targets: Sequence[Number | Value] | Number) -> Value:
    """Mean squared error: mean((p - t) ** 2)."""
    preds, targets = _pair("mse", preds, targets)
    diffs = []
    for i, (p, t) in enumerate(zip(preds, targets)):
        if not isinstance(t, Value):
            t = _as_target("mse", i, t)
        diffs.append(_as_value("mse", i, p) - t)
    # sum of squares as one node: dot(d, d) gives each d the gradient 2 d
    return dot(diffs, diffs) * (1.0 / len(diffs))


def bce(
    probs: Sequence[Value] | Value, targets: Sequence[Number] | Number, eps: float = 1e-7
) -> Value:
    """Binary cross-entropy from probabilities in [0, 1], clipped to [eps, 1 - eps]."""
    probs, targets = _pair("bce", probs, targets)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(
            f"bce: eps must be a number, got {eps!r}; pass a small positive number such as 1e-7."
        )
    if not 0.0 < eps < 0.5:  # also refuses NaN
        raise ValueError(
            f"bce: eps is {eps!r}; pass a small positive number below 0.5 such as 1e-7."
        )
    n = len(probs)
    logs, coefs = [], []
    const = 0.0  # contribution of clipped terms, which carry no gradient (as in Keras)
    for i, (p, y) in enumerate(zip(probs, targets)):
        p = _as_value("bce", i, p)
        y = _as_target("bce", i, y, 0.0, 1.0)
        if not 0.0 <= p.data <= 1.0:
            raise ValueError(
                f"bce: prediction {i} is {p.data!r}, not a probability in [0, 1]; "
                "apply sigmoid() first, or pass the raw scores to bce_with_logits."
            )
        # -[y log p + (1 - y) log(1 - p)], skipping a term whose weight is 0
        if y > 0.0:
            if p.data < eps:
                const -= y * math.log(eps)
            else:
                logs.append(p.log())
                coefs.append(-y / n)
        if y < 1.0:
            if p.data > 1.0 - eps:
                const -= (1.0 - y) * math.log(eps)
            else:
                logs.append((1.0 - p).log())
                coefs.append(-(1.0 - y) / n)
    if not logs:
        return Value(const / n)
    loss = dot(logs, coefs)
    return loss + const / n if const else loss


def bce_with_logits(logits: Sequence[Value] | Value, targets: Sequence[Number] | Number) -> Value:
    """Binary cross-entropy from raw scores: mean(softplus(z) - y z), stable for any z."""
    logits, targets = _pair("bce_with_logits", logits, targets)
    n = len(logits)
    zs = [_as_value("bce_with_logits", i, z) for i, z in enumerate(logits)]
    ys = [_as_target("bce_with_logits", i, y, 0.0, 1.0) for i, y in enumerate(targets)]
    # one node for mean(softplus(z)) - mean(y z)
    terms = [z.softplus() for z in zs] + zs
    weights = [1.0 / n] * n + [-y / n for y in ys]
    return dot(terms, weights)


def hinge(scores: Sequence[Value] | Value, targets: Sequence[Number] | Number) -> Value:
    """Max-margin loss for labels -1/+1: mean(relu(1 - y * score)), as in micrograd's demo."""
    scores, targets = _pair("hinge", scores, targets)
    margins = []
    for i, (s, y) in enumerate(zip(scores, targets)):
        y = _as_target("hinge", i, y)
        if y not in (-1.0, 1.0):
            raise ValueError(
                f"hinge: target {i} is {y!r}; labels must be -1 or +1 "
                "(convert 0/1 labels with y * 2 - 1)."
            )
        margins.append((_as_value("hinge", i, s) * -y + 1.0).relu())
    return sum_values(margins) * (1.0 / len(margins))


def softmax_cross_entropy(
    logits: Sequence[Sequence[Value]] | Sequence[Value], targets: Sequence[int] | int
) -> Value:
    """Mean cross-entropy of softmax(logits) against integer classes: mean(-log_softmax(z)[t])."""
    given: Any = logits, targets
    if isinstance(targets, numbers.Integral) and not isinstance(targets, bool):
        given = [logits], [targets]
    rows, classes = _pair("softmax_cross_entropy", *given)
    n = len(rows)
    k = None
    picks = []
    for i, (row, t) in enumerate(zip(rows, classes)):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise TypeError(
                f"softmax_cross_entropy: logits {i} is {row!r}, not a list; pass one list "
                "of class scores per example."
            )
        if not row:
            raise ValueError(
                f"softmax_cross_entropy: logits {i} is {row!r}, an empty list; pass one "
                "score per class (at least one) for every example."
            )
        if k is None:
            k = len(row)
        elif len(row) != k:
            raise ValueError(
                f"softmax_cross_entropy: logits {i} has {len(row)} scores but logits 0 has {k}; "
                "every example needs one score per class."
            )
        if isinstance(t, bool) or not isinstance(t, numbers.Integral):
            raise TypeError(
                f"softmax_cross_entropy: target {i} is {t!r}; pass the class index as an int."
            )
        index = int(t)
        if not 0 <= index < k:
            raise ValueError(
                f"softmax_cross_entropy: target {i} is {t!r}, outside the {k} classes; "
                f"use a class index from 0 to {k - 1}."
            )
        row = [_as_value("softmax_cross_entropy", i, z) for z in row]
        # -log_softmax(row)[t], without building k nodes and without the cancellation
        # of logsumexp(row) - row[t] when the logits are huge
        picks.append(log_softmax_at(row, index))
    return dot(picks, [-1.0 / n] * n)


def l2(params: Sequence[Value]) -> Value:
    """L2 penalty: the sum of p * p over params, as one node (scale it yourself)."""
    if isinstance(params, Value) or not isinstance(params, Sequence):
        raise TypeError(f"l2 expects a list of Values, got {params!r}; pass model.parameters().")
    if not params:
        raise ValueError("l2 got an empty parameter list; pass model.parameters().")
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"l2: parameter {i} is {p!r}, not a Value; pass model.parameters().")
    return dot(params, params)
