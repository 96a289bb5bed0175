"""Ops that write into a copy of their input at an index or a mask: ``index_copy``,
``index_fill``, ``masked_scatter``, ``scatter_reduce`` (their in-place forms come from
``ops/inplace.py``) and ``fill_diagonal_``.

The backward rules are written once on tensors (``_on_tensors``): they gather, scatter and
mask, which exist on tensors, so double backward records itself; on the first-order path the
arrays are wrapped for the duration of the rule.
"""

from __future__ import annotations

import numpy as np

from glassgrad._errors import broadcast_error
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result
from glassgrad.ops import _dual as D
from glassgrad.ops.index.gather import _scatter_key
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, _wrap_dim, tensor_method

_on_tensors = D.on_tensors


def _long_index(index, name):
    if index._data.dtype != np.int64:
        raise RuntimeError(
            f"{name}(): Expected a long tensor for index, but got {_C_TYPES[index.dtype.name]}"
        )


def _vector(index, name):
    idx = np.asarray(index._data)
    if idx.ndim > 1:
        raise IndexError(f"{name}(): Index should have dimension 1 or 0 (got {idx.ndim})")
    return idx.reshape(-1)


# -- index_copy ------------------------------------------------------------------------------
@_on_tensors
def _index_copy_backward(ctx, grad, index):
    dim = ctx._args
    nexts = ctx.next_functions
    grad_self = grad.index_fill(dim, index, 0) if nexts[0][0] is not None else None
    grad_source = grad.index_select(dim, index) if nexts[2][0] is not None else None
    if grad_source is not None and ctx._meta[2] is not None:
        grad_source = grad_source.reshape(ctx._meta[2][0])
    return grad_self, None, grad_source


IndexCopyBackward0 = node_class("IndexCopyBackward0", _index_copy_backward)


def index_copy(input, dim, index, source):
    """A copy of ``input`` with the slices of ``source`` written at ``index`` along ``dim``."""
    name = "index_copy_"
    _long_index(index, name)
    data, src = np.asarray(input._data), np.asarray(source._data)  # (vmap: per sample)
    dim = _wrap_dim(dim, data.ndim)
    if src.dtype != data.dtype:
        raise RuntimeError(
            f"{name}(): self and source expected to have the same dtype, but got (self) "
            f"{_C_TYPES[input.dtype.name]} and (source) {_C_TYPES[source.dtype.name]}"
        )
    idx = _vector(index, name)
    if src.ndim and data.ndim and src.ndim != data.ndim:
        raise IndexError(
            f"{name}(): When source and destination are not scalars, their dimensionality must "
            f"match. Source dimensionality ({src.ndim}), destination dimensionality ({data.ndim})"
        )
    count = src.shape[dim] if src.ndim else 1
    if idx.size != count:
        raise IndexError(
            f"{name}(): Number of indices ({idx.size}) should be equal to source.size(dim) "
            f"({count})"
        )
    self_slice = [n for d, n in enumerate(data.shape) if d != dim]
    source_slice = [n for d, n in enumerate(src.shape) if d != dim]
    if self_slice != source_slice:
        raise RuntimeError(
            f"{name}(): Source/destination tensor must have same slice shapes. Destination "
            f"slice shape: {' '.join(map(str, self_slice))} at dimension {dim} and source "
            f"slice shape: {' '.join(map(str, source_slice))} at dimension 0."
        )
    size = data.shape[dim] if data.ndim else 1
    bad = idx[(idx < 0) | (idx >= size)]
    if bad.size:
        raise IndexError(
            f"{name}(): index {bad[0]} is out of bounds for dimension {dim} with size {size}"
        )
    out = data.copy()
    if data.ndim:
        key = (slice(None),) * dim + (idx,)
        out[key] = src.reshape(out[key].shape)
    else:
        out[...] = src.reshape(())
    return result(out, IndexCopyBackward0, (input, None, source), saved=(index,), args=dim)


