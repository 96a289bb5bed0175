"""``torch.func.vmap``: run a function once on a batch whose samples it sees one at a time.

Each input mapped over becomes a tensor whose data is a ``BatchedArray`` at a new level (its
mapped dimension moved in front of the per-sample ones); the function runs once, every op on
the whole batch (see ``glassgrad._batched``); outputs get their batch dimension back at
``out_dims``. Entering and leaving a level are recorded as ops, so gradients flow through
``vmap`` in both directions (``grad(vmap(f))``, ``vmap(grad(f))``).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import warnings

import numpy as np

from glassgrad._batched import ACTIVE, BatchedArray
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.func import _pytree
from glassgrad.func._batched_rules import _FALLBACK as FALLBACK
from glassgrad.func._batched_rules import NoRule
from glassgrad.tensor import Tensor

_levels = itertools.count(1)  # increasing: an inner vmap's level is above its outer ones'


# -- entering and leaving a level (differentiable both ways) -------------------------------
def _add_rule(ctx, grad):
    level, dim, size = ctx._args
    return (_remove(grad, level, size, dim),)


def _remove_rule(ctx, grad):
    level, dim, size = ctx._args
    return (_add(grad, dim, level),)


# (moving a level's dimension is linear: each JVP moves the tangent's the same way)
AddBatchDimBackward = node_class(
    "AddBatchDimBackward0", _add_rule, jvp=lambda ctx, t: _add(t, ctx.args[1], ctx.args[0])
)
RemoveBatchDimBackward = node_class(
    "RemoveBatchDimBackward0",
    _remove_rule,
    jvp=lambda ctx, t: _remove(t, ctx.args[0], ctx.args[2], ctx.args[1]),
)


def _add(value, dim, level):
    """``value`` (array or tensor) batched at ``level`` over its logical dimension ``dim``."""
    if isinstance(value, Tensor):
        out = _add(value._data, dim, level)
        size = value._data.shape[dim]
        return result(out, AddBatchDimBackward, (value,), args=(level, dim, size))
    if value.__class__ is BatchedArray:
        levels = value.levels
        # (sorted: an exited level comes back inside a later one in a backward pass)
        at = bisect.bisect(levels, level)
        moved = np.moveaxis(value.value, len(levels) + dim, at)
        return BatchedArray(moved, (*levels[:at], level, *levels[at:]))
    return BatchedArray(np.moveaxis(np.asarray(value), dim, 0), (level,))


def _remove(value, level, size, dim):
    """``value`` with ``level``'s dimension moved to logical dimension ``dim`` (broadcast to
    ``size`` there if ``value`` does not depend on that level)."""
    if isinstance(value, Tensor):
        out = _remove(value._data, level, size, dim)
        return result(out, RemoveBatchDimBackward, (value,), args=(level, dim, size))
    if value.__class__ is not BatchedArray or level not in value.levels:
        inner = value.value if value.__class__ is BatchedArray else np.asarray(value)
        nb = len(value.levels) if value.__class__ is BatchedArray else 0
        expanded = np.broadcast_to(
            np.expand_dims(inner, nb), (*inner.shape[:nb], size, *inner.shape[nb:])
        )
        out = np.moveaxis(expanded, nb, nb + dim)
        return BatchedArray(out, value.levels) if nb else out
    position = value.levels.index(level)
    rest = value.levels[:position] + value.levels[position + 1 :]
    out = np.moveaxis(value.value, position, len(rest) + dim)
    return BatchedArray(out, rest) if rest else out


# -- vmap ----------------------------------------------------------------------------------
def vmap(
    func,
    in_dims=0,
    out_dims=0,
    randomness: str = "error",
    *,
    chunk_size=None,
):
    """Vectorize ``func`` over dimension ``in_dims`` of its inputs (PyTorch's ``torch.vmap``)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        return _vmapped(func, in_dims, out_dims, randomness, chunk_size, args, kwargs)

    return wrapped


def _name(func) -> str:
    name = getattr(func, "__name__", None)
    return repr(func) if name is None else name


def _check_in_dims(func, in_dims, args):
    head = _Head(func, in_dims)
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(
            f"{head}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
            f"structure of inputs, got: {type(in_dims)}."
        )
    if not args:
        raise ValueError(
            f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to add inputs, or "
            "you are trying to vmap over a function with no inputs. The latter is unsupported."
        )
    leaves, spec = _pytree.tree_flatten(args)
    dims = _pytree.broadcast_prefix(in_dims, spec)
    if dims is None:
        _, dims_spec = _pytree.tree_flatten(in_dims)
        raise ValueError(
            f"{head}: in_dims is not compatible with the structure of `inputs`. in_dims has "
            f"structure {dims_spec!r} but inputs has structure {spec!r}."
        )
    sizes = []
    for leaf, dim in zip(leaves, dims, strict=True):
        if dim is None:
            continue
        if not isinstance(dim, int):
            raise ValueError(
                f"{head}: Got in_dim={dim} for an input but in_dim must be either an integer "
                "dimension or None."
            )
        if not isinstance(leaf, Tensor):
            raise ValueError(
                f"{head}: Got in_dim={dim} for an input but the input is of type {type(leaf)}. "
                "We cannot vmap over non-Tensor arguments, please use None as the respective "
                "in_dim"
            )
        ndim = leaf.dim()
        if not -ndim <= dim < ndim:
            raise ValueError(
                f"{head}: Got in_dim={dim} for some input, but that input is a Tensor of "
                f"dimensionality {ndim} so expected in_dim to satisfy -{ndim} <= in_dim < {ndim}."
            )
        sizes.append(leaf.shape[dim])
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if len(set(sizes)) != 1:
        raise ValueError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    dims = [d if d is None else d % leaf.dim() for leaf, d in zip(leaves, dims, strict=True)]
    return leaves, spec, dims, sizes[0]


class _Head:
    """The start of vmap's error messages, made only when one is raised."""

    def __init__(self, func, in_dims) -> None:
        self.func, self.in_dims = func, in_dims

    def __str__(self) -> str:
        return f"vmap({_name(self.func)}, in_dims={self.in_dims}, ...)(<inputs>)"

    __format__ = lambda self, spec: str(self)  # noqa: E731


def _vmapped(func, in_dims, out_dims, randomness, chunk_size, args, kwargs):
    leaves, spec, dims, size = _check_in_dims(func, in_dims, args)
    if chunk_size is not None and chunk_size < size:
        return _chunked(
            func, in_dims, out_dims, randomness, chunk_size, leaves, spec, dims, size, kwargs
        )
    level = next(_levels)
    ACTIVE.levels.append(level)
    ACTIVE.modes.append((level, randomness, size))
    try:
        batched = [
            leaf if dim is None else _add(leaf, dim, level)
            for leaf, dim in zip(leaves, dims, strict=True)
        ]
        out = func(*_pytree.tree_unflatten(batched, spec), **kwargs)
        return _unwrap(func, out, out_dims, level, size)
    except NoRule as error:
        warnings.warn(FALLBACK.format(name=error.name), UserWarning, stacklevel=3)
    finally:
        ACTIVE.levels.pop()
        ACTIVE.modes.pop()
    return _looped(func, out_dims, randomness, leaves, spec, dims, size, kwargs)


def _looped(func, out_dims, randomness, leaves, spec, dims, size, kwargs):
    """The function once per sample, outputs stacked: where an op has no batching rule."""
    from glassgrad.ops.shape.join import stack

    outs = []
    for index in range(size):
        part = [
            leaf if dim is None else leaf.select(dim, index)
            for leaf, dim in zip(leaves, dims, strict=True)
        ]
        outs.append(func(*_pytree.tree_unflatten(part, spec), **kwargs))
    flat = [_pytree.tree_flatten(out)[0] for out in outs]
    out_spec = _pytree.tree_flatten(outs[0])[1]
    odims = _pytree.broadcast_prefix(out_dims, out_spec)
    if odims is None:
        return _unwrap(func, outs[0], out_dims, None, size)  # (raises the structure error)
    joined = []
    for parts, dim in zip(zip(*flat, strict=True), odims, strict=True):
        if dim is None or not isinstance(parts[0], Tensor):
            joined.append(parts[0])
        elif len({part.shape for part in parts}) > 1:
            raise RuntimeError(DYNAMIC_SHAPE)
        else:
            joined.append(stack(list(parts), dim))
    return _pytree.tree_unflatten(joined, out_spec)


DYNAMIC_SHAPE = (
    "vmap: We do not support batching operators that can output dynamic shape. Attempted to "
    "vmap over aten::nonzero. Please file an issue at https://github.com/pytorch/pytorch/issues "
    "if you need this feature."
)


def _unwrap(func, out, out_dims, level, size):
    leaves, spec = _pytree.tree_flatten(out)
    dims = _pytree.broadcast_prefix(out_dims, spec)
    if dims is None:
        _, dims_spec = _pytree.tree_flatten(out_dims)
        raise ValueError(
            f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
            f"compatible with the structure of `outputs`. out_dims has structure {dims_spec!r} "
            f"but outputs has structure {spec!r}."
        )
    made = []
    for leaf, dim in zip(leaves, dims, strict=True):
        if dim is None:
            if (
                isinstance(leaf, Tensor)
                and leaf._data.__class__ is BatchedArray
                and (level in leaf._data.levels)
            ):
                raise ValueError(
                    f"vmap({_name(func)}, ...): `{_name(func)}` can not return a BatchedTensor "
                    "when out_dim is None"
                )
            made.append(leaf)
            continue
        if not isinstance(leaf, Tensor):
            raise ValueError(
                f"vmap({_name(func)}, ...): `{_name(func)}` must only return Tensors, got type "
                f"{type(leaf)}. Did you mean to set out_dims= to None for output?"
            )
        ndim = leaf.dim() + 1
        if not -ndim <= dim < ndim:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                f"but got {dim})"
            )
        made.append(_remove(leaf, level, size, dim % ndim))
    return _pytree.tree_unflatten(made, spec)


def _chunked(func, in_dims, out_dims, randomness, chunk_size, leaves, spec, dims, size, kwargs):
    from glassgrad._random import get_rng_state, set_rng_state
    from glassgrad.ops.shape.join import cat

    # randomness="same": every chunk draws what the first one does, as one batch would
    state = get_rng_state() if randomness == "same" else None
    pieces = []
    for start in range(0, size, chunk_size):
        if state is not None:
            set_rng_state(state)
        stop = min(start + chunk_size, size)
        part = [
            leaf if dim is None else leaf.narrow(dim, start, stop - start)
            for leaf, dim in zip(leaves, dims, strict=True)
        ]
        call = vmap(func, tuple(_pytree.tree_unflatten(dims, spec)), out_dims, randomness)
        pieces.append(call(*_pytree.tree_unflatten(part, spec), **kwargs))
    flat = [_pytree.tree_flatten(p)[0] for p in pieces]
    out_spec = _pytree.tree_flatten(pieces[0])[1]
    odims = _pytree.broadcast_prefix(out_dims, out_spec)
    joined = [
        parts[0] if d is None else cat(list(parts), d)
        for parts, d in zip(zip(*flat, strict=True), odims, strict=True)
    ]
    return _pytree.tree_unflatten(joined, out_spec)
