"""The Tensor methods of sparse tensors: conversions between layouts, the parts of a sparse
tensor (``indices()``, ``values()``, ``crow_indices()``...) and what it tells about itself.

On a strided tensor each raises PyTorch's error for the wrong layout, word for word.
"""

from __future__ import annotations

import numpy as np

from glassgrad import _layout
from glassgrad import _sparse_kernels as kernels
from glassgrad._sparse_data import SparseArray, coo, not_implemented
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.sparse._creation import warn_once
from glassgrad.tensor import Tensor, _make, tensor_method

__all__ = ["install"]

_COMPRESSED = (_layout.sparse_csr, _layout.sparse_csc, _layout.sparse_bsr, _layout.sparse_bsc)
_BETA = (
    "Sparse CSR tensor support is in beta state. If you miss a functionality in the sparse "
    "tensor support, please submit a feature request to https://github.com/pytorch/pytorch/issues."
)


def _sparse(t, name: str, expected: str, layouts) -> SparseArray:
    """``t``'s sparse array, or PyTorch's error when ``t`` has another layout."""
    data = t._data
    layout = data.layout if data.__class__ is SparseArray else _layout.strided
    if layout not in layouts:
        raise RuntimeError(f"{name} expected {expected} layout but got {layout._kind}")
    return data


def _coo(t, name: str) -> SparseArray:
    return _sparse(t, name, "sparse coordinate tensor", (_layout.sparse_coo,))


# -- gradients ---------------------------------------------------------------------------------
def _to_dense_backward(ctx, grad):
    if ctx._args.layout is _layout.sparse_csc:  # (PyTorch's backward asks for strides)
        raise RuntimeError("Sparse CSC tensors do not have is_contiguous")
    return (kernels.grad_mask(grad, ctx._args),)


ToDenseBackward0 = node_class("ToDenseBackward0", _to_dense_backward)
ValuesBackward0 = node_class(
    "ValuesBackward0", lambda ctx, grad: (ctx._args._with_values(np.asarray(grad), True),)
)
CoalesceBackward0 = node_class("CoalesceBackward0", lambda ctx, grad: (grad,))
SparseMaskBackward0 = node_class(
    "SparseMaskBackward0", lambda ctx, grad: (kernels.to_dense(grad), None)
)


def _back_to(grad, layout):
    """A conversion's gradient: ``grad`` in the layout its input had."""
    if layout is _layout.strided:
        return kernels.to_dense(grad) if grad.__class__ is SparseArray else grad
    if grad.__class__ is not SparseArray:
        grad = _dense_to_coo(np.asarray(grad), np.ndim(grad))
    if layout is _layout.sparse_coo:
        return kernels.coalesce(kernels.to_coo(grad))
    if layout is _layout.sparse_csc:  # (PyTorch's backward asks for strides)
        raise RuntimeError("Sparse CSC tensors do not have is_contiguous")
    return kernels.to_compressed(grad, layout)


def _conversion(name):
    return node_class(name, lambda ctx, grad: (_back_to(grad, ctx._args),))


ToSparseBackward1 = _conversion("ToSparseBackward1")
_INTO = {
    _layout.sparse_coo: ToSparseBackward1,
    _layout.sparse_csr: _conversion("ToSparseCsrBackward0"),
    _layout.sparse_csc: _conversion("ToSparseCscBackward0"),
}


# -- conversions -------------------------------------------------------------------------------
def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
    """The strided tensor a sparse tensor stands for (``self`` when it is strided)."""
    data = self._data
    if data.__class__ is not SparseArray:
        return self if dtype is None else self.to(dtype)
    out = result(kernels.to_dense(data), ToDenseBackward0, (self,), args=data)
    return out if dtype is None else out.to(dtype)


def _dense_to_coo(array: np.ndarray, sparse_dim: int) -> SparseArray:
    if sparse_dim < 0 or sparse_dim > array.ndim:
        raise RuntimeError(
            f"sparse_dim must be in [0, {array.ndim}] but got {sparse_dim}"
        )  # (PyTorch's check in to_sparse)
    flat = array.reshape(array.shape[:sparse_dim] + (-1,))
    nonzero = np.nonzero(np.any(flat != 0, axis=-1) if sparse_dim < array.ndim else array)
    indices = np.stack(nonzero).astype(np.int64).reshape(sparse_dim, -1)
    return coo(indices, array[nonzero], array.shape, True)


