"""The package as users get it: version in one place, a lock that covers every extra, an
sdist and a wheel with their package data that pass twine and check-wheel-contents, and
the wheel working from a fresh virtual environment outside the source tree."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import autodiff

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DIST_NAME = PYPROJECT["project"]["name"]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def lock_pins() -> list[tuple[str, str, str]]:
    """(canonical name, version, marker) of every pin in constraints.txt."""
    pins = []
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)\s*(?:;\s*(.*))?", line)
        assert m, f"constraints.txt line is not a plain pin: {line!r}"
        pins.append((canonicalize_name(m.group(1)), m.group(2), m.group(3) or ""))
    return pins


def applies_here(marker: str) -> bool:
    return not marker or Requirement(f"x; {marker}").marker.evaluate()


# --- version, changelog, lock ----------------------------------------------------------


def test_the_version_is_written_once_and_the_changelog_has_its_section():
    assert "version" in PYPROJECT["project"]["dynamic"]
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "autodiff.__version__"
    }
    release = re.sub(r"\.dev\d+$", "", autodiff.__version__)
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert headings[0] == release, f"CHANGELOG.md's newest section is {headings[0]}, not {release}"
    assert "0.1.0" in headings


def test_the_distribution_name_is_not_the_taken_autodiff():
    # `autodiff` on PyPI is an unrelated project; the import names stay autodiff and nn
    assert DIST_NAME == "autodiff-nn"
    assert f"pip install {DIST_NAME}" in README


def test_the_lock_pins_every_requirement_of_every_extra_within_its_range():
    pins = lock_pins()
    pinned = {name for name, _, _ in pins}
    requirements = list(PYPROJECT["project"]["dependencies"])
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        requirements += extra
    for text in requirements:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name == canonicalize_name(DIST_NAME):
            continue  # an extra that includes another extra of this project
        assert name in pinned, f"{req.name} is not in constraints.txt: run ./run lock"
        for pin_name, version, marker in pins:
            if pin_name == name and applies_here(marker):
                assert req.specifier.contains(version, prereleases=True), (
                    f"constraints.txt pins {name}=={version}, outside pyproject's {text!r}: "
                    "run ./run lock"
                )


def test_the_installed_versions_are_the_locked_ones():
    """The suite runs against the pinned versions (./run test installs them)."""
    wrong = []
    for name, version, marker in lock_pins():
        if not applies_here(marker):
            continue
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # an extra this venv does not have (e.g. bench)
        if installed != version:
            wrong.append(f"{name} {installed} (locked {version})")
    assert not wrong, (
        "installed versions differ from constraints.txt: " + ", ".join(wrong)
        + "; `./run setup dev,demos` installs the locked ones (after a change to "
        "pyproject.toml's requirements, `./run lock` first)"
    )


def test_the_package_data_globs_ship_py_typed_and_the_explorer_assets():
    data = PYPROJECT["tool"]["setuptools"]["package-data"]
    assert "py.typed" in data["autodiff"] and "py.typed" in data["nn"]
    assert "autodiff.assets" in PYPROJECT["tool"]["setuptools"]["packages"]
    assert data["autodiff.assets"] == ["**/*"]


# --- autodiff.nn -------------------------------------------------------------------------


def test_autodiff_nn_is_the_same_nn():
    import autodiff.nn
    import nn

    assert autodiff.nn.__all__ == nn.__all__
    for name in nn.__all__:
        assert getattr(autodiff.nn, name) is getattr(nn, name), name


def test_autodiff_nn_refuses_an_nn_that_is_not_ours(tmp_path):
    (tmp_path / "nn.py").write_text("STRANGER = True\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", "import autodiff.nn"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: autodiff.nn expected the nn package")
    assert str(tmp_path / "nn.py") in last


# --- sdist and wheel ---------------------------------------------------------------------


def source_files(package: str) -> set[str]:
    """The files of a package's folder that must ship: its modules and every asset."""
    base = ROOT / package
    return {
        p.relative_to(ROOT).as_posix()
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
        and (p.suffix == ".py" or "assets" in p.relative_to(base).parts[:1])
    }


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """sdist and wheel built (offline, no isolation) from a copy of the source tree in
    which both packages carry py.typed, as they will."""
    tmp = tmp_path_factory.mktemp("build")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("autodiff", "nn"):
        shutil.copytree(ROOT / package, src / package, ignore=ignore)
        (src / package / "py.typed").touch()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    out = tmp / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "SetuptoolsDeprecationWarning" not in result.stderr + result.stdout
    assert "is absent from the `packages` configuration" not in result.stderr + result.stdout
    wheels = list(out.glob("*.whl"))
    sdists = list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0], "src": src}


