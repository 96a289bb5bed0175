"""Ops that cut a tensor into pieces or pick its elements in a pattern, built from views and
joins as PyTorch builds them: ``tensor_split`` (slices), ``ravel`` (a flat view of a contiguous
copy), ``combinations`` (a stack of index selections)."""

from __future__ import annotations

import itertools
import operator

import numpy as np

from glassgrad._tensor_info import _C_TYPES
from glassgrad.ops.registry import register
from glassgrad.ops.shape.join import stack
from glassgrad.tensor import Tensor, _wrap_dim


def _cut_points(indices_or_sections, size, dim_size_name="dim"):
    if isinstance(indices_or_sections, Tensor):
        data = indices_or_sections._data
        if data.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                f"one-dimensional tensor, but got a tensor with {data.ndim} dims"
            )
        if data.dtype != np.int64:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                f"{_C_TYPES[indices_or_sections.dtype.name]}"
            )
        indices_or_sections = int(data) if data.ndim == 0 else [int(i) for i in data]
    if isinstance(indices_or_sections, (list, tuple)):
        return [operator.index(i) for i in indices_or_sections]
    sections = operator.index(indices_or_sections)
    if sections <= 0:
        raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
    # the first size % sections pieces get one element more
    small, extra = divmod(size, sections)
    return list(itertools.accumulate(small + (i < extra) for i in range(sections - 1)))


def tensor_split(input, indices_or_sections, dim=0):
    """Views of ``input`` cut along ``dim`` into ``n`` nearly equal pieces (an int) or at the
    given indices (a list or a tensor)."""
    data = input._data
    if data.ndim == 0:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    dim = _wrap_dim(dim, data.ndim)
    size = data.shape[dim]
    points = _cut_points(indices_or_sections, size)
    pieces = []
    start = 0
    for stop in [*points, size]:
        # (a cut point past the end, or before the previous one, gives an empty piece)
        begin = min(max(start, 0) if start >= 0 else max(start + size, 0), size)
        end = min(stop if stop >= 0 else max(stop + size, 0), size)
        pieces.append(input.narrow(dim, begin, max(0, end - begin)))  # (SliceBackward0)
        start = stop
    return tuple(pieces)


def ravel(input):
    """The elements of ``input`` as a 1-D tensor (a view where ``input`` is contiguous)."""
    return input.contiguous().view(-1)


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a 1-D tensor's elements, one per row (itertools')."""
    data = input._data
    if data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(data.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_empty((0,))
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(pick(range(data.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    from glassgrad.creation import tensor

    return stack([input[tensor(rows[:, i])] for i in range(r)], 1)


def _ref_tensor_split(x, indices_or_sections, dim=0):
    return tuple(np.array_split(x, indices_or_sections, axis=dim))


def _ref_combinations(x, r=2, with_replacement=False):
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    return np.array(list(pick(x, r))).reshape(-1, r)


register(
    "tensor_split",
    tensor_split,
    reference=_ref_tensor_split,
    samples=lambda rng: [
        ((rng.standard_normal((3, 7)), 3, 1), {}),
        ((rng.standard_normal((7, 2)), [1, 5]), {}),
        ((rng.standard_normal((3, 7)), [5, 1, 9], -1), {}),
        ((rng.standard_normal((2, 4)), 6, 1), {}),
    ],
)
register(
    "ravel",
    ravel,
    reference=np.ravel,
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)),), {}),
        ((rng.standard_normal((2, 3, 2)),), {}),
    ],
)
register(
    "combinations",
    combinations,
    method=False,
    reference=_ref_combinations,
    samples=lambda rng: [
        ((rng.standard_normal(4),), {}),
        ((rng.standard_normal(3), 3), {"with_replacement": True}),
        ((rng.standard_normal(3), 1), {}),
    ],
)
