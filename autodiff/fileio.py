"""Atomic file writes: the one way the packages write a file.

A reader of the target sees either the old file or the complete new one, never
half a file: the bytes go to a temporary file in the same folder, are flushed
to disk, and the temporary file is renamed over the target.
"""

from __future__ import annotations

import os
import secrets

# ".tmp-" and 12 hex digits: 17 bytes, so the temporary name fits in any folder
# whatever the length of the target's name (the usual limit is 255 bytes).
_TEMP_PREFIX = ".tmp-"
_TEMP_HEX_BYTES = 6
# binary on Windows (no newline translation); not inherited by child processes
_OPEN_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
)


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> str:
    """Write data (str is encoded as UTF-8) to path atomically; return the path as a str.

    The new file gets the permissions of any new file of the user (0666 minus
    the umask). On any error or interrupt the old file, if any, is left as it
    was and no temporary file is left behind.
    """
    target = _check_path(path)
    if isinstance(data, str):
        payload = data.encode("utf-8")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        payload = bytes(data)
    else:
        raise TypeError(
            f"write_atomic: data must be bytes or str, got {type(data).__name__}; "
            "encode it first."
        )
    folder = os.path.dirname(target) or "."
    _check_folder(target, folder)
    temp = os.path.join(folder, _TEMP_PREFIX + secrets.token_hex(_TEMP_HEX_BYTES))
    fd = -1
    try:
        try:
            # the mode 0o666 is reduced by the umask, as for any new file
            fd = os.open(temp, _OPEN_FLAGS, 0o666)
        except FileExistsError:
            # another writer drew the same 48 random bits: not ours, never remove it
            temp = ""
            raise
        except OSError as error:
            temp = ""  # nothing was created
            raise _named(
                error,
                f"cannot write {target!r}: creating a temporary file in {folder!r} failed "
                f"({error.strerror or error}); check that the folder is writable and has space",
            ) from error
        view = memoryview(payload)
        while view:  # os.write may write less than asked
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        closing, fd = fd, -1  # forget fd first: never close a number another open reused
        os.close(closing)
        os.replace(temp, target)
        temp = ""  # renamed: nothing left to clean up
    except BaseException:
        # also for KeyboardInterrupt: close and remove the temporary file. If the
        # interrupt landed between os.open returning and fd being stored, the file
        # exists but fd is -1; its random name makes it ours.
        if fd != -1:
            try:
                os.close(fd)
            except OSError:
                pass
        if temp:
            try:
                os.unlink(temp)
            except OSError:
                pass
        raise
    _fsync_dir(folder)
    return target


def _check_path(path: object) -> str:
    """Return path as a non-empty str, or raise a clear TypeError / ValueError."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or pathlib.Path, got {type(path).__name__}; "
            "pass a file name such as 'model.json'."
        )
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"path must be text, got the bytes {text!r}; decode it first.")
    if not text:
        raise ValueError("path is empty; pass a file name such as 'model.json'.")
    return text


def _check_folder(target: str, folder: str) -> None:
    """Raise a clear error naming the target if its folder is missing or it is a folder."""
    if not os.path.isdir(folder):
        if os.path.exists(folder):
            raise NotADirectoryError(
                f"cannot write {target!r}: {folder!r} is a file, not a folder; "
                "choose a path inside an existing folder."
            )
        raise FileNotFoundError(
            f"cannot write {target!r}: the folder {folder!r} does not exist; "
            "create it first (e.g. os.makedirs) or choose a path inside an existing folder."
        )
    if os.path.isdir(target):
        raise IsADirectoryError(
            f"cannot write {target!r}: it is a folder; give a file name such as "
            f"{os.path.join(target, 'model.json')!r}."
        )


def _named(error: OSError, message: str) -> OSError:
    """Return an error of error's class with message (keeping errno where there is one)."""
    try:
        if error.errno is None:
            return type(error)(message)
        return type(error)(error.errno, message)
    except Exception:  # an OSError subclass with another constructor: keep the original
        return error


def _fsync_dir(folder: str) -> None:
    """Flush the folder entry of the rename to disk where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # e.g. Windows, or a file system that cannot sync folders
    finally:
        os.close(fd)
