"""Counting ops: ``bincount``, ``histc`` and ``histogram``. PyTorch has no derivative for them:
``histc`` records nothing, ``bincount`` (with weights) and ``histogram`` record a node whose
backward raises PyTorch's error."""

from __future__ import annotations

import numpy as np

from glassgrad._bfloat16 import floating as _floating
from glassgrad._bfloat16 import refuse
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.record import result
from glassgrad.ops.elementwise.arith import NotImplementedNode
from glassgrad.ops.linalg.inverse import _named
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor


def bincount(input, weights=None, minlength=0):
    """How often each non-negative integer occurs in a 1-D tensor (or the sum of its weights)."""
    data = input._data
    if data.dtype.kind not in "iu":
        raise NotImplementedError(
            f"\"bincount_cpu\" not implemented for '{_C_TYPES[input.dtype.name]}'"
        )
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if data.ndim != 1 or (data.size and data.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return result(np.bincount(data, minlength=minlength).astype(np.int64), None, (input,))
    values = weights._data
    if values.ndim != 1 or values.shape[0] != data.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    # float weights keep their dtype; integer and bool weights count in double
    dtype = values.dtype if _floating(values) else np.float64
    out = np.bincount(data, values.astype(np.float64), minlength=minlength).astype(dtype)
    return result(out, NotImplementedNode, (None, weights), args="bincount")


_HISTOGRAM = _named("histogram", ("hist", "bin_edges"))


def _float_input(input, kernel):
    if not _floating(input._data):
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{_C_TYPES[input.dtype.name]}'"
        )


def _bin_of(values, left, right, bins):
    """The bin of each value in ``[left, right]`` (the last bin takes ``right``), in the
    values' dtype as PyTorch's kernel computes it; -1 outside."""
    kind = values.dtype.type
    left, right = kind(left), kind(right)
    inside = (values >= left) & (values <= right)
    with np.errstate(invalid="ignore", divide="ignore"):
        position = ((values - left) / (right - left) * kind(bins)).astype(np.int64)
    position = np.minimum(position, bins - 1)
    return np.where(inside, position, -1)


def histc(input, bins=100, min=0, max=0):  # noqa: A002 - PyTorch's names
    """Counts of ``input``'s elements in ``bins`` equal bins over ``[min, max]`` (its own range
    when both are 0); elements outside are ignored."""
    _float_input(input, "histogram_cpu")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    data = input._data.reshape(-1)
    left, right = float(min), float(max)
    if left == right and data.size:
        left, right = float(data.min()), float(data.max())
    if left == right:
        left, right = left - 1, right + 1
    if not (np.isfinite(left) and np.isfinite(right)):
        name = lambda v: "-nan" if np.isnan(v) else f"{v:g}"  # noqa: E731
        raise RuntimeError(f"torch.histc: range of [{name(left)}, {name(right)}] is not finite")
    if left > right:
        raise RuntimeError("torch.histc: max must be larger than min")
    position = _bin_of(data, left, right, bins)
    counts = np.bincount(position[position >= 0], minlength=bins).astype(data.dtype)
    return result(counts, None, (input,))


def histogram(input, bins, *, range=None, weight=None, density=False):  # noqa: A002
    """Counts (or summed ``weight``) of ``input``'s elements in ``bins``: a number of equal
    bins over ``range`` (the data's by default) or a tensor of increasing edges."""
    _float_input(input, "histogramdd")
    refuse(input._data, "histogramdd")  # (histc's kernel takes bfloat16, histogramdd's not)
    data = input._data.reshape(-1)
    dtype = data.dtype
    if isinstance(bins, Tensor):
        edges = bins._data
        if edges.dtype != dtype:
            raise RuntimeError(
                "torch.histogramdd: input tensor and bins tensors should have the same dtype, "
                f"but got input with dtype {_C_TYPES[input.dtype.name].lower()} and bins for "
                f"dimension 0 with dtype {_C_TYPES[bins.dtype.name].lower()}"
            )
        edges = edges.astype(dtype).reshape(-1)
        count = edges.size - 1
        inside = (data >= edges[0]) & (data <= edges[-1])
        position = np.searchsorted(edges, data, side="right") - 1
        position = np.where(inside, np.minimum(position, count - 1), -1)
    else:
        count = int(bins)
        if count <= 0:
            raise RuntimeError(
                f"torch.histogramdd: bins must be > 0, but got {count} for dimension 0"
            )
        if range is not None:
            left, right = float(range[0]), float(range[1])
        else:
            left = float(data.min()) if data.size else 0.0
            right = float(data.max()) if data.size else 0.0
        if left > right:
            raise RuntimeError(
                f"torch.histogramdd: min should not exceed max, but got min {left:g} max "
                f"{right:g} for dimension 0"
            )
        if left == right:  # (numpy's widening, which PyTorch follows)
            left, right = left - 0.5, right + 0.5
        from glassgrad.creation import linspace

        edges = linspace(left, right, count + 1, dtype=input.dtype)._data
        position = _bin_of(data, left, right, count)
        # the linear guess, checked against the edges themselves (PyTorch's local search)
        found = position >= 0
        safe = np.where(found, position, 0)
        safe = np.where(found & (data < edges[safe]), safe - 1, safe)
        safe = np.where(
            found & (safe < count - 1) & (data >= edges[np.minimum(safe + 1, count)]),
            safe + 1,
            safe,
        )
        position = np.where(found, safe, -1)
    kept = position >= 0
    weights = None if weight is None else weight._data.reshape(-1)[kept].astype(np.float64)
    hist = np.bincount(position[kept], weights, minlength=max(count, 0))[:count].astype(dtype)
    if density:
        widths = np.diff(edges)
        with np.errstate(invalid="ignore", divide="ignore"):
            hist = (hist / (hist.sum() * widths)).astype(dtype)
    # (tensor bins that require grad make the results require grad too, as in PyTorch)
    tracked = (input, *(t for t in (bins, weight) if isinstance(t, Tensor)))
    return _HISTOGRAM(
        result(hist, NotImplementedNode, tracked, args="histogram"),
        result(np.array(edges, dtype=dtype), NotImplementedNode, tracked, args="histogram"),
    )


def _counts(rng):
    return rng.integers(0, 6, 12)


register(
    "bincount",
    bincount,
    differentiable=False,
    reference=lambda i, w=None, minlength=0: np.bincount(i, w, minlength),
    samples=lambda rng: [
        ((_counts(rng),), {}),
        ((_counts(rng), rng.standard_normal(12)), {"minlength": 9}),
    ],
)
register(
    "histc",
    histc,
    differentiable=False,
    reference=lambda x, bins=100, min=0, max=0: np.histogram(  # noqa: A006
        x, bins, (min, max) if min != max else None
    )[0],
    samples=lambda rng: [
        ((rng.standard_normal(20),), {"bins": 4}),
        ((rng.standard_normal((3, 5)),), {"bins": 3, "min": -1.0, "max": 1.0}),
    ],
)
register(
    "histogram",
    histogram,
    differentiable=False,
    reference=lambda x, bins, range=None, weight=None, density=False: np.histogram(  # noqa: A006
        x, bins, range, weights=weight, density=density
    ),
    samples=lambda rng: [
        ((rng.standard_normal(20), 4), {}),
        ((rng.standard_normal((3, 5)), np.array([-2.0, -0.5, 0.0, 3.0])), {}),
        ((rng.standard_normal(20), 3), {"range": (-1.0, 1.0), "density": True}),
    ],
)