# -- index_fill ------------------------------------------------------------------------------
@_on_tensors
def _index_fill_backward(ctx, grad, index):
    grad_self = grad.index_fill(ctx._args, index, 0) if ctx.next_functions[0][0] else None
    if len(ctx.next_functions) == 1:
        return (grad_self,)
    grad_value = None
    if ctx.next_functions[2][0] is not None:
        grad_value = grad.index_select(ctx._args, index).sum()
    return grad_self, None, grad_value


IndexFillBackward0 = node_class("IndexFillBackward0", _index_fill_backward)
IndexFillBackward1 = node_class("IndexFillBackward1", _index_fill_backward)


def index_fill(input, dim, index, value):
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor) at ``index`` along ``dim``."""
    if index._data.dtype != np.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if index._data.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError(
            "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value._data.ndim} dimension(s)."
        )
    data = np.asarray(input._data)  # (vmap: per sample)
    dim = _wrap_dim(dim, data.ndim)
    size = data.shape[dim] if data.ndim else 1
    idx = np.asarray(index._data).reshape(-1)
    bad = idx[(idx < -size) | (idx >= size)]
    if bad.size:
        raise IndexError(f"index {bad[0]} is out of bounds for dimension {dim} with size {size}")
    out = data.copy()
    fill = np.asarray(value._data) if isinstance(value, Tensor) else value
    with np.errstate(invalid="ignore"):
        fill = np.asarray(fill).astype(data.dtype)
    if data.ndim:
        out[(slice(None),) * dim + (idx,)] = fill
    elif idx.size:
        out[...] = fill
    if isinstance(value, Tensor):
        return result(out, IndexFillBackward1, (input, None, value), saved=(index,), args=dim)
    return result(out, IndexFillBackward0, (input,), saved=(index,), args=dim)


# -- masked_scatter --------------------------------------------------------------------------
@_on_tensors
def _masked_scatter_backward(ctx, grad, mask):
    nexts = ctx.next_functions
    grad_self = grad.masked_fill(mask, 0) if nexts[0][0] is not None else None
    grad_source = None
    if nexts[2][0] is not None:
        from glassgrad.ops.shape.join import cat

        shape = ctx._meta[2][0]
        taken = grad.masked_select(mask)
        rest = taken.new_zeros((int(np.prod(shape)) - taken.shape[0],))
        grad_source = cat([taken, rest]).reshape(shape)
    return grad_self, None, grad_source


MaskedScatterBackward0 = node_class("MaskedScatterBackward0", _masked_scatter_backward)


def masked_scatter(input, mask, source):
    """A copy of ``input`` (broadcast with ``mask``) with ``source``'s leading elements written
    where ``mask`` is True, in row-major order."""
    if mask._data.dtype != np.bool_:
        raise RuntimeError(
            "masked_scatter_ only supports boolean masks, but got mask with dtype "
            f"{_C_TYPES[mask.dtype.name]}"
        )
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            "masked_scatter: expected self and source to have same dtypes but got"
            f"{_C_TYPES[input.dtype.name]} and {_C_TYPES[source.dtype.name]}"
        )
    try:
        shape = np.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        raise broadcast_error(input._data.shape, mask._data.shape) from None
    where = np.broadcast_to(np.asarray(mask._data), shape)  # (vmap: per sample)
    source_data = np.asarray(source._data)
    count = int(where.sum())
    if count > source_data.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    out = np.array(np.broadcast_to(np.asarray(input._data), shape))
    out[where] = source_data.reshape(-1)[:count]
    if shape != input._data.shape:
        input = input.expand(shape)
    return result(out, MaskedScatterBackward0, (input, None, source), saved=(mask,))


def masked_scatter_(self, mask, source):
    """``masked_scatter`` in place: ``mask`` is expanded to ``self``'s shape (never the reverse)."""
    from glassgrad.ops.index.indexing import inplace

    if isinstance(mask, Tensor) and mask.shape != self.shape:
        mask = mask.expand(self.shape)
    return inplace(self, masked_scatter, mask, source)


