"""The sparse factories: ``torch.sparse_coo_tensor``, ``sparse_csr_tensor``, ``sparse_csc_tensor``.

A sparse tensor made from a ``values`` tensor that requires grad records
``SparseCooTensorWithDimsAndTensorsBackward0`` (or ``SparseCompressedTensorBackward0``): the
gradient of the values is the incoming gradient read at each index, as in PyTorch.
"""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad import _layout
from glassgrad import _sparse_kernels as kernels
from glassgrad import dtypes as _dt
from glassgrad._sparse_data import SparseArray, coo
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.creation import tensor as _tensor
from glassgrad.tensor import Tensor, _make

__all__ = ["sparse_coo_tensor", "sparse_csr_tensor", "sparse_csc_tensor", "values_backward"]

_WARNED: set = set()
_UNCHECKED = (
    "Sparse invariant checks are implicitly disabled. Memory errors (e.g. SEGFAULT) will occur "
    "when operating on a sparse tensor which violates the invariants, but checks incur "
    "performance overhead. To silence this warning, explicitly opt in or out. See "
    "`torch.sparse.check_sparse_tensor_invariants.__doc__` for guidance."
)
_CSR_BETA = (
    "Sparse CSR tensor support is in beta state. If you miss a functionality in the sparse "
    "tensor support, please submit a feature request to https://github.com/pytorch/pytorch/issues."
)
CHECKS = [False]  # torch.sparse.check_sparse_tensor_invariants' global switch


def warn_once(message: str) -> None:
    """PyTorch's once-per-process warnings (TORCH_WARN_ONCE)."""
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, UserWarning, stacklevel=3)


def values_backward(ctx, grad):
    """The values' gradient: the incoming gradient (dense or sparse) at each index."""
    return (None, kernels.gather(grad, ctx._args))


SparseCooTensorWithDimsAndTensorsBackward0 = node_class(
    "SparseCooTensorWithDimsAndTensorsBackward0", values_backward
)
SparseCompressedTensorBackward0 = node_class(
    "SparseCompressedTensorBackward0",
    lambda ctx, grad: (None, None, kernels.gather(grad, ctx._args)),
)


def _as_tensor(data, dtype=None) -> Tensor:
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    return _tensor(data, dtype=dtype)


def _index_array(indices) -> np.ndarray:
    data = _as_tensor(indices)._data
    return np.asarray(data).astype(np.int64, copy=False)


def _finish(sparse, values, cls, inputs, requires_grad):
    if requires_grad:
        if not values.dtype.is_floating_point:
            raise RuntimeError("Only Tensors of floating point dtype can require gradients")
        out = _make(sparse)
        out._requires_grad = True
        return out
    if values.requires_grad:
        return result(sparse, cls, inputs, args=sparse)
    return _make(sparse)


def _check_coo(indices, shape, checked) -> None:
    if not checked:
        warn_once(_UNCHECKED) if not CHECKS[0] else None
        if not CHECKS[0]:
            return
    for dim in range(indices.shape[0]):
        if not indices.shape[1]:
            break
        low, high = indices[dim].min(), indices[dim].max()
        if low < 0:
            raise RuntimeError(f"found negative index {low} for dim {dim}")
        if high >= shape[dim]:
            raise RuntimeError(
                f"size is inconsistent with indices: for dim {dim}, size is {shape[dim]} but "
                f"found index {high}"
            )


