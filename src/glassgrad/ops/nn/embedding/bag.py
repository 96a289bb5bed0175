"""``embedding_bag``: sums, means or maxima of bags of embedding rows, one fused primitive.

Fused as in PyTorch: written as ``embedding`` followed by a segmented reduction, the graph would
hold the ``(indices, embedding_dim)`` gathered rows; the fused op keeps only the indices and,
for ``max``, which row won each output element. Bags are contiguous runs of the flattened input,
reduced one bag size at a time (a few vectorised steps, never a loop over bags).
"""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.nn.embedding.bag_checks import (
    check_indices,
    check_kernel_args,
    flatten,
    mode_number,
    split_bags,
)
from glassgrad.ops.nn.embedding.common import embedding_renorm_
from glassgrad.ops.registry import register


# -- backward ----------------------------------------------------------------------------------
def _embedding_bag_backward(ctx, grad, weight, per_sample_weights):
    mode, shape, used, bag_of, scale, first, size = ctx._args
    grad_weight = grad_samples = None
    if mode == 2:
        if ctx.next_functions[0][0] is not None:
            grad_weight = _max_grad(shape, grad, first)
        return grad_weight, None
    if ctx.next_functions[0][0] is not None:
        factor = scale if per_sample_weights is None else scale * per_sample_weights[: len(used)]
        grad_weight = _scatter_bags(shape, grad, used, bag_of, factor)
    if ctx.next_functions[1][0] is not None:
        dots = D.sum_dims(grad[bag_of] * weight[used], -1) * (scale != 0)
        grad_samples = D.scatter_into((size,), (np.arange(len(used)),), dots)
    return grad_weight, grad_samples


EmbeddingBagBackward0 = node_class("EmbeddingBagBackward0", _embedding_bag_backward, jvp="none")
EmbeddingBagBackward0._fw_name = "_embedding_bag"  # (PyTorch has no forward-mode rule for it)


def _scatter_bags(shape, grad, used, bag_of, factor):
    """Zeros of ``shape`` with ``grad[bag_of[j]] * factor[j]`` added to row ``used[j]``."""
    if not (D._is_array(grad) and D._is_array(factor)):
        return D.scatter_into(shape, (used,), grad[bag_of] * D.reshape(factor, (-1, 1)))
    out = np.zeros(shape, dtype=grad.dtype)
    if not len(used):
        return out
    # positions sorted by table row, each row's run summed one run length at a time as in the
    # forward: np.add.at (one row at a time) and reduceat over all gathered rows are slower
    order = np.argsort(used, kind="stable")
    ordered, bags, factor = used[order], bag_of[order], factor[order]
    starts = np.flatnonzero(np.diff(ordered, prepend=-1))
    sizes = np.diff(np.append(starts, len(used)))
    for group, positions in _size_classes(starts, sizes):
        picked = grad[bags[positions]] * factor[positions][..., None]
        out[ordered[starts[group]]] = picked.sum(axis=1)
    return out


def _max_grad(shape, grad, first):
    """Each bag's gradient, column by column, to the row that held the maximum."""
    bags, winners = first
    if not len(bags):
        return D.new_zeros(grad, shape)
    columns = np.broadcast_to(np.arange(shape[1]), winners.shape)
    if not D._is_array(grad):
        return D.scatter_into(shape, (winners, columns), grad[bags])
    # one bincount over flat positions: np.add.at walks the elements one by one
    flat = (winners * shape[1] + columns).ravel()
    summed = np.bincount(flat, weights=grad[bags].ravel(), minlength=shape[0] * shape[1])
    return summed.reshape(shape).astype(grad.dtype)


# -- forward -----------------------------------------------------------------------------------
def _size_classes(starts, sizes):
    """Non-empty bags grouped by size: (their bag numbers, their (bags, size) input positions).

    One vectorised step per distinct bag size (few in practice), never one per bag: a
    (bags, size, dim) gather reduced along axis 1 runs about four times faster than
    ``np.add.reduceat`` over the gathered rows, and never holds all of them at once.
    """
    order = np.argsort(sizes, kind="stable")
    bounds = np.flatnonzero(np.diff(sizes[order])) + 1
    for group in np.split(order, bounds):
        if len(group) and sizes[group[0]]:
            yield group, starts[group][:, None] + np.arange(sizes[group[0]])


