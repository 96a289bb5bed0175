"""Tensors themselves against PyTorch 2.13: factories, dtypes, conversions and metadata.

Each case runs the same code on ``torch`` and on ``glassgrad`` and compares what comes out:
the repr (values, dtype, shape) or the exception's type and message.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch

import glassgrad


@pytest.fixture(autouse=True)
def _restore_default_dtype():
    yield
    glassgrad.set_default_dtype(glassgrad.float32)
    torch.set_default_dtype(torch.float32)


def outcome(fn, lib):
    """What ``fn(lib)`` gives: its repr, or the exception's type and message."""
    try:
        result = fn(lib)
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome being compared
        return type(exc).__name__, str(exc).split("\n")[0]
    return repr(result).replace("glassgrad", "torch")


def assert_same(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, got = outcome(fn, torch), outcome(fn, glassgrad)
    assert got == expected


TENSOR_DATA = [
    lambda t: t.tensor([np.float64(1.0), 2]),
    lambda t: t.tensor([np.float32(1.0), 2.5]),
    lambda t: t.tensor([np.int8(1), np.int8(2)]),
    lambda t: t.tensor([t.tensor(1.0, dtype=t.float64), 2]),
    lambda t: t.tensor([t.tensor([1]), t.tensor([2])]),
    lambda t: t.tensor([t.tensor([1.0, 2.0])]),
    lambda t: t.tensor([t.tensor([1, 2]), t.tensor([3, 4])]),
    lambda t: t.tensor(range(3)),
    lambda t: t.tensor([range(2), range(2)]),
    lambda t: t.tensor([np.array([1.0, 2.0]), [3, 4]]),
    lambda t: t.tensor([[1, 2], [3]]),
    lambda t: t.tensor([[1], [2, 3]]),
    lambda t: t.tensor([[1, 2], 3]),
    lambda t: t.tensor([1, [2]]),
    lambda t: t.tensor([1.0, [2.0]]),
    lambda t: t.tensor("a"),
    lambda t: t.tensor([1, "a"]),
    lambda t: t.tensor(None),
    lambda t: t.tensor([1, None]),
    lambda t: t.tensor({1, 2}),
    lambda t: t.tensor(2**63),
    lambda t: t.tensor([1, 2**63]),
    lambda t: t.tensor([2**63, 1.0]),
    lambda t: t.tensor(-(2**63)),
    lambda t: t.tensor([300], dtype=t.uint8),
    lambda t: t.tensor([-1], dtype=t.uint8),
    lambda t: t.tensor([-1.0], dtype=t.uint8),
    lambda t: t.tensor([200], dtype=t.int8),
    lambda t: t.tensor([float("nan")], dtype=t.int64),
    lambda t: t.tensor([1.7, -1.7], dtype=t.int32),
    lambda t: t.tensor([1e5], dtype=t.float16),
    lambda t: t.tensor(1e40),
    lambda t: t.tensor([1, 2], dtype=float),
    lambda t: t.zeros(2, dtype=float),
    lambda t: t.tensor(np.ones(3)[::-1]),
]

FACTORY_ERRORS = [
    lambda t: t.zeros(-1),
    lambda t: t.ones(-2),
    lambda t: t.empty(2, -1),
    lambda t: t.rand(-1),
    lambda t: t.zeros(2.0),
    lambda t: t.ones(2, 3.0),
    lambda t: t.rand(2, "a"),
    lambda t: t.zeros([2, 3.5]),
    lambda t: t.zeros(None),
    lambda t: t.zeros(t.tensor(2.0)),
    lambda t: t.full((2.5,), 1.0),
    lambda t: t.full(2, 3.0),
    lambda t: t.full((2,), "a"),
    lambda t: t.zeros(),
    lambda t: t.ones(),
    lambda t: t.zeros(2, size=(3,)),
    lambda t: t.zeros(size=(2, 3)),
    lambda t: t.ones(size=[2]),
    lambda t: t.empty(size=(0,)),
    lambda t: t.zeros((t.tensor(2), 3)),
    lambda t: t.eye(-1),
    lambda t: t.eye(2, -1),
    lambda t: t.eye(2.5),
    lambda t: t.eye(True),
    lambda t: t.eye(np.int64(2)),
    lambda t: t.zeros_like([1, 2]),
    lambda t: t.ones_like(3),
    lambda t: t.full_like(np.ones(2), 2),
    lambda t: t.rand(2, dtype=t.int64),
    lambda t: t.randn(2, dtype=t.int32),
    lambda t: t.rand(2, dtype=t.bool),
    lambda t: t.rand_like(t.ones(2, dtype=t.int64)),
    lambda t: t.randint(5, 3, (2,)),
    lambda t: t.randint(0, 0, (2,)),
    lambda t: t.randint(5, 3),
    lambda t: t.randint(2.5, (3,)),
    lambda t: t.randint(5, (2.5,)),
    lambda t: t.randint(0, 300, (2,), dtype=t.uint8),
    lambda t: t.randint(-5, 5, (2,), dtype=t.uint8),
    lambda t: t.randint(5, (2,), dtype=t.bool),
    lambda t: t.randint(5, size=(2,)).shape,
    lambda t: t.randperm(-1),
    lambda t: t.randperm(2.5),
    lambda t: t.randperm(3, dtype=t.bool),
]

RANGES = [
    lambda t: t.arange(5, 0),
    lambda t: t.arange(0, 5, -1),
    lambda t: t.arange(0, 5, 0),
    lambda t: t.arange(float("inf")),
    lambda t: t.arange(0, float("nan")),
    lambda t: t.arange(3, dtype=t.bool),
    lambda t: t.arange("a"),
    lambda t: t.arange(end=4),
    lambda t: t.arange(start=1, end=4),
    lambda t: t.arange(0, 3, 0.5, dtype=t.int64),
    lambda t: t.arange(-3, 3, 2.5, dtype=t.int64),
    lambda t: t.arange(0, 5, 1.5, dtype=t.int64),
    lambda t: t.arange(0, 1, 0.3, dtype=t.int32),
    lambda t: t.arange(1.5, dtype=t.uint8),
    lambda t: t.linspace(0, 1, -1),
    lambda t: t.linspace(0, 1, 1),
    lambda t: t.linspace(0, 1, 3, dtype=t.bool),
    lambda t: t.linspace(t.tensor([0.0]), 1, 3),
]


@pytest.mark.parametrize("fn", TENSOR_DATA + FACTORY_ERRORS + RANGES)
def test_factory_matches_torch(fn):
    assert_same(fn)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64", "int32", "uint8"])
@pytest.mark.parametrize("bounds", [(-1, 1), (0, 1), (-1e3, 1e3), (3.7, -2.2), (0, 10), (-3, 120)])
@pytest.mark.parametrize("steps", [0, 1, 2, 4, 7, 10, 50])
def test_linspace_values_match_torch_bit_for_bit(dtype, bounds, steps):
    if dtype == "uint8" and min(bounds) < 0:
        pytest.skip("a negative bound in uint8 is C's undefined float-to-unsigned conversion")
    expected = torch.linspace(*bounds, steps, dtype=getattr(torch, dtype)).numpy()
    got = glassgrad.linspace(*bounds, steps, dtype=getattr(glassgrad, dtype)).numpy()
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_from_numpy_errors_and_read_only_warning():
    assert_same(lambda t: t.from_numpy(np.ones(3)[::-1]))
    assert_same(lambda t: t.from_numpy(np.float64(1.0)))
    # glassgrad lists the dtypes it supports, which are fewer than PyTorch's.
    with pytest.raises(TypeError, match=r"can't convert np.ndarray of type numpy.str_\. "):
        glassgrad.from_numpy(np.array(["x"]))
    array = np.arange(3.0)
    array.flags.writeable = False
    glassgrad.creation._READ_ONLY_WARNED[0] = False
    with pytest.warns(UserWarning, match="The given NumPy array is not writable"):
        glassgrad.from_numpy(array)


LEGACY = [
    lambda t: t.Tensor(),
    lambda t: t.Tensor([1, 2]),
    lambda t: t.Tensor((1, 2)),
    lambda t: t.Tensor(2, 3).shape,
    lambda t: t.Tensor(t.Size([2, 3])).shape,
    lambda t: t.Tensor(t.tensor([1, 2])),
    lambda t: t.Tensor(t.tensor(1)),
    lambda t: t.Tensor(2.5),
    lambda t: t.Tensor(None),
    lambda t: t.Tensor("a"),
    lambda t: t.Tensor([[1, 2], [3]]),
    lambda t: t.Tensor([1, 2], dtype=t.int64),
    lambda t: t.Tensor(2, 3, requires_grad=True),
]


@pytest.mark.parametrize("fn", LEGACY)
def test_legacy_constructor_matches_torch(fn):
    assert_same(fn)


def test_legacy_constructor_aliases_a_tensor():
    source = glassgrad.tensor([1, 2])
    alias = glassgrad.Tensor(source)
    alias[0] = 5
    assert source.tolist() == [5, 2] and alias.dtype is glassgrad.int64


DTYPES = [
    lambda t: t.set_default_dtype(t.int64),
    lambda t: t.set_default_dtype(t.bool),
    lambda t: t.set_default_dtype(float),
    lambda t: t.set_default_dtype("float64"),
    lambda t: t.promote_types(t.float32, float),
    lambda t: t.promote_types(t.int32, int),
    lambda t: t.ones(2).to(float).dtype,
    lambda t: type(t.float32),
    lambda t: type(t.Size([2])),
    lambda t: type(t.Size([2, 3])[1:]),
]


@pytest.mark.parametrize("fn", DTYPES)
def test_dtype_behaviour_matches_torch(fn):
    assert_same(fn)


METADATA = [
    lambda t: bool(t.tensor([])),
    lambda t: bool(t.tensor([1, 2])),
    lambda t: t.tensor(1.0).size(0),
    lambda t: t.tensor(1.0).size(-1),
    lambda t: t.tensor(1.0).stride(0),
    lambda t: t.tensor(1.0).stride(),
    lambda t: t.zeros(2).size(-2),
    lambda t: t.zeros(2, 3)[:, 1:].storage_offset(),
    lambda t: t.zeros(3, 4)[1:, 1:].storage_offset(),
    lambda t: t.zeros(3, 4).t()[1].storage_offset(),
    lambda t: t.zeros(2).layout,
    lambda t: (t.zeros(2).is_sparse, t.zeros(2).is_quantized, t.zeros(2).is_meta),
    lambda t: t.zeros(2, 3).H.shape,
    lambda t: t.zeros(2, 3, 4).mH.shape,
    lambda t: t.zeros(3).H,
    lambda t: t.zeros(2, 3, 4).H,
    lambda t: t.zeros(3).mH,
    lambda t: t.tensor(2.0).H,
    lambda t: t.Size([2.5]),
    lambda t: t.Size("ab"),
    lambda t: t.Size(3),
    lambda t: t.Size([None]),
    lambda t: t.Size([True, np.int64(2)]),
    lambda t: t.Size([t.tensor([2])]),
    lambda t: t.Size([t.tensor(2.0)]),
    lambda t: t.Size(x for x in [1, 2]),
    lambda t: np.exp(t.tensor([0.0, 1.0])),
    lambda t: np.isnan(t.tensor([1.0])),
    lambda t: np.negative(t.tensor(1.0)),
]


NEW_METHODS = [
    lambda t: t.ones(2).new_ones(size=(2,)),
    lambda t: t.ones(2, dtype=t.int32).new_zeros(2, 3),
    lambda t: t.ones(2, dtype=t.int32).new_zeros((2, 3)),
    lambda t: t.ones(2).new_zeros(-1),
    lambda t: t.ones(2).new_zeros(2.5),
    lambda t: t.ones(2).new_empty(2, 3, dtype=t.float64).dtype,
    lambda t: t.ones(2).new_full(2, 3.0),
    lambda t: t.ones(2, dtype=t.int64).new_full((2,), 3.7),
    lambda t: t.ones(2, requires_grad=True).new_zeros(2),
    lambda t: t.ones(2, dtype=t.int64).new_tensor([1.5]),
    lambda t: t.empty(0).data_ptr(),
]


@pytest.mark.parametrize("fn", NEW_METHODS)
def test_new_methods_match_torch(fn):
    assert_same(fn)


def test_new_tensor_from_a_tensor_warns_like_torch():
    with pytest.warns(UserWarning, match=r"rather than tensor\.new_tensor\(sourceTensor\)"):
        glassgrad.ones(2).new_tensor(glassgrad.tensor([1, 2]))


@pytest.mark.parametrize("fn", METADATA)
def test_metadata_matches_torch(fn):
    assert_same(fn)


def test_zero_dim_h_warns_like_torch():
    import warnings

    from glassgrad import _tensor_info

    _tensor_info._WARNED_0D.clear()
    with pytest.warns(UserWarning, match=r"Tensor.H is deprecated on 0-D tensors"):
        _ = glassgrad.tensor(2.0).H
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _ = glassgrad.tensor(2.0).H  # once per process, as PyTorch's TORCH_WARN_ONCE


def test_size_pickles_and_stays_a_size():
    shape = glassgrad.zeros(2, 3).shape
    again = pickle.loads(pickle.dumps(shape))
    assert again == shape and type(again) is glassgrad.Size
