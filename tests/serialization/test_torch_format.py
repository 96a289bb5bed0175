"""glassgrad.save / glassgrad.load in PyTorch's checkpoint format, both ways with PyTorch 2.13."""

import io
import math
import pickle
from collections import Counter, OrderedDict

import numpy as np
import pytest
import torch

import glassgrad

DTYPES = ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool")


def _sample(lib):
    """The same object built with either library: every dtype, views, 0-d, empty, params."""
    base = lib.arange(24, dtype=lib.float32).reshape(2, 3, 4)
    obj = OrderedDict()
    for name in DTYPES:
        obj[name] = lib.tensor(np.arange(6).reshape(2, 3).astype(name))
    obj["base"] = base
    obj["row"] = base[1]  # a view at an offset
    obj["transposed"] = base.transpose(0, 2)  # non-contiguous
    obj["strided"] = base[:, ::2, 1:]
    obj["scalar"] = lib.tensor(2.5, dtype=lib.float64)
    obj["empty"] = lib.zeros(0, 3)
    obj["grad"] = lib.tensor([1.0, 2.0], requires_grad=True)
    obj["param"] = lib.nn.Parameter(lib.ones(2, 2))
    obj["frozen"] = lib.nn.Parameter(lib.ones(3), requires_grad=False)
    obj["nested"] = {"list": [base[0, 0], (1, 2.5, None)], 3: "three", "ok": True}
    obj["size"] = lib.Size([2, 3])
    obj["dtype"] = lib.float16
    obj["counter"] = Counter([1, 1, 2])
    obj["numbers"] = [math.inf, -0.0, 2**70, 1 + 2j]
    obj["set"] = {1, 2}
    obj["bytes"] = (b"ab", bytearray(b"cd"))
    return obj


def _compare(got, want):
    """``got`` from one library equals ``want`` from the other, type for type."""
    if isinstance(want, (torch.Tensor, glassgrad.Tensor)):
        assert type(got).__name__ == type(want).__name__
        assert str(got.dtype) == str(want.dtype)
        assert tuple(got.shape) == tuple(want.shape)
        if want.numel():  # (glassgrad's empty tensors report strides of 0)
            assert tuple(got.stride()) == tuple(want.stride())
            assert got.storage_offset() == want.storage_offset()
        assert got.requires_grad == want.requires_grad
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    elif isinstance(want, dict):
        assert type(got).__name__ == type(want).__name__ and list(got) == list(want)
        for key in want:
            _compare(got[key], want[key])
    elif isinstance(want, (list, tuple)) and type(want).__name__ != "Size":
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _compare(g, w)
    else:
        assert str(got) == str(want) and type(got).__name__ == type(want).__name__


def _saved(lib, obj) -> bytes:
    buffer = io.BytesIO()
    lib.save(obj, buffer)
    return buffer.getvalue()


def test_glassgrad_writes_what_torch_loads_with_weights_only():
    ours = _sample(glassgrad)
    loaded = torch.load(io.BytesIO(_saved(glassgrad, ours)))  # weights_only=True by default
    _compare(loaded, _sample(torch))
    # views of one tensor still share one storage, as they did when saved
    assert loaded["row"].untyped_storage().data_ptr() == loaded["base"].untyped_storage().data_ptr()
    assert loaded["transposed"].untyped_storage().data_ptr() == loaded["base"].data_ptr()


def test_glassgrad_reads_what_torch_wrote():
    theirs = _sample(torch)
    loaded = glassgrad.load(io.BytesIO(_saved(torch, theirs)))
    _compare(loaded, _sample(glassgrad))
    loaded["row"].mul_(10)  # storage sharing is back: the base sees the write
    assert loaded["base"][1].tolist() == (np.arange(12, 24).reshape(3, 4) * 10).tolist()


def test_the_archive_is_laid_out_as_torch_lays_it_out():
    ours, theirs = _saved(glassgrad, _sample(glassgrad)), _saved(torch, _sample(torch))
    import zipfile

    a, b = zipfile.ZipFile(io.BytesIO(ours)), zipfile.ZipFile(io.BytesIO(theirs))
    assert [i.filename for i in a.infolist()] == [i.filename for i in b.infolist()]
    assert [i.header_offset for i in a.infolist()] == [i.header_offset for i in b.infolist()]
    for name in a.namelist():
        if not name.endswith("serialization_id"):
            assert a.read(name) == b.read(name), name
    assert len(ours) == len(theirs) + 81  # + glassgrad's checksum in the archive comment