def test_the_wheel_holds_every_module_asset_and_py_typed(dists):
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    expected = source_files("autodiff") | source_files("nn")
    expected |= {"autodiff/py.typed", "nn/py.typed"}
    assert any(n.startswith("autodiff/assets/") for n in expected), "no explorer assets"
    assert expected <= names, f"missing from the wheel: {sorted(expected - names)}"
    stem = f"autodiff_nn-{autodiff.__version__}"
    assert dists["wheel"].name == f"{stem}-py3-none-any.whl"
    assert f"{stem}.dist-info/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(dists["wheel"]).read(f"{stem}.dist-info/METADATA").decode()
    assert "Name: autodiff-nn" in metadata
    assert f"Version: {autodiff.__version__}" in metadata
    assert "License-Expression: MIT" in metadata
    entry_points = zipfile.ZipFile(dists["wheel"]).read(f"{stem}.dist-info/entry_points.txt")
    assert b"autodiff-draw" in entry_points


def test_the_sdist_holds_the_same_files(dists):
    with tarfile.open(dists["sdist"]) as tar:
        top = f"autodiff_nn-{autodiff.__version__}/"
        names = {n[len(top):] for n in tar.getnames() if n.startswith(top)}
    expected = source_files("autodiff") | source_files("nn")
    expected |= {"autodiff/py.typed", "nn/py.typed", "pyproject.toml", "README.md", "LICENSE"}
    assert expected <= names, f"missing from the sdist: {sorted(expected - names)}"


def test_twine_and_check_wheel_contents_accept_the_dists(dists):
    twine = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dists["wheel"]),
         str(dists["sdist"])],
        capture_output=True, text=True, timeout=120,
    )
    assert twine.returncode == 0, twine.stdout + twine.stderr
    assert twine.stdout.count("PASSED") == 2, twine.stdout
    cwc = subprocess.run(
        [sys.executable, "-m", "check_wheel_contents", "--config", str(ROOT / "pyproject.toml"),
         str(dists["wheel"])],
        capture_output=True, text=True, timeout=120,
    )
    assert cwc.returncode == 0, cwc.stdout + cwc.stderr
    assert cwc.stdout.strip().endswith(": OK"), cwc.stdout


def readme_first_example() -> str:
    return re.findall(r"```python\n(.*?)```", README, re.S)[0]


def test_the_wheel_works_from_a_fresh_venv_outside_the_source_tree(dists, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    # this venv's pip installs the wheel into the new one, without the network
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check",
         "install", "--no-deps", "--no-index", "-q", str(dists["wheel"])],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    # the one dependency, graphviz (pure Python), copied from this environment
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip())
    spec = importlib.util.find_spec("graphviz")
    assert spec is not None and spec.submodule_search_locations
    shutil.copytree(spec.submodule_search_locations[0], site / "graphviz")

    example = readme_first_example()
    expected = [m.strip() for m in re.findall(r"# prints (.*)$", example, re.M)]
    script = example + textwrap.dedent(
        """
        import json, pathlib, autodiff, nn, autodiff.nn
        from autodiff import explore, render
        render(y, "neuron.svg", params=[w, b])
        explore(y, "neuron.html")
        print(json.dumps([autodiff.__file__, nn.__file__, autodiff.nn.__file__,
                          autodiff.__version__]))
        """
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(python), "-I", "-c", script], cwd=work, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.strip() for line in lines[:-1]] == expected
    files = json.loads(lines[-1])
    for file in files[:3]:
        assert Path(file).is_relative_to(site), f"{file} is not from the fresh venv"
    assert files[3] == autodiff.__version__
    svg = (work / "neuron.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "tanh" in svg
    page = (work / "neuron.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "tanh" in page
    # the command-line entry point is wired to a module that exists in the wheel
    cli = subprocess.run([str(venv / "bin" / "autodiff-draw"), "--help"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0 and "usage" in cli.stdout.lower(), cli.stderr