def _reduce_sum(table, used, starts, sizes, factor, valid):
    """Per-bag sums of the rows ``used`` picks, each scaled by ``factor`` (None: by 1)."""
    out = np.zeros((len(starts), table.shape[1]), dtype=table.dtype)
    for group, positions in _size_classes(starts, sizes):
        picked = table[used[positions]]
        if valid is not None:  # a where, not a product: an excluded inf must not make a NaN
            picked = np.where(valid[positions][..., None], picked, 0)
        if factor is not None:
            picked *= factor[positions][..., None]
        out[group] = picked.sum(axis=1)
    return out


def _reduce_max(table, used, starts, sizes, valid):
    """Per-bag maxima and, for the gradient, the first row holding each maximum."""
    out = np.zeros((len(starts), table.shape[1]), dtype=table.dtype)
    winners = np.zeros(out.shape, dtype=np.int64)
    for group, positions in _size_classes(starts, sizes):
        rows = used[positions]
        picked = table[rows]
        kept = None if valid is None else valid[positions]
        if kept is not None:
            picked = np.where(kept[..., None], picked, -np.inf).astype(table.dtype)
        picked = _later_nans_lose(picked, kept)
        first = picked.argmax(axis=1)  # the first maximum, as PyTorch picks among ties
        out[group] = np.take_along_axis(picked, first[:, None], axis=1)[:, 0]
        winners[group] = np.take_along_axis(rows, first, axis=1)
    bag_of = np.repeat(np.arange(len(starts)), sizes)
    kept = bag_of if valid is None else bag_of[valid]
    filled = np.bincount(kept, minlength=len(starts)) > 0
    out[~filled] = 0
    return out, (np.flatnonzero(filled), winners[filled])


def _later_nans_lose(picked, kept):
    """NaN only where a bag's first row has it: PyTorch's kernel starts from the first row and
    takes a later one only if greater, which a NaN never is (``argmax`` would take any NaN)."""
    nans = np.isnan(picked)
    if not nans.any():
        return picked
    later = np.ones(picked.shape[:2], dtype=bool)
    first = np.zeros(len(picked), dtype=np.int64) if kept is None else kept.argmax(axis=1)
    later[np.arange(len(picked)), first] = False
    return np.where(nans & later[..., None], -np.inf, picked).astype(picked.dtype)


def _frequency(indices, used, rows):
    """The divisor ``scale_grad_by_freq`` applies at each used position, as PyTorch's CPU kernel.

    PyTorch's CPU backward divides the gradient of the i-th distinct index (in sorted order) by
    the count of the index at sorted position i rather than of that index itself; reproduced so
    that gradients agree with PyTorch's.
    """
    ordered = np.sort(indices)
    counts = np.bincount(ordered, minlength=rows)
    unique = np.unique(ordered)
    divisor = np.ones(rows, dtype=np.int64)
    divisor[unique] = counts[ordered[: len(unique)]]
    return divisor[used]


def _embedding_bag(
    weight,
    indices,
    offsets,
    scale_grad_by_freq,
    mode,
    per_sample_weights,
    include_last_offset,
    padding_idx,
):
    """The fused kernel on flat ``indices`` and bag ``offsets`` (PyTorch's ``_embedding_bag``)."""
    padding_idx = check_kernel_args(weight, indices, offsets, per_sample_weights, padding_idx)
    if indices.dtype != offsets.dtype:
        offsets = offsets.astype(
            np.int64 if np.int64 in (indices.dtype, offsets.dtype) else np.int32
        )
    starts, sizes, end = split_bags(len(indices), offsets, include_last_offset)
    shape = weight._data.shape
    used = indices[:end].astype(np.int64)
    check_indices(used, *shape)
    valid = None if padding_idx is None else used != padding_idx
    if mode == 2:
        out, first = _reduce_max(weight._data, used, starts, sizes, valid)
        args = (mode, shape, used, None, None, first, len(indices))
        return result(out, EmbeddingBagBackward0, (weight, None), (None, None), args)
    samples = None if per_sample_weights is None else per_sample_weights._data[:end]
    out = _reduce_sum(weight._data, used, starts, sizes, samples, valid)
    bag_of = np.repeat(np.arange(len(starts)), sizes)
    scale = np.ones(end, dtype=out.dtype) if valid is None else valid.astype(out.dtype)
    if mode == 1:
        counts = np.bincount(bag_of if valid is None else bag_of[valid], minlength=len(starts))
        out /= np.maximum(counts, 1)[:, None].astype(out.dtype)
        scale /= np.maximum(counts, 1)[bag_of]
    if scale_grad_by_freq:
        scale = scale / _frequency(indices.astype(np.int64), used, shape[0])
    args = (mode, shape, used, bag_of, scale.astype(out.dtype), None, len(indices))
    saved = (weight if per_sample_weights is not None else None, per_sample_weights)
    return result(out, EmbeddingBagBackward0, (weight, per_sample_weights), saved, args)


