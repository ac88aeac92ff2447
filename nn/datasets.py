"""Toy 2-D classification datasets as plain lists, seeded, with no third-party dependency.

Each generator returns (X, y): X a list of [x1, x2] floats and y a list of int labels.
Points are laid out by the usual formula, then Gaussian noise is added, then the
examples are shuffled, all with a random.Random(seed) of their own.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Iterable
from typing import Any

Dataset = tuple[list[list[float]], list[int]]


def _check_args(name: str, n: Any, noise: Any, seed: Any, min_n: int) -> None:
    """Raise a clear error unless n is an int >= min_n, noise >= 0 and seed an int."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name}: n must be an int, got {n!r}; pass e.g. n=100.")
    if n < min_n:
        raise ValueError(f"{name}: n is {n!r}, but at least {min_n} points are needed.")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise TypeError(f"{name}: noise must be a number, got {noise!r}; pass e.g. noise=0.1.")
    try:
        value = float(noise)
    except OverflowError:  # an int such as 10 ** 400
        value = math.inf
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name}: noise is {noise!r}; pass a finite number >= 0.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{name}: seed must be an int, got {seed!r}; pass e.g. seed=0.")


def _linspace(start: float, stop: float, n: int, endpoint: bool = True) -> list[float]:
    """Return n evenly spaced floats from start to stop (stop included if endpoint)."""
    if n == 1:
        return [start]
    steps = n - 1 if endpoint else n
    return [start + (stop - start) * i / steps for i in range(n)]


def _finish(
    name: str, points: list[tuple[float, float, int]], noise: float, rng: random.Random
) -> Dataset:
    """Add Gaussian noise to every point, shuffle, and split into (X, y)."""
    data = [
        ([x1 + rng.gauss(0.0, noise), x2 + rng.gauss(0.0, noise)], label)
        for x1, x2, label in points
    ]
    _check_finite(name, noise, (v for x, _ in data for v in x))
    rng.shuffle(data)
    return [x for x, _ in data], [label for _, label in data]


def _check_finite(name: str, noise: float, values: Iterable[float]) -> None:
    """Raise a clear ValueError naming noise if any generated number is inf or NaN."""
    # Gaussian draws reach about 8.6 standard deviations, so a noise near the top of
    # the float range can overflow; checking the results is exact where a bound is not.
    if not all(map(math.isfinite, values)):
        raise ValueError(
            f"{name}: noise={noise!r} is so large that some points are not finite numbers; "
            "pass a noise of at most 1e300 (the points lie within about 1 of the origin, "
            "so noise=0.1 is a typical choice)."
        )


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles: label 0 on (cos t, sin t), 1 on (1 - cos t, 0.5 - sin t)."""
    _check_args("make_moons", n, noise, seed, 2)
    n_outer = n // 2
    n_inner = n - n_outer
    outer = [(math.cos(t), math.sin(t), 0) for t in _linspace(0.0, math.pi, n_outer)]
    inner = [
        (1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5, 1) for t in _linspace(0.0, math.pi, n_inner)
    ]
    return _finish("make_moons", outer + inner, noise, random.Random(seed))


def make_circles(n: int = 100, noise: float = 0.1, factor: float = 0.5, seed: int = 0) -> Dataset:
    """A unit circle (label 0) around a smaller circle of radius factor (label 1)."""
    _check_args("make_circles", n, noise, seed, 2)
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
        raise TypeError(
            f"make_circles: factor must be a number, got {factor!r}; "
            "pass the inner radius as a number in (0, 1) such as factor=0.5."
        )
    if not 0 < factor < 1:  # also refuses NaN
        raise ValueError(
            f"make_circles: factor is {factor!r}; pass the inner radius as a number in (0, 1)."
        )
    n_outer = n // 2
    n_inner = n - n_outer
    outer = [
        (math.cos(t), math.sin(t), 0) for t in _linspace(0.0, 2 * math.pi, n_outer, endpoint=False)
    ]
    inner = [
        (factor * math.cos(t), factor * math.sin(t), 1)
        for t in _linspace(0.0, 2 * math.pi, n_inner, endpoint=False)
    ]
    return _finish("make_circles", outer + inner, noise, random.Random(seed))


def make_spirals(n: int = 300, k: int = 3, noise: float = 0.2, seed: int = 0) -> Dataset:
    """k interleaved spiral arms (labels 0..k-1), the CS231n formula, noise on the angle."""
    _check_args("make_spirals", n, noise, seed, 1)
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"make_spirals: k must be an int, got {k!r}; pass e.g. k=3.")
    if not 2 <= k <= n:
        raise ValueError(
            f"make_spirals: k is {k!r}; pass between 2 classes and n (here {n}) classes."
        )
    rng = random.Random(seed)
    data: list[tuple[list[float], int]] = []
    for j in range(k):
        m = n // k + (1 if j < n % k else 0)  # spread the remainder over the first arms
        radii = _linspace(0.0, 1.0, m)
        angles = _linspace(j * 4.0, (j + 1) * 4.0, m)
        noisy = [t + rng.gauss(0.0, noise) for t in angles]
        _check_finite("make_spirals", noise, noisy)  # sin(inf) would be a math domain error
        data.extend(([r * math.sin(t), r * math.cos(t)], j) for r, t in zip(radii, noisy))
    rng.shuffle(data)
    return [x for x, _ in data], [label for _, label in data]


def make_xor(n: int = 100, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Points around the four corners (+-1, +-1); label 1 where the signs differ (XOR)."""
    _check_args("make_xor", n, noise, seed, 1)
    corners = [(-1.0, -1.0, 0), (-1.0, 1.0, 1), (1.0, -1.0, 1), (1.0, 1.0, 0)]
    points = [corners[i % 4] for i in range(n)]  # balanced: corners in turn
    return _finish("make_xor", points, noise, random.Random(seed))