def test_archive_name_follows_the_file_name(tmp_path):
    import zipfile

    glassgrad.save(glassgrad.ones(1), tmp_path / "model.ckpt.pt")
    torch.save(torch.ones(1), tmp_path / "theirs.ckpt.pt")
    ours = zipfile.ZipFile(tmp_path / "model.ckpt.pt").namelist()
    theirs = zipfile.ZipFile(tmp_path / "theirs.ckpt.pt").namelist()
    assert [n.replace("model", "theirs") for n in ours] == theirs


def _lib_model(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.BatchNorm1d(3), lib.nn.Linear(3, 2))


def test_state_dicts_and_optimizer_state_cross_over(tmp_path):
    ours = _lib_model(glassgrad)
    opt = glassgrad.optim.Adam(ours.parameters(), lr=0.1)
    ours(glassgrad.randn(5, 4)).sum().backward()
    opt.step()
    glassgrad.save({"model": ours.state_dict(), "opt": opt.state_dict()}, tmp_path / "c.pt")
    checkpoint = torch.load(tmp_path / "c.pt")
    theirs = _lib_model(torch)
    theirs.load_state_dict(checkpoint["model"])
    their_opt = torch.optim.Adam(theirs.parameters(), lr=0.1)
    their_opt.load_state_dict(checkpoint["opt"])
    _compare(checkpoint["opt"], opt.state_dict())
    torch.save({"model": theirs.state_dict(), "opt": their_opt.state_dict()}, tmp_path / "t.pt")
    back = glassgrad.load(tmp_path / "t.pt")
    _compare(back["model"], ours.state_dict())
    _compare(back["opt"], opt.state_dict())
    opt.load_state_dict(back["opt"])
    ours.load_state_dict(back["model"])


class _Custom:
    pass


def _refusal(lib, data, **kwargs):
    with pytest.raises(pickle.UnpicklingError) as info:
        lib.load(io.BytesIO(data), **kwargs)
    return str(info.value)


@pytest.mark.parametrize(
    "obj",
    [_Custom(), {"a": _Custom}, np.ones(3), np.float64(2.0), slice(1, 2), range(3), Ellipsis],
    ids=["instance", "class", "ndarray", "numpy_scalar", "slice", "range", "ellipsis"],
)
def test_weights_only_refuses_what_torch_refuses_with_its_message(obj):
    data = _saved(torch, obj)
    assert _refusal(glassgrad, data) == _refusal(torch, data)
    assert _refusal(glassgrad, _saved(glassgrad, obj)) == _refusal(torch, data)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /dev/null",))


def test_a_hostile_pickle_never_runs():
    data = _saved(torch, {"x": _Evil()})
    assert _refusal(glassgrad, data) == _refusal(torch, data)
    raw = pickle.dumps({"weight": [1.0]}, protocol=4)  # not a checkpoint at all
    with pytest.warns(UserWarning, match="Detected pickle protocol 4 in the checkpoint"):
        ours = _refusal(glassgrad, raw)
    with pytest.warns(UserWarning, match="Detected pickle protocol 4 in the checkpoint"):
        assert ours == _refusal(torch, raw)


def test_safe_globals_allow_more():
    data = _saved(torch, {"a": _Custom})
    for lib in (torch, glassgrad):
        with lib.serialization.safe_globals([_Custom]):
            assert lib.load(io.BytesIO(data))["a"] is _Custom
            assert _Custom in lib.serialization.get_safe_globals()
        assert _Custom not in lib.serialization.get_safe_globals()
        lib.serialization.add_safe_globals([_Custom])
        assert lib.load(io.BytesIO(data))["a"] is _Custom
        lib.serialization.clear_safe_globals()
        assert lib.serialization.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError, match=f"GLOBAL {__name__}._Custom"):
        glassgrad.load(io.BytesIO(data))


def test_full_pickle_only_when_asked():
    data = _saved(torch, {"n": np.arange(3), "s": slice(1, 2)})
    for lib in (torch, glassgrad):
        got = lib.load(io.BytesIO(data), weights_only=False)
        assert got["s"] == slice(1, 2) and got["n"].tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError, match="explicit pickle_module"):
        glassgrad.load(io.BytesIO(data), pickle_module=pickle, weights_only=True)
    assert glassgrad.load(io.BytesIO(data), pickle_module=pickle)["s"] == slice(1, 2)


def test_save_ndarray():
    array = np.arange(6.0).reshape(2, 3)
    for writer in (torch, glassgrad):
        data = _saved(writer, array)
        for reader in (torch, glassgrad):
            np.testing.assert_array_equal(reader.load(io.BytesIO(data), weights_only=False), array)


