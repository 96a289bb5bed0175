"""glassgrad.save / glassgrad.load: safetensors checkpoints, both ways with PyTorch 2.13."""

import copy
import io
import json
import math
import pickle
import struct
import sys
from collections import Counter, OrderedDict

import numpy as np
import pytest
import safetensors.torch
import torch

import glassgrad


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


def test_round_trip_of_tensors_of_every_dtype(tmp_path):
    base = np.arange(24).reshape(2, 3, 4)
    obj = OrderedDict()
    for name in ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8"):
        obj[name] = glassgrad.tensor(base.astype(name))
    obj["bool"] = glassgrad.tensor(base % 3 == 0)
    obj["scalar"] = glassgrad.tensor(2.5)
    obj["empty"] = glassgrad.zeros(0, 3)
    obj["strided"] = glassgrad.tensor(base.astype(np.float32)).transpose(0, 2)
    obj["param"] = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    path = tmp_path / "all.safetensors"
    glassgrad.save(obj, path)
    _assert_same(glassgrad.load(path), obj)
    _assert_same(glassgrad.load(str(path)), obj)


def test_nested_structures_round_trip():
    obj = {
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
    buffer = io.BytesIO()
    glassgrad.save(obj, buffer)
    buffer.seek(0)
    _assert_same(glassgrad.load(buffer), obj)


def test_a_glassgrad_file_loads_into_the_same_torch_model(tmp_path):
    path = tmp_path / "linear.safetensors"
    state = _linear_state(glassgrad)
    glassgrad.save(state, path)
    model = torch.nn.Linear(4, 3)
    model.load_state_dict(safetensors.torch.load_file(path))
    np.testing.assert_array_equal(model.weight.detach().numpy(), state["weight"].numpy())
    np.testing.assert_array_equal(model.bias.detach().numpy(), state["bias"].numpy())


def test_a_torch_file_loads_into_glassgrad(tmp_path):
    path = tmp_path / "torch.safetensors"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    safetensors.torch.save_file(model.state_dict(), path)
    loaded = glassgrad.load(path)
    assert set(loaded) == set(model.state_dict())
    for key, value in model.state_dict().items():
        assert loaded[key].shape == glassgrad.Size(value.shape)
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())
    # and back to torch, through glassgrad
    glassgrad.save(loaded, tmp_path / "again.safetensors")
    model.load_state_dict(safetensors.torch.load_file(tmp_path / "again.safetensors"))


def test_nn_module_round_trip_with_torch(tmp_path):
    if not hasattr(glassgrad.nn, "Linear"):
        pytest.skip("glassgrad.nn.Linear has not landed yet")
    ours = glassgrad.nn.Linear(4, 3)
    glassgrad.save(ours.state_dict(), tmp_path / "ours.safetensors")
    theirs = torch.nn.Linear(4, 3)
    theirs.load_state_dict(safetensors.torch.load_file(tmp_path / "ours.safetensors"))
    with torch.no_grad():
        theirs.weight.mul_(2)
    safetensors.torch.save_file(theirs.state_dict(), tmp_path / "theirs.safetensors")
    ours.load_state_dict(glassgrad.load(tmp_path / "theirs.safetensors"))
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


def _valid_bytes():
    buffer = io.BytesIO()
    glassgrad.save({"state": {0: {"exp_avg": glassgrad.ones(2, 3)}}, "lr": 0.1}, buffer)
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


CORRUPT = {
    "empty": lambda d: b"",
    "short": lambda d: d[:5],
    "header_cut": lambda d: d[:40],
    "data_cut": lambda d: d[:-3],
    "garbage": lambda d: b"\x00" * 8 + b"not a header at all",
    "huge_header_length": lambda d: struct.pack("<Q", 1 << 60) + d[8:],
    "pickle": lambda d: pickle.dumps({"weight": [1.0, 2.0]}),
    "flipped_data": _flip_last_byte,
    "missing_tensor": lambda d: _with_metadata(d, lambda m: m.replace("state.0.exp_avg", "nope")),
    "unknown_tag": lambda d: _with_metadata(d, lambda m: m.replace('"value"', '"eval"')),
    "bad_json": lambda d: _with_metadata(d, lambda m: m[:-2]),
    "bad_version": lambda d: _with_metadata(d, lambda m: m.replace('"version": 1', '"version": 9')),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_files_are_refused_with_a_clear_error(case, tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(CORRUPT[case](_valid_bytes()))
    with pytest.raises(RuntimeError, match="not a valid glassgrad/safetensors checkpoint"):
        glassgrad.load(path)


def test_every_truncation_is_refused():
    data = _valid_bytes()
    for cut in range(0, len(data), 7):
        with pytest.raises(RuntimeError, match="not a valid"):
            glassgrad.load(io.BytesIO(data[:cut]))


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


def test_unsupported_objects_are_refused_on_save():
    with pytest.raises(TypeError, match="cannot store an object of type object"):
        glassgrad.save({"x": object()}, io.BytesIO())
    with pytest.raises(TypeError, match="dict keys"):
        glassgrad.save({glassgrad.ones(1): 1}, io.BytesIO())


def test_missing_safetensors_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match="pip install safetensors"):
        glassgrad.save({}, io.BytesIO())
    with pytest.raises(ImportError, match="pip install safetensors"):
        glassgrad.load(io.BytesIO(b""))


def test_loaded_tensors_own_their_memory():
    buffer = io.BytesIO()
    glassgrad.save({"w": glassgrad.ones(3)}, buffer)
    loaded = glassgrad.load(io.BytesIO(buffer.getvalue()))["w"]
    loaded.add_(1)
    assert loaded.tolist() == [2.0, 2.0, 2.0]


def test_a_mismatched_module_checkpoint_is_refused(tmp_path):
    # Whether the module stays untouched is nn's load_state_dict's business (PyTorch itself
    # copies the matching entries before raising); here: the file loads, the mismatch is named.
    glassgrad.save(glassgrad.nn.Linear(5, 3).state_dict(), tmp_path / "other")
    model = glassgrad.nn.Linear(4, 3)
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        model.load_state_dict(glassgrad.load(tmp_path / "other"))