# -- scatter_reduce --------------------------------------------------------------------------
_REDUCES = ("sum", "prod", "mean", "amax", "amin")


@_on_tensors
def _scatter_reduce_backward(ctx, grad, input, index, src, out):
    dim, reduce, include_self = ctx._args
    if reduce == "sum":
        grad_self, grad_src = grad, grad.gather(dim, index)
    elif reduce == "prod":
        grad_self, grad_src = _prod_grads(grad, input, dim, index, src, out, include_self)
    elif reduce == "mean":
        count = (grad * 0 + 1) if include_self else grad * 0
        count = count.scatter_add(dim, index, src * 0 + 1)
        count = count.masked_fill(count == 0, 1)
        grad_self = grad / count
        grad_src = grad.gather(dim, index) / count.gather(dim, index)
    else:
        # PyTorch shares the gradient evenly between ties (self's included, even when
        # include_self=False leaves self out)
        value = out.gather(dim, index)
        self_is = (input == out).to(grad.dtype)
        src_is = (src == value).to(grad.dtype)
        shared = grad / self_is.scatter_add(dim, index, src_is)
        grad_self = self_is * shared
        grad_src = src_is * shared.gather(dim, index)
    if not include_self:
        grad_self = grad_self.scatter(dim, index, 0.0)
    return grad_self, None, grad_src


def _prod_grads(grad, input, dim, index, src, out, include_self):
    """PyTorch's products of the others, exact where one factor is zero."""
    from glassgrad.ops.elementwise.where import where

    ones_self = input.masked_fill(input == 0, 1)
    others = ones_self.scatter_reduce(dim, index, src, "prod", include_self=include_self)
    grad_self = grad * others / ones_self
    src_zero = src == 0
    zeros = (grad * 0).scatter_add(dim, index, src_zero.to(grad.dtype)).gather(dim, index)
    single = src_zero & (zeros == 1)
    lone = input.scatter_reduce(
        dim, index, src.masked_fill(single, 1), "prod", include_self=include_self
    )
    grad_src = where(
        single,
        (grad * lone).gather(dim, index),
        (grad * out).gather(dim, index) / src.masked_fill(src_zero, 1),
    )
    return grad_self, grad_src


ScatterReduceBackward0 = node_class("ScatterReduceBackward0", _scatter_reduce_backward)
# PyTorch's forward mode gives reduce="prod" no tangent at all (not an error): same node, no JVP
_ScatterReduceProd = type(
    "ScatterReduceBackward0",
    (ScatterReduceBackward0,),
    {"_jvp": lambda ctx, *tangents: (None,), "__module__": "glassgrad.autograd.graph"},
)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """A copy of ``input`` with ``src`` reduced (sum, prod, mean, amax, amin) into the positions
    ``index`` names along ``dim``; ``include_self=False`` leaves ``input``'s own values out."""
    if reduce not in _REDUCES:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    key, parts = _scatter_key(input, dim, index, src, "scatter_reduce")
    dim = _wrap_dim(dim, input._data.ndim)
    # (vmap: per sample)
    out = _reduced(np.asarray(input._data), key, np.asarray(src._data)[parts], reduce, include_self)
    return result(
        out,
        _ScatterReduceProd if reduce == "prod" else ScatterReduceBackward0,
        (input, None, src),
        saved=(input, index, src, OUT),
        args=(dim, reduce, include_self),
    )


_UFUNCS = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum}


def _reduced(data, key, values, reduce, include_self):
    out = data.copy()
    if not include_self:  # the reduction starts from its identity where anything is written
        out[key] = _identity(data.dtype, reduce)
    _UFUNCS.get(reduce, np.minimum).at(out, key, values)
    if reduce == "mean":
        count = np.full(data.shape, 1 if include_self else 0, np.int64)
        np.add.at(count, key, 1)
        count = np.maximum(count, 1)
        out = out // count if data.dtype.kind in "iub" else (out / count).astype(data.dtype)
    return out