def to_sparse(self, *args, layout=None, blocksize=None, dense_dim=None) -> Tensor:
    """This tensor as a sparse COO tensor (``to_sparse(sparse_dim)``), or in ``layout``."""
    if args:
        (sparse_dim,) = args
        return _to_coo(self, sparse_dim)
    if layout is None or layout is _layout.sparse_coo:
        return _to_coo(self, None)
    if layout in (_layout.sparse_csr, _layout.sparse_csc):
        return _to_compressed(self, layout)
    raise not_implemented(f"to_sparse_{layout._name[7:]}", "Strided")


def _to_coo(self, sparse_dim) -> Tensor:
    data = self._data
    if data.__class__ is SparseArray:
        if data.layout is _layout.sparse_coo:
            return self
        return result(kernels.to_coo(data), ToSparseBackward1, (self,), args=data.layout)
    sparse = _dense_to_coo(data, data.ndim if sparse_dim is None else sparse_dim)
    return result(sparse, ToSparseBackward1, (self,), args=_layout.strided)


def to_sparse_coo(self) -> Tensor:
    """This tensor as a sparse COO tensor."""
    return _to_coo(self, None)


def _to_compressed(self, layout) -> Tensor:
    data = self._data
    if data.__class__ is SparseArray:
        if data.layout is layout:
            return self
        if data.ndim != 2 or data.dense_dim:
            raise not_implemented(f"to_sparse_{layout._name[7:]}", data.layout._kind)
        warn_once(_BETA)
        out = kernels.to_compressed(data, layout)
        return result(out, _INTO[layout], (self,), args=data.layout)
    if data.ndim != 2:
        raise RuntimeError(
            f"to_sparse_{layout._name[7:]}: only 2-D strided tensors are supported here, got "
            f"{data.ndim}-D"
        )
    warn_once(_BETA)
    sparse = kernels.to_compressed(_dense_to_coo(data, 2), layout)
    return result(sparse, _INTO[layout], (self,), args=_layout.strided)


def to_sparse_csr(self, dense_dim=None) -> Tensor:
    """This tensor as a sparse CSR tensor (2-D)."""
    return _to_compressed(self, _layout.sparse_csr)


def to_sparse_csc(self, dense_dim=None) -> Tensor:
    """This tensor as a sparse CSC tensor (2-D)."""
    return _to_compressed(self, _layout.sparse_csc)


# -- the parts of a sparse tensor --------------------------------------------------------------
def coalesce(self) -> Tensor:
    """Sorted, unique indices, with the values of repeated ones summed."""
    data = _coo(self, "coalesce")
    if data.coalesced:
        return self
    return result(kernels.coalesce(data), CoalesceBackward0, (self,))


def is_coalesced(self) -> bool:
    """Whether the indices are known to be sorted and unique."""
    return _coo(self, "is_coalesced").coalesced


def _uncoalesced(data: SparseArray, name: str) -> None:
    if not data.coalesced:
        raise RuntimeError(
            f"Cannot get {name} on an uncoalesced tensor, please call .coalesce() first"
        )


def indices(self) -> Tensor:
    """The ``sparse_dim x nnz`` indices of a coalesced COO tensor."""
    data = _coo(self, "indices")
    _uncoalesced(data, "indices")
    return _make(data.indices)


def _indices(self) -> Tensor:
    """The indices as stored (coalesced or not)."""
    return _make(_coo(self, "_indices").indices)


def values(self) -> Tensor:
    """The values of a coalesced COO tensor, or of a CSR/CSC tensor."""
    layouts = (_layout.sparse_coo, *_COMPRESSED)
    data = _sparse(self, "values", "sparse tensor", layouts)
    if data.layout is _layout.sparse_coo:
        _uncoalesced(data, "values")
    return result(data.values, ValuesBackward0, (self,), args=data)


def _values(self) -> Tensor:
    """The values as stored (not differentiable, as in PyTorch)."""
    return _make(_coo(self, "_values").values)


