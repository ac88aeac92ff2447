"""The notebook course in demos/notebooks: every notebook runs top to bottom in a fresh
kernel, the committed notebooks are the ones their sources build, and their committed text
outputs are what a fresh run prints (so what a reader sees on a code host is not stale)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
BUILDER = ROOT / "demos" / "notebooks" / "build_notebooks.py"
spec = importlib.util.spec_from_file_location("build_notebooks", BUILDER)
assert spec is not None and spec.loader is not None
build = importlib.util.module_from_spec(spec)
sys.modules["build_notebooks"] = build
spec.loader.exec_module(build)

COURSE = [
    "01_values_and_the_chain_rule",
    "02_the_explorer",
    "03_training_moons",
    "04_worked_example",
    "05_second_order_and_forward_mode",
]
SOURCES = build.sources()


def committed(source: Path):
    return nbformat.read(build.notebook_path(source), as_version=4)


def test_the_course_has_its_notebooks_each_committed_beside_its_source():
    assert [s.stem for s in SOURCES][: len(COURSE)] == COURSE
    for source in SOURCES:
        assert build.notebook_path(source).is_file(), (
            f"{source.name} has no notebook: run ./run notebooks")


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_committed_notebook_was_built_from_its_source_and_run_top_to_bottom(source):
    notebook = committed(source)
    nbformat.validate(notebook)
    fresh = build.parse(source.read_text(encoding="utf-8"), source.name)
    assert [(c.cell_type, c.source) for c in notebook.cells] == \
        [(c.cell_type, c.source) for c in fresh.cells], "stale: run ./run notebooks"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    # executed in order, once each, and nothing raised
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not [o for c in code for o in c.outputs
                if o.output_type == "stream" and o.name == "stderr"], "a warning was printed"


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_every_notebook_shows_an_inline_svg_picture(source):
    pictures = [o for c in committed(source).cells if c.cell_type == "code" for o in c.outputs
                if "image/svg+xml" in o.get("data", {})]
    assert pictures, f"{source.stem} shows no inline SVG graph or plot"
    for picture in pictures:
        assert picture.data["image/svg+xml"].lstrip().startswith(("<?xml", "<svg", "<!--"))


def test_the_explorer_notebook_shows_the_page_inline():
    source = next(s for s in SOURCES if s.stem == "02_the_explorer")
    pages = [o.data["text/html"] for c in committed(source).cells if c.cell_type == "code"
             for o in c.outputs if "<iframe" in o.get("data", {}).get("text/html", "")]
    assert len(pages) == 2  # the neuron and the 2-2-1 network
    for page in pages:
        assert "srcdoc=" in page and "Backprop explorer" in page and "forward pass" in page


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_fresh_run_prints_what_the_committed_notebook_shows(source):
    """Run the notebook in a fresh kernel (any cell that raises fails the test) and compare
    every stream and text/plain output with the committed ones."""
    start = time.perf_counter()
    fresh = build.build(source)
    seconds = time.perf_counter() - start
    problems = build.differences(committed(source), fresh)
    assert not problems, f"{source.stem} is stale (run ./run notebooks): " + "; ".join(problems)
    # the committed outputs are not empty: a notebook whose cells print nothing would pass
    assert sum(len(texts) for texts in build.text_outputs(fresh)) >= 5
    print(f"{source.stem}: {seconds:.1f} s")


# --- the checker itself -----------------------------------------------------------------


def test_a_cell_that_raises_stops_the_run_with_the_error():
    notebook = build.parse("# %%\nx = 1\n# %%\nraise ValueError('boom in cell 2')\n# %%\n"
                           "print('never')\n", "raises.py")
    with pytest.raises(CellExecutionError, match="boom in cell 2"):
        build.execute(notebook)


def _with_outputs(*outputs):
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(x)")
    cell.outputs = list(outputs)
    notebook.cells.append(cell)
    return notebook


def _stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def _plain(text):
    return nbformat.v4.new_output("execute_result", data={"text/plain": text},
                                  execution_count=1)


def test_a_changed_number_is_stale():
    old = _with_outputs(_stream("loss 0.1234\n"))
    new = _with_outputs(_stream("loss 0.1235\n"))
    (problem,) = build.differences(old, new)
    assert "loss 0.1234" in problem and "loss 0.1235" in problem


def test_a_missing_or_extra_output_is_stale():
    assert build.differences(_with_outputs(_stream("a\n")), _with_outputs())
    assert build.differences(_with_outputs(), _with_outputs(_plain("<Figure size 1x1>")))


def test_addresses_durations_and_how_a_print_is_split_do_not_count():
    old = _with_outputs(_stream("a\n"), _stream("b\n"), _plain("<Drawing at 0x7f09ebc02290>"),
                        _stream("took 1.5 s\n"))
    new = _with_outputs(_stream("a\nb\n"), _plain("<Drawing at 0x7fe72d5e10d0>"),
                        _stream("took 12 ms\n"))
    assert build.differences(old, new) == []


def test_pictures_are_not_compared_but_their_text_is():
    old = _with_outputs(nbformat.v4.new_output(
        "display_data", data={"image/svg+xml": "<svg>1</svg>", "text/plain": "<Figure>"}))
    new = _with_outputs(nbformat.v4.new_output(
        "display_data", data={"image/svg+xml": "<svg>2</svg>", "text/plain": "<Figure>"}))
    assert build.differences(old, new) == []


def test_an_edited_cell_is_stale():
    old = build.parse("# %%\nprint(1)\n")
    new = build.parse("# %%\nprint(2)\n")
    (problem,) = build.differences(old, new)
    assert "differ from its source" in problem


@pytest.mark.parametrize(("text", "message"), [
    ("x = 1\n# %%\ny = 2\n", r"x\.py:1: text before the first cell marker"),
    ("# %% [raw]\nx\n", r"x\.py:1: unknown cell marker '# %% \[raw\]'"),
    ("# %% [markdown]\n# fine\nnot a comment\n", r"x\.py:3: a markdown cell's lines must start"),
    ("# %%\n\n# %%\ny = 2\n", r"x\.py:1: the cell that starts here is empty"),
])
def test_a_malformed_source_is_refused_with_its_line(text, message):
    with pytest.raises(build.NotebookSourceError, match=message):
        build.parse(text, "x.py")


def test_markdown_and_code_cells_are_read_as_written():
    notebook = build.parse("# %% [markdown]\n# # Title\n#\n# text\n\n# %%\n\nx = 1\n\n\n"
                           "print(x)\n\n", "07_x.py")
    markdown, code = notebook.cells
    assert (markdown.cell_type, markdown.source) == ("markdown", "# Title\n\ntext")
    assert (code.cell_type, code.source) == ("code", "x = 1\n\n\nprint(x)")
    assert [c.id for c in notebook.cells] == ["c07-00", "c07-01"]
    assert re.fullmatch(r"[a-zA-Z0-9-_]+", code.id)


def test_tidy_merges_split_prints_and_drops_addresses_before_writing():
    notebook = _with_outputs(_stream("a\n"), _stream("b\n"), _stream("oops\n", "stderr"),
                             _plain("<Drawing at 0x7f09ebc02290>"), _stream("c\n"))
    outputs = build.tidy(notebook).cells[0].outputs
    assert [(o.output_type, o.get("name"), o.get("text"), o.get("data", {}).get("text/plain"))
            for o in outputs] == [
        ("stream", "stdout", "a\nb\n", None), ("stream", "stderr", "oops\n", None),
        ("execute_result", None, None, "<Drawing at 0x…>"), ("stream", "stdout", "c\n", None)]


def test_run_and_make_offer_the_two_notebook_commands():
    result = subprocess.run(["bash", str(ROOT / "run"), "help"], capture_output=True,
                            text=True, timeout=60, check=True)
    assert "./run notebooks" in result.stdout and "./run lab" in result.stdout
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "notebooks:\n\t@bash ./run notebooks" in makefile
    assert "lab:\n\t@bash ./run lab" in makefile
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in COURSE:
        assert f"demos/notebooks/{name}.ipynb" in readme, f"the README does not list {name}"