def test_a_whole_module_round_trips():
    model = _lib_model(glassgrad)
    model.eval()
    loaded = glassgrad.load(io.BytesIO(_saved(glassgrad, model)), weights_only=False)
    x = glassgrad.randn(3, 4)
    assert type(loaded) is type(model) and not loaded.training
    np.testing.assert_array_equal(loaded(x).detach().numpy(), model(x).detach().numpy())
    loss = loaded(x).sum()
    loss.backward()
    assert all(p.grad is not None for p in loaded.parameters())


@pytest.mark.parametrize(
    "location",
    ["cpu", "cuda", "cuda:1", "xyz", {"cpu": "cuda"}, {"cpu": "cpu"}, "device", "callable"],
)
def test_map_location(location):
    data = _saved(torch, {"w": torch.ones(2)})
    results = []
    for lib in (torch, glassgrad):
        where = location
        if location == "device":
            where = lib.device("cpu")
        elif location == "callable":
            where = lambda storage, loc: storage  # noqa: E731
        try:
            results.append(("ok", lib.load(io.BytesIO(data), map_location=where)["w"].tolist()))
        except Exception as exc:  # noqa: BLE001 - the exception is what is compared
            results.append((type(exc).__name__, str(exc)))
    assert results[0] == results[1]


def test_mmap_loads_lazily_and_privately(tmp_path):
    path = tmp_path / "m.pt"
    glassgrad.save({"w": glassgrad.arange(4.0), "v": glassgrad.ones(2)}, path)
    loaded = glassgrad.load(path, mmap=True)
    loaded["w"].add_(1)  # a private mapping: the file does not change
    assert loaded["w"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert glassgrad.load(path)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert torch.load(path, mmap=True)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    for lib in (torch, glassgrad):
        with pytest.raises(ValueError, match="f must be a file path in order to use the mmap"):
            lib.load(io.BytesIO(path.read_bytes()), mmap=True)


def test_paths_strings_and_file_objects(tmp_path):
    glassgrad.save([glassgrad.ones(1)], str(tmp_path / "a.pt"))
    with open(tmp_path / "b.pt", "wb") as handle:
        glassgrad.save([glassgrad.ones(1)], handle)
    for name in ("a.pt", "b.pt"):
        assert glassgrad.load(tmp_path / name)[0].tolist() == [1.0]
        assert glassgrad.load(str(tmp_path / name))[0].tolist() == [1.0]
        with open(tmp_path / name, "rb") as handle:
            assert glassgrad.load(handle)[0].tolist() == [1.0]
        assert torch.load(tmp_path / name)[0].tolist() == [1.0]


def test_the_legacy_format_both_ways():
    """PyTorch's format before 1.6 (``_use_new_zipfile_serialization=False``)."""
    for writer, reader in ((torch, glassgrad), (glassgrad, torch), (glassgrad, glassgrad)):
        buffer = io.BytesIO()
        writer.save(_sample(writer), buffer, _use_new_zipfile_serialization=False)
        _compare(reader.load(io.BytesIO(buffer.getvalue())), _sample(reader))


def test_a_module_torch_saved_loads_as_a_glassgrad_module():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh())
    data = _saved(torch, theirs)
    assert _refusal(glassgrad, data) == _refusal(torch, data)  # (weights_only refuses modules)
    ours = glassgrad.load(io.BytesIO(data), weights_only=False)
    assert type(ours) is glassgrad.nn.Sequential
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(
        ours(glassgrad.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy()
    )


def test_get_unsafe_globals_in_checkpoint():
    data = _saved(torch, {"m": torch.nn.Linear(2, 2), "n": np.ones(2), "s": slice(1), "w": [1]})
    for lib in (torch, glassgrad):
        found = sorted(lib.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data)))
        assert found == [
            "builtins.slice",
            "numpy._core.multiarray._reconstruct",
            "numpy.dtype",
            "numpy.ndarray",
            "torch.nn.modules.linear.Linear",
        ]
        with pytest.raises(ValueError, match="Expected input to be a checkpoint"):
            lib.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(b"not a zip"))


def test_tensor_attributes_and_parameter_state_travel():
    for writer, reader in ((torch, glassgrad), (glassgrad, torch)):
        tensor = writer.ones(2)
        tensor.note = "kept"
        parameter = writer.nn.Parameter(writer.zeros(1))
        parameter.tag = 3
        loaded = reader.load(io.BytesIO(_saved(writer, [tensor, parameter])))
        assert loaded[0].note == "kept" and loaded[1].tag == 3
        assert type(loaded[1]).__name__ == "Parameter" and loaded[1].requires_grad


