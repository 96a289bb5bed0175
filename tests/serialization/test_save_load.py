"""glassgrad.save / glassgrad.load: round trips, the safetensors checkpoints glassgrad 0.1 wrote
(still loadable), and corrupt files (a clear error, nothing loaded, nothing changed)."""

import copy
import io
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import textwrap
from collections import Counter, OrderedDict

import numpy as np
import pytest
import safetensors.torch
import torch

import glassgrad
from glassgrad.serialization import _safetensors


def _linear_state(lib, seed=0):
    rng = np.random.default_rng(seed)
    return OrderedDict(
        weight=lib.tensor(rng.standard_normal((3, 4)).astype(np.float32)),
        bias=lib.tensor(rng.standard_normal(3).astype(np.float32)),
    )


def _assert_same(got, want):
    assert type(got) is type(want), (type(got), type(want))
    if isinstance(want, glassgrad.Tensor):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        assert got.requires_grad == want.requires_grad
    elif isinstance(want, dict):
        assert list(got) == list(want)
        for key in want:
            _assert_same(got[key], want[key])
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _assert_same(g, w)
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == want


def _every_dtype():
    base = np.arange(24).reshape(2, 3, 4)
    obj = OrderedDict()
    for name in ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8"):
        obj[name] = glassgrad.tensor(base.astype(name))
    obj["bool"] = glassgrad.tensor(base % 3 == 0)
    obj["scalar"] = glassgrad.tensor(2.5)
    obj["empty"] = glassgrad.zeros(0, 3)
    obj["strided"] = glassgrad.tensor(base.astype(np.float32)).transpose(0, 2)
    obj["param"] = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    return obj


def _nested():
    return {
        "state": {0: {"step": glassgrad.tensor(3.0)}, 7: {}},
        "groups": [{"betas": (0.9, 0.999), "params": [0, 7], "name": None, "flag": True}],
        "best": math.inf,
        "worst": -math.inf,
        "nan": math.nan,
        "milestones": Counter([3, 7, 7]),
        "dotted.key": {"a.b": glassgrad.ones(2), "a": {"b": glassgrad.zeros(2)}},
        1.5: "float key",
        None: [],
        "empty": (),
    }


@pytest.mark.parametrize("writer", [glassgrad.save, _safetensors.save], ids=["pt", "legacy"])
def test_round_trip_of_tensors_of_every_dtype(writer, tmp_path):
    obj = _every_dtype()
    path = tmp_path / "all.pt"
    writer(obj, path)
    _assert_same(glassgrad.load(path), obj)
    _assert_same(glassgrad.load(str(path)), obj)


@pytest.mark.parametrize("writer", [glassgrad.save, _safetensors.save], ids=["pt", "legacy"])
def test_nested_structures_round_trip(writer):
    obj = _nested()
    buffer = io.BytesIO()
    writer(obj, buffer)
    buffer.seek(0)
    _assert_same(glassgrad.load(buffer), obj)


def test_a_torch_safetensors_file_loads_into_glassgrad(tmp_path):
    path = tmp_path / "torch.safetensors"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    safetensors.torch.save_file(model.state_dict(), path)
    loaded = glassgrad.load(path)
    assert set(loaded) == set(model.state_dict())
    for key, value in model.state_dict().items():
        assert loaded[key].shape == glassgrad.Size(value.shape)
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())


def test_nn_module_round_trip_with_torch(tmp_path):
    ours = glassgrad.nn.Linear(4, 3)
    glassgrad.save(ours.state_dict(), tmp_path / "ours.pt")
    theirs = torch.nn.Linear(4, 3)
    theirs.load_state_dict(torch.load(tmp_path / "ours.pt"))
    with torch.no_grad():
        theirs.weight.mul_(2)
    torch.save(theirs.state_dict(), tmp_path / "theirs.pt")
    ours.load_state_dict(glassgrad.load(tmp_path / "theirs.pt"))
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())


def _adam(params_data):
    params = [glassgrad.tensor(d.copy(), requires_grad=True) for d in params_data]
    return params, glassgrad.optim.Adam(params, lr=0.05, betas=(0.8, 0.95), amsgrad=True)


