"""Shape ops: reshape/view, transpose/permute/t/T, squeeze/unsqueeze, expand.

The results are NumPy views of their input (sharing memory, as PyTorch's views share storage)
and remember their base, which PyTorch's in-place checks on views need.
"""

from __future__ import annotations

import numpy as np

from glassgrad.ops import _dual as D
from glassgrad.ops.registry import Tensor, node_class, register, result
from glassgrad.tensor import _wrap_dim


def as_view(res, base, key=None):
    """Mark ``res`` as a view of ``base`` (``key``: the basic index that made it, if any)."""
    if res._data.base is None:
        return res
    root = base._extra.base if base._extra is not None and base._extra.base is not None else base
    extra = res._x()
    extra.base = root
    extra.view_key = key if root is base else None
    if res._grad_fn is None and root.requires_grad:
        # PyTorch quirk kept: a view taken under no_grad of a grad-requiring tensor reports
        # requires_grad=True, takes part in graphs, and passes its gradient nowhere.
        extra.view_no_grad = True
        res._requires_grad = True
    return res


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _infer(shape, numel, input_shape):
    if list(shape).count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if -1 in shape:
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    count = 1
    for s in shape:
        count *= s
    if count != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


ViewBackward0 = node_class("ViewBackward0", lambda ctx, grad: (D.reshape(grad, ctx._args),))


def reshape(input, *shape):
    """``input`` with a new shape (a view when the layout allows; ``-1`` is inferred)."""
    data = input._data
    shape = _infer(_shape_arg(shape), data.size, data.shape)
    return as_view(result(data.reshape(shape), ViewBackward0, (input,), args=data.shape), input)


def view(input, *shape):
    """``input`` with a new shape, sharing its data."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        from glassgrad.ops.unary import to_dtype

        return to_dtype(input, shape[0])
    return reshape(input, *shape)


TransposeBackward0 = node_class("TransposeBackward0", lambda ctx, grad: (
    D.swapaxes(grad, *ctx._args),))


def transpose(input, dim0, dim1):
    """Swap two dimensions."""
    ndim = input._data.ndim
    d0, d1 = _wrap_dim(dim0, ndim), _wrap_dim(dim1, ndim)
    out = input._data.swapaxes(d0, d1) if ndim else input._data
    return as_view(result(out, TransposeBackward0, (input,), args=(d0, d1)), input)


TBackward0 = node_class("TBackward0", lambda ctx, grad: (
    D.swapaxes(grad, 0, 1) if ctx._args == 2 else grad,))


def t(input):
    """Transpose a tensor of at most 2 dimensions."""
    ndim = input._data.ndim
    if ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
    out = input._data.T
    return as_view(result(out, TBackward0, (input,), args=ndim), input)


PermuteBackward0 = node_class("PermuteBackward0", lambda ctx, grad: (
    D.permute(grad, tuple(np.argsort(ctx._args))),))


def permute(input, *dims):
    """Reorder the dimensions."""
    ndim = input._data.ndim
    dims = tuple(_wrap_dim(d, ndim) for d in _shape_arg(dims))
    if sorted(dims) != list(range(ndim)):
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {ndim} is not equal "
            f"to len(dims) = {len(dims)}" if len(dims) != ndim else "permute(): duplicate dims are "
            "not allowed."
        )
    return as_view(result(input._data.transpose(dims), PermuteBackward0, (input,), args=dims),
                   input)


UnsqueezeBackward0 = node_class("UnsqueezeBackward0", lambda ctx, grad: (
    D.reshape(grad, ctx._args),))


def unsqueeze(input, dim):
    """Insert a dimension of size 1 at ``dim``."""
    data = input._data
    dim = _wrap_dim(dim, data.ndim + 1)
    out = np.expand_dims(data, dim)
    return as_view(result(out, UnsqueezeBackward0, (input,), args=data.shape), input)


SqueezeBackward0 = node_class("SqueezeBackward0", lambda ctx, grad: (
    D.reshape(grad, ctx._args),))
SqueezeBackward1 = node_class("SqueezeBackward1", lambda ctx, grad: (
    D.reshape(grad, ctx._args),))


def squeeze(input, dim=None):
    """Remove dimensions of size 1 (all of them, or those in ``dim``)."""
    data = input._data
    if dim is None:
        return as_view(result(data.squeeze(), SqueezeBackward0, (input,), args=data.shape), input)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(d for d in (_wrap_dim(d, data.ndim) for d in dims) if data.ndim and
                 data.shape[d] == 1)
    return as_view(result(data.squeeze(axes) if axes else data, SqueezeBackward1, (input,),
                          args=data.shape), input)


ExpandBackward0 = node_class("ExpandBackward0", lambda ctx, grad: (grad,))  # engine sums back


def expand(input, *sizes):
    """Broadcast ``input`` to a larger shape without copying (``-1`` keeps a size)."""
    data = input._data
    sizes = _shape_arg(sizes)
    if len(sizes) < data.ndim:
        raise RuntimeError(
            f"expand(torch.{input.dtype._legacy}{{{list(data.shape)}}}, size={list(sizes)}): the "
            "number of sizes provided "
            f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor "
            f"({data.ndim})"
        )
    lead = len(sizes) - data.ndim
    target = tuple(data.shape[i - lead] if s == -1 and i >= lead else s
                   for i, s in enumerate(sizes))
    for i in range(data.ndim):
        if data.shape[i] != 1 and data.shape[i] != target[i + lead]:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[i + lead]}) must match the existing "
                f"size ({data.shape[i]}) at non-singleton dimension {i + lead}.  Target sizes: "
                f"{list(sizes)}.  Tensor sizes: {list(data.shape)}"
            )
    out = np.broadcast_to(data, target)
    return as_view(result(out, ExpandBackward0, (input,)), input)


def expand_as(input, other):
    """``input.expand(other.shape)``."""
    return expand(input, other.shape)


register("reshape", reshape, shapes=((6,),))
register("view", view, function=False)
register("transpose", transpose, aliases=("swapaxes", "swapdims"))
register("t", t, shapes=((2, 3),))
register("permute", permute)
register("unsqueeze", unsqueeze)
register("squeeze", squeeze)
register("expand", expand, function=False)
register("expand_as", expand_as, function=False)
Tensor.T = property(lambda self: permute(self, tuple(range(self._data.ndim - 1, -1, -1))))
Tensor.mT = property(lambda self: transpose(self, -2, -1))
