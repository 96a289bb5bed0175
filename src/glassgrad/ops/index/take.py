"""``take`` (flat indexing), ``trace``, ``Tensor.unfold`` (sliding windows, a view) and
``Tensor.type_as``.

``take`` and ``unfold`` address their elements by a grid of integer index arrays into the input
(as ``shape.diagonal``'s diagonals do): the same key scatters the gradient back, on arrays and on
tensors alike, so second order works.
"""

from __future__ import annotations

import numpy as np

from glassgrad._batched import as_data
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.ops.shape.diagonal import diagonal_key
from glassgrad.ops.shape.view import as_view
from glassgrad.tensor import Tensor, _wrap_dim, tensor_method


def _scatter_backward(ctx, grad):
    shape, key = ctx._args
    return (D.scatter_into(shape, key, grad),)


TakeBackward0 = node_class(
    "TakeBackward0",
    _scatter_backward,
    jvp=lambda ctx, t: (t if t.dim() else t.reshape(1))[ctx.args[1]],
)
UnfoldBackward0 = node_class("UnfoldBackward0", _scatter_backward)


def _trace_backward(ctx, grad):
    shape, key = ctx._args
    length = len(key[0])
    along = np.broadcast_to(grad, (length,)) if D._is_array(grad) else grad.expand(length)
    return (D.scatter_into(shape, key, along),)


TraceBackward0 = node_class(
    "TraceBackward0", _trace_backward, jvp=lambda ctx, t: t[ctx.args[1]].sum()
)


def take(input, index):
    """The elements of ``input`` (read as 1-D) at ``index``, in ``index``'s shape."""
    from glassgrad._tensor_info import _c_type

    if index._data.dtype != np.int64:
        raise RuntimeError(
            f"take(): Expected a long tensor for index, but got {_c_type(index.dtype)}"
        )
    data, flat = input._data, index._data
    count = data.size
    if count == 0 and flat.size:
        raise IndexError("take(): tried to take from an empty tensor")
    bad = flat[(flat >= count) | (flat < -count)]
    if bad.size:
        raise IndexError(
            f"out of range: tried to access index {int(bad.flat[0])} on a tensor of "
            f"{count} elements."
        )
    positions = np.where(flat < 0, flat + count, flat)
    key = np.unravel_index(positions, data.shape) if data.ndim else (positions * 0,)
    out = (data if data.ndim else data.reshape(1))[key]
    return result(out, TakeBackward0, (input,), args=(data.shape or (1,), key))


def trace(input):
    """The sum of the main diagonal of a matrix (integers sum as int64, as ``sum`` does)."""
    from glassgrad._tensor_data import _not_implemented

    data = input._data
    if data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {data.ndim}")
    if data.dtype.kind == "b":
        raise _not_implemented("trace", input.dtype)
    key = diagonal_key(data.shape, 0, 0, 1)
    dtype = np.int64 if data.dtype.kind in "iu" else data.dtype
    out = as_data(data[key].sum(dtype=dtype))
    cls = TraceBackward0 if _floating(data) else None
    return result(out, cls, (input,), args=(data.shape, key))


def unfold(self, dimension, size, step):
    """Every window of ``size`` elements along ``dimension``, ``step`` apart, as a view
    whose last dimension runs along the window."""
    data = self._data
    dim = _wrap_dim(dimension, max(data.ndim, 1))
    length = data.shape[dim] if data.ndim else 1
    if size > length:
        raise RuntimeError(
            f"maximum size for tensor at dimension {dim} is {length} but size is {size}"
        )
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if not data.ndim:
        return as_view(result(data.reshape(1), UnfoldBackward0, (self,), args=((), ())), self)
    count = (length - size) // step + 1
    shape = data.shape[:dim] + (count,) + data.shape[dim + 1 :] + (size,)
    strides = data.strides[:dim] + (data.strides[dim] * step,) + data.strides[dim + 1 :]
    out = np.lib.stride_tricks.as_strided(data, shape, strides + (data.strides[dim],))
    # the same windows over the flat positions of a contiguous copy: the gradient's key
    flat = np.arange(data.size, dtype=np.int64).reshape(data.shape)
    elements = np.array(flat.strides[:dim] + (flat.strides[dim] * step,) + flat.strides[dim + 1 :])
    picked = np.lib.stride_tricks.as_strided(flat, shape, (*elements, flat.strides[dim]))
    key = np.unravel_index(picked, data.shape)
    return as_view(result(out, UnfoldBackward0, (self,), args=(data.shape, key)), self)


def type_as(self, other):
    """``self`` cast to ``other``'s dtype (``self`` itself when they already agree)."""
    if not isinstance(other, Tensor):
        from glassgrad._tensor_info import _type_name

        raise TypeError(
            f"type_as(): argument 'other' (position 1) must be Tensor, not {_type_name(other)}"
        )
    return self.to(other.dtype)


register(
    "take",
    take,
    reference=lambda x, i: np.take(x, i),
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), np.array([[0, 5], [11, -1]])), {}),
        ((rng.standard_normal((2, 3)), np.array([0, 0, 5, -6])), {}),
    ],
    out="take",
)
register(
    "trace",
    trace,
    reference=lambda x: np.trace(x),
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)),), {}),
        ((rng.standard_normal((4, 2)),), {}),
    ],
)
tensor_method(unfold, "unfold")
tensor_method(type_as, "type_as")
