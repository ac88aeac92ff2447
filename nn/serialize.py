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
import secrets
from pathlib import Path
from typing import Any

from autodiff import Value

from .module import Module, check_state

FORMAT = "autodiff.nn"
VERSION = 1

PathLike = str | os.PathLike


def _check_module(module: Any, who: str) -> Module:
    """Return module if it is an nn.Module, else raise a clear error."""
    if not isinstance(module, Module):
        raise TypeError(
            f"{who} expects an nn.Module such as an MLP, got {module!r}; call {who}(model, path)."
        )
    return module


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """Create a new, uniquely named file in folder; return its descriptor and path.

    Unlike tempfile.mkstemp (mode 0600) the file gets the usual permissions
    (0666 minus the umask), so the saved model is as readable as any other file.
    """
    while True:
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def save(module: Module, path: PathLike) -> None:
    """Write module's architecture and parameter values to path as JSON, atomically."""
    _check_module(module, "save")
    path = Path(path)
    state = module.state_dict()
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
    folder = path.parent
    if not folder.is_dir():
        if folder.exists():
            raise NotADirectoryError(
                f"cannot save to {str(path)!r}: {str(folder)!r} is a file, not a folder; "
                "choose a path inside an existing folder."
            )
        raise FileNotFoundError(
            f"cannot save to {str(path)!r}: the folder {str(folder)!r} does not exist; "
            "create it first (e.g. os.makedirs) or choose a path inside an existing folder."
        )
    if path.is_dir():
        raise IsADirectoryError(
            f"cannot save to {str(path)!r}: it is a folder; give a file name such as "
            f"{str(path / 'model.json')!r}."
        )
    # write a temporary file next to the target, then rename it over the target:
    # readers see either the old file or the complete new one, never a partial write
    try:
        fd, tmp = _create_temp(folder, path.name)
    except OSError as error:
        message = (
            f"cannot save to {str(path)!r}: creating a temporary file in {str(folder)!r} "
            f"failed ({error.strerror or error}); check that the folder is writable and has space"
        )
        if error.errno is None:
            raise type(error)(message) from error
        raise type(error)(error.errno, message) from error
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Flush the folder entry of a rename to disk where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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


def load(module: Module, path: PathLike) -> Module:
    """Set module's parameters from a file written by save() and return module.

    Everything is checked first, so a bad file raises ValueError and changes nothing.
    """
    _check_module(module, "load")
    path = Path(path)
    raw = path.read_bytes()
    where = str(path)
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
