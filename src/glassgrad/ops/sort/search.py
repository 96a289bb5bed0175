"""Running extremes and searches in sorted data: ``cummax``/``cummin``, ``aminmax``,
``searchsorted``, ``bucketize``, ``isin`` and ``count_nonzero`` (``unique``: ``unique.py``).
"""

from __future__ import annotations

import weakref

import numpy as np

from glassgrad._batched import as_data, c_order
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import needs_grad, result, results, saved_record, track_versions
from glassgrad.ops._sampling import shaped
from glassgrad.ops.reduce.minmax import return_type
from glassgrad.ops.reduce.sum_prod import expand_back, normalize_dims
from glassgrad.ops.registry import register
from glassgrad.ops.sort.sort import (
    _dim_samples,
    _dims,
    _gathered_jvp,
    _pair,
    _scatter_backward,
    _tie_dims,
    _work,
)
from glassgrad.tensor import Tensor

cummax_type, cummin_type = return_type("cummax"), return_type("cummin")
CummaxBackward0 = node_class("CummaxBackward0", _scatter_backward, jvp=_gathered_jvp)
CumminBackward0 = node_class("CumminBackward0", _scatter_backward, jvp=_gathered_jvp)


def _cumulative(input, dim, accumulate, cls, pair):
    work, axis = _work(input, dim)
    values = c_order(accumulate(work, axis=axis))  # (contiguous, as PyTorch's)
    hit = values == work
    if _floating(work):
        hit |= np.isnan(work) & np.isnan(values)
    # PyTorch moves the index on ties (``>=``) and at every NaN: the last hit so far
    shape = [-1 if d == axis else 1 for d in range(work.ndim)]
    positions = np.arange(work.shape[axis]).reshape(shape)
    index = c_order(np.maximum.accumulate(np.where(hit, positions, 0), axis=axis))
    return _pair(input, work, axis, index, cls, pair)


def _required(name, dim):
    if dim is None:
        raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')


def cummax(input, dim=None):
    """The running maximum along ``dim`` and where it was last attained."""
    _required("cummax", dim)
    return _cumulative(input, dim, np.maximum.accumulate, CummaxBackward0, cummax_type)


def cummin(input, dim=None):
    """The running minimum along ``dim`` and where it was last attained."""
    _required("cummin", dim)
    return _cumulative(input, dim, np.minimum.accumulate, CumminBackward0, cummin_type)


# -- aminmax ---------------------------------------------------------------------------------
class aminmax_type(tuple):  # noqa: N801 - PyTorch's class name
    """``torch.return_types.aminmax``: ``.min``, ``.max`` and unpacking."""

    __slots__ = ()
    __module__ = "torch.return_types"

    def __new__(cls, min, max):  # noqa: A002 - PyTorch's field names
        return tuple.__new__(cls, (min, max))

    min = property(lambda self: self[0], doc="The smallest values.")  # noqa: A003
    max = property(lambda self: self[1], doc="The largest values.")  # noqa: A003

    def __repr__(self) -> str:
        return f"torch.return_types.aminmax(\nmin={self[0]!r},\nmax={self[1]!r})"


aminmax_type.__name__ = aminmax_type.__qualname__ = "aminmax"


def _aminmax_backward(ctx, grads):
    # like amin/amax: each gradient is shared evenly among the tied extremes
    shape, dims, keepdim, shares = ctx._args
    total = None
    for grad, share in zip(grads, shares, strict=True):
        if grad is not None:
            hit, count = share  # divided first, then masked: PyTorch's rounding in float32
            term = expand_back(grad, shape, dims, keepdim) / count * hit
            total = term if total is None else total + term
    return (total,)


AminmaxBackward0 = node_class("AminmaxBackward0", _aminmax_backward, n_outputs=2)


def _share(data, out, dims):
    hit = (data == out) | (np.isnan(data) & np.isnan(out))
    return hit.astype(data.dtype), hit.sum(axis=dims, keepdims=True).astype(data.dtype)


