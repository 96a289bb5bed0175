"""Triangles and diagonals: tril, triu, diagonal (a view), diag, diag_embed.

A diagonal is addressed by a full grid of integer index arrays, laid out as PyTorch lays out
its result (the other dimensions in order, then the diagonal): the same key reads a diagonal,
scatters a gradient into one, and works on arrays and on tensors alike.
"""

from __future__ import annotations

import numpy as np

from glassgrad._batched import as_strided, zeros_over
from glassgrad.autograd.forward_rules import indexed
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.ops.shape.view import _samples, as_view
from glassgrad.tensor import _wrap_dim


def _tri(name, np_fn):
    def backward(ctx, grad):
        if D._is_array(grad):
            return (np_fn(grad, ctx._args),)
        return (getattr(grad, name)(ctx._args),)

    # (linear: the JVP is the same triangle of the tangent)
    cls = node_class(
        name.title() + "Backward0", backward, jvp=lambda ctx, t: getattr(t, name)(ctx.args)
    )

    def op(input, diagonal=0):
        if input._data.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return result(np_fn(input._data, diagonal), cls, (input,), args=int(diagonal))

    op.__name__ = name
    op.__doc__ = f"The {'lower' if name == 'tril' else 'upper'} triangle of the last two dims."
    register(name, op, reference=np_fn, shapes=((3, 4), (2, 3, 3)), out="expected")
    return op


tril = _tri("tril", np.tril)
triu = _tri("triu", np.triu)


def _diag_length(n1, n2, offset):
    return max(min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2), 0)


def diagonal_key(shape, offset, dim1, dim2):
    """Index arrays picking the diagonal of ``shape`` at ``dim1``/``dim2`` (PyTorch's layout)."""
    others = [d for d in range(len(shape)) if d not in (dim1, dim2)]
    length = _diag_length(shape[dim1], shape[dim2], offset)
    rank = len(others) + 1
    key = [None] * len(shape)
    for position, d in enumerate(others):
        key[d] = np.arange(shape[d]).reshape([-1 if i == position else 1 for i in range(rank)])
    along = np.arange(length).reshape((1,) * (rank - 1) + (-1,))
    key[dim1] = along + max(-offset, 0)
    key[dim2] = along + max(offset, 0)
    return tuple(key)


def _diag_view(data, offset, dim1, dim2):
    """A writable view of the diagonal (NumPy's own ``diagonal`` view is read-only)."""
    start = [slice(None)] * data.ndim
    start[dim2 if offset >= 0 else dim1] = slice(abs(offset), None)
    moved = data[tuple(start)] if data.shape[dim2 if offset >= 0 else dim1] > abs(offset) else data
    others = [d for d in range(data.ndim) if d not in (dim1, dim2)]
    length = _diag_length(data.shape[dim1], data.shape[dim2], offset)
    shape = [data.shape[d] for d in others] + [length]
    strides = [data.strides[d] for d in others] + [data.strides[dim1] + data.strides[dim2]]
    return as_strided(moved, shape, strides)  # (vmap: a batch stays one)


def _diagonal_backward(ctx, grad):
    shape, key = ctx._args
    return (D.scatter_into(shape, key, grad),)


DiagonalBackward0 = node_class("DiagonalBackward0", _diagonal_backward, jvp=indexed)
DiagonalBackward0_copy = node_class("DiagonalBackward0_copy", _diagonal_backward)


def _diag_dims(ndim, dim1, dim2):
    d1, d2 = _wrap_dim(dim1, ndim), _wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the matrices at ``dim1``/``dim2``, as a view (last dimension)."""
    data = input._data
    d1, d2 = _diag_dims(data.ndim, dim1, dim2)
    out = _diag_view(data, offset, d1, d2)
    key = diagonal_key(data.shape, offset, d1, d2)
    return as_view(result(out, DiagonalBackward0, (input,), args=(data.shape, key)), input)


DiagEmbedBackward0 = node_class("DiagEmbedBackward0", lambda ctx, grad: (grad[ctx._args],))


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Tensors whose diagonals at ``dim1``/``dim2`` hold the last dimension of ``input``."""
    data = input._data
    ndim = data.ndim + 1
    d1, d2 = _diag_dims(ndim, dim1, dim2)
    size = data.shape[-1] + abs(offset)
    others = iter(data.shape[:-1])
    shape = tuple(size if d in (d1, d2) else next(others) for d in range(ndim))
    key = diagonal_key(shape, offset, d1, d2)
    out = zeros_over(shape, data.dtype, data)  # (vmap: a batch's buffer is a batch)
    out[key] = data
    return result(out, DiagEmbedBackward0, (input,), args=key)


def diag(input, diagonal=0):
    """A 1-D tensor as a diagonal matrix, or the diagonal of a 2-D tensor (a copy)."""
    data = input._data
    if data.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if data.ndim != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {data.ndim}D")
    key = diagonal_key(data.shape, diagonal, 0, 1)
    return result(data[key], DiagonalBackward0_copy, (input,), args=(data.shape, key))


register(
    "diagonal",
    diagonal,
    reference=lambda x, offset=0, dim1=0, dim2=1: np.diagonal(x, offset, dim1, dim2),
    samples=_samples((1, ((3, 4),), {}), (1, ((2, 3, 4), 1, 0, 2), {}), (1, ((3, 4), -1), {})),
)
register(
    "diag_embed",
    diag_embed,
    reference=lambda x, offset=0: np.stack(
        [np.diag(row, offset) for row in x.reshape(-1, x.shape[-1])]
    ).reshape(x.shape[:-1] + (x.shape[-1] + abs(offset),) * 2),
    samples=_samples((1, ((2, 3),), {}), (1, ((3,), 1), {})),
)
register(
    "diag",
    diag,
    reference=np.diag,
    samples=_samples(
        (1, ((3,),), {}), (1, ((3,), -1), {}), (1, ((3, 4),), {}), (1, ((3, 4), 1), {})
    ),
    out={
        "dtype": "diag",
        "grad_name": None,
        "out_grad_name": "aten::diag_embed",
        "composite": True,
    },
)
