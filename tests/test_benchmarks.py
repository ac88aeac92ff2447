"""The benchmark harness's pieces compute the right things (values, never timings)."""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import autodiff
import nn

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import baseline  # noqa: E402
import engines  # noqa: E402
from floor import FloorMoons, expression_floor  # noqa: E402

_spec = importlib.util.spec_from_file_location("benchmarks_run", BENCH / "run.py")
assert _spec is not None and _spec.loader is not None
run = importlib.util.module_from_spec(_spec)
sys.modules["benchmarks_run"] = run  # dataclasses look their module up while it loads
_spec.loader.exec_module(run)


def rel(a: float, b: float) -> float:
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))


# ---------------------------------------------------------------------------
# The floor


def test_floor_moons_matches_autodiff_before_and_after_a_step() -> None:
    X, y = engines.moons_data()
    weights = engines.reference_weights()
    ours = engines.AutodiffMoons(nn, weights)
    floor = engines.floor_moons(weights)
    for _ in range(2):
        loss0, grads0 = ours.flat_grads(X, y)
        loss1, grads1 = floor.flat_grads(X, y)
        assert rel(loss0, loss1) <= 1e-12
        largest = max(map(abs, grads0))
        assert largest > 0.1  # a real gradient, not a dead network
        for g0, g1 in zip(grads0, grads1, strict=True):
            # relative, except gradients that cancel to rounding noise (~1e-18 here)
            assert abs(g0 - g1) <= 1e-12 * max(abs(g0), abs(g1), 1e-3 * largest)
        ours.step(X, y)
        floor.step(X, y)
    assert [p.data for p in ours.params] == pytest.approx(floor.parameters(), rel=1e-12)


def test_floor_gradient_matches_finite_differences_of_its_own_loss() -> None:
    # independent of the engine: a small net, central differences of the floor's loss
    rng = random.Random(5)
    sizes = [2, 3, 3, 1]
    n_params = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    weights = [rng.uniform(-1.0, 1.0) for _ in range(n_params)]
    X = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(7)]
    y = [rng.choice([-1.0, 1.0]) for _ in range(7)]
    _, grads = FloorMoons(weights, sizes, 0.01).flat_grads(X, y)
    assert any(abs(g) > 1e-3 for g in grads)
    h = 1e-6
    for i in range(n_params):
        up, down = list(weights), list(weights)
        up[i] += h
        down[i] -= h
        numeric = (
            FloorMoons(up, sizes, 0.01).flat_grads(X, y)[0]
            - FloorMoons(down, sizes, 0.01).flat_grads(X, y)[0]
        ) / (2 * h)
        assert grads[i] == pytest.approx(numeric, abs=1e-6), f"parameter {i}"


def test_floor_with_every_margin_met_has_only_the_l2_gradient() -> None:
    # all weights 0 and output bias 5: every score is 5, every margin 1 - 5 y < 0 for y = +1
    sizes = [2, 2, 1]
    weights = [0.0] * 8 + [5.0]  # hidden: (w, w, b) twice; output: w, w, then its bias
    floor = FloorMoons(weights, sizes, 0.1)
    loss, grads = floor.flat_grads([[0.3, -0.2], [1.0, 2.0]], [1.0, 1.0])
    assert loss == pytest.approx(0.1 * 25.0)
    assert grads == [0.0] * 8 + [pytest.approx(2 * 0.1 * 5.0)]


def test_floor_refuses_weights_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match="has 337 parameters, got 3 weights"):
        FloorMoons([0.0, 1.0, 2.0], engines.SIZES, 1e-4)


def test_expression_floor_gives_micrograds_readme_gradients_and_autodiffs() -> None:
    g, da, db = expression_floor(-4.0, 2.0)
    assert round(da, 4) == 138.8338 and round(db, 4) == 645.5773  # micrograd's README
    g1, da1, db1 = engines.value_expression(autodiff.Value)()
    assert rel(g, g1) <= 1e-12 and rel(da, da1) <= 1e-12 and rel(db, db1) <= 1e-12


def test_expression_floor_matches_finite_differences_at_other_points() -> None:
    # both relu branches: at (-4, 2) b + a < 0 < b - a; at (3, 1) b - a < 0 < b + a
    for a, b in [(-4.0, 2.0), (3.0, 1.0), (0.7, 1.9)]:
        _, da, db = expression_floor(a, b)
        h = 1e-6
        num_a = (expression_floor(a + h, b)[0] - expression_floor(a - h, b)[0]) / (2 * h)
        num_b = (expression_floor(a, b + h)[0] - expression_floor(a, b - h)[0]) / (2 * h)
        assert da == pytest.approx(num_a, rel=1e-6) and db == pytest.approx(num_b, rel=1e-6)


# ---------------------------------------------------------------------------
# The base engine


def test_rewrite_imports_renames_only_package_imports() -> None:
    source = (
        "from autodiff.engine import Value\n"
        "    import nn.losses as L\n"
        "import nnx\n"
        "from . import module\n"
        'text = resources.files("autodiff").joinpath("x")\n'
        'message = "autodiff: from autodiff import x"\n'
    )
    assert baseline.rewrite_imports(source, "abc1234") == (
        "from autodiff_abc1234.engine import Value\n"
        "    import nn_abc1234.losses as L\n"
        "import nnx\n"
        "from . import module\n"
        'text = resources.files("autodiff_abc1234").joinpath("x")\n'
        'message = "autodiff: from autodiff import x"\n'
    )


def have_commit(commit: str) -> bool:
    try:
        baseline.resolve(commit)
    except (ValueError, OSError):  # a shallow clone, or no git
        return False
    return True


needs_base = pytest.mark.skipif(
    not have_commit("6d28a8c"), reason="commit 6d28a8c is not in this checkout's history"
)