def aminmax(input, *, dim=None, keepdim=False):
    """The minimum and the maximum, over all elements or along ``dim``."""
    data = input._data
    if dim is None:
        if not data.size:
            raise RuntimeError(
                "aminmax(): cannot compute aminmax over an empty dimension as the operation has "
                "no identity."
            )
        dims = tuple(range(data.ndim))
    else:
        dims = normalize_dims(dim, data.ndim)
        if data.ndim and data.shape[dims[0]] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {dims[0]} to have non-zero size.")
    keep = keepdim and dim is not None
    low, high = data.min(axis=dims, keepdims=True), data.max(axis=dims, keepdims=True)
    args = None
    if needs_grad(input):
        args = (data.shape, dims, keep, (_share(data, low, dims), _share(data, high, dims)))
    if not keep:
        low, high = (
            a.reshape([n for d, n in enumerate(data.shape) if d not in dims]) for a in (low, high)
        )
    made = results((low, high), AminmaxBackward0, (input,), args=args)
    track_versions(made[0], input, output=True)  # (PyTorch saves input and both results)
    if made[0]._grad_fn is not None:
        made[0]._grad_fn._vars += (saved_record(made[1], None, weakref.ref(made[1])),)
    return aminmax_type(*made)


# -- searches --------------------------------------------------------------------------------
def _side(right, side):
    if side is None:
        return "right" if right else "left"
    if side not in ("left", "right"):
        raise RuntimeError(
            f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}"
        )
    if right and side == "left":
        raise RuntimeError(
            "torch.searchsorted(): side and right can't be set to opposites, got side of left "
            "while right was True"
        )
    return side


def _search(bounds, values, side):
    """Insertion points of ``values`` in the last dim of ``bounds`` (a row per leading index)."""
    if bounds.ndim == 1:
        found = np.searchsorted(bounds, values, side)
    else:
        rows, width = bounds.reshape(-1, bounds.shape[-1]), values.shape[-1]
        flat = values.reshape(rows.shape[0], width)
        # one NumPy search per row: rows differ, so no single search covers them
        found = np.stack([np.searchsorted(r, v, side) for r, v in zip(rows, flat, strict=True)])
        found = found.reshape(values.shape)
    if _floating(values):  # PyTorch puts NaN after every boundary
        found = np.where(np.isnan(values), bounds.shape[-1], found)
    return found


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where each value of ``input`` would go in the last dim of ``sorted_sequence``."""
    side = _side(right, side)
    bounds = sorted_sequence._data
    if sorter is not None:
        bounds = np.take_along_axis(bounds, sorter._data, -1)
    values = input._data if isinstance(input, Tensor) else np.asarray(input)
    if bounds.ndim > 1 and bounds.shape[:-1] != values.shape[:-1]:
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(bounds.shape)} and input value tensor {list(values.shape)}"
        )
    found = _search(bounds, values, side).astype(np.int32 if out_int32 else np.int64)
    return result(found, None, (sorted_sequence,))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value of ``input`` among the 1-D ``boundaries``."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(
            f"boundaries tensor must be 1 dimension, but got dim({boundaries._data.ndim})"
        )
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each of ``elements`` occurs in ``test_elements`` (NaN never does)."""
    data = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    tests = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    found = np.isin(data, tests.reshape(-1), invert=invert)
    inputs = tuple(t for t in (elements, test_elements) if isinstance(t, Tensor))
    return result(as_data(found), None, inputs)


def count_nonzero(input, dim=None):
    """How many elements are not zero (over all dims or ``dim``, an int or a sequence)."""
    data = input._data
    dims = normalize_dims(dim, data.ndim)
    return result(np.count_nonzero(data, axis=dims).astype(np.int64), None, (input,))


# -- the op table ----------------------------------------------------------------------------
def _cum_ref(fn):
    def reference(x, dim):
        rows = np.moveaxis(np.atleast_1d(x), dim, -1)
        values, index = np.empty_like(rows), np.zeros(rows.shape, np.int64)
        for i in range(rows.shape[-1]):  # one prefix per position along the dim
            prefix = rows[..., : i + 1]
            best = fn(prefix, axis=-1)
            values[..., i] = best
            index[..., i] = i - np.argmax((prefix == best[..., None])[..., ::-1], axis=-1)
        back = (np.moveaxis(values, -1, dim), np.moveaxis(index, -1, dim))
        return tuple(a.reshape(x.shape) for a in back)

    return reference


_SORT_DTYPES = ("float64", "float32", "int64")
for _fn, _np in ((cummax, np.max), (cummin, np.min)):
    register(
        _fn.__name__,
        _fn,
        samples=shaped(_dim_samples),
        edge_samples=shaped(_tie_dims),
        any_shape=True,
        dtypes=_SORT_DTYPES,
        reference=_cum_ref(_np),
        out="cummax",
    )