def sparse_coo_tensor(
    indices,
    values,
    size=None,
    *,
    dtype=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
    check_invariants=None,
    is_coalesced=None,
) -> Tensor:
    """A sparse COO tensor with ``values`` at ``indices`` (``sparse_dim x nnz``)."""
    if isinstance(indices, (tuple, list)) and values is None:  # sparse_coo_tensor(size)
        size = indices
        indices, values = np.zeros((len(size), 0), dtype=np.int64), np.zeros(0)
    values = _as_tensor(values, _dt.dtype_arg(dtype, "sparse_coo_tensor"))
    index = _index_array(indices)
    if index.ndim != 2:
        index = index.reshape(index.shape[0] if index.ndim else 1, -1)
    data = values._data
    if data.ndim == 0:
        data = data.reshape(1)
    if index.shape[1] != data.shape[0]:
        raise RuntimeError(
            "indices and values must have same nnz, but got nnz from indices: "
            f"{index.shape[1]}, nnz from values: {data.shape[0]}"
        )
    sparse_dim, dense_dim = index.shape[0], data.ndim - 1
    if size is None:
        high = index.max(axis=1) + 1 if index.shape[1] else np.zeros(sparse_dim, np.int64)
        shape = tuple(int(n) for n in high) + data.shape[1:]
    else:
        shape = tuple(int(n) for n in size)
    if len(shape) != sparse_dim + dense_dim:
        raise RuntimeError(
            "'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = "
            f"{len(shape)}, sparse_dim = {sparse_dim}, dense_dim = {dense_dim}"
        )
    _check_coo(index, shape, check_invariants)
    sparse = coo(index, data, shape, bool(is_coalesced))
    return _finish(
        sparse, values, SparseCooTensorWithDimsAndTensorsBackward0, (None, values), requires_grad
    )


def _compressed(layout, compressed, plain, values, size, dtype, requires_grad):
    values = _as_tensor(values, _dt.dtype_arg(dtype, "sparse_compressed_tensor"))
    compressed, plain = _index_array(compressed), _index_array(plain)
    if size is None:
        outer = len(compressed) - 1
        inner = int(plain.max()) + 1 if len(plain) else 0
        shape = (outer, inner) if layout is _layout.sparse_csr else (inner, outer)
    else:
        shape = tuple(int(n) for n in size)
    warn_once(_CSR_BETA)
    sparse = SparseArray(layout, shape, values._data, None, compressed, plain)
    inputs = (None, None, values)
    return _finish(sparse, values, SparseCompressedTensorBackward0, inputs, requires_grad)


def sparse_csr_tensor(
    crow_indices, col_indices, values, size=None, *, dtype=None, device=None,
    pin_memory=False, requires_grad=False, check_invariants=None,
) -> Tensor:  # fmt: skip
    """A sparse CSR tensor: row ``i`` holds ``values[crow[i]:crow[i+1]]`` at those columns."""
    return _compressed(
        _layout.sparse_csr, crow_indices, col_indices, values, size, dtype, requires_grad
    )


def sparse_csc_tensor(
    ccol_indices, row_indices, values, size=None, *, dtype=None, device=None,
    pin_memory=False, requires_grad=False, check_invariants=None,
) -> Tensor:  # fmt: skip
    """A sparse CSC tensor: column ``j`` holds ``values[ccol[j]:ccol[j+1]]`` at those rows."""
    return _compressed(
        _layout.sparse_csc, ccol_indices, row_indices, values, size, dtype, requires_grad
    )


def _convert_indices_from_coo_to_csr(input, size, *, out_int32=False) -> Tensor:
    """Sorted row indices to CSR's compressed row indices for ``size`` rows."""
    rows = np.asarray(input._data)
    compressed = np.searchsorted(rows, np.arange(size + 1), side="left")
    return _make(compressed.astype(np.int32 if out_int32 else np.int64))


def _convert_indices_from_csr_to_coo(
    crow_indices, col_indices, *, out_int32=False, transpose=False
) -> Tensor:
    """CSR's compressed row and column indices to COO's ``2 x nnz`` indices."""
    compressed = np.asarray(crow_indices._data)
    rows = np.repeat(np.arange(len(compressed) - 1), np.diff(compressed))
    pair = [rows, np.asarray(col_indices._data)]
    indices = np.stack(pair[::-1] if transpose else pair)
    return _make(indices.astype(np.int32 if out_int32 else np.int64))