def _identity(dtype, reduce):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


# -- fill_diagonal_ --------------------------------------------------------------------------
def fill_diagonal_(input, fill_value, wrap=False):
    """Write ``fill_value`` on the main diagonal in place (every dim of equal length beyond 2-D;
    ``wrap``: a tall matrix starts the diagonal again below each square block)."""
    data = input._data
    if data.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if data.ndim > 2 and len(set(data.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    count = min(data.shape)
    tall = wrap and data.ndim == 2 and data.shape[0] > data.shape[1] + 1
    if input.is_contiguous():
        # PyTorch fills a strided view of the flat storage: (k, k, ..., k) is k * step, and with
        # ``wrap`` a tall matrix goes on past the end of the square block
        step = sum(int(np.prod(data.shape[d + 1 :])) for d in range(data.ndim))
        flat = input.view(-1)[::step]
        (flat if tall else flat[:count]).fill_(fill_value)
    elif data.ndim == 2 and not tall:
        input.diagonal().fill_(fill_value)
    else:
        from glassgrad.ops.index.indexing import setitem

        positions = np.arange(count)
        setitem(input, (positions,) * data.ndim, fill_value)
    return input


# -- the op table ----------------------------------------------------------------------------
def _ref_index_copy(x, dim, index, source):
    out = x.copy()
    out[(slice(None),) * dim + (index,)] = source
    return out


def _ref_index_fill(x, dim, index, value):
    out = x.copy()
    out[(slice(None),) * dim + (index,)] = value
    return out


def _ref_masked_scatter(x, mask, source):
    out = np.array(np.broadcast_to(x, np.broadcast_shapes(x.shape, mask.shape)))
    where = np.broadcast_to(mask, out.shape)
    out[where] = source.reshape(-1)[: where.sum()]
    return out


def _ref_scatter_reduce(x, dim, index, src, reduce, include_self=True):
    from glassgrad.ops.index.gather import along_key

    parts = tuple(slice(0, n) for n in index.shape)
    return _reduced(x, along_key(index, dim), src[parts], reduce, include_self)


def _scatter_reduce_samples(rng):
    # (prod is tested on its own: PyTorch's forward mode gives it no tangent)
    index = rng.integers(0, 4, (3, 5))
    return [
        (
            (rng.standard_normal((3, 4)), 1, index, rng.standard_normal((3, 5)), reduce),
            {"include_self": include_self},
        )
        for reduce in ("sum", "mean", "amax", "amin")
        for include_self in (True, False)
    ]


register(
    "index_copy",
    index_copy,
    reference=_ref_index_copy,
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), 1, np.array([3, 0]), rng.standard_normal((3, 2))), {}),
        ((rng.standard_normal((4, 2)), 0, np.array([2]), rng.standard_normal((1, 2))), {}),
    ],
    out="expected",
)
register(
    "index_fill",
    index_fill,
    reference=_ref_index_fill,
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), 1, np.array([3, 0, 3]), 2.5), {}),
        ((rng.standard_normal((3, 4)), 0, np.array([1]), rng.standard_normal(())), {}),
    ],
)
register(
    "masked_scatter",
    masked_scatter,
    reference=_ref_masked_scatter,
    samples=lambda rng: [
        (
            (rng.standard_normal((3, 4)), rng.standard_normal((3, 4)) > 0, rng.standard_normal(14)),
            {},
        ),
        (
            (
                rng.standard_normal((4,)),
                rng.standard_normal((2, 4)) > 0,
                rng.standard_normal((2, 4)),
            ),
            {},
        ),
    ],
)
register(
    "scatter_reduce",
    scatter_reduce,
    reference=_ref_scatter_reduce,
    samples=_scatter_reduce_samples,
    out="expected",
)
tensor_method(fill_diagonal_, "fill_diagonal_")
tensor_method(masked_scatter_, "masked_scatter_")