@needs_base
def test_base_packages_are_separate_from_the_working_tree_and_agree_with_the_floor() -> None:
    base = baseline.load_base("6d28a8c")
    assert base.commit == "6d28a8c"
    assert base.autodiff.Value is not autodiff.Value
    model = base.nn.MLP(2, [3, 1], seed=1)
    assert all(type(p) is base.autodiff.Value for p in model.parameters())
    assert base.autodiff.__name__ == "autodiff_6d28a8c"
    X, y = engines.moons_data()
    weights = engines.reference_weights()
    loss, grads = engines.AutodiffMoons(base.nn, weights, "base").flat_grads(X, y)
    floor_loss, floor_grads = engines.floor_moons(weights).flat_grads(X, y)
    assert run.compare("base", (floor_loss, floor_grads), (loss, grads)) <= 1e-12
    assert baseline.load_base("6d28a8c") is base  # extracted once per process


def test_base_refuses_an_unknown_commit_by_name() -> None:
    with pytest.raises(ValueError, match="'no-such-commit' is not a commit"):
        baseline.load_base("no-such-commit")
    with pytest.raises(ValueError, match="not a commit name"):
        baseline.load_base("--all")


# ---------------------------------------------------------------------------
# Ratios and checks


def test_ratios_are_medians_of_per_round_ratios() -> None:
    times = {"floor": [1.0, 2.0, 4.0], "ours": [3.0, 4.0, 40.0], "base": [6.0, 8.0, 8.0]}
    # per-round ratios to floor: ours 3, 2, 10 -> median 3 (the ratio of medians would be 2)
    assert run.ratios(times, "floor") == {"floor": 1.0, "ours": 3.0, "base": 4.0}
    # base / ours per round: 2, 2, 0.2 -> 2
    assert run.ratios(times, "ours")["base"] == 2.0
    stats = run.summary(times)
    assert stats["base"] == {"median": 8.0, "x_floor": 4.0, "x_ours": 2.0}


def test_compare_names_the_first_gradient_that_disagrees() -> None:
    ref = (1.0, [0.5, -0.25, 1e-19])
    noise = run.compare("x", ref, (1.0, [0.5, -0.25, -1e-19]))
    assert noise == pytest.approx(2e-19 / (1e-3 * 0.5))  # measured against 1e-3 of the largest
    with pytest.raises(ValueError, match="gradient 1 is -0.2500001, the floor's is -0.25"):
        run.compare("x", ref, (1.0, [0.5, -0.2500001, 0.0]))
    with pytest.raises(ValueError, match="loss 1.001"):
        run.compare("x", ref, (1.001, [0.5, -0.25, 0.0]))
    with pytest.raises(ValueError, match="2 gradients, the floor has 3"):
        run.compare("x", ref, (1.0, [0.5, -0.25]))


def test_unknown_workload_or_engine_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run.main(["--only", "moon"])
    assert "unknown workload moon; choose from moons, expression" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run.main(["--engines", "pytorch"])
    assert "unknown engine pytorch" in capsys.readouterr().err


@needs_base
def test_markdown_table_names_machine_python_and_every_engine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    results = run.main(
        ["--quick", "--only", "expression", "--engines", "base", "--rounds", "1", "--markdown"]
    )
    out = capsys.readouterr().out
    assert "| workload | autodiff | autodiff at 6d28a8c | hand-written floats (floor) |" in out
    assert "| micrograd README expression, forward + backward |" in out
    cpu = run.cpu_model()
    assert cpu in out and f"{os.cpu_count()} cores" in out and "CPython 3." in out
    assert set(results["expression"]["times"]) == {"ours", "base", "floor"}
    assert results["expression"]["times"]["floor"]["x_floor"] == 1.0


# ---------------------------------------------------------------------------
# The compiled row's hook (issue 14)


@pytest.fixture
def fake_trace(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """autodiff.trace stand-in that replays by running fn eagerly (always right)."""
    calls: list[int] = []

    def trace(fn: Any, inputs: Any) -> Any:
        def step() -> float:
            calls.append(1)
            loss = fn()
            loss.backward()
            return float(loss.data)

        return step

    monkeypatch.setattr(autodiff, "trace", trace, raising=False)
    yield calls


def test_without_trace_the_compiled_row_is_skipped_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(autodiff, "trace", raising=False)
    setup = run.make_setup(["compiled"], "6d28a8c", no_torch=True)
    assert setup.engines == ["ours", "floor"]
    assert any("autodiff.trace does not exist" in note for note in setup.notes)


def test_compiled_row_is_checked_and_timed_when_trace_exists(fake_trace: list[int]) -> None:
    setup = run.make_setup(["compiled"], "6d28a8c", no_torch=True)
    assert setup.engines == ["ours", "floor", "compiled"]
    worst = run.check_moons(setup)
    assert worst["compiled"] <= 1e-12
    assert run.check_expression(setup)["compiled"] <= 1e-12
    timed = run.bench_expression(setup, rounds=1, calls=2)
    assert timed["times"]["compiled"]["median"] > 0.0 and fake_trace


def test_a_stale_compiled_step_is_refused_before_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    def stale_trace(fn: Any, inputs: Any) -> Any:
        loss = fn()  # recorded once; replay keeps giving the first data's gradient
        loss.backward()
        grads = [p.grad for p in inputs]
        value = float(loss.data)

        def step() -> float:
            for p, g in zip(inputs, grads):
                p.grad += g
            return value

        return step

    monkeypatch.setattr(autodiff, "trace", stale_trace, raising=False)
    setup = run.make_setup(["compiled"], "6d28a8c", no_torch=True)
    with pytest.raises(ValueError, match="moons after one step, compiled: loss"):
        run.check_moons(setup)
