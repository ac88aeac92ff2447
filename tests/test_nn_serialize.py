"""Tests for nn.save / nn.load: JSON format, bit-exact round trip, atomic writes, validation."""

import json
import os
import pickle
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from nn import MLP, Layer, load, save


def trained_like(sizes=(3, 2), activation="tanh", seed=0):
    """A model whose weights are not the initial ones (awkward floats included)."""
    model = MLP(2, list(sizes), activation=activation, seed=seed)
    for i, p in enumerate(model.parameters()):
        p.data = p.data * 1.1 + i / 3.0 + 1e-17 * i
    return model


def snapshot(model):
    return [p.data for p in model.parameters()]


def test_round_trip_is_bit_exact_and_predictions_equal(tmp_path):
    model = trained_like()
    path = tmp_path / "model.json"
    save(model, path)
    other = MLP(2, [3, 2], activation="tanh", seed=99)
    assert load(other, path) is other
    assert snapshot(other) == snapshot(model)  # exact float equality on purpose
    x = [0.25, -1.75]
    assert [v.data for v in other(x)] == [v.data for v in model(x)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=9, max_size=9))
def test_round_trip_is_bit_exact_for_any_finite_floats(weights):
    model = MLP(2, [2, 1])
    for p, w in zip(model.parameters(), weights):
        p.data = w
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.json"
        save(model, path)
        other = load(MLP(2, [2, 1], seed=1), path)
    # float.hex tells -0.0 from 0.0 and shows every bit
    assert [p.data.hex() for p in other.parameters()] == [w.hex() for w in weights]


def test_saved_file_has_ordinary_permissions(tmp_path):
    reference = tmp_path / "reference.txt"
    reference.write_text("x")
    save(MLP(2, [1]), tmp_path / "m.json")
    assert os.stat(tmp_path / "m.json").st_mode == os.stat(reference).st_mode


def test_file_is_json_with_format_version_architecture(tmp_path):
    path = tmp_path / "model.json"
    save(MLP(2, [3, 1], seed=1), str(path))  # str paths work too
    document = json.loads(path.read_text())
    assert document["format"] == "autodiff.nn"
    assert document["version"] == 1
    assert document["architecture"] == {
        "type": "MLP",
        "nin": 2,
        "sizes": [3, 1],
        "activation": "relu",
        "output_activation": "linear",
    }
    assert len(document["parameters"]) == 13
    assert os.listdir(tmp_path) == ["model.json"]  # no temporary file left behind


def test_save_overwrites_and_works_for_any_module(tmp_path):
    path = tmp_path / "layer.json"
    layer = Layer(2, 2, seed=1)
    save(layer, path)
    layer.neurons[0].b.data = 4.5
    save(layer, path)
    fresh = Layer(2, 2, seed=2)
    load(fresh, path)
    assert fresh.neurons[0].b.data == 4.5


def test_save_refuses_non_finite_weights(tmp_path):
    model = MLP(2, [1])
    model.layers[0].neurons[0].w[1].data = float("nan")
    with pytest.raises(ValueError, match=r"parameter 'layers.0.neurons.0.w.1' is nan"):
        save(model, tmp_path / "m.json")
    assert os.listdir(tmp_path) == []


def test_failed_rename_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    save(MLP(2, [3, 1], seed=1), path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        save(MLP(2, [3, 1], seed=2), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]  # the temporary file was removed


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    save(MLP(2, [3, 1], seed=1), path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("no space left")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="no space left"):
        save(MLP(2, [3, 1], seed=2), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


def test_save_into_a_missing_folder_names_the_target(tmp_path):
    path = tmp_path / "no such folder" / "model.json"
    with pytest.raises(FileNotFoundError) as info:
        save(MLP(2, [1]), path)
    message = str(info.value)
    assert repr(str(path)) in message and "does not exist; create it first" in message
    assert ".tmp" not in message  # not the hidden temporary file's name
    assert os.listdir(tmp_path) == []  # no folder or file created


def test_save_below_a_file_names_the_target(tmp_path):
    (tmp_path / "file").write_text("x")
    path = tmp_path / "file" / "model.json"
    with pytest.raises(NotADirectoryError, match=f"cannot write {re.escape(repr(str(path)))}"):
        save(MLP(2, [1]), path)
    assert os.listdir(tmp_path) == ["file"] and (tmp_path / "file").read_text() == "x"


def test_save_onto_a_folder_names_the_target(tmp_path):
    with pytest.raises(
        IsADirectoryError, match=f"{re.escape(repr(str(tmp_path)))}: it is a folder"
    ):
        save(MLP(2, [1]), tmp_path)
    assert os.listdir(tmp_path) == []


def test_save_where_the_temporary_file_cannot_be_made_names_the_target(tmp_path, monkeypatch):
    path = tmp_path / "model.json"

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".model.json.0.tmp"))

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError) as info:
        save(MLP(2, [1]), path)
    assert f"cannot write {str(path)!r}" in str(info.value)
    assert "check that the folder is writable" in str(info.value)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_save_and_load_need_a_module(tmp_path):
    with pytest.raises(TypeError, match="save expects an nn.Module"):
        save([1.0], tmp_path / "m.json")
    with pytest.raises(TypeError, match="load expects an nn.Module"):
        load("model", tmp_path / "m.json")


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(MLP(2, [1]), tmp_path / "absent.json")


