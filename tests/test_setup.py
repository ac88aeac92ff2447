"""The set-up (./run, .ci/setup). Without root it stops and prints the exact command, and
it refuses a Python older than 3.10, before touching anything. On a bare checkout (a fresh
`git clone` of the committed HEAD, no .venv) the README's two commands `./run demo` and
`./run test` work; running both again installs nothing; a changed lock installs again.

The clone test is slow (a new virtual environment and its packages); CI runs it. The
clone's `./run test` runs a small part of the suite (its argument), since the whole suite
runs here already. Plain `pytest` leaves it out unless AUTODIFF_SLOW=1, which `./run test`
sets."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

SETUP = ROOT / ".ci" / "setup"


def bare_env() -> dict[str, str]:
    """This process's environment without any trace of the project's venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "OUT", "PYTHON")}
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and p != venv_bin)
    return env


def run(clone: Path, *args: str) -> tuple[str, float]:
    start = time.perf_counter()
    result = subprocess.run(["./run", *args], cwd=clone, env=bare_env(), capture_output=True,
                            text=True, timeout=900, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    output = result.stdout + result.stderr
    # (this machine's pip configuration adds one warning per missing local index page)
    shown = "\n".join(line for line in output.splitlines()
                      if "is neither a file nor a directory" not in line)
    assert result.returncode == 0, f"./run {' '.join(args)} failed:\n{shown[-4000:]}"
    return output, elapsed


def setup_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("setup:")]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("the set-up test needs git and a git checkout of the project")
    target = tmp_path_factory.mktemp("fresh") / "autodiff"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True,
                   timeout=120, env=bare_env())
    assert not (target / ".venv").exists()
    return target


def fake_machine(tmp_path: Path, hide: set[str], uid: str) -> tuple[Path, dict[str, str]]:
    """A copy of the set-up script in an empty project folder, and a PATH on which the
    commands in `hide` do not exist and `id -u` prints `uid`."""
    project = tmp_path / "project"
    (project / ".ci").mkdir(parents=True)
    shutil.copy2(SETUP, project / ".ci" / "setup")
    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copy2(ROOT / name, project / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        if not Path(folder).is_dir():
            continue
        for tool in Path(folder).iterdir():
            target = bin_dir / tool.name
            if tool.name not in hide and tool.name != "id" and not target.exists():
                target.symlink_to(tool)
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n", encoding="utf-8")
    (bin_dir / "id").chmod(0o755)
    env = bare_env()
    env["PATH"] = str(bin_dir)
    return project, env


def test_without_root_a_missing_dot_stops_with_the_exact_command(tmp_path):
    project, env = fake_machine(tmp_path, hide={"dot"}, uid="1000")
    result = subprocess.run(["bash", str(project / ".ci" / "setup"), "demos"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("setup: missing graphviz (Graphviz's dot renders graphs;")
    command = [line.strip() for line in lines if "apt-get install" in line]
    wanted = "sudo apt-get install -y --no-install-recommends graphviz"
    assert command in ([wanted], [wanted + " fonts-dejavu-core"]), result.stderr
    assert not (project / ".venv").exists(), "the set-up went on after refusing"


def test_a_python_older_than_3_10_is_refused_by_name(tmp_path):
    project, env = fake_machine(tmp_path, hide=set(), uid="1000")
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\n# an old interpreter: its version check fails\nexit 1\n",
                   encoding="utf-8")
    old.chmod(0o755)
    env["PYTHON"] = str(old)
    result = subprocess.run(["bash", str(project / ".ci" / "setup"), "demos"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "needs Python 3.10 or newer, and found none on PATH" in result.stderr
    assert f"tried {old}" in result.stderr
    assert "set PYTHON=/path/to/python3.x" in result.stderr
    assert not (project / ".venv").exists()


def test_run_refuses_an_unknown_command_and_lists_the_commands():
    result = subprocess.run([str(ROOT / "run"), "dmeo"], capture_output=True, text=True,
                            timeout=60, env=bare_env())
    assert result.returncode == 2
    assert result.stderr.startswith("run: unknown command 'dmeo'\n")
    for command in ("./run demo", "./run test", "./run bench", "./run pictures", "./run lock"):
        assert command in result.stderr


TEST_ARGS = ("tests/test_readme.py", "-q", "-p", "no:cacheprovider")


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("AUTODIFF_SLOW") != "1",
    reason="the fresh-clone set-up test (about two minutes) runs under ./run test and so in "
    "CI; AUTODIFF_SLOW=1 runs it from plain pytest too",
)
def test_both_readme_commands_set_up_a_fresh_clone_then_install_nothing(clone, capsys):
    timings = {}
    out, timings["first ./run demo"] = run(clone, "demo")
    lines = setup_lines(out)
    assert any("creating virtual environment" in line for line in lines), out[-3000:]
    assert any("installing autodiff-nn[demos]" in line and "constraints.txt" in line
               for line in lines), out[-3000:]
    for name in ("moons_boundary.png", "moons_curves.png", "moons_neuron.png"):
        assert (clone / "out" / name).read_bytes()[:8] == PNG_MAGIC, name
    assert "<svg" in (clone / "out" / "moons_neuron.svg").read_text(encoding="utf-8")

    out, timings["first ./run test"] = run(clone, "test", *TEST_ARGS)
    assert any("installing autodiff-nn[demos,dev]" in line for line in setup_lines(out)), out
    assert "run: ruff check ." in out
    assert " passed" in out and " failed" not in out

    # the second time: the set-up says nothing and installs nothing
    out, timings["second ./run demo"] = run(clone, "demo")
    assert setup_lines(out) == [], out
    out, timings["second ./run test"] = run(clone, "test", *TEST_ARGS)
    assert setup_lines(out) == [], out
    assert " passed" in out

    # a changed lock (or pyproject.toml) is installed again; then quiet once more
    with open(clone / "constraints.txt", "a", encoding="utf-8") as lock:
        lock.write("# touched by the set-up test\n")
    out, timings["./run setup after a lock change"] = run(clone, "setup", "dev,demos")
    assert any("installing autodiff-nn[demos,dev]" in line for line in setup_lines(out)), out
    out, _ = run(clone, "setup", "dev,demos")
    assert setup_lines(out) == [], out

    with capsys.disabled():
        print("\nfresh-clone set-up timings: "
              + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
