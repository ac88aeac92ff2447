"""Tests for the command line (autodiff.cli): expressions parsed safely, files written, errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autodiff.cli import PARSER_DEPTH_LIMIT, main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dot_program() -> str:
    """Path of Graphviz's dot; skips without it locally, fails without it in CI."""
    found = shutil.which("dot")
    if found is None:
        message = "Graphviz's dot is not installed (sudo apt-get install graphviz)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI is set but {message}; rendering tests must run in CI")
        pytest.skip(message)
    return found


# --- command line ------------------------------------------------------------------------


def test_cli_prints_dot_for_an_expression(capsys):
    assert main(["tanh(x*w + b)", "x=0.5", "w=-2", "b=1", "--params", "w,b"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("digraph autodiff {")
    for name in ("x", "w", "b"):
        assert f"<B>{name}</B>" in text
    assert text.count('class="parameter"') == 2 and text.count('class="output"') == 1
    assert "grad 1.0000" in text  # backward ran


def test_cli_writes_a_file_with_the_format_of_its_extension(dot_program, tmp_path, capsys):
    target = tmp_path / "expr.png"
    assert main(["x*y + x", "x=2", "y=3", "-o", str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert target.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["__import__('os').system('touch PWNED')"], "unsupported syntax (Call)"),
        (["x.__class__", "x=1"], "unsupported syntax (Attribute)"),
        (["[x]", "x=1"], "unsupported syntax (List)"),
        (["x * y", "x=1"], "unknown name 'y'"),
        (["x + 1", "x"], "is not NAME=NUMBER"),
        (["x + 1", "x=nan"], "needs a finite number"),
        (["x / (x - 1)", "x=1"], "division by zero"),
        (["log(x)", "x=-1"], "log"),
        (["1 + 2"], "uses no named input"),
        (["9 ** 9 ** 9 * x", "x=1"], "too large for a float"),
        (["x +", "x=1"], "cannot parse"),
        (["x * 2", "x=1", "--params", "w"], "not an input"),
    ],
)
def test_cli_refuses_bad_input_without_running_it(tmp_path, monkeypatch, capsys, argv, fragment):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert fragment in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_missing_dot(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["x * 2", "x=1", "-o", str(tmp_path / "g.svg")]) == 1
    err = capsys.readouterr().err
    assert "brew install graphviz" in err and str(tmp_path / "g.gv") in err


def test_python_m_autodiff_draw_runs():
    result = subprocess.run(
        [sys.executable, "-m", "autodiff", "--", "-x * y", "x=2", "y=3"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("digraph autodiff {")
    assert "<B>x</B>" in result.stdout and "neg" in result.stdout


@pytest.mark.parametrize(
    "expression",
    ["-" * 100_000 + "x", "x" + "**x" * 100_000, "+".join(["x"] * 10_000)],
    ids=["unary-chain", "power-chain", "long-sum"],
)
def test_cli_says_why_a_huge_expression_cannot_be_parsed(capsys, expression):
    # CPython's parser raises MemoryError with no text (or RecursionError) for these
    with pytest.raises(SystemExit) as info:
        main(["--", expression, "x=1"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "nested too deeply for Python's parser" in err
    assert f"about {PARSER_DEPTH_LIMIT} nested operations" in err
    assert f"({len(expression)} characters)" in err


def test_cli_names_unlabelled_nodes_and_uses_the_one_number_format(capsys):
    assert main(["tanh(x*w) * 2", "x=0.5", "w=-2", "--precision", "3"]) == 0
    text = capsys.readouterr().out
    assert "<I>mul1</I>" in text and "<I>tanh1</I>" in text and "<I>mul2</I>" in text
    assert "data -0.762" in text  # tanh(-1) to 3 decimals
    assert main(["x*w", "x=1", "w=2", "--expand-dot"]) == 0  # no dot node: same picture
    assert "<I>mul1</I>" in capsys.readouterr().out