def _nnz(self) -> int:
    """The number of stored values."""
    data = self._data
    if data.__class__ is not SparseArray:
        raise not_implemented("_nnz", "")
    return data.nnz


def sparse_dim(self) -> int:
    """How many leading dimensions are sparse (0 for a strided tensor)."""
    data = self._data
    return data.sparse_dim if data.__class__ is SparseArray else 0


def dense_dim(self) -> int:
    """How many trailing dimensions are dense (all of a strided tensor's)."""
    data = self._data
    return data.dense_dim if data.__class__ is SparseArray else data.ndim


def _compressed(self, name: str, layouts, expected: str, field: str) -> Tensor:
    data = _sparse(self, name, expected, layouts)
    return _make(getattr(data, field))


def crow_indices(self) -> Tensor:
    """A CSR tensor's compressed row indices."""
    rows = (_layout.sparse_csr, _layout.sparse_bsr)
    return _compressed(self, "crow_indices", rows, "sparse row compressed tensor", "compressed")


def col_indices(self) -> Tensor:
    """A CSR tensor's column indices."""
    rows = (_layout.sparse_csr, _layout.sparse_bsr)
    return _compressed(self, "col_indices", rows, "sparse row compressed tensor", "plain")


def ccol_indices(self) -> Tensor:
    """A CSC tensor's compressed column indices."""
    cols = (_layout.sparse_csc, _layout.sparse_bsc)
    return _compressed(self, "ccol_indices", cols, "sparse column compressed tensor", "compressed")


def row_indices(self) -> Tensor:
    """A CSC tensor's row indices."""
    cols = (_layout.sparse_csc, _layout.sparse_bsc)
    return _compressed(self, "row_indices", cols, "sparse column compressed tensor", "plain")


def sparse_mask(self, mask) -> Tensor:
    """This (strided) tensor's values at the indices of the sparse ``mask``."""
    pattern = _coo(mask, "sparse_mask")
    return result(kernels.mask(self._data, pattern), SparseMaskBackward0, (self, None))


_SHRINK = (
    "shrinking the size of sparse dimensions (from {old} to {new}) on a non-empty sparse tensor "
    "is not supported.\nYou could try the following options:\n1. If you need an empty sparse "
    "tensor of this size, call `x = torch.sparse_coo_tensor(size)`.\n2. If you need to resize "
    "this tensor, you have the following options:\n    1. For both sparse and dense dimensions, "
    "keep the number of them constant and the size of them non-shrinking, and then try the same "
    "call again.\n    2. Or, create a new sparse tensor with the correct indices and values from "
    "this sparse tensor."
)


def sparse_resize_(self, size, sparse_dim, dense_dim) -> Tensor:
    """Give a COO tensor a new size (its sparse sizes may only grow while it holds values)."""
    data = _coo(self, "sparse_resize_")
    size = tuple(int(n) for n in size)
    if len(size) != sparse_dim + dense_dim:
        raise RuntimeError(
            f"number of dimensions must be sparse_dim ({sparse_dim}) + dense_dim ({dense_dim}), "
            f"but got {len(size)}"
        )
    if data.nnz:
        old = list(data.shape[: data.sparse_dim])
        if sparse_dim != data.sparse_dim or any(n < o for n, o in zip(size, old, strict=False)):
            raise RuntimeError(_SHRINK.format(old=old, new=list(size[:sparse_dim])))
        if size[sparse_dim:] != data.shape[data.sparse_dim :]:
            raise RuntimeError(
                "resizing dense dimensions of a non-empty sparse tensor is not supported"
            )
        data.shape = size
        return self
    values = np.zeros((0, *size[sparse_dim:]), dtype=data.dtype)
    self._data = coo(np.zeros((sparse_dim, 0), dtype=np.int64), values, size, True)
    return self


METHODS = [
    to_dense, to_sparse, to_sparse_coo, to_sparse_csr, to_sparse_csc, coalesce, is_coalesced,
    indices, _indices, values, _values, _nnz, sparse_dim, dense_dim, crow_indices, col_indices,
    ccol_indices, row_indices, sparse_mask, sparse_resize_,
]  # fmt: skip


def install() -> None:
    """Make these functions methods of ``Tensor`` (called once, at import)."""
    for method in METHODS:
        tensor_method(method, method.__name__)
