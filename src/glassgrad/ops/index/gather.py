"""Ops that read or write along an index tensor: gather/scatter, index_select/index_add,
take_along_dim, masked_select, and the non-differentiable one_hot and nonzero.

Each op turns its index into a NumPy key (an open grid with the index at ``dim``); the forward
reads or writes through the key and the gradient goes back through the same key, accumulating
over repeated indices.
"""

from __future__ import annotations

import numpy as np

from glassgrad._batched import c_order
from glassgrad._errors import broadcast_error
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.forward_rules import indexed
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, _wrap_dim


def _index_data(index, message):
    data = index._data
    if data.dtype.kind not in "iu":
        raise RuntimeError(message)
    return data.astype(np.int64, copy=False)


def _check_bounds(idx, size, dim):
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx[(idx < 0) | (idx >= size)].flat[0]
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def along_key(idx, dim):
    """The key reading ``x[i][j][idx[i][j][k]]`` for ``dim == 2``: an open grid plus ``idx``."""
    shape = idx.shape
    return tuple(
        idx if d == dim else np.arange(n).reshape([-1 if i == d else 1 for i in range(len(shape))])
        for d, n in enumerate(shape)
    )


def _no_larger(index, others, dim, message):
    for d in range(index.ndim):
        if d != dim and any(index.shape[d] > o.shape[d] for o in others):
            raise RuntimeError(message)


GatherBackward0 = node_class(
    "GatherBackward0",
    lambda ctx, grad: (D.scatter_into(ctx._args[0], ctx._args[1], grad),),
    jvp=indexed,
)


def gather(input, dim, index, *, sparse_grad=False):
    """``out[i][j] = input[i][index[i][j]]`` for ``dim == 1`` (likewise for other dims)."""
    data = input._data
    dim = _wrap_dim(dim, data.ndim)
    idx = _index_data(index, "gather(): Expected dtype int32/int64 for index")
    if idx.ndim != data.ndim and max(idx.ndim, 1) != max(data.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(idx.ndim):
        if d != dim and idx.shape[d] > data.shape[d]:
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(idx.shape)} to be no "
                f"larger than self {list(data.shape)} apart from dimension {dim}"
            )
    _check_bounds(idx, data.shape[dim] if data.ndim else 1, dim)
    key = along_key(idx.reshape(data.shape and idx.shape), dim)
    return result(data[key], GatherBackward0, (input,), args=(data.shape, key))


