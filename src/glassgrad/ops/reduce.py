"""Reductions: ``sum`` and ``mean`` over all elements or over ``dim`` (int or tuple)."""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import node_class, register, result
from glassgrad.tensor import _wrap_dim


def normalize_dims(dim, ndim):
    """``dim`` (None, int, or sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        dims = tuple(sorted({_wrap_dim(d, ndim) for d in dim}))
        return dims if dims or ndim else ()
    return (_wrap_dim(dim, ndim),)


def _expand_back(grad, shape, dims, keepdim):
    """The gradient of a reduction: re-insert the reduced dims and broadcast to ``shape``."""
    if not keepdim and dims:
        kept = list(shape)
        for d in dims:
            kept[d] = 1
        grad = D.reshape(grad, tuple(kept))
    return D.expand(grad, shape)


SumBackward0 = node_class("SumBackward0", lambda ctx, grad: (D.expand(grad, ctx._args),))
SumBackward1 = node_class("SumBackward1", lambda ctx, grad: (
    _expand_back(grad, *ctx._args),))


def _sum_dtype(data, dtype):
    if dtype is not None:
        return _dt.to_dtype(dtype).np
    return np.int64 if data.dtype.kind in "biu" else data.dtype


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001 - PyTorch's name
    """Sum of all elements, or over ``dim``."""
    data = input._data
    out_dtype = _sum_dtype(data, dtype)
    if dim is None:
        return result(data.sum(dtype=out_dtype), SumBackward0, (input,), args=data.shape)
    dims = normalize_dims(dim, data.ndim)
    out = data.sum(axis=dims, keepdims=keepdim, dtype=out_dtype)
    return result(out, SumBackward1, (input,), args=(data.shape, dims, keepdim))


MeanBackward0 = node_class("MeanBackward0", lambda ctx, grad: (
    D.expand(grad / ctx._args[1], ctx._args[0]),))
MeanBackward1 = node_class("MeanBackward1", lambda ctx, grad: (
    _expand_back(grad / ctx._args[3], *ctx._args[:3]),))


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of all elements, or over ``dim`` (floating-point tensors only)."""
    data = input._data
    if dtype is not None:
        data = data.astype(_dt.to_dtype(dtype).np)
    if data.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {_dt.from_numpy_dtype(data.dtype)._legacy[:-6]}"
        )
    if dim is None:
        return result(data.mean(), MeanBackward0, (input,), args=(data.shape, max(data.size, 1)))
    dims = normalize_dims(dim, data.ndim)
    count = 1
    for d in dims:
        count *= data.shape[d]
    out = data.mean(axis=dims, keepdims=keepdim)
    return result(out, MeanBackward1, (input,), args=(data.shape, dims, keepdim, max(count, 1)))


register("sum", sum, shapes=((3,), (2, 3), ()))
register("mean", mean, shapes=((3,), (2, 3), ()))
