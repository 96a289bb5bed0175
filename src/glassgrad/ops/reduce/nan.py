"""Reductions that skip NaNs: ``nansum`` (a primitive, ``NansumBackward0``) and ``nanmean``
(``nansum`` over the count of numbers, as PyTorch builds it)."""

from __future__ import annotations

import numpy as np

from glassgrad import _bfloat16
from glassgrad._batched import as_data
from glassgrad._bfloat16 import differentiable as _differentiable
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops.reduce.sum_prod import _sum_dtype, expand_back, normalize_dims
from glassgrad.ops.registry import register


def _nansum_backward(ctx, grad, input):
    shape, dims, keepdim = ctx._args
    spread = expand_back(grad, shape, dims, keepdim)
    # PyTorch multiplies by the mask (an inf gradient at a NaN gives NaN, as there)
    return (spread * (input == input),)


NansumBackward0 = node_class("NansumBackward0", _nansum_backward)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """The sum over ``dim`` (all by default) with NaNs counted as zero."""
    data = input._data
    if data.dtype.kind == "c":
        raise RuntimeError("nansum on CPU does not support complex inputs")
    dims = normalize_dims(dim, data.ndim)
    out_dtype = np.dtype(_sum_dtype(data, dtype))
    if _bfloat16.is_bfloat16(data) or out_dtype == _bfloat16.NP:
        # NumPy's nansum sees no NaN in bfloat16 (not a NumPy float kind); PyTorch adds in
        # float32 and rounds once
        data, work = data.astype(np.float32), np.float32
    else:
        work = out_dtype
    out = np.nansum(data, axis=dims, keepdims=keepdim, dtype=work).astype(out_dtype, copy=False)
    return result(
        as_data(out), NansumBackward0, (input,), saved=(input,), args=(data.shape, dims, keepdim)
    )


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean over ``dim`` (all by default) of the numbers that are not NaN."""
    if not _differentiable(input._data):
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{_C_TYPES[input.dtype.name]}"
        )
    count = input.isnan().logical_not().sum(dim=dim, keepdim=keepdim)
    return nansum(input, dim, keepdim, dtype=dtype) / count


def _with_nans(rng, shape):
    values = rng.standard_normal(shape)
    values[rng.random(shape) < 0.25] = np.nan
    return values


register(
    "nansum",
    nansum,
    reference=lambda x, dim=None, keepdim=False: np.nansum(x, axis=dim, keepdims=keepdim),
    samples=lambda rng: [
        ((_with_nans(rng, (3, 4)),), {}),
        ((_with_nans(rng, (3, 4)), 1), {}),
        ((_with_nans(rng, (2, 3, 4)), (0, 2)), {"keepdim": True}),
    ],
)
register(
    "nanmean",
    nanmean,
    reference=lambda x, dim=None, keepdim=False: np.nanmean(x, axis=dim, keepdims=keepdim),
    samples=lambda rng: [
        ((_with_nans(rng, (3, 4)),), {}),
        ((_with_nans(rng, (3, 4)), 0), {"keepdim": True}),
    ],
)