def take_along_dim(input, indices, dim=None):
    """``gather`` after broadcasting ``input`` and ``indices`` (over the flat tensor if no dim)."""
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    ndim = input._data.ndim
    dim = _wrap_dim(dim, ndim)
    a, b = list(input._data.shape), list(indices._data.shape)
    if len(b) != ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same "
            f"number of dimensions, but got {ndim} dimensions for input, and "
            f"{len(b)} dimensions for indices"
        )
    a[dim] = b[dim] = 1
    try:
        common = list(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        raise broadcast_error(a, b) from None
    input_shape, index_shape = list(common), list(common)
    input_shape[dim], index_shape[dim] = input._data.shape[dim], indices._data.shape[dim]
    if tuple(input_shape) != input._data.shape:
        input = input.expand(input_shape)
    if tuple(index_shape) != indices._data.shape:
        indices = indices.expand(index_shape)
    return gather(input, dim, indices)


def _scatter_backward(ctx, grad):
    key, src_shape, parts = ctx._args
    nexts = ctx.next_functions
    grad_input = D.index_put_zero(grad, key) if nexts[0][0] is not None else None
    grad_src = None
    if len(nexts) > 1 and nexts[1][0] is not None:
        grad_src = _src_grad(ctx, grad, key, src_shape)
    return (grad_input, grad_src) if len(nexts) > 1 else (grad_input,)


def _src_grad(ctx, grad, key, src_shape):
    """``grad`` read at ``key``; PyTorch refuses a ``src`` larger than ``index`` here."""
    grad_src = grad[key]
    if tuple(src_shape) != tuple(grad_src.shape):
        raise RuntimeError(
            f"Function {type(ctx).__name__} returned an invalid gradient at index 1 - got "
            f"{list(grad_src.shape)} but expected shape compatible with {list(src_shape)}"
        )
    return grad_src


ScatterBackward0 = node_class("ScatterBackward0", _scatter_backward)
ScatterBackward1 = node_class("ScatterBackward1", _scatter_backward)


def _scatter_key(input, dim, index, src, name):
    data = input._data
    dim = _wrap_dim(dim, data.ndim)
    idx = _index_data(index, f"{name}(): Expected dtype int32/int64 for index")
    if idx.ndim != data.ndim and max(idx.ndim, 1) != max(data.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    others = [data] if src is None else [data, src._data]
    message = (
        f"Expected index {list(idx.shape)} to be no larger than self {list(data.shape)} "
        f"apart from dimension {dim}"
    )
    if src is not None:
        message += f" and to be no larger size than src {list(src._data.shape)}"
    _no_larger(idx, others, dim, message)
    if src is not None and any(i > s for i, s in zip(idx.shape, src._data.shape, strict=False)):
        raise RuntimeError(message)
    _check_bounds(idx, data.shape[dim] if data.ndim else 1, dim)
    idx = idx.reshape(data.shape and idx.shape)
    parts = tuple(slice(0, n) for n in idx.shape)
    return along_key(idx, dim), parts


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """A copy of ``input`` with ``src`` (a tensor or a number) written at ``index`` along dim."""
    if value is not None:
        src = value
    if not isinstance(src, Tensor):
        key, parts = _scatter_key(input, dim, index, None, "scatter")
        out = input._data.copy()
        _reduce_into(out, key, src, reduce)
        return result(
            out, ScatterBackward1 if reduce is None else None, (input,), args=(key, None, parts)
        )
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    key, parts = _scatter_key(input, dim, index, src, "scatter")
    out = input._data.copy()
    _reduce_into(out, key, src._data[parts], reduce)
    return result(
        out,
        ScatterBackward0 if reduce is None else None,
        (input, src),
        args=(key, src._data.shape, parts),
    )


def _reduce_into(out, key, values, reduce):
    if reduce is None:
        out[key] = values
    elif reduce == "add":
        np.add.at(out, key, values)
    elif reduce == "multiply":
        np.multiply.at(out, key, values)
    else:
        raise RuntimeError("reduce argument must be either add or multiply.")


def _scatter_add_backward(ctx, grad):
    key, src_shape, _ = ctx._args
    grad_src = _src_grad(ctx, grad, key, src_shape) if ctx.next_functions[1][0] else None
    return grad, grad_src


ScatterAddBackward0 = node_class("ScatterAddBackward0", _scatter_add_backward)


def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate)."""
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    key, parts = _scatter_key(input, dim, index, src, "scatter")
    out = input._data.copy()
    np.add.at(out, key, src._data[parts])
    return result(out, ScatterAddBackward0, (input, src), args=(key, src._data.shape, parts))


def _select_key(input, dim, index, name):
    data = input._data
    dim = _wrap_dim(dim, data.ndim)
    idx = index._data
    if idx.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    return dim, idx.reshape(-1).astype(np.int64, copy=False)


IndexSelectBackward0 = node_class(
    "IndexSelectBackward0",
    lambda ctx, grad: (D.scatter_into(ctx._args[0], ctx._args[1], grad),),
    jvp=indexed,
)


def index_select(input, dim, index):
    """The entries of ``input`` at positions ``index`` (1-D) along ``dim``."""
    if index._data.dtype.kind not in "iu":
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    data = input._data
    dim, idx = _select_key(input, dim, index, "index_select")
    size = data.shape[dim] if data.ndim else 1
    bad = idx[(idx < 0) | (idx >= size)]
    if bad.size:
        if data.ndim < 2 or dim != 1:
            raise IndexError("index out of range in self")
        if not size:
            raise RuntimeError("index_select(): self indexing axis dim should be positive")
        # PyTorch's CPU kernel for dim 1 has its own check, in its own words
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad[0]} axis_dim={size}")
    key = (slice(None),) * dim + (idx,)
    # (NumPy lays an index along an inner dim out first; PyTorch's result is contiguous)
    out = c_order(data[key])
    return result(out, IndexSelectBackward0, (input,), args=(data.shape, key))


def _index_add_backward(ctx, grad):
    key, alpha = ctx._args
    grad_source = grad[key]
    return grad, grad_source if alpha == 1 else grad_source * alpha


IndexAddBackward0 = node_class("IndexAddBackward0", _index_add_backward)


def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``."""
    if index._data.dtype.kind not in "iu":
        raise RuntimeError("index_add_(): Expected dtype int32/int64 for index")
    if input._data.dtype != source._data.dtype:
        raise RuntimeError(
            f"index_add_(): self ({_C_TYPES[input.dtype.name]}) and source "
            f"({_C_TYPES[source.dtype.name]}) must have the same scalar type"
        )
    data = input._data
    dim, idx = _select_key(input, dim, index, "index_add_")
    src = source._data
    count = src.shape[dim] if src.ndim else 1
    if idx.size != count:
        raise RuntimeError(
            f"index_add_(): Number of indices ({idx.size}) should be equal to "
            f"source.size(dim): ({count}), for dim: {dim}"
        )
    size = data.shape[dim] if data.ndim else 1
    if (data.ndim <= 1 or 0 < dim < data.ndim - 1) and ((idx < 0) | (idx >= size)).any():
        raise IndexError("index out of range in self")  # PyTorch's loop kernel's words
    _check_bounds(idx, size, dim)
    key = (slice(None),) * dim + (idx,)
    out = data.copy()
    np.add.at(
        out,
        key,
        src.reshape(data[key].shape) * alpha if alpha != 1 else src.reshape(data[key].shape),
    )
    return result(out, IndexAddBackward0, (input, source), args=(key, alpha))


MaskedSelectBackward0 = node_class(
    "MaskedSelectBackward0",
    lambda ctx, grad: (D.scatter_into(ctx._args[0], ctx._args[1], grad), None),
)


def masked_select(input, mask):
    """The entries of ``input`` where the bool ``mask`` (broadcast) is True, as a 1-D tensor."""
    if mask._data.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    try:
        shape = np.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        raise broadcast_error(mask._data.shape, input._data.shape) from None
    # (a 0-d mask indexes a 0-d input as itself: NumPy has no nonzero() of 0-d arrays)
    key = np.nonzero(np.broadcast_to(mask._data, shape)) if shape else mask._data
    out = np.broadcast_to(input._data, shape)[key]
    return result(out, MaskedSelectBackward0, (input, None), args=(shape, key))


def one_hot(tensor, num_classes=-1):
    """``int64`` tensor with a 1 at each value of ``tensor`` along a new last dimension."""
    data = tensor._data
    if data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(data.max()) + 1
    if data.size and data.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if data.size and data.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (data[..., None] == np.arange(num_classes)).astype(np.int64)
    return result(out, None, (tensor,))


def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero entries: an ``(n, ndim)`` tensor, or one 1-D per dim."""
    data = input._data
    if as_tuple:
        return tuple(
            result(i.astype(np.int64), None, (input,)) for i in np.nonzero(np.atleast_1d(data))
        )
    return result(np.argwhere(data).astype(np.int64), None, (input,))


def argwhere(input):
    """``nonzero(input)``."""
    return nonzero(input)


def _ints(rng, high, shape):
    return rng.integers(0, high, shape)


register(
    "gather",
    gather,
    reference=lambda x, d, i: np.take_along_axis(x, i, d),
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), 1, _ints(rng, 4, (3, 2))), {}),
        ((rng.standard_normal((3, 4)), 0, _ints(rng, 3, (5, 4))), {}),
    ],
    out="expected",
)
register(
    "take_along_dim",
    take_along_dim,
    nin=2,
    reference=lambda x, i, d=None: np.take_along_axis(
        x.reshape(-1) if d is None else x,
        i.reshape(-1) if d is None else i,
        d if d is not None else 0,
    ),
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), _ints(rng, 4, (3, 2)), 1), {}),
        ((rng.standard_normal((3, 4)), _ints(rng, 12, (5,))), {}),
    ],
    out={"dtype": "expected", "grad_name": "gather"},
)


def _ref_scatter(x, d, i, src):
    out = x.copy()
    np.put_along_axis(
        out, i, src[tuple(slice(0, n) for n in i.shape)] if isinstance(src, np.ndarray) else src, d
    )
    return out


def _ref_scatter_add(x, d, i, src):
    out = x.copy()
    np.add.at(out, along_key(i, d), src[tuple(slice(0, n) for n in i.shape)])
    return out


def _perm_index(rng):
    """Distinct indices along dim 1 (scatter with repeats keeps an unspecified value)."""
    return np.stack([rng.permutation(4)[:2] for _ in range(3)])


register(
    "scatter",
    scatter,
    reference=_ref_scatter,
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), 1, _perm_index(rng), rng.standard_normal((3, 2))), {}),
        ((rng.standard_normal((3, 4)), 1, _perm_index(rng), 2.5), {}),
    ],
    out="expected",
)
register(
    "scatter_add",
    scatter_add,
    reference=_ref_scatter_add,
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), 1, _ints(rng, 4, (3, 5)), rng.standard_normal((3, 5))), {})
    ],
    out="expected",
)
register(
    "index_select",
    index_select,
    reference=lambda x, d, i: np.take(x, i, d),
    samples=lambda rng: [((rng.standard_normal((3, 4)), 1, np.array([0, 3, 3])), {})],
    out="index_select",
)


def _ref_index_add(x, d, i, src, alpha=1):
    out = x.copy()
    np.add.at(out, (slice(None),) * d + (i,), src * alpha)
    return out


register(
    "index_add",
    index_add,
    reference=_ref_index_add,
    samples=lambda rng: [
        (
            (rng.standard_normal((3, 4)), 1, np.array([0, 3, 0]), rng.standard_normal((3, 3))),
            {"alpha": 2.0},
        )
    ],
    out="expected",
)
register(
    "masked_select",
    masked_select,
    reference=lambda x, m: np.broadcast_to(x, np.broadcast_shapes(x.shape, m.shape))[
        np.broadcast_to(m, np.broadcast_shapes(x.shape, m.shape))
    ],
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)) > 0), {}),
        ((rng.standard_normal((4,)), rng.standard_normal((3, 4)) > 0), {}),
    ],
    out="masked_select",
)
register(
    "one_hot",
    one_hot,
    method=False,
    function=False,
    differentiable=False,
    reference=lambda i, n=-1: np.eye(n if n != -1 else i.max() + 1, dtype=np.int64)[i],
    samples=lambda rng: [((np.array([0, 2, 1]),), {}), ((np.array([[0], [1]]), 4), {})],
)
register(
    "nonzero",
    nonzero,
    differentiable=False,
    reference=np.argwhere,
    samples=lambda rng: [((np.array([[0.0, 1.0], [2.0, 0.0]]),), {})],
    out="nonzero",
)
register(
    "argwhere",
    argwhere,
    differentiable=False,
    reference=np.argwhere,
    samples=lambda rng: [((np.array([0.0, 1.0, 2.0]),), {})],
)
