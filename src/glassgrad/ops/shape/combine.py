"""Composites that combine or compare tensors: ``diff``, ``meshgrid``, ``cartesian_prod``,
``repeat_interleave`` and ``isclose``, built from the table's primitives as PyTorch builds them
(so their ``grad_fn`` names are PyTorch's: ``SubBackward0``, ``ExpandBackward0``, ...)."""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad._batched import as_data
from glassgrad.autograd.record import result
from glassgrad.ops._sampling import shaped
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, _wrap_dim


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim`` (``prepend``/``append`` joined first)."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    dim = _wrap_dim(dim, input.ndim)
    parts = [t for t in (prepend, input, append) if t is not None]
    x = input if len(parts) == 1 else _cat(parts, dim)
    for _ in range(n):
        length = x.shape[dim]
        if length == 0:
            break
        x = x.narrow(dim, 1, length - 1) - x.narrow(dim, 0, length - 1)
    return x


def _cat(parts, dim):
    from glassgrad.ops.shape.join import cat

    return cat(parts, dim)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids: each 0/1-D input expanded along the others' lengths."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
            "argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    if any(t._data.dtype != tensors[0]._data.dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}"
            )
    swap = indexing == "xy" and len(tensors) >= 2
    order = list(tensors)
    if swap:  # "xy": the first two inputs trade places in the grid's shape
        order[0], order[1] = order[1], order[0]
    shape = [t.numel() for t in order]
    grids = []
    for index, t in enumerate(order):
        view = [1] * len(order)
        view[index] = -1
        grids.append(t.reshape(view).expand(shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D input, as rows."""
    if len(tensors) == 1:
        return tensors[0]
    from glassgrad.ops.shape.join import stack

    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.flatten() for g in grids], 1)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place."""
    if repeats is None:  # ``repeat_interleave(counts)``: indices repeated by the counts
        counts = input._data
        return result(np.repeat(np.arange(counts.size, dtype=counts.dtype), counts), None, ())
    if dim is None:
        input, dim = input.flatten(), 0
    dim = _wrap_dim(dim, input.ndim)
    if isinstance(repeats, Tensor) and repeats.numel() != 1:
        counts = repeats._data
        if counts.size != input.shape[dim]:
            raise RuntimeError("repeats must have the same size as input along dim")
        index = np.repeat(np.arange(input.shape[dim]), counts)
        return input.index_select(dim, Tensor._from_array(index))
    count = int(repeats.item() if isinstance(repeats, Tensor) else repeats)
    if count < 0:
        raise RuntimeError("Repeats must be non-negative")
    shape = list(input.shape)
    spread = input.unsqueeze(dim + 1).expand(*shape[: dim + 1], count, *shape[dim + 1 :])
    shape[dim] *= count
    return spread.clone().view(shape)  # PyTorch copies, then views: ``ViewBackward0``


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|input - other| <= atol + rtol * |other|`` elementwise (inf equals only itself)."""
    if input.dtype != other.dtype:
        raise RuntimeError(f"{input.dtype._legacy[:-6]} did not match {other.dtype._legacy[:-6]}")
    a, b = input._data, other._data
    with np.errstate(all="ignore"):
        close = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return result(as_data(close), None, (input, other))


def _diff_samples(make, shape):
    if not shape:
        return [((make((2, 3)),), {})]
    samples = [((make(shape),), {}), ((make(shape),), {"n": 2, "dim": 0})]
    edge = list(shape)
    edge[-1] = 1
    samples.append(((make(shape),), {"prepend": make(tuple(edge)), "append": make(tuple(edge))}))
    return samples


def _diff_reference(a, n=1, dim=-1, prepend=None, append=None):
    ends = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not None}
    return np.diff(a, n, axis=dim, **ends)


def _repeat_reference(a, repeats=None, dim=None):
    return np.repeat(a, repeats, axis=dim)


register(
    "diff",
    diff,
    reference=_diff_reference,
    samples=shaped(_diff_samples),
    out={"dtype": "cast", "grad_name": "sub"},
)
register(
    "meshgrid",
    meshgrid,
    method=False,
    reference=lambda *arrays, indexing="ij": np.meshgrid(*arrays, indexing=indexing),
    samples=lambda rng: [
        (
            (rng.standard_normal(3), rng.standard_normal(2), rng.standard_normal(4)),
            {"indexing": "ij"},
        ),
        ((rng.standard_normal(3), rng.standard_normal(2)), {"indexing": "xy"}),
        (
            (rng.standard_normal(3), rng.standard_normal(2), rng.standard_normal(1)),
            {"indexing": "xy"},
        ),
    ],
)
register(
    "cartesian_prod",
    cartesian_prod,
    method=False,
    reference=lambda *arrays: (
        np.stack([g.ravel() for g in np.meshgrid(*arrays, indexing="ij")], 1)
        if len(arrays) > 1
        else arrays[0]
    ),
    samples=lambda rng: [
        ((rng.standard_normal(3), rng.standard_normal(2)), {}),
        ((rng.standard_normal(2), rng.standard_normal(2), rng.standard_normal(3)), {}),
    ],
)
register(
    "repeat_interleave",
    repeat_interleave,
    reference=_repeat_reference,
    samples=lambda rng: [
        ((rng.standard_normal((2, 3)), 2), {}),
        ((rng.standard_normal((2, 3)), 3), {"dim": 1}),
        ((rng.standard_normal((3, 2)), np.array([1, 0, 2])), {"dim": 0}),
    ],
)
register(
    "isclose",
    isclose,
    nin=2,
    differentiable=False,
    reference=np.isclose,
    samples=shaped(
        lambda make, shape: (
            [((x, np.asarray(x + make(shape, low=-1e-5, high=1e-5))), {}) for x in (make(shape),)]
            + [((make(shape), make(shape)), {"atol": 1.0})]
        )
    ),
    any_shape=True,
)