def test_no_byteorder_record():
    buffer = io.BytesIO()
    glassgrad.save(glassgrad.ones(2), buffer, _disable_byteorder_record=True)
    import zipfile

    assert "archive/byteorder" not in zipfile.ZipFile(io.BytesIO(buffer.getvalue())).namelist()
    for lib in (torch, glassgrad):
        assert lib.load(io.BytesIO(buffer.getvalue())).tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    "env",
    [
        {"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "1"},
        {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "true"},
        {"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "yes", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"},
    ],
    ids=["force", "force_not", "both"],
)
def test_environment_overrides_of_weights_only(env, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    data = _saved(torch, {"s": slice(1, 2)})
    outcomes = []
    for lib in (torch, glassgrad):
        for explicit in (None, False):
            import warnings

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    outcome = repr(lib.load(io.BytesIO(data), weights_only=explicit))
                except Exception as exc:  # noqa: BLE001 - compared below
                    outcome = (type(exc).__name__, str(exc))
            outcomes.append((outcome, [str(w.message) for w in caught]))
    assert outcomes[:2] == outcomes[2:]


def test_no_flip_in_a_torch_written_file_loads_a_different_object():
    """PyTorch's files carry no checksum of their own over everything; glassgrad checks each
    record's CRC-32 and the archive's structure, so a flip raises or changes nothing loaded."""
    import random
    import warnings

    data = _saved(torch, {"state": {0: {"exp_avg": torch.ones(2)}}, "lr": 0.1})
    want = repr(glassgrad.load(io.BytesIO(data)))
    bits = list(range(0, 8 * 700)) + random.Random(0).sample(range(8 * 700, 8 * len(data)), 600)
    for bit in bits:
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << bit % 8
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                got = glassgrad.load(io.BytesIO(bytes(flipped)))
            except Exception:  # noqa: BLE001, S112 - any clear refusal will do here
                continue
        assert repr(got) == want, bit


@pytest.mark.parametrize("name", ["bfloat16", "complex64", "complex128", "uint16", "uint64"])
@pytest.mark.parametrize("weights_only", [True, False])
def test_dtypes_glassgrad_may_lack(name, weights_only):
    """Loaded as PyTorch loads them where glassgrad has the dtype, else a clear refusal."""
    data = _saved(torch, {"x": torch.arange(4).to(getattr(torch, name))})
    if isinstance(getattr(glassgrad, name, None), glassgrad.dtype):
        got = glassgrad.load(io.BytesIO(data), weights_only=weights_only)["x"]
        assert str(got.dtype) == f"torch.{name}" and got.tolist() == [0, 1, 2, 3]
    else:
        with pytest.raises(RuntimeError, match=f"{name}.*which glassgrad does not have"):
            glassgrad.load(io.BytesIO(data), weights_only=weights_only)


def test_unsigned_wide_integers_are_written_as_torch_writes_them():
    """uint16/32/64 have no legacy storage class: PyTorch writes bytes plus the dtype (v3)."""
    import zipfile

    data = np.arange(6, dtype=np.uint16).reshape(2, 3)
    ours = _saved(glassgrad, {"x": glassgrad.Tensor._from_array(data)[:, 1:]})
    theirs = _saved(torch, {"x": torch.from_numpy(data.astype(np.int32)).to(torch.uint16)[:, 1:]})
    assert torch.load(io.BytesIO(ours))["x"].tolist() == [[1, 2], [4, 5]]
    pickled = [zipfile.ZipFile(io.BytesIO(d)).read("archive/data.pkl") for d in (ours, theirs)]
    assert pickled[0] == pickled[1]


def test_streams_at_an_offset_and_missing_directories(tmp_path):
    for writer in (torch, glassgrad):
        buffer = io.BytesIO()
        buffer.write(b"header")
        writer.save({"w": writer.ones(2)}, buffer)
        for reader in (torch, glassgrad):
            buffer.seek(6)
            assert reader.load(buffer)["w"].tolist() == [1.0, 1.0]
    errors = []
    for lib in (torch, glassgrad):
        with pytest.raises(RuntimeError) as info:
            lib.save(lib.ones(1), tmp_path / "missing" / "a.pt")
        errors.append(str(info.value))
    assert errors[0] == errors[1]
