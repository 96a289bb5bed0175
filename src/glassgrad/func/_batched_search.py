"""Batching rules for NumPy's value tests and searches: ``isneginf``/``isposinf``,
``nan_to_num``, ``isclose``, ``cross``, ``unravel_index``, ``searchsorted`` and ``isin``.

Each runs NumPy once on the physical arrays. A search in a batch of sorted sequences (one per
sample) counts, per value, the elements that sort before it: the same index ``searchsorted``
gives, NaN sorting last as NumPy sorts it.
"""

from __future__ import annotations

import numpy as np

from glassgrad._batched import BatchedArray, levels_of, logical_ndim, physical, wrap
from glassgrad.func._batched_rules import rule


def _pointwise(func):
    def run(x, out=None, **kwargs):
        if out is not None:
            raise TypeError(f"vmap: {func.__name__}(out=) of a batch")
        return BatchedArray(func(x.value, **kwargs), x.levels)

    rule(func)(run)


for _func in (np.isneginf, np.isposinf):
    _pointwise(_func)


@rule(np.nan_to_num)
def _nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    return BatchedArray(np.nan_to_num(x.value, copy, nan, posinf, neginf), x.levels)


def _aligned(arrays):
    levels, sizes = levels_of(arrays)
    ndim = max(logical_ndim(a) for a in arrays)
    return levels, sizes, ndim, [physical(a, levels, sizes, ndim) for a in arrays]


@rule(np.isclose)
def _isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    levels, _, _, (pa, pb) = _aligned((a, b))
    return wrap(np.isclose(pa, pb, rtol, atol, equal_nan), levels)


@rule(np.cross)
def _cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    levels, sizes = levels_of((a, b))
    ndim = max(logical_ndim(a), logical_ndim(b))
    pa, pb = (physical(x, levels, sizes, ndim, expand=True) for x in (a, b))
    if axis is not None:
        axisa = axisb = axisc = axis
    axes = [_physical_axis(x, ndim, len(levels)) for x in (axisa, axisb, axisc)]
    return wrap(np.cross(pa, pb, *axes), levels)


def _physical_axis(axis, ndim, offset):
    axis = int(axis)
    return axis if axis < 0 else axis + offset


@rule(np.unravel_index)
def _unravel_index(indices, shape, order="C"):
    return tuple(
        BatchedArray(part, indices.levels) for part in np.unravel_index(indices.value, shape, order)
    )


@rule(np.searchsorted)
def _searchsorted(a, v, side="left", sorter=None):
    if sorter is not None:
        raise TypeError("vmap: searchsorted(sorter=) of a batch")
    if a.__class__ is not BatchedArray:  # one sorted sequence for every sample
        return BatchedArray(np.searchsorted(a, v.value, side), v.levels)
    levels, sizes = levels_of((a, v))
    nb = len(levels)
    rows = physical(a, levels, sizes, 1)  # (*batch, n)
    values = physical(v, levels, sizes, logical_ndim(v), expand=True)
    shape = values.shape
    flat = values.reshape(*values.shape[:nb], -1, 1)
    rows = rows.reshape(*rows.shape[:nb], 1, rows.shape[-1])
    numbers = ~np.isnan(rows) if rows.dtype.kind in "fc" else np.ones(rows.shape, bool)
    missing = np.isnan(flat) if flat.dtype.kind in "fc" else np.zeros(flat.shape, bool)
    if side == "left":
        before = (rows < flat) | (missing & numbers)
    else:
        before = (rows <= flat) | missing
    return BatchedArray(before.sum(-1).reshape(shape).astype(np.intp), levels)


@rule(np.isin)
def _isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    if test_elements.__class__ is not BatchedArray:  # the same test set for every sample
        found = np.isin(element.value, test_elements, assume_unique, invert, kind=kind)
        return BatchedArray(found, element.levels)
    levels, sizes = levels_of((element, test_elements))
    nb = len(levels)
    ndim = logical_ndim(element)
    values = physical(element, levels, sizes, ndim)
    tests = physical(test_elements.reshape(-1), levels, sizes, 1)
    tests = tests.reshape(*tests.shape[:nb], *(1,) * ndim, tests.shape[-1])
    found = (values[..., None] == tests).any(-1)
    return BatchedArray(~found if invert else found, levels)
