"""``quantile`` and ``nanquantile``, built as PyTorch builds them: sort along the dimension, read
the two neighbouring order statistics with ``gather`` and ``lerp`` between them (so gradients
reach the elements the quantile lies between), then squeeze in place."""

from __future__ import annotations

import numpy as np

from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, _wrap_dim

_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


def _q_tensor(input, q, name):
    if isinstance(q, Tensor):
        return q
    if not 0 <= q <= 1:
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
    from glassgrad.creation import tensor

    return tensor(q, dtype=input.dtype if input.is_floating_point() else None)


def _check(input, q, interpolation, name):
    if interpolation not in _MODES:
        raise RuntimeError(
            f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, "
            f"but got {interpolation}"
        )
    if input.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if q.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if input.dtype.name not in ("float32", "float64"):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if q.dtype is not input.dtype:
        raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
    values = q._data
    if not np.all((values >= 0) & (values <= 1)):
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")


def _ranks(sorted_values, q, ignore_nan):
    """Where each quantile lies among the sorted values (``[Q, *rest, 1]``)."""
    count = sorted_values.shape[-1]
    if ignore_nan:
        # all-NaN rows get rank 0, so their quantile reads a NaN
        numbers = sorted_values.isnan().logical_not().sum(-1, keepdim=True)
        ranks = q * (numbers - 1)
        return ranks.masked_fill(ranks < 0, 0)
    # a NaN in the row sends every rank to the end, where the (sorted last) NaN is
    return (q * (count - 1)).masked_fill(sorted_values.isnan().any(-1, keepdim=True), count - 1)


def _read(sorted_values, ranks, interpolation):
    if interpolation == "lower":
        ranks = ranks.floor()
    elif interpolation == "higher":
        ranks = ranks.ceil()
    elif interpolation == "nearest":
        ranks = ranks.round()
    below = ranks.long()
    values = sorted_values.gather(-1, below)
    if interpolation in ("linear", "midpoint"):
        weights = ranks - below
        if interpolation == "midpoint":
            weights = weights.ceil() * 0.5
        values = values.lerp(sorted_values.gather(-1, ranks.ceil().long()), weights)
    return values


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):
    q = _q_tensor(input, q, name)
    _check(input, q, interpolation, name)
    scalar_q = q.ndim == 0
    ndim = input.ndim
    if dim is None:
        work = input.reshape(-1)
    else:
        dim = _wrap_dim(dim, ndim)
        work = input.unsqueeze(-1).transpose(dim, -1) if dim != ndim - 1 else input
    sorted_values = work.sort(-1)[0]
    count = q.numel() if not scalar_q else 1
    q_shape = (count,) + (1,) * sorted_values.ndim
    sorted_values = sorted_values.unsqueeze(0).expand(count, *sorted_values.shape)
    ranks = _ranks(sorted_values, q.reshape(q_shape), ignore_nan)
    ranks = ranks.expand(*sorted_values.shape[:-1], 1)
    values = _read(sorted_values, ranks, interpolation)  # [Q, *rest, 1]
    # reshaped in place only, as PyTorch's result is: never a view (a later in-place op on it
    # records its own node, not AsStridedBackward0)
    if dim is None:
        for _ in range(ndim if keepdim else 0):
            values.unsqueeze_(1)
    elif dim == ndim - 1:
        if keepdim:
            values.unsqueeze_(-1)
    elif not keepdim:
        values.squeeze_(dim + 1)
    values.squeeze_(-1)
    if scalar_q:
        values.squeeze_(0)
    return values


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-th quantiles of ``input`` (over ``dim``, or all elements), interpolated between
    the neighbouring order statistics as ``interpolation`` says; any NaN gives NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """``quantile`` of the numbers that are not NaN (NaN where there are none)."""
    return _quantile(input, q, dim, keepdim, interpolation, True, "quantile")  # (its words)


def _reference(ignore_nan):
    def reference(x, q, dim=None, keepdim=False, *, interpolation="linear"):
        numpy_fn = np.nanquantile if ignore_nan else np.quantile
        return numpy_fn(x, q, axis=dim, keepdims=keepdim, method=interpolation)

    return reference


def _samples(with_nans):
    def samples(rng):
        def values(*shape):
            data = rng.standard_normal(shape)
            if with_nans:
                data[rng.random(shape) < 0.2] = np.nan
            return data

        return [
            ((values(3, 5), 0.3), {}),
            ((values(3, 5), np.array([0.05, 0.3, 0.9]), 1), {"keepdim": True}),
            ((values(4, 3), 0.5, 0), {"interpolation": "midpoint"}),
            ((values(2, 3, 4), np.array([0.1, 0.95]), 1), {"interpolation": "lower"}),
            (
                (
                    values(
                        7,
                    ),
                    0.75,
                ),
                {"interpolation": "nearest", "keepdim": True},
            ),
            ((values(3, 4), 0.6, -1), {"interpolation": "higher"}),
        ]

    return samples


for _name, _fn, _nan in (("quantile", quantile, False), ("nanquantile", nanquantile, True)):
    register(_name, _fn, reference=_reference(_nan), samples=_samples(_nan))
