"""The README's Python examples run, and print what their comments say."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def expected_prints(code: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"# prints (.*)$", code, re.M)]


def test_the_readme_has_examples_with_stated_output():
    assert len(BLOCKS) >= 3
    assert expected_prints(BLOCKS[0])


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs_and_prints_what_it_says(index, tmp_path, monkeypatch):
    code = BLOCKS[index]
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README block {index}", "exec"), {"__name__": "readme"})
    printed = [line.strip() for line in out.getvalue().splitlines()]
    assert printed == expected_prints(code)


def test_readme_examples_and_a_first_script_type_check(tmp_path):
    """mypy --strict accepts every README example and issue 12's ten-line script."""
    import subprocess
    import sys

    script = (
        "from autodiff import Value, grad\n"
        "from nn import MLP\n"
        "x = Value(2.0)\n"
        "y = (x * 3 + 1).tanh()\n"
        "z = 2 * y - x / 4 + x**2 + abs(-x)\n"
        "z.backward()\n"
        "d: float = grad(z, x)\n"
        "ds: list[float] = grad(z, [x, y])\n"
        "second: Value = grad(x**3, x, create_graph=True)\n"
        "MLP(2, [4, 1])([1.0, 2.0]).backward()\n"
    )
    files = [tmp_path / "first_script.py"]
    files[0].write_text(script, encoding="utf-8")
    for i, code in enumerate(BLOCKS):
        path = tmp_path / f"readme_block_{i}.py"
        path.write_text(code, encoding="utf-8")
        files.append(path)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), *map(str, files)],
        capture_output=True, text=True, cwd=README.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
