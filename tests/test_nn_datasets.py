"""Tests for nn.datasets: shapes, labels, seeding and the generating formulas."""

import math
import random
import re

import pytest

from nn import datasets

GENERATORS = [datasets.make_moons, datasets.make_circles, datasets.make_spirals, datasets.make_xor]


@pytest.mark.parametrize("make", GENERATORS)
def test_shapes_and_types(make):
    X, y = make(n=60)
    assert len(X) == len(y) == 60
    assert all(isinstance(x, list) and len(x) == 2 for x in X)
    assert all(type(v) is float for x in X for v in x)
    assert all(type(label) is int for label in y)


@pytest.mark.parametrize("make", GENERATORS)
def test_seeded_and_leaves_global_random_alone(make):
    random.seed(5)
    expected = random.random()
    random.seed(5)
    a = make(n=40, seed=3)
    assert random.random() == expected
    assert make(n=40, seed=3) == a
    assert make(n=40, seed=4) != a


@pytest.mark.parametrize("make", [datasets.make_moons, datasets.make_circles])
def test_two_balanced_classes(make):
    _, y = make(n=101)
    assert sorted(set(y)) == [0, 1]
    assert y.count(0) == 50 and y.count(1) == 51


def test_moons_formula_without_noise():
    X, y = datasets.make_moons(n=50, noise=0.0)
    for (x1, x2), label in zip(X, y):
        if label == 0:  # outer half circle (cos t, sin t)
            assert math.hypot(x1, x2) == pytest.approx(1.0)
            assert x2 >= -1e-12
        else:  # inner half circle (1 - cos t, 1 - sin t - 0.5)
            assert math.hypot(x1 - 1.0, x2 - 0.5) == pytest.approx(1.0)
            assert x2 <= 0.5 + 1e-12
    assert [-1.0, 0.0] in [[round(a, 12), round(b, 12)] for a, b in X]  # t = pi is included


def test_moons_noise_is_gaussian_with_the_given_scale():
    # the same seed draws the same standard normals and the same shuffle, so the
    # difference between a noisy and a clean data set is the noise itself
    clean, y0 = datasets.make_moons(n=2000, noise=0.0, seed=1)
    noisy, y1 = datasets.make_moons(n=2000, noise=0.1, seed=1)
    assert y0 == y1
    diffs = [a - b for p, q in zip(noisy, clean) for a, b in zip(p, q)]
    mean = sum(diffs) / len(diffs)
    std = math.sqrt(sum((d - mean) ** 2 for d in diffs) / len(diffs))
    assert abs(mean) < 0.01
    assert 0.09 < std < 0.11


def test_circles_radii():
    X, y = datasets.make_circles(n=40, noise=0.0, factor=0.3)
    for (x1, x2), label in zip(X, y):
        assert math.hypot(x1, x2) == pytest.approx(1.0 if label == 0 else 0.3)


def test_spirals_k_classes():
    X, y = datasets.make_spirals(n=100, k=4, noise=0.0)
    assert sorted(set(y)) == [0, 1, 2, 3]
    assert [y.count(j) for j in range(4)] == [25, 25, 25, 25]
    assert max(math.hypot(*x) for x in X) == pytest.approx(1.0)
    _, y = datasets.make_spirals(n=10, k=3)
    assert [y.count(j) for j in range(3)] == [4, 3, 3]


def test_xor_labels_follow_the_signs():
    X, y = datasets.make_xor(n=80, noise=0.2)
    assert y.count(0) == y.count(1) == 40
    for (x1, x2), label in zip(X, y):
        assert label == int((x1 > 0) != (x2 > 0))
    X, y = datasets.make_xor(n=4, noise=0.0)
    assert sorted(zip(map(tuple, X), y)) == [
        ((-1.0, -1.0), 0),
        ((-1.0, 1.0), 1),
        ((1.0, -1.0), 1),
        ((1.0, 1.0), 0),
    ]


# --- bad input gets a clear error ---------------------------------------------


@pytest.mark.parametrize("make", GENERATORS)
def test_bad_n(make):
    with pytest.raises(TypeError, match="n must be an int, got 10.0"):
        make(n=10.0)
    with pytest.raises(ValueError, match="n is -5"):
        make(n=-5)


@pytest.mark.parametrize("make", GENERATORS)
def test_bad_noise(make):
    with pytest.raises(ValueError, match="noise is -0.1"):
        make(noise=-0.1)
    with pytest.raises(ValueError, match="noise is nan"):
        make(noise=float("nan"))
    with pytest.raises(TypeError, match="noise must be a number, got '0.1'"):
        make(noise="0.1")


@pytest.mark.parametrize("make", GENERATORS)
def test_bad_seed(make):
    with pytest.raises(TypeError, match="seed must be an int, got None"):
        make(seed=None)


def test_bad_factor_and_k():
    with pytest.raises(ValueError, match="factor is 1.5"):
        datasets.make_circles(factor=1.5)
    with pytest.raises(ValueError, match="k is 1"):
        datasets.make_spirals(k=1)
    with pytest.raises(TypeError, match="k must be an int, got 2.5"):
        datasets.make_spirals(k=2.5)


@pytest.mark.parametrize("factor", ["a", None, True, [0.5]])
def test_circles_factor_of_the_wrong_type(factor):
    with pytest.raises(
        TypeError, match=rf"make_circles: factor must be a number, got {re.escape(repr(factor))}"
    ):
        datasets.make_circles(factor=factor)


@pytest.mark.parametrize("factor", [0, 1, -0.5, float("nan"), float("inf")])
def test_circles_factor_out_of_range(factor):
    with pytest.raises(ValueError, match=f"make_circles: factor is {factor!r}; pass the inner"):
        datasets.make_circles(factor=factor)


@pytest.mark.parametrize("make", GENERATORS)
def test_noise_too_large_for_a_float(make):
    with pytest.raises(ValueError, match="noise is 1000000000.*; pass a finite number >= 0"):
        make(noise=10**400)


@pytest.mark.parametrize("make", GENERATORS)
def test_noise_that_makes_points_infinite_is_refused(make):
    # 1e308 is a finite float, but points plus 1e308-scale Gaussian draws overflow
    # (make_spirals used to raise a bare "math domain error", the others returned inf)
    with pytest.raises(ValueError, match=r"noise=1e\+308 is so large that some points are not"):
        make(n=200, noise=1e308, seed=0)


@pytest.mark.parametrize("make", GENERATORS)
def test_large_but_safe_noise_gives_finite_points(make):
    X, _ = make(n=200, noise=1e300, seed=0)
    assert all(math.isfinite(v) for x in X for v in x)
    if make is not datasets.make_spirals:  # spirals put the noise on the angle
        assert max(abs(v) for x in X for v in x) > 1e299  # the noise really was applied
