"""Build the notebook course: each src/NN_name.py becomes NN_name.ipynb, run, with its outputs.

    python demos/notebooks/build_notebooks.py            # rebuild every notebook
    python demos/notebooks/build_notebooks.py 03 04      # only those (by number or name)
    python demos/notebooks/build_notebooks.py --check    # run them, write nothing, report
                                                         # any notebook that is stale

The sources are plain Python in the "percent" format that Jupytext and most editors
understand: a line `# %%` starts a code cell, `# %% [markdown]` a markdown cell whose
lines are comments (`# ` is stripped). Each notebook is executed top to bottom in a
fresh kernel with nbclient, in this folder (so files it writes go to ./out/, which git
ignores), and written with its outputs, so it reads well on a code host. A cell that
raises stops the build with the error and writes nothing. `./run notebooks` (or
`make notebooks`) runs this script; tests/test_notebooks.py runs every notebook again
and checks that the committed text outputs are the ones a fresh run prints.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
sys.path.insert(0, str(HERE.parent.parent))  # autodiff, for the atomic write
from autodiff.fileio import write_atomic  # noqa: E402

TIMEOUT = 120  # seconds per cell; every notebook runs in well under a minute
KERNEL = "python3"
_MARKER = re.compile(r"^# %%(?P<rest>.*)$")


class NotebookSourceError(ValueError):
    """A source file that is not in the percent format this builder reads."""


def sources() -> list[Path]:
    """Every notebook source, in course order (src/01_*.py, src/02_*.py, ...)."""
    return sorted(SRC.glob("[0-9][0-9]_*.py"))


def notebook_path(source: Path) -> Path:
    """Where the notebook built from `source` lives: this folder, same stem, .ipynb."""
    return HERE / f"{source.stem}.ipynb"


def parse(text: str, name: str = "<source>") -> Any:
    """The notebook (nbformat v4, no outputs) that a percent-format source describes."""
    cells: list[tuple[str, list[str], int]] = []  # (kind, lines, line number of the marker)
    for number, line in enumerate(text.splitlines(), start=1):
        match = _MARKER.match(line)
        if match:
            rest = match.group("rest").strip()
            if rest not in ("", "[markdown]"):
                raise NotebookSourceError(
                    f"{name}:{number}: unknown cell marker {line!r}; write '# %%' for code "
                    "or '# %% [markdown]' for text."
                )
            cells.append(("markdown" if rest else "code", [], number))
        elif cells:
            cells[-1][1].append(line)
        elif line.strip():
            raise NotebookSourceError(
                f"{name}:{number}: text before the first cell marker; start the file with "
                "'# %% [markdown]' or '# %%'."
            )
    notebook = nbformat.v4.new_notebook()
    for kind, lines, number in cells:
        body = _trim(lines)
        if not body:
            raise NotebookSourceError(f"{name}:{number}: the cell that starts here is empty.")
        if kind == "code":
            notebook.cells.append(nbformat.v4.new_code_cell("\n".join(body)))
            continue
        text_lines = []
        for offset, line in enumerate(body):
            if line != "#" and not line.startswith("# "):
                raise NotebookSourceError(
                    f"{name}:{number + offset + 1}: a markdown cell's lines must start with "
                    f"'# ' (or be '#'), got {line!r}."
                )
            text_lines.append(line[2:])
        notebook.cells.append(nbformat.v4.new_markdown_cell("\n".join(text_lines)))
    notebook.metadata["kernelspec"] = {
        "name": KERNEL, "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    # ids from the position, so a rebuild changes only what changed
    stem = Path(name).stem.split("_")[0]
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"c{stem}-{i:02d}"
    return notebook


def _trim(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return [line.rstrip() for line in lines[start:end]]


def kernel_env() -> dict[str, str]:
    """The kernel's environment: ours, without settings that would change the outputs."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # plots must use the inline backend, whatever the caller set
    env["PYTHONHASHSEED"] = "0"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # debugpy's frozen-modules notice
    return env


def execute(notebook: Any, timeout: int = TIMEOUT) -> Any:
    """Run every cell of `notebook` in a fresh kernel in this folder; return it with outputs.

    A cell that raises raises nbclient's CellExecutionError (naming the cell and the error).
    """
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(HERE)}},
        record_timing=False,  # no timestamps in the committed file
        # the kernel listens on localhost only; its notice about unencrypted TCP is noise
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    client.execute(env=kernel_env())
    return notebook


def build(source: Path) -> Any:
    """The executed notebook of one source file."""
    return execute(parse(source.read_text(encoding="utf-8"), source.name))