def _rounded(make, shape):
    return np.asarray(np.round(make(shape, low=-1.5, high=1.5)))


def _aminmax_samples(make, shape, ties=False):
    x = _rounded(make, shape) if ties else make(shape)
    return [((x,), {})] + [((x,), {"dim": d, "keepdim": d < 0}) for d in _dims(shape)]


def _aminmax_ref(x, dim=None, keepdim=False):
    dims = tuple(range(x.ndim)) if dim is None else normalize_dims(dim, x.ndim)
    return x.min(axis=dims, keepdims=keepdim), x.max(axis=dims, keepdims=keepdim)


def _search_samples(rng):
    bounds = np.sort(rng.uniform(-2, 2, 6))
    values = np.concatenate([rng.uniform(-3, 3, 5), bounds[[1, 3]]]).reshape(7)
    rows = np.sort(rng.uniform(-2, 2, (2, 3, 4)), axis=-1)
    return [
        ((bounds, values), {}),
        ((bounds, values.reshape(7, 1)), {"right": True}),
        ((bounds, values), {"side": "right", "out_int32": True}),
        ((rows, rng.uniform(-2, 2, (2, 3, 5))), {}),
        ((bounds[::-1].copy(), values), {"sorter": np.arange(6)[::-1].copy()}),
    ]


def _search_errors(rng):
    bounds, values = np.sort(rng.uniform(-2, 2, 6)), rng.uniform(-3, 3, 5)
    return [
        ((np.sort(rng.uniform(-2, 2, (2, 3, 4)), axis=-1), values), {}),  # leading dims differ
        ((bounds, values), {"side": "left", "right": True}),
        ((bounds, values), {"side": "middle"}),
    ]


def _search_ref(bounds, values, right=False, side=None, out_int32=False, sorter=None):
    if sorter is not None:
        bounds = bounds[sorter]
    side = side or ("right" if right else "left")
    if bounds.ndim == 1:
        return np.searchsorted(bounds, values, side)
    rows = [
        np.searchsorted(b, v, side)
        for b, v in zip(bounds.reshape(-1, 4), values.reshape(-1, 5), strict=True)
    ]
    return np.stack(rows).reshape(values.shape)


def _isin_samples(make, shape):
    x, tests = _rounded(make, shape), _rounded(make, (3,))
    return [((x, tests), {}), ((x, tests), {"invert": True}), ((x, 1.0), {})]


_INTS = ("float64", "float32", "int64")
register(
    "aminmax",
    aminmax,
    samples=shaped(_aminmax_samples),
    edge_samples=shaped(lambda make, shape: _aminmax_samples(make, shape, True)),
    any_shape=True,
    dtypes=_INTS,
    reference=_aminmax_ref,
    out="expected",
)


def _bucket_samples(rng):
    cases = _search_samples(rng)[:3]
    return [
        ((values, bounds), kwargs) for (bounds, values), kwargs in cases if "side" not in kwargs
    ]


def _count_samples(make, shape):
    x = _rounded(make, shape)
    return [((x,), {})] + [((x,), {"dim": d}) for d in _dims(shape)]


_ANY = {"any_shape": True}
for _fn, _samples, _ref, _extra in (  # the ops without a derivative
    (searchsorted, _search_samples, _search_ref, {"edge_samples": _search_errors}),
    (bucketize, _bucket_samples, lambda v, b, right=False: _search_ref(b, v, right), {}),
    (isin, shaped(_isin_samples), lambda x, t, invert=False: np.isin(x, t, invert=invert), _ANY),
    (count_nonzero, shaped(_count_samples), lambda x, dim=None: np.count_nonzero(x, dim), _ANY),
):
    _kinds = ("float64", "int64", "bool") if _fn is count_nonzero else _INTS
    register(
        _fn.__name__,
        _fn,
        method=_fn not in (searchsorted, bucketize, isin),  # PyTorch has no Tensor method
        samples=_samples,
        differentiable=False,
        dtypes=_kinds,
        reference=_ref,
        out={searchsorted: "searchsorted", bucketize: "searchsorted", isin: "expected"}.get(_fn),
        **_extra,
    )
