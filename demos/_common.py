"""Shared helpers for the demo scripts: flags, progress, plots and file reporting.

Not a demo itself. Each script in demos/ imports it as `_common` (the scripts put
their own folder and the repository root on sys.path, so they run from anywhere).
Matplotlib is imported lazily, with the Agg backend, so a script that draws no
plot does not pay for it and no window ever opens.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from autodiff import no_grad

# One colour per class: points are drawn in these, regions in their light versions.
CLASS_COLOURS = ("#2563eb", "#dc2626", "#16a34a")
REGION_COLOURS = ("#bfdbfe", "#fecaca", "#bbf7d0")
PNG_DPI = 120
GRID = 60  # decision-boundary grid: GRID x GRID model evaluations


# --- command line ---------------------------------------------------------------------


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1, with a readable error otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; try 100") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not at least 1; try 100")
    return value


def make_parser(
    doc: str | None, steps: int | None, seed: int | None, out: str = "out"
) -> argparse.ArgumentParser:
    """An argument parser with --steps, --seed (left out when None) and --out.

    The description is the first paragraph of the script's docstring.
    """
    summary = (doc or "").strip().split("\n\n")[0]
    parser = argparse.ArgumentParser(
        description=summary, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    if steps is not None:
        parser.add_argument("--steps", type=positive_int, default=steps, help="training steps")
    if seed is not None:
        parser.add_argument("--seed", type=int, default=seed, help="seed of the weight init")
    parser.add_argument("--out", type=Path, default=Path(out), help="folder for the pictures")
    return parser


def prepare_out(folder: Path) -> Path:
    """Create the output folder (and its parents); refuse a path that is a file."""
    if folder.exists() and not folder.is_dir():
        raise SystemExit(f"error: --out {folder} is a file; give a folder such as out/")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def report(paths: Sequence[Path | str]) -> None:
    """Print where the demo's files went, one per line."""
    folders = {Path(path).resolve().parent for path in paths}
    print(f"wrote into {folders.pop()}:" if len(folders) == 1 else "wrote:")
    for path in paths:
        print(f"  {path}")


# --- progress ---------------------------------------------------------------------------


def format_metrics(metrics: dict[str, float]) -> str:
    """'loss 0.1234  acc 97.0%': accuracies as percentages, everything else to 4 digits."""
    parts = []
    for name, value in metrics.items():
        text = f"{value:.1%}" if name.startswith("acc") else f"{value:.4g}"
        parts.append(f"{name} {text}")
    return "  ".join(parts)


class Progress:
    """A tqdm bar on a terminal; otherwise a plain line every tenth of the run.

    Use as a context manager and call `update(loss=..., acc=...)` once per step.
    """

    def __init__(self, total: int, desc: str) -> None:
        self.total = total
        self.desc = desc
        self.done = 0
        self.every = max(1, total // 10)
        self.bar = None
        if sys.stdout.isatty():
            self.bar = tqdm(total=total, desc=desc, file=sys.stdout, leave=True)

    def update(self, **metrics: float) -> None:
        """Record one finished step and its metrics."""
        self.done += 1
        text = format_metrics(metrics)
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
        elif self.done % self.every == 0 or self.done == self.total:
            width = len(str(self.total))
            print(f"{self.desc} step {self.done:>{width}}/{self.total}  {text}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- plots ------------------------------------------------------------------------------


def pyplot() -> Any:
    """matplotlib.pyplot with the Agg backend (files only) and reproducible SVG ids."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "autodiff-demos"  # same ids on every run
    return plt


def save_figure(fig: Any, folder: Path, stem: str) -> list[Path]:
    """Save `fig` as folder/stem.png and folder/stem.svg, close it, return both paths."""
    plt = pyplot()
    paths = [folder / f"{stem}.png", folder / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=PNG_DPI, bbox_inches="tight")
    # no creation date in the SVG, so a regenerated picture differs only if the plot does
    fig.savefig(paths[1], bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return paths


def _span(values: Sequence[float], margin: float = 0.25) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    pad = margin * (hi - lo or 1.0)
    return lo - pad, hi + pad


def plot_decision_boundary(
    score: Callable[[float, float], float | list[float]],
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    title: str,
    folder: Path,
    stem: str,
    grid: int = GRID,
) -> list[Path]:
    """Colour the plane by the model's decision, draw the data on top, save PNG and SVG.

    `score(x1, x2)` is one real score for two classes (class 1 where it is > 0), or a
    list of one score per class (the largest wins). Boundaries are drawn where the
    interpolated scores tie, so they are smooth even on a modest grid.
    """
    plt = pyplot()
    classes = sorted(set(y))
    x_lo, x_hi = _span([p[0] for p in X])
    y_lo, y_hi = _span([p[1] for p in X])
    xs = [x_lo + (x_hi - x_lo) * i / (grid - 1) for i in range(grid)]
    ys = [y_lo + (y_hi - y_lo) * j / (grid - 1) for j in range(grid)]
    with no_grad():  # inference only: no graph is kept
        zs = [[score(a, b) for a in xs] for b in ys]

    margins: list[list[list[float]]]
    first = zs[0][0]
    if not isinstance(first, list):  # one score: class 1 wins by it, class 0 by minus it
        single = [[z for z in row if not isinstance(z, list)] for row in zs]
        margins = [[[-z for z in row] for row in single], single]
    else:  # how far each class's score is above the best other class's
        many = [[z for z in row if isinstance(z, list)] for row in zs]
        margins = [
            [[s[c] - max(s[:c] + s[c + 1 :]) for s in row] for row in many]
            for c in range(len(first))
        ]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for c, margin in enumerate(margins):
        big = max(abs(m) for row in margin for m in row) + 1.0
        ax.contourf(xs, ys, margin, levels=[0.0, big], colors=[REGION_COLOURS[c]], alpha=0.8)
        ax.contour(xs, ys, margin, levels=[0.0], colors="#374151", linewidths=0.8)
    for c in classes:
        points = [p for p, label in zip(X, y) if label == c]
        ax.scatter(
            [p[0] for p in points],
            [p[1] for p in points],
            s=18,
            color=CLASS_COLOURS[c],
            edgecolors="white",
            linewidths=0.5,
            label=f"class {c}",
        )
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    return save_figure(fig, folder, stem)


def plot_curves(history: dict[str, list[float]], title: str, folder: Path, stem: str) -> list[Path]:
    """One panel per metric (loss on a log scale, accuracy in percent) against the step."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(history), figsize=(4.2 * len(history), 3.4), squeeze=False)
    for ax, (name, values) in zip(axes[0], history.items()):
        steps = range(1, len(values) + 1)
        if name.startswith("acc"):
            ax.plot(steps, [100 * v for v in values], color=CLASS_COLOURS[2])
            ax.set_ylabel(f"{name} (%)")
            ax.set_ylim(0, 105)
        else:
            ax.plot(steps, values, color=CLASS_COLOURS[0])
            ax.set_ylabel(name)
            if min(values) > 0:
                ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, folder, stem)