# --- bad files: a clear ValueError, and the model exactly as it was -----------


def good_document():
    model = MLP(2, [3, 1], seed=5)
    return {
        "format": "autodiff.nn",
        "version": 1,
        "architecture": model.architecture(),
        "parameters": model.state_dict(),
    }


def with_parameter(text):
    """A valid file whose first parameter value is replaced by the raw JSON text."""
    document = good_document()
    document["parameters"]["layers.0.neurons.0.w.0"] = "@@"
    return json.dumps(document).replace('"@@"', text).encode()


def changed(**fields):
    document = good_document()
    document.update(fields)
    return json.dumps(document).encode()


def without_parameter():
    document = good_document()
    del document["parameters"]["layers.1.neurons.0.b"]
    return json.dumps(document).encode()


def with_extra_parameter():
    document = good_document()
    document["parameters"]["layers.2.neurons.0.b"] = 0.0
    return json.dumps(document).encode()


def with_duplicate_key():
    text = json.dumps(good_document())
    return text.replace(
        '"layers.0.neurons.0.b": ', '"layers.0.neurons.0.b": 1.0, "layers.0.neurons.0.b": '
    ).encode()


BAD_FILES = {
    "empty": (b"", "is empty"),
    "blank": (b"  \n", "is empty"),
    "truncated": (json.dumps(good_document()).encode()[:-40], "is not valid JSON"),
    "not json": (b"hello world", "is not valid JSON"),
    "not utf-8": (b"\xff\xfe\x00garbage", "is not UTF-8"),
    "pickle": (pickle.dumps(good_document()), "looks like a pickle file"),
    "json list": (b"[1, 2, 3]", "holds a JSON list"),
    "wrong format": (changed(format="keras"), "has format 'keras'"),
    "no format": (b'{"version": 1}', "has format None"),
    "newer version": (changed(version=2), "format version 2"),
    "bool version": (changed(version=True), "format version True"),
    "wrong architecture": (
        changed(architecture={**good_document()["architecture"], "sizes": [4, 1]}),
        r"architecture .*'sizes': \[4, 1\]",
    ),
    "other activation": (
        changed(architecture={**good_document()["architecture"], "activation": "tanh"}),
        "'activation': 'tanh'",
    ),
    "no parameters": (changed(parameters=None), "parameters must be a dict"),
    "missing parameter": (without_parameter(), "missing 1 parameter.*'layers.1.neurons.0.b'"),
    "extra parameter": (with_extra_parameter(), "unexpected parameter.*'layers.2.neurons.0.b'"),
    "duplicate key": (with_duplicate_key(), "'layers.0.neurons.0.b' appears twice"),
    "NaN": (with_parameter("NaN"), "contains NaN"),
    "Infinity": (with_parameter("Infinity"), "contains Infinity"),
    "-Infinity": (with_parameter("-Infinity"), "contains -Infinity"),
    "1e400": (with_parameter("1e400"), "'layers.0.neurons.0.w.0' is inf"),
    "-1e400": (with_parameter("-1e400"), "'layers.0.neurons.0.w.0' is -inf"),
    "string value": (
        with_parameter('"0.5"'),
        "'layers.0.neurons.0.w.0' must be a number, got '0.5'",
    ),
    "bool value": (with_parameter("true"), "'layers.0.neurons.0.w.0' must be a number, got True"),
    "null value": (with_parameter("null"), "'layers.0.neurons.0.w.0' must be a number, got None"),
    "list value": (with_parameter("[0.5]"), r"must be a number, got \[0.5\]"),
    "400-digit integer": (
        with_parameter("1" * 400),
        "parameter 'layers.0.neurons.0.w.0' is a 400-digit integer, too large for a float",
    ),
    "-400-digit integer": (
        with_parameter("-" + "9" * 400),
        "parameter 'layers.0.neurons.0.w.0' is a negative 400-digit integer",
    ),
    "deeply nested file": (
        b"[" * 100_000 + b"]" * 100_000,
        "is not a saved model: .*nested too deeply",
    ),
    "deeply nested value": (
        with_parameter("[" * 100_000 + "]" * 100_000),
        "is not a saved model: .*nested too deeply",
    ),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_file_is_rejected_and_model_untouched(tmp_path, name):
    content, message = BAD_FILES[name]
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    model = trained_like(sizes=(3, 1), activation="relu", seed=1)  # as good_document()
    before = snapshot(model)
    with pytest.raises(ValueError, match=message):
        load(model, path)
    after = snapshot(model)
    assert len(after) == len(before)
    for old, new in zip(before, after):
        assert new == old  # value by value, exactly


def test_good_document_helper_really_loads(tmp_path):
    # guards the table above: without its one defect, each bad file would load
    path = tmp_path / "good.json"
    path.write_bytes(json.dumps(good_document()).encode())
    model = MLP(2, [3, 1], seed=0)
    load(model, path)
    assert snapshot(model) == snapshot(MLP(2, [3, 1], seed=5))


def test_exported_names():
    assert {"Module", "Neuron", "Layer", "MLP", "SGD", "Adam", "save", "load"} <= set(dir(nn))
    assert nn.losses.mse and nn.datasets.make_moons


# --- duplicate names, special files, size limit (issue 11, items 10 and 11) ----


class TwoMLPs(nn.Module):
    """Concatenates two MLPs' named_parameters: the names clash pairwise."""

    def __init__(self):
        self.a = MLP(2, [1], seed=1)
        self.b = MLP(2, [1], seed=2)

    def named_parameters(self):
        return self.a.named_parameters() + self.b.named_parameters()

    def parameters(self):
        return [p for _, p in self.named_parameters()]


def test_save_refuses_clashing_names_instead_of_writing_half_the_parameters(tmp_path):
    with pytest.raises(
        ValueError, match=r"parameters 0 and 3 of named_parameters\(\) are both named "
        r"'layers.0.neurons.0.w.0', so one would overwrite the other"
    ):
        save(TwoMLPs(), tmp_path / "m.json")
    assert os.listdir(tmp_path) == []


def test_load_refuses_clashing_names_and_changes_nothing(tmp_path):
    path = tmp_path / "m.json"
    save(MLP(2, [1], seed=3), path)
    model = TwoMLPs()
    before = snapshot(model)
    with pytest.raises(ValueError, match="cannot load .*both named 'layers.0.neurons.0.w.0'"):
        load(model, path)
    assert snapshot(model) == before


def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # reading it would wait forever for a writer
    with pytest.raises(ValueError, match=r"pipe.json is a named pipe, not a regular file"):
        load(MLP(2, [1]), fifo)


@pytest.mark.parametrize(("special", "kind"), [("/dev/zero", "a character device")])
def test_a_device_is_refused_before_reading(special, kind):
    if not os.path.exists(special):
        pytest.skip(f"{special} does not exist here")
    with pytest.raises(ValueError, match=f"{special} is {kind}, not a regular file"):
        load(MLP(2, [1]), special)


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not a regular file"):
        load(MLP(2, [1]), tmp_path)


def test_a_file_above_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    model = MLP(2, [3, 1], seed=1)
    save(model, path)
    size = path.stat().st_size
    reads = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    with pytest.raises(ValueError, match=f"is {size} bytes, above the limit of {size - 1} bytes"):
        load(MLP(2, [3, 1], seed=2), path, max_bytes=size - 1)
    assert reads == []  # refused from the size alone
    other = load(MLP(2, [3, 1], seed=2), path, max_bytes=size)  # exactly at the limit
    assert snapshot(other) == snapshot(model)


def test_the_default_limit_is_64_mib(tmp_path):
    path = tmp_path / "big.json"
    with open(path, "wb") as f:
        f.truncate(64 * 1024 * 1024 + 1)  # sparse: no disk space used
    with pytest.raises(ValueError, match="is 67108865 bytes, above the limit of 67108864 bytes"):
        load(MLP(2, [1]), path)


@pytest.mark.parametrize(
    ("max_bytes", "error"), [(0, ValueError), (-5, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_bad_max_bytes(tmp_path, max_bytes, error):
    path = tmp_path / "m.json"
    save(MLP(2, [1]), path)
    with pytest.raises(error, match="max_bytes"):
        load(MLP(2, [1]), path, max_bytes=max_bytes)


def test_save_accepts_names_of_up_to_255_bytes(tmp_path):
    path = tmp_path / ("m" * 250 + ".json")
    save(MLP(2, [1], seed=4), path)
    assert os.listdir(tmp_path) == [path.name]
    assert snapshot(load(MLP(2, [1]), path)) == snapshot(MLP(2, [1], seed=4))
