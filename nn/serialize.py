"""Saving and loading model weights as JSON (never pickle), written atomically.

File layout::

    {"format": "autodiff.nn", "version": 1,
     "architecture": {"type": "MLP", "nin": 2, "sizes": [16, 16, 1], ...},
     "parameters": {"layers.0.neurons.0.w.0": 0.123, ...}}

Floats are written with repr(), so a save -> load round trip is bit-exact.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

from autodiff import Value
from autodiff.fileio import write_atomic

from .module import Module, check_state, check_unique_names

FORMAT = "autodiff.nn"
VERSION = 1

PathLike = str | os.PathLike[str]

# A model file is about 40 bytes per parameter, so 64 MiB is over a million weights.
MAX_BYTES = 64 * 1024 * 1024


def _check_module(module: Any, who: str) -> Module:
    """Return module if it is an nn.Module, else raise a clear error."""
    if not isinstance(module, Module):
        raise TypeError(
            f"{who} expects an nn.Module such as an MLP, got {module!r}; call {who}(model, path)."
        )
    return module


def save(module: Module, path: PathLike) -> None:
    """Write module's architecture and parameter values to path as JSON, atomically."""
    _check_module(module, "save")
    named = module.named_parameters()
    check_unique_names(named, f"cannot save to {str(path)!r}")
    state = {name: p.data for name, p in named}
    for name, value in state.items():
        if not math.isfinite(value):
            raise ValueError(
                f"cannot save: parameter {name!r} is {value!r}; the model has diverged "
                "(try a smaller learning rate) and would not load back."
            )
    document = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": module.architecture(),
        "parameters": state,
    }
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    # readers see either the old file or the complete new one, never a partial write
    write_atomic(path, text)


def _reject_constant(name: str) -> float:
    """json.loads hook: refuse NaN, Infinity and -Infinity instead of accepting them."""
    raise ValueError(f"the file contains {name}, which is not a finite number")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads hook: refuse an object that names the same key twice."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the key {key!r} appears twice")
        seen[key] = value
    return seen


def load(module: Module, path: PathLike, *, max_bytes: int = MAX_BYTES) -> Module:
    """Set module's parameters from a file written by save() and return module.

    Everything is checked first, so a bad file raises ValueError and changes nothing.
    Only regular files of at most max_bytes bytes are read (64 MiB by default).
    """
    _check_module(module, "load")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise TypeError(
            f"max_bytes must be an int, got {max_bytes!r}; pass a size in bytes such as "
            f"max_bytes={MAX_BYTES}."
        )
    if max_bytes < 1:
        raise ValueError(f"max_bytes is {max_bytes!r}; pass a size in bytes of at least 1.")
    where = str(Path(path))
    check_unique_names(module.named_parameters(), f"cannot load {where}")
    raw = _read_regular_file(where, max_bytes)
    if not raw.strip():
        raise ValueError(f"{where} is empty; it is not a model file written by nn.save.")
    if raw[:1] == b"\x80":
        raise ValueError(
            f"{where} looks like a pickle file; nn.load only reads JSON files written by "
            "nn.save (pickle is never loaded, as it can run arbitrary code)."
        )
    try:
        updates = _read_values(module, raw, where)
    except RecursionError:
        raise ValueError(
            f"{where} is not a saved model: its JSON is nested too deeply; "
            "nn.load only reads files written by nn.save."
        ) from None
    # everything is valid: only now touch the model
    for p, value in updates:
        p.data = value
    return module


def _read_regular_file(where: str, max_bytes: int) -> bytes:
    """Return the bytes of a regular file of at most max_bytes, else raise ValueError.

    A named pipe, a device such as /dev/zero or a folder is refused before it is
    read: reading those can block forever or never end.
    """
    _check_regular(where, os.stat(where), max_bytes)
    # O_NONBLOCK: if the path was swapped for a pipe after the stat, open still returns
    fd = os.open(where, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with open(fd, "rb", closefd=True) as f:
        _check_regular(where, os.fstat(fd), max_bytes)
        raw = f.read(max_bytes + 1)  # the file may have grown since the stat
    if len(raw) > max_bytes:
        raise ValueError(_too_big(where, f"more than {max_bytes} bytes", max_bytes))
    return raw


_KINDS = [
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


def _check_regular(where: str, info: os.stat_result, max_bytes: int) -> None:
    """Raise ValueError unless info describes a regular file of at most max_bytes."""
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
        raise ValueError(
            f"{where} is {kind}, not a regular file; nn.load only reads model files "
            "written by nn.save."
        )
    if info.st_size > max_bytes:
        raise ValueError(_too_big(where, f"{info.st_size} bytes", max_bytes))


def _too_big(where: str, size: str, max_bytes: int) -> str:
    return (
        f"{where} is {size}, above the limit of {max_bytes} bytes, so it was not read; "
        "a model file written by nn.save takes about 40 bytes per parameter. If it really "
        "is one, pass a larger max_bytes= to nn.load."
    )


def _read_values(module: Module, raw: bytes, where: str) -> list[tuple[Value, float]]:
    """Parse and check a saved file's bytes against module; return (parameter, value) pairs.

    Raises ValueError for anything but a well-formed file for this architecture
    (RecursionError for JSON nested too deeply is left to the caller).
    """
    try:
        document = json.loads(
            raw.decode("utf-8"),
            parse_constant=_reject_constant,
            object_pairs_hook=_reject_duplicates,
        )
    except UnicodeDecodeError:
        raise ValueError(
            f"{where} is not UTF-8 text; it is not a model file written by nn.save."
        ) from None
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        raise ValueError(
            f"{where} is not valid JSON ({error}); it is not a complete model file "
            "written by nn.save (was the write interrupted?)."
        ) from None
    if not isinstance(document, dict):
        raise ValueError(
            f"{where} holds a JSON {type(document).__name__}, not a model file written by nn.save."
        )
    if document.get("format") != FORMAT:
        raise ValueError(
            f"{where} has format {document.get('format')!r}, expected {FORMAT!r}; "
            "it is not a model file written by nn.save."
        )
    version = document.get("version")
    if version != VERSION or isinstance(version, bool):
        raise ValueError(
            f"{where} has format version {version!r}, but this library reads version "
            f"{VERSION}; save the model again with this version."
        )
    architecture = document.get("architecture")
    expected = module.architecture()
    if architecture != expected:
        raise ValueError(
            f"{where} holds a model with architecture {architecture!r}, "
            f"but the model given is {expected!r}; build the same architecture before loading."
        )
    named = module.named_parameters()
    values = check_state(
        document.get("parameters"), [name for name, _ in named], f"{where}: parameters", ValueError
    )
    return [(p, values[name]) for name, p in named]