def _step(params, opt, n):
    for _ in range(n):
        for p in params:
            p.grad = glassgrad.tensor(np.cos(p.detach().numpy()) + p.detach().numpy())
        opt.step()


def test_optimizer_checkpoint_resumes_exactly(tmp_path):
    data = [np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), np.ones(3, np.float32)]
    params, opt = _adam(data)
    _step(params, opt, 5)
    glassgrad.save({"optimizer": opt.state_dict(), "params": params}, tmp_path / "ckpt")
    checkpoint = glassgrad.load(tmp_path / "ckpt")
    resumed_params, resumed = _adam([p.detach().numpy() for p in checkpoint["params"]])
    resumed.load_state_dict(checkpoint["optimizer"])
    assert resumed.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    _step(params, opt, 5)
    _step(resumed_params, resumed, 5)
    for a, b in zip(params, resumed_params, strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


# -- corrupt files: a clear error, nothing loaded --------------------------------------------
def _small_checkpoint() -> bytes:
    buffer = io.BytesIO()
    glassgrad.save({"state": {0: {"exp_avg": glassgrad.ones(2)}}, "lr": 0.1}, buffer)
    return buffer.getvalue()


def _flipped(data: bytes, bit: int) -> bytes:
    return data[: bit // 8] + bytes([data[bit // 8] ^ (1 << bit % 8)]) + data[bit // 8 + 1 :]


def test_every_flipped_bit_is_refused():
    """The archive comment holds a SHA-256 of every byte before it: no flip loads anything."""
    data = _small_checkpoint()
    assert len(data) < 4096
    for bit in range(len(data) * 8):
        with pytest.raises(RuntimeError, match="PytorchStreamReader failed reading zip archive"):
            glassgrad.load(io.BytesIO(_flipped(data, bit)))


def test_every_truncation_is_refused():
    data = _small_checkpoint()
    for cut in range(len(data)):
        with pytest.raises((RuntimeError, EOFError, pickle.UnpicklingError)):
            glassgrad.load(io.BytesIO(data[:cut]))
    assert glassgrad.load(io.BytesIO(data))["lr"] == 0.1


def test_torch_files_are_checked_record_by_record():
    buffer = io.BytesIO()
    torch.save({"w": torch.arange(100.0)}, buffer)
    data = buffer.getvalue()
    at = data.find(np.arange(100.0, dtype=np.float32).tobytes())
    with pytest.raises(RuntimeError, match="crc32 mismatch for archive/data/0"):
        glassgrad.load(io.BytesIO(_flipped(data, at * 8 + 3)))
    # PyTorch's own message where the central directory is gone
    for lib in (torch, glassgrad):
        with pytest.raises(RuntimeError, match="failed finding central directory"):
            lib.load(io.BytesIO(data[:-10]))


def _legacy_bytes():
    buffer = io.BytesIO()
    _safetensors.save({"state": {0: {"exp_avg": glassgrad.ones(2, 3)}}, "lr": 0.1}, buffer)
    return buffer.getvalue()


def _with_metadata(data: bytes, edit) -> bytes:
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    header["__metadata__"]["glassgrad"] = edit(header["__metadata__"]["glassgrad"])
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data[8 + size :]


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0xFF])


LEGACY_CORRUPT = {
    "header_cut": lambda d: d[:40],
    "data_cut": lambda d: d[:-3],
    "huge_header_length": lambda d: struct.pack("<Q", 1 << 60) + d[8:],
    "flipped_data": _flip_last_byte,
    "trailing": lambda d: d + b"x",
    "missing_tensor": lambda d: _with_metadata(d, lambda m: m.replace("state.0.exp_avg", "nope")),
    "unknown_tag": lambda d: _with_metadata(d, lambda m: m.replace('"value"', '"eval"')),
    "bad_json": lambda d: _with_metadata(d, lambda m: m[:-2]),
    "bad_version": lambda d: _with_metadata(d, lambda m: m.replace('"version": 1', '"version": 9')),
}