# --- comparing outputs ---------------------------------------------------------------

_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{4,}\b")
_DURATION = re.compile(r"\b\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|seconds)\b")


def normalise(text: str) -> str:
    """Text with what legitimately differs between runs replaced: memory addresses and
    durations. (The notebooks print neither on purpose; this is a safety net.)"""
    return _DURATION.sub("<duration>", _ADDRESS.sub("0x…", text))


def text_outputs(notebook: Any) -> list[list[str]]:
    """For each code cell, its outputs as comparable text: every stream's text and every
    text/plain result or display, normalised, and the name of every error."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        texts: list[str] = []
        last_stream = None  # the kernel may split one print's text into several outputs
        for output in cell.get("outputs", []):
            kind = output["output_type"]
            if kind == "stream":
                if last_stream == output["name"]:
                    texts[-1] += output["text"]
                else:
                    texts.append(f"{output['name']}: {output['text']}")
                last_stream = output["name"]
                continue
            last_stream = None
            if kind in ("execute_result", "display_data"):
                plain = output.get("data", {}).get("text/plain")
                if plain is not None:
                    text = "".join(plain) if isinstance(plain, list) else plain
                    texts.append(f"{kind}: {text}")
            elif kind == "error":
                texts.append(f"error: {output['ename']}")
        cells.append([normalise(text) for text in texts])
    return cells


def differences(committed: Any, fresh: Any) -> list[str]:
    """Sentences naming every cell whose source or text outputs differ; [] if none."""
    problems = []
    old_code = [c.source for c in committed.cells]
    new_code = [c.source for c in fresh.cells]
    if old_code != new_code:
        problems.append("its cells differ from its source file (the notebook was edited, or "
                        "the source changed without a rebuild)")
        return problems
    code_cells = [c for c in fresh.cells if c.cell_type == "code"]
    for cell, old, new in zip(code_cells, text_outputs(committed), text_outputs(fresh)):
        if old != new:
            first = cell.source.splitlines()[0] if cell.source else ""
            problems.append(f"code cell starting {first!r}: committed outputs {old!r}, "
                            f"a fresh run gives {new!r}")
    return problems


def tidy(notebook: Any) -> Any:
    """The notebook with what varies from run to run taken out of its outputs, so that a
    rebuild changes only what changed: consecutive stream outputs of one name merged into
    one (the kernel splits a print's text by timing) and memory addresses in text/plain
    (such as a drawing's `<... at 0x7f...>` fallback) replaced by `0x…`."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs: list[Any] = []
        for output in cell.outputs:
            if output.output_type == "stream":
                if outputs and outputs[-1].output_type == "stream" \
                        and outputs[-1].name == output.name:
                    outputs[-1].text += output.text
                    continue
            elif "text/plain" in output.get("data", {}):
                output.data["text/plain"] = _ADDRESS.sub("0x…", output.data["text/plain"])
            outputs.append(output)
        cell.outputs = outputs
    return notebook


def write(notebook: Any, path: Path) -> None:
    """Tidy, validate and write the notebook atomically (a reader never sees half a file)."""
    tidy(notebook)
    nbformat.validate(notebook)
    write_atomic(path, nbformat.writes(notebook) + "\n")


def _select(names: list[str]) -> list[Path]:
    available = sources()
    if not names:
        return available
    chosen = []
    for name in names:
        hits = [s for s in available if s.stem == name or s.stem.split("_")[0] == name]
        if not hits:
            known = ", ".join(s.stem for s in available)
            raise SystemExit(f"error: no notebook {name!r}; the notebooks are {known}")
        chosen += hits
    return chosen


def main(argv: list[str] | None = None) -> int:
    """Rebuild (or with --check, compare) the chosen notebooks; 1 when --check finds any stale."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook numbers or names (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="run and compare with the committed notebooks; write nothing")
    args = parser.parse_args(argv)
    stale = 0
    for source in _select(args.names):
        target = notebook_path(source)
        start = time.perf_counter()
        notebook = build(source)
        spent = time.perf_counter() - start
        if args.check:
            if not target.exists():
                problems = [f"{target.name} does not exist"]
            else:
                problems = differences(nbformat.read(target, as_version=4), notebook)
            stale += bool(problems)
            verdict = "stale: " + "; ".join(problems) if problems else "up to date"
            print(f"{target.name}: {verdict} ({spent:.1f} s)")
        else:
            write(notebook, target)
            print(f"wrote {target.relative_to(HERE.parent.parent)} ({spent:.1f} s)")
    if stale:
        print("run ./run notebooks to rebuild them")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
