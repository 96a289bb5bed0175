"""What ``embedding`` and ``embedding_bag`` share: ``max_norm``'s in-place renorm of the table,
and ``embedding``'s backward as a primitive of its own (PyTorch's ``embedding_dense_backward``).
"""

from __future__ import annotations

import numpy as np

from glassgrad._bfloat16 import differentiable as _differentiable
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.nn import common as N


# -- max_norm ----------------------------------------------------------------------------------
def embedding_renorm_(weight, input, max_norm, norm_type):
    """Scale, in place and outside the graph, each row ``input`` picks whose norm exceeds
    ``max_norm`` (PyTorch's ``embedding_renorm_`` on ``weight.detach()``)."""
    from glassgrad.ops.inplace_core import _bump

    data = weight._data
    if data.ndim != 2:
        raise RuntimeError(
            f"Expected 2-dimensional tensor, but got {data.ndim}-dimensional tensor for argument "
            "#1 'self' (while checking arguments for embedding_renorm_)"
        )
    indices = input._data
    if indices.dtype not in (np.int64, np.int32):
        raise RuntimeError(
            "Expected tensor for argument #2 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.type()} instead (while checking arguments for "
            "embedding_renorm_)"
        )
    flat, rows = indices.reshape(-1).astype(np.int64), data.shape[0]
    # PyTorch walks the sorted distinct indices, selecting each row as it goes: an index below
    # -rows fails before any row changes, one past the end only after all others are scaled
    if flat.size and flat.min() < -rows:
        raise IndexError(_select_message(flat.min(), data.shape))
    if flat.size and not _differentiable(data):
        name = weight.type().removeprefix("torch.").removesuffix("Tensor")
        raise RuntimeError(
            f"norm(): input dtype should be either floating point or complex. Got {name} instead."
        )
    # negative indices come first in that walk and wrap around, so a row picked both as -k and
    # as rows - k is scaled twice (which matters only for a negative max_norm)
    _scale_rows(data, np.unique(flat[flat < 0]) + rows, max_norm, norm_type)
    _scale_rows(data, np.unique(flat[(flat >= 0) & (flat < rows)]), max_norm, norm_type)
    if flat.size and flat.max() >= rows:
        raise IndexError(_select_message(flat[flat >= rows].min(), data.shape))
    _bump(weight)  # once per call, renormed rows or not, as PyTorch's in-place op bumps it


def _scale_rows(data, picked, max_norm, norm_type):
    """Scale the distinct rows ``picked`` whose norm exceeds ``max_norm`` down to it."""
    norms = np.linalg.norm(data[picked], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        # as PyTorch: the norm read back as a double; the 1e-7 keeps a row just above max_norm
        # from overshooting
        scale = (max_norm / (norms[big].astype(np.float64) + 1e-7)).astype(data.dtype)
        data[picked[big]] *= scale[:, None]


def _select_message(index, shape):
    return f"select(): index {index} out of range for tensor of size {list(shape)} at dimension 0"


# -- embedding's backward ----------------------------------------------------------------------
def _dense_backward_backward(ctx, grad):
    indices, padding_idx = ctx._args
    # as PyTorch's embedding_dense_double_backward: the picked rows, padding zeroed, and no
    # division by frequency even where the first backward applied one
    picked = grad[indices]
    if padding_idx is not None:
        picked = picked * (indices != padding_idx)[..., None].astype(N.arr(grad).dtype)
    return (picked,)


EmbeddingDenseBackwardBackward0 = node_class(
    "EmbeddingDenseBackwardBackward0", _dense_backward_backward
)


def embedding_dense_backward(grad, indices, shape, padding_idx, scale_grad_by_freq):
    """The gradient of ``weight[indices]`` for the table of ``shape``: ``grad``'s rows summed
    into the rows they came from, padding rows left out, each divided by its index's count in
    ``indices`` under ``scale_grad_by_freq`` (the true count: plain embedding's CPU backward has
    none of embedding_bag's sorted-position quirk)."""
    factor = None
    if scale_grad_by_freq:
        counts = np.bincount(indices.reshape(-1), minlength=shape[0])
        factor = 1.0 / counts[indices]
    if padding_idx is not None:
        keep = indices != padding_idx
        factor = keep if factor is None else factor * keep
    if D._is_array(grad):
        return _dense(grad, indices, shape, factor)
    out = _dense(grad._data, indices, shape, factor)
    args = (indices, padding_idx)
    return result(out, EmbeddingDenseBackwardBackward0, (grad,), args=args)


def _dense(grad, indices, shape, factor):
    if factor is not None:
        grad = grad * factor[..., None].astype(grad.dtype)
    return D.scatter_into(shape, (indices,), grad)