@pytest.mark.parametrize("case", sorted(LEGACY_CORRUPT))
def test_corrupt_legacy_files_are_refused_with_a_clear_error(case, tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(LEGACY_CORRUPT[case](_legacy_bytes()))
    with pytest.raises(RuntimeError, match="not a valid glassgrad/safetensors checkpoint"):
        glassgrad.load(path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize(
    "data", [b"", b"abc", b"garbage", pickle.dumps({"weight": [1.0, 2.0]})], ids=repr
)
def test_what_is_not_a_checkpoint_gets_torchs_error(data):
    errors = []
    for lib in (torch, glassgrad):
        with pytest.raises(Exception) as info:  # noqa: PT011 - compared below
            lib.load(io.BytesIO(data))
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]
    assert "neither a zip archive" in info.value.__notes__[0]  # (glassgrad's word on why)


def test_a_failed_load_leaves_the_optimizer_untouched(tmp_path):
    params, opt = _adam([np.ones((2, 3), np.float32)])
    _step(params, opt, 2)
    before = copy.deepcopy(opt.state_dict())
    path = tmp_path / "ckpt"
    glassgrad.save(opt.state_dict(), path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(RuntimeError):
        opt.load_state_dict(glassgrad.load(path))
    _assert_same(opt.state_dict(), before)


def test_a_mismatched_optimizer_checkpoint_is_refused_before_anything_changes(tmp_path):
    other_params, other = _adam([np.ones((4,), np.float32)])
    _step(other_params, other, 2)
    glassgrad.save(other.state_dict(), tmp_path / "other")
    params, opt = _adam([np.ones((2, 3), np.float32)])
    _step(params, opt, 1)
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(glassgrad.load(tmp_path / "other"))
    _assert_same(opt.state_dict(), before)


def test_unpicklable_objects_are_refused_on_save_as_torch_refuses_them():
    for lib in (torch, glassgrad):
        with pytest.raises((pickle.PicklingError, AttributeError)):
            lib.save({"f": lambda: 1}, io.BytesIO())


def test_save_and_load_need_no_safetensors_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    buffer = io.BytesIO()
    glassgrad.save({"w": glassgrad.ones(2)}, buffer)
    assert glassgrad.load(io.BytesIO(buffer.getvalue()))["w"].tolist() == [1.0, 1.0]
    assert glassgrad.load(io.BytesIO(_legacy_bytes_cached))["lr"] == 0.1


_legacy_bytes_cached = _legacy_bytes()


def test_loaded_tensors_own_their_memory():
    buffer = io.BytesIO()
    glassgrad.save({"w": glassgrad.ones(3)}, buffer)
    data = buffer.getvalue()
    loaded = glassgrad.load(io.BytesIO(data))["w"]
    loaded.add_(1)
    assert loaded.tolist() == [2.0, 2.0, 2.0]
    assert glassgrad.load(io.BytesIO(data))["w"].tolist() == [1.0, 1.0, 1.0]


def test_a_mismatched_module_checkpoint_is_refused(tmp_path):
    # Whether the module stays untouched is nn's load_state_dict's business (PyTorch itself
    # copies the matching entries before raising); here: the file loads, the mismatch is named.
    glassgrad.save(glassgrad.nn.Linear(5, 3).state_dict(), tmp_path / "other")
    model = glassgrad.nn.Linear(4, 3)
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        model.load_state_dict(glassgrad.load(tmp_path / "other"))


# -- memory: loading streams or maps, it never holds the file twice ---------------------------
_PEAK = textwrap.dedent(
    """
    import sys, tracemalloc
    import glassgrad
    from glassgrad.serialization import _safetensors
    path, kind = sys.argv[1], sys.argv[2]
    w = glassgrad.zeros(25 * 1024 * 1024 // 4)  # 25 MB in each of four tensors
    state = {f"w{i}": w + i for i in range(4)}
    (_safetensors.save if kind == "legacy" else glassgrad.save)(state, path)
    del state, w
    tracemalloc.start()
    loaded = glassgrad.load(path, mmap=kind == "mmap")
    print(tracemalloc.get_traced_memory()[1], float(loaded["w3"][-1]))
    """
)


@pytest.mark.parametrize("kind", ["pt", "mmap", "legacy"])
def test_loading_peaks_at_the_file_size(kind, tmp_path):
    path = tmp_path / "big.ckpt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", _PEAK, str(path), kind], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    peak, last = out.stdout.split()
    size = path.stat().st_size
    assert float(last) == 3.0
    assert int(peak) <= (0.05 if kind == "mmap" else 1.2) * size, int(peak) / size
