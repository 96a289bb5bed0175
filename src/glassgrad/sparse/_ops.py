"""``torch.sparse``'s operations: ``mm``, ``addmm``, ``sum``, ``softmax``/``log_softmax`` and
``spdiags``, with PyTorch's gradients (sparse where PyTorch's are: a sparse operand's gradient
keeps its sparsity pattern)."""

from __future__ import annotations

import numpy as np

from glassgrad import _layout
from glassgrad import _sparse_kernels as kernels
from glassgrad._sparse_data import SparseArray, coo, not_implemented
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.tensor import Tensor, _make

__all__ = ["mm", "addmm", "sum", "softmax", "log_softmax", "spdiags"]


def _mm_backward(ctx, grad, dense):
    sparse = ctx._args
    if dense is not None and sparse.layout is not _layout.sparse_coo:
        if sparse.layout is not _layout.sparse_csr:
            raise RuntimeError(
                "sparse_addmm_sparse_backward: unsupported combination of layouts, grad: Strided, "
                f"mat1: {sparse.layout._kind}, mat2: Strided"
            )
    grad_sparse = kernels.grad_mask(np.matmul(grad, dense.T), sparse) if dense is not None else None
    return grad_sparse, kernels.matmul(sparse.T, grad)


SparseAddmmBackward0 = node_class("SparseAddmmBackward0", _mm_backward)


def _check_mm(sparse: SparseArray, dense) -> None:
    if sparse.ndim != 2 or sparse.dense_dim:
        raise not_implemented("mm", sparse.layout._kind)
    if dense.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {dense.ndim}-D tensor")
    if dense.shape[0] != sparse.shape[1]:
        raise RuntimeError(
            f"addmm: Argument #3 (dense): Expected dim 0 size {sparse.shape[1]}, got "
            f"{dense.shape[0]}"
        )
    if dense.dtype != sparse.dtype:
        raise RuntimeError(
            f"expected scalar type {_scalar(sparse.dtype)} but found {_scalar(dense.dtype)}"
        )


def _scalar(dtype) -> str:
    from glassgrad._tensor_info import _c_type
    from glassgrad.dtypes import from_numpy_dtype

    return _c_type(from_numpy_dtype(dtype))


def mm(mat1, mat2, reduce="sum") -> Tensor:
    """Matrix product of a sparse ``mat1`` with a dense or sparse ``mat2``; the gradient of a
    sparse operand keeps its sparsity pattern."""
    a, b = mat1._data, mat2._data
    if a.__class__ is not SparseArray:
        if b.__class__ is SparseArray:
            return mat1 @ mat2
        return _make(np.matmul(a, b))  # (PyTorch allows two dense matrices, untracked)
    if b.__class__ is SparseArray:
        return result(kernels.matmul(a, b), SparseSparseMatmulBackward0, (mat1, mat2), args=(a, b))
    _check_mm(a, b)
    return result(kernels.matmul(a, b), SparseAddmmBackward0, (mat1, mat2), saved=(mat2,), args=a)


def _sparse_sparse_backward(ctx, grad):
    a, b = ctx._args
    # (PyTorch's gradients hold the products' patterns, not the operands')
    grad_a = kernels.restrict(kernels.matmul(grad, b.T), a)
    return grad_a, kernels.restrict(kernels.matmul(a.T, grad), b)


SparseSparseMatmulBackward0 = node_class("SparseSparseMatmulBackward0", _sparse_sparse_backward)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with a sparse ``mat1``."""
    return mat * beta + mm(mat1, mat2) * alpha


# -- sum ---------------------------------------------------------------------------------------
SumBackward0 = node_class(
    "SparseSumAllBackward0",
    lambda ctx, grad: (_filled(ctx._args, grad),),
)
# PyTorch names the node of a full sum SumBackward0 for sparse inputs too; the rule differs
# (the gradient keeps the input's sparsity), so it is a class of its own under that name.
SumBackward0.__name__ = SumBackward0.__qualname__ = "SumBackward0"


def _filled(sparse: SparseArray, grad) -> SparseArray:
    """``grad`` (a number) at each of ``sparse``'s coalesced indices."""
    pattern = kernels.coalesce(kernels.to_coo(sparse))
    return pattern._with_values(np.broadcast_to(grad, pattern.values.shape).copy())


def _sum_dims_backward(ctx, grad):
    sparse, kept, dense_axes = ctx._args
    sparse = kernels.coalesce(sparse)  # (PyTorch's gradient has the coalesced pattern)
    if kept:  # read the gradient at each input index's remaining sparse coordinates
        pattern = coo(sparse.indices[kept], sparse.values, [sparse.shape[d] for d in kept])
        picked = kernels.gather(grad, pattern)
    else:
        picked = np.broadcast_to(np.asarray(grad), (sparse.nnz, *np.shape(grad)))
    for axis in dense_axes:
        picked = np.expand_dims(picked, axis)
    values = np.broadcast_to(picked, sparse.values.shape).copy()
    return (coo(sparse.indices, values, sparse.shape, False),)


SparseSumBackward0 = node_class("SparseSumBackward0", _sum_dims_backward)


def sum(input, dim=None, dtype=None) -> Tensor:
    """Sum of a sparse COO tensor's values, over all dimensions or over ``dim``: sparse while a
    sparse dimension remains, dense once every sparse dimension is summed."""
    data = input._data
    if data.__class__ is not SparseArray:
        return input.sum() if dim is None else input.sum(dim)
    if data.layout is not _layout.sparse_coo:
        raise RuntimeError(
            f"coalesce expected sparse coordinate tensor layout but got {data.layout._kind}"
        )
    if dtype is not None:
        input = input.to(dtype)
        data = input._data
    if dim is None:
        return result(np.asarray(data.values.sum()), SumBackward0, (input,), args=data)
    dims = sorted({d % data.ndim for d in ((dim,) if isinstance(dim, int) else dim)})
    kept = [d for d in range(data.sparse_dim) if d not in dims]
    dense_axes = [d - data.sparse_dim + 1 for d in dims if d >= data.sparse_dim]
    out = kernels.sum_dims(data, dims)
    return result(out, SparseSumBackward0, (input,), args=(data, kept, dense_axes))


