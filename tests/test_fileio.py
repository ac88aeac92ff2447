"""Tests for autodiff.fileio.write_atomic: long names, permissions, nothing left on failure."""

import os
import sys

import pytest

from autodiff import fileio
from autodiff.fileio import write_atomic


def test_writes_bytes_and_text_and_returns_the_path(tmp_path):
    target = tmp_path / "a.bin"
    assert write_atomic(target, b"\x00\xff") == str(target)
    assert target.read_bytes() == b"\x00\xff"
    assert write_atomic(str(target), "h\u00e9\n") == str(target)  # overwrites
    assert target.read_bytes() == "h\u00e9\n".encode()  # UTF-8, no newline translation
    assert os.listdir(tmp_path) == ["a.bin"]


@pytest.mark.parametrize("length", [238, 240, 250, 254, 255])
def test_names_up_to_the_file_system_limit_work(tmp_path, length):
    name = "m" * (length - 5) + ".json"
    assert len(name.encode()) == length
    path = write_atomic(tmp_path / name, "{}")
    assert os.path.basename(path) == name
    assert os.listdir(tmp_path) == [name]


def test_long_utf8_names_work(tmp_path):
    name = "\u00e9" * 125 + ".json"  # 250 + 5 bytes
    assert len(name.encode()) == 255
    write_atomic(tmp_path / name, "x")
    assert os.listdir(tmp_path) == [name]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_mode_is_that_of_any_new_file(tmp_path, umask):
    old = os.umask(umask)
    try:
        reference = tmp_path / "reference"
        with open(reference, "w") as f:  # how Python makes any new file
            f.write("x")
        write_atomic(tmp_path / "new", "x")
        (tmp_path / "old").write_text("x")
        os.chmod(tmp_path / "old", 0o600)
        write_atomic(tmp_path / "old", "y")  # replaced: a new file, new-file mode
    finally:
        os.umask(old)
    expected = os.stat(reference).st_mode
    assert expected & 0o777 == 0o666 & ~umask
    assert os.stat(tmp_path / "new").st_mode == expected
    assert os.stat(tmp_path / "old").st_mode == expected


def _fail(exc):
    def broken(*args, **kwargs):
        raise exc

    return broken


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_failure_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch, where, exc):
    target = tmp_path / "model.json"
    target.write_bytes(b"old contents")
    monkeypatch.setattr(os, where, _fail(exc))
    with pytest.raises(type(exc)):
        write_atomic(target, b"new contents")
    monkeypatch.undo()
    assert target.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["model.json"]


def test_an_interrupt_at_any_bytecode_leaves_old_or_new_file_and_no_temporary(tmp_path):
    # raise KeyboardInterrupt at the k-th bytecode executed inside fileio, for every k:
    # afterwards the folder holds only the target, with the old or the new bytes
    target = tmp_path / "model.json"
    code_file = fileio.__file__
    outcomes = set()
    k = 0
    while True:
        target.write_bytes(b"old")
        count = [0]
        fired = [False]

        def tracer(frame, event, arg, k=k, count=count, fired=fired):
            if frame.f_code.co_filename != code_file:
                return None
            frame.f_trace_opcodes = True
            if event == "opcode" and not fired[0]:
                if count[0] == k:
                    fired[0] = True
                    raise KeyboardInterrupt
                count[0] += 1
            return tracer

        sys.settrace(tracer)
        try:
            write_atomic(target, b"new")
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)
        assert os.listdir(tmp_path) == ["model.json"], f"interrupt at bytecode {k}"
        outcomes.add(target.read_bytes())
        assert target.read_bytes() in (b"old", b"new")
        if not fired[0]:  # k is past the last bytecode: the call completed
            break
        k += 1
    assert k > 50  # the injection really walked through the function
    assert outcomes == {b"old", b"new"}


def test_a_temporary_file_that_cannot_be_made_names_the_target(tmp_path, monkeypatch):
    target = tmp_path / "out.svg"
    monkeypatch.setattr(os, "open", _fail(PermissionError(13, "Permission denied")))
    with pytest.raises(PermissionError) as info:
        write_atomic(target, "x")
    monkeypatch.undo()
    assert info.value.errno == 13
    assert f"cannot write {str(target)!r}" in str(info.value)
    assert "check that the folder is writable" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_an_existing_file_with_the_temporary_name_is_never_removed(tmp_path, monkeypatch):
    (tmp_path / ".tmp-000000000000").write_text("someone else's")
    monkeypatch.setattr(fileio.secrets, "token_hex", lambda n: "0" * (2 * n))
    with pytest.raises(FileExistsError):
        write_atomic(tmp_path / "x", "y")
    assert (tmp_path / ".tmp-000000000000").read_text() == "someone else's"
    assert sorted(os.listdir(tmp_path)) == [".tmp-000000000000"]


def test_missing_folder_file_as_folder_and_folder_as_target(tmp_path):
    with pytest.raises(FileNotFoundError, match="the folder .* does not exist; create it first"):
        write_atomic(tmp_path / "absent" / "x", "y")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        write_atomic(tmp_path / "file" / "x", "y")
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        write_atomic(tmp_path, "y")
    assert os.listdir(tmp_path) == ["file"]


@pytest.mark.parametrize(
    ("path", "data", "error", "words"),
    [
        (None, "x", TypeError, "path must be a str or pathlib.Path, got NoneType"),
        (b"x", "x", TypeError, "got bytes"),
        ("", "x", ValueError, "path is empty"),
        ("x", 3, TypeError, "data must be bytes or str, got int"),
    ],
)
def test_bad_arguments(tmp_path, monkeypatch, path, data, error, words):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=words):
        write_atomic(path, data)
    assert os.listdir(tmp_path) == []