def embedding_bag(
    input,
    weight,
    offsets=None,
    max_norm=None,
    norm_type=2,
    scale_grad_by_freq=False,
    mode="mean",
    sparse=False,
    per_sample_weights=None,
    include_last_offset=False,
    padding_idx=None,
):
    """Sums, means or maxima of bags of rows of ``weight`` picked by the integer ``input``."""
    if weight._data.dtype == np.int64 and input.is_floating_point():
        warnings.warn(
            "Argument order of nn.functional.embedding_bag was changed. Usage "
            "`embedding_bag(weight, input, ...)` is deprecated, and should now be "
            "`embedding_bag(input, weight, ...)`.",
            stacklevel=2,
        )
        weight, input = input, weight
    if per_sample_weights is not None and input.size() != per_sample_weights.size():
        raise ValueError(
            f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, "
            f"then it must have the same shape as the input ({input.shape})"
        )
    if weight.dim() != 2:
        raise ValueError(
            f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}"
        )
    indices, offsets, include_last_offset = flatten(input, offsets, include_last_offset)
    if per_sample_weights is not None and input.dim() == 2:
        per_sample_weights = per_sample_weights.reshape(-1)
    mode_enum = mode_number(mode, scale_grad_by_freq, sparse)
    if max_norm is not None:
        embedding_renorm_(weight, input, max_norm, norm_type)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub."
        )
    return _embedding_bag(
        weight,
        indices,
        offsets,
        scale_grad_by_freq,
        mode_enum,
        per_sample_weights,
        include_last_offset,
        padding_idx,
    )


def _samples(rng):
    weight = rng.standard_normal((6, 3))
    flat = np.array([1, 2, 4, 0, 5, 3, 3])
    offsets = np.array([0, 2, 2, 5])
    return [
        ((flat, weight, offsets), {"mode": "sum"}),
        ((flat, weight, offsets), {}),
        ((flat, weight, offsets), {"mode": "max"}),
        ((rng.integers(0, 6, (3, 4)), weight), {"mode": "mean"}),
        ((rng.integers(0, 6, (3, 4)), weight), {"mode": "max"}),
        ((flat, weight, np.array([0, 3, 3, 7])), {"include_last_offset": True, "mode": "sum"}),
        ((flat, weight, offsets, None, 2, False, "sum", False, rng.uniform(0.5, 2, 7)), {}),
    ]


def _edge_samples(rng):
    # the padding row gets no gradient although the output depends on it, and
    # scale_grad_by_freq is no derivative: compared with PyTorch only
    weight = rng.standard_normal((5, 3))
    flat = np.array([1, 2, 4, 0, 4, 3, 3, 4])
    offsets = np.array([0, 3, 3, 5])
    return [
        ((flat, weight, offsets), {"mode": mode, "padding_idx": 4})
        for mode in ("sum", "mean", "max")
    ] + [
        ((flat, weight, offsets), {"mode": "sum", "scale_grad_by_freq": True}),
        ((flat, weight, offsets), {"mode": "mean", "scale_grad_by_freq": True, "padding_idx": 3}),
        (
            (flat, weight, offsets, None, 2, False, "sum", False, rng.uniform(0.5, 2, 8)),
            {"padding_idx": -1},
        ),
    ]


register(
    "embedding_bag",
    embedding_bag,
    method=False,
    function=False,
    samples=_samples,
    edge_samples=_edge_samples,
)