# -- softmax -----------------------------------------------------------------------------------
def _softmax_values(data: SparseArray, dim: int, log: bool) -> np.ndarray:
    """Softmax along ``dim`` over the stored entries (the unstored ones count as -inf)."""
    if data.layout is not _layout.sparse_coo or dim >= data.sparse_dim:
        raise not_implemented("_sparse_softmax", data.layout._kind)
    data = kernels.coalesce(data)
    others = [d for d in range(data.sparse_dim) if d != dim]
    sizes = [data.shape[d] for d in others]
    groups = kernels.linear(data.indices[others], sizes)
    _, group = np.unique(groups, return_inverse=True)
    group = group.reshape(-1)
    values = data.values
    high = np.full((group.max() + 1 if len(group) else 0, *values.shape[1:]), -np.inf, values.dtype)
    np.maximum.at(high, group, values)
    shifted = values - high[group]
    exp = np.exp(shifted)
    total = np.zeros_like(high)
    np.add.at(total, group, exp)
    out = shifted - np.log(total[group]) if log else exp / total[group]
    return data._with_values(out.astype(values.dtype, copy=False)), group


def _softmax_backward(ctx, grad):
    out, group, log = ctx._args
    grad = kernels.gather(grad, out)
    values = out.values
    total = np.zeros((group.max() + 1 if len(group) else 0, *values.shape[1:]), values.dtype)
    if log:
        np.add.at(total, group, grad)
        return (out._with_values(grad - np.exp(values) * total[group], False),)
    np.add.at(total, group, grad * values)
    return (out._with_values(values * (grad - total[group]), False),)


SparseSoftmaxBackward0 = node_class("SparseSoftmaxBackward0", _softmax_backward)
SparseLogSoftmaxBackward0 = node_class("SparseLogSoftmaxBackward0", _softmax_backward)


def softmax(input, dim, *, dtype=None) -> Tensor:
    """Softmax along ``dim`` over the stored values of a sparse COO tensor."""
    return _softmax(input, dim, dtype, False, SparseSoftmaxBackward0)


def log_softmax(input, dim, *, dtype=None) -> Tensor:
    """Log-softmax along ``dim`` over the stored values of a sparse COO tensor."""
    return _softmax(input, dim, dtype, True, SparseLogSoftmaxBackward0)


def _softmax(input, dim, dtype, log, cls):
    if dtype is not None:
        input = input.to(dtype)
    data = input._data
    if data.__class__ is not SparseArray:
        raise not_implemented("_sparse_log_softmax" if log else "_sparse_softmax", "")
    out, group = _softmax_values(data, dim % data.ndim, log)
    return result(out, cls, (input,), args=(out, group, log))


# -- spdiags -----------------------------------------------------------------------------------
def spdiags(diagonals, offsets, shape, layout=None) -> Tensor:
    """A sparse matrix with the rows of ``diagonals`` on the diagonals ``offsets``."""
    values, shifts = np.asarray(diagonals._data), np.asarray(offsets._data).reshape(-1)
    if values.ndim == 1:
        values = values[None]
    rows, cols, picked = [], [], []
    for row, offset in zip(values, shifts, strict=False):
        columns = np.arange(max(0, offset), min(shape[1], shape[0] + offset, len(row)))
        rows.append(columns - offset)
        cols.append(columns)
        picked.append(row[columns])
    indices = np.stack([np.concatenate(rows), np.concatenate(cols)]).astype(np.int64)
    pattern = sparse = coo(indices, np.concatenate(picked), tuple(shape))
    if layout in (_layout.sparse_csr, _layout.sparse_csc):
        sparse = kernels.to_compressed(sparse, layout)
    args = (pattern, values.shape, shifts)
    return result(sparse, SpdiagsBackward0, (diagonals, None), args=args)


def _spdiags_backward(ctx, grad):
    sparse, shape, shifts = ctx._args
    grad = kernels.gather(grad if grad.__class__ is SparseArray else np.asarray(grad), sparse)
    out = np.zeros(shape, grad.dtype)
    start = 0
    for k, offset in enumerate(shifts):
        n = max(0, min(sparse.shape[1], sparse.shape[0] + offset, shape[-1]) - max(0, offset))
        out[k, max(0, offset) : max(0, offset) + n] = grad[start : start + n]
        start += n
    return out.reshape(shape), None


SpdiagsBackward0 = node_class("SpdiagsBackward0", _spdiags_backward)


def spmm(input, mat2) -> Tensor:
    """``torch.spmm``: ``mm`` for a sparse or dense ``input``; two dense ones check dtypes as
    PyTorch's ``addmm`` kernel does (its message)."""
    from glassgrad.ops.linalg.matmul import mm as _mm

    if input._data.dtype != mat2._data.dtype:
        from glassgrad._tensor_info import _c_name

        if input._data.__class__ is SparseArray or mat2._data.__class__ is SparseArray:
            found = (input._data.dtype, mat2._data.dtype)
            raise RuntimeError(
                f"expected scalar type {_scalar(found[0])} but found {_scalar(found[1])}"
            )
        raise RuntimeError(
            "expected m1 and m2 to have the same dtype, but got: "
            f"{_c_name(input.dtype)} != {_c_name(mat2.dtype)}"
        )
    return _mm(input, mat2)
