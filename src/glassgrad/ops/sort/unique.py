"""``unique`` and ``unique_consecutive``: the distinct values of a tensor (or of its slices along
``dim``), with the inverse indices and counts on request.

``unique`` orders like ``sort`` (NaN last, every NaN its own value). Its values carry PyTorch's
``grad_fn`` but, as in PyTorch, differentiating through it is an error. Known difference:
``unique(dim=...)`` over slices holding NaN orders them as NumPy does, not as PyTorch.
"""

from __future__ import annotations

import numpy as np

from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops._sampling import shaped
from glassgrad.ops.registry import register
from glassgrad.ops.sort.search import _INTS, _rounded
from glassgrad.ops.sort.sort import (
    _dims,
)
from glassgrad.tensor import _wrap_dim


def _no_derivative(name):
    def backward(ctx, grad):
        raise NotImplementedError(f"the derivative for '{name}' is not implemented.")

    return backward


Unique2Backward0 = node_class("Unique2Backward0", _no_derivative("_unique2"))
UniqueDimBackward0 = node_class("UniqueDimBackward0", _no_derivative("unique_dim"))
UniqueConsecutiveBackward0 = node_class(
    "UniqueConsecutiveBackward0", _no_derivative("unique_consecutive")
)


def _unique_outputs(input, cls, values, inverse, counts, return_inverse, return_counts):
    made = [result(values, cls, (input,))]
    if return_inverse:
        made.append(result(inverse.astype(np.int64, copy=False), None, (input,)))
    if return_counts:
        made.append(result(counts.astype(np.int64, copy=False), None, (input,)))
    return made[0] if len(made) == 1 else tuple(made)


def _unique_dim(data, dim):
    if data.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _wrap_dim(dim, data.ndim)


def _check_zero_sized(data, axis):
    if any(n == 0 for d, n in enumerate(data.shape) if d != axis):
        raise RuntimeError(
            "There are 0 sized dimensions, and they aren't selected, so unique cannot be applied"
        )


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct values (or slices along ``dim``) in ascending order; NaN are all distinct."""
    data = input._data
    if dim is None:
        # ``sorted=False`` leaves the order to the implementation; PyTorch's CPU one sorts too
        values, inverse, counts = np.unique(
            data.reshape(-1), return_inverse=True, return_counts=True, equal_nan=False
        )
        inverse = inverse.reshape(data.shape)
        cls = Unique2Backward0
    else:
        axis, work = _unique_dim(data, dim), data
        _check_zero_sized(work, axis)
        if work.shape[axis] == 0:
            values, inverse, counts = work, np.zeros(0), np.zeros(0)
        else:
            values, inverse, counts = np.unique(
                work, return_inverse=True, return_counts=True, axis=axis
            )
        inverse, cls = inverse.reshape(-1), UniqueDimBackward0
    return _unique_outputs(input, cls, values, inverse, counts, return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """The first of each run of equal consecutive values (or slices along ``dim``)."""
    data = input._data
    work, axis = (data.reshape(-1), 0) if dim is None else (data, _unique_dim(data, dim))
    if dim is not None:
        _check_zero_sized(work, axis)
    size = work.shape[axis]
    rows = np.moveaxis(work, axis, 0).reshape(size, work.size // max(size, 1))
    change = np.any(rows[1:] != rows[:-1], axis=1)  # NaN != NaN: each NaN starts a run
    change = np.concatenate([np.ones(min(size, 1), bool), change])
    starts = np.flatnonzero(change)
    values = np.take(work, starts, axis)
    inverse = np.cumsum(change) - 1
    inverse = inverse.reshape(data.shape) if dim is None else inverse
    counts = np.diff(np.append(starts, size))
    outs = (values, inverse, counts)
    return _unique_outputs(input, UniqueConsecutiveBackward0, *outs, return_inverse, return_counts)


# -- the op table ----------------------------------------------------------------------------
def _unique_samples(make, shape):
    x = _rounded(make, shape)
    both = {"return_inverse": True, "return_counts": True}
    return [((x,), {}), ((x,), both)] + [((x,), {"dim": d, **both}) for d in _dims(shape)]


def _unique_ref(x, return_inverse=False, return_counts=False, dim=None):
    if dim is None:
        values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(x.shape)
    else:
        values, inverse, counts = np.unique(
            x, return_inverse=True, return_counts=True, axis=dim % x.ndim
        )
    picked = [values] + [inverse.reshape(-1) if dim is not None else inverse] * return_inverse
    picked += [counts] * return_counts
    return tuple(picked) if len(picked) > 1 else values


def _consecutive_ref(x, return_inverse=False, return_counts=False, dim=None):
    flat = x.reshape(-1)
    change = np.concatenate([[True], flat[1:] != flat[:-1]])
    picked = [flat[change]] + [np.cumsum(change).reshape(x.shape) - 1] * return_inverse
    picked += [np.diff(np.append(np.flatnonzero(change), flat.size))] * return_counts
    return tuple(picked) if len(picked) > 1 else picked[0]


def _consecutive_samples(make, shape):
    x = np.asarray(np.round(make(shape, low=-0.7, high=0.7)))  # mostly zeros: long runs
    return [((x,), {}), ((x,), {"return_inverse": True, "return_counts": True})]


for _fn, _samples, _ref in (  # no derivative: differentiating through them is an error
    (unique, shaped(_unique_samples), _unique_ref),
    (unique_consecutive, shaped(_consecutive_samples), _consecutive_ref),
):
    register(
        _fn.__name__,
        _fn,
        samples=_samples,
        differentiable=False,
        dtypes=_INTS,
        reference=_ref,
        any_shape=True,
    )
