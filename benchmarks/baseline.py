"""Import the autodiff and nn packages of an older commit next to the working tree's.

    base = load_base("6d28a8c")        # or "HEAD~1", a branch, a tag
    base.autodiff.Value, base.nn.MLP   # the packages as they were at that commit

`git archive` extracts the commit's autodiff/ and nn/ into a temporary folder,
renamed autodiff_<sha> and nn_<sha>, with their absolute imports rewritten to
the new names, so both versions live in one process and can be timed
round by round (ratios measured in one process hold on a shared machine;
raw times drift). The folder is removed when the process exits.
"""

from __future__ import annotations

import atexit
import importlib
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("autodiff", "nn")

# `from autodiff...` / `import nn...` at any indentation (TYPE_CHECKING blocks, functions)
_IMPORT = re.compile(r"^(\s*)(from|import)(\s+)(autodiff|nn)\b", re.MULTILINE)
# importlib.resources.files("autodiff"): package data (the explorer's assets)
_RESOURCE = re.compile(r"""(files\(\s*)(["'])(autodiff|nn)\2""")


@dataclass(frozen=True)
class BaseEngine:
    """The packages of one commit, imported under suffixed names."""

    commit: str  # short sha
    autodiff: ModuleType
    nn: ModuleType

    @property
    def label(self) -> str:
        return f"base {self.commit}"


_loaded: dict[str, BaseEngine] = {}


def resolve(commit: str, repo: Path = REPO) -> str:
    """The short sha of commit in repo, or ValueError naming it."""
    if not commit or commit.startswith("-"):
        raise ValueError(
            f"base commit {commit!r} is not a commit name; pass e.g. 6d28a8c or HEAD~1."
        )
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "--short=7", f"{commit}^{{commit}}"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ValueError(
            f"base commit {commit!r} is not a commit of the repository at {repo}; "
            "pass a sha, branch or HEAD~N that `git log` shows."
        )
    return done.stdout.strip()


def rewrite_imports(source: str, suffix: str) -> str:
    """source with autodiff / nn renamed to autodiff_<suffix> / nn_<suffix> in its imports.

    Absolute imports and importlib.resources.files("...") calls are renamed; relative
    imports need nothing. Other mentions (docstrings, messages) stay as they are.
    """
    source = _IMPORT.sub(lambda m: f"{m[1]}{m[2]}{m[3]}{m[4]}_{suffix}", source)
    return _RESOURCE.sub(lambda m: f"{m[1]}{m[2]}{m[3]}_{suffix}{m[2]}", source)


def load_base(commit: str = "6d28a8c", repo: Path = REPO) -> BaseEngine:
    """Import autodiff and nn as they were at commit, as autodiff_<sha> and nn_<sha>."""
    sha = resolve(commit, repo)
    if sha in _loaded:
        return _loaded[sha]
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha, *PACKAGES], cwd=repo, capture_output=True
    )
    if archive.returncode != 0:
        raise ValueError(
            f"git archive {sha} {' '.join(PACKAGES)} failed ({archive.stderr.decode().strip()}); "
            "the base commit must contain the autodiff/ and nn/ packages."
        )
    folder = Path(tempfile.mkdtemp(prefix=f"autodiff-base-{sha}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(folder, filter="data")
        else:  # Python < 3.10.12 / 3.11.4: a tar of our own repository
            tar.extractall(folder)  # noqa: S202
    for package in PACKAGES:
        target = folder / f"{package}_{sha}"
        (folder / package).rename(target)
        for path in target.rglob("*.py"):
            path.write_text(
                rewrite_imports(path.read_text(encoding="utf-8"), sha), encoding="utf-8"
            )
    sys.path.insert(0, str(folder))
    try:
        base_autodiff = importlib.import_module(f"autodiff_{sha}")
        base_nn = importlib.import_module(f"nn_{sha}")
    finally:
        sys.path.remove(str(folder))
    _check_separate(base_autodiff, base_nn, sha)
    _loaded[sha] = BaseEngine(sha, base_autodiff, base_nn)
    return _loaded[sha]


def _check_separate(base_autodiff: ModuleType, base_nn: ModuleType, sha: str) -> None:
    """Refuse a base whose nn would build the working tree's Values (a rewrite missed an import)."""
    value = base_autodiff.Value
    used = base_nn.module.Value
    stray = [
        name
        for name, module in sys.modules.items()
        if name.startswith((f"autodiff_{sha}", f"nn_{sha}"))
        and any(
            v is not value and getattr(v, "__name__", None) == "Value"
            for v in vars(module).values()
        )
    ]
    if used is not value or stray:
        raise RuntimeError(
            f"the base packages of {sha} refer to the working tree's autodiff "
            f"(modules {stray or ['nn_' + sha + '.module']}); an import was not rewritten."
        )
