"""``autograd.Function`` under ``vmap``: its ``vmap`` staticmethod, or ``generate_vmap_rule``.

PyTorch's semantics: a Function used inside ``vmap`` must say how it batches. With
``generate_vmap_rule=True`` its ``forward`` (and later ``backward``) simply run on the batch
(every op has a batching rule). With a ``vmap`` staticmethod, the innermost vmap level whose
batch reaches the inputs is taken off them (its dimension in front, ``in_dims`` saying which
inputs have it) and the staticmethod returns ``(output, out_dims)``; the output gets that level
back at ``out_dims``. ``backward`` is then run on batched gradients as any other rule.
``Function.apply`` calls ``forward_under_transforms`` while a transform is running.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

import numpy as np

from glassgrad._batched import ACTIVE, BatchedArray
from glassgrad.autograd import function as _function
from glassgrad.func import _pytree
from glassgrad.tensor import Tensor, _make

_DOCS = "For more details, please see https://pytorch.org/docs/main/notes/extending.func.html"
_NO_SETUP = (
    "In order to use an autograd.Function with functorch transforms (vmap, grad, jvp, jacrev, "
    "...), it must override the setup_context staticmethod. " + _DOCS
)


class VmapInfo(NamedTuple):
    """What a Function's ``vmap`` staticmethod is told: the level's size and randomness."""

    batch_size: int
    randomness: str


def forward_under_transforms(cls, ctx, args, kwargs):
    """``cls.forward``'s outputs for ``args`` while a torch.func transform runs (PyTorch's
    rules: ``setup_context`` required; under vmap, a way to batch)."""
    Function = _function.Function
    if cls.setup_context is Function.setup_context:
        raise RuntimeError(_NO_SETUP)
    if not ACTIVE.levels:
        return cls.forward(*args, **kwargs)
    own_rule = cls.vmap is not Function.vmap
    if cls.generate_vmap_rule and own_rule:
        raise RuntimeError(
            f"You tried to vmap over {cls.__name__}, but it has both generate_vmap_rule=True "
            "and an overridden vmap staticmethod. Please set generate_vmap_rule=False or delete "
            "the overridden vmap staticmethod to avoid ambiguity. " + _DOCS
        )
    if not cls.generate_vmap_rule and not own_rule:
        raise RuntimeError(
            f"You tried to vmap over {cls.__name__}, but it does not have vmap support. Please "
            "override and implement the vmap staticmethod or set generate_vmap_rule=True. " + _DOCS
        )
    level = None if cls.generate_vmap_rule else _innermost(args, kwargs)
    if level is None:
        return cls.forward(*args, **kwargs)
    return _by_rule(cls, level, args, kwargs)


def _innermost(args, kwargs):
    """The innermost active vmap level that some tensor argument is batched at, or None."""
    found = set()
    for value in (*args, *kwargs.values()):
        if isinstance(value, Tensor) and value._data.__class__ is BatchedArray:
            found.update(value._data.levels)
    for level in reversed(ACTIVE.levels):
        if level in found:
            return level
    return None


def _by_rule(cls, level, args, kwargs):
    size = mode = None
    for known, known_mode, known_size in ACTIVE.modes:
        if known == level:
            mode, size = known_mode, known_size
    in_dims = tuple(_in_dim(a, level) for a in args)
    unbatched = [
        _take_off(a, level) if d is not None else a for a, d in zip(args, in_dims, strict=True)
    ]
    returned = cls.vmap(VmapInfo(size, mode), in_dims, *unbatched, **kwargs)
    if not isinstance(returned, tuple):
        raise RuntimeError(
            "Expected the vmap staticmethod to have two returns, an output and out_dims with "
            f"pytree structure compatible with the output. Got a {_kind(returned)} instead"
        )
    if len(returned) != 2:
        raise RuntimeError(
            "Expected the vmap staticmethod to have two returns, an output and out_dims with "
            f"pytree structure compatible with the output. Got {len(returned)} returns instead"
        )
    output, out_dims = returned
    leaves, spec = _pytree.tree_flatten(output)
    dims = _pytree.broadcast_prefix(out_dims, spec)
    if dims is None:
        _, dims_spec = _pytree.tree_flatten(out_dims)
        raise RuntimeError(
            "The autograd.Function's vmap staticmethod returned an incompatible (output, "
            f"out_dims) tuple. Expected out_dims={out_dims} to be compatible with the structure "
            f"of `output`. out_dims has structure {dims_spec!r} but output has structure "
            f"{spec!r}. " + _DOCS
        )
    made = [
        _put_on(leaf, level, dim) if isinstance(leaf, Tensor) and dim is not None else leaf
        for leaf, dim in zip(leaves, dims, strict=True)
    ]
    return _pytree.tree_unflatten(made, spec)


def _kind(value) -> str:
    """``type(value)`` as PyTorch prints it (its tensors are ``torch.Tensor``)."""
    return "<class 'torch.Tensor'>" if isinstance(value, Tensor) else str(type(value))


def _in_dim(value, level):
    if isinstance(value, Tensor) and value._data.__class__ is BatchedArray:
        return 0 if level in value._data.levels else None
    return None


def _take_off(tensor, level):
    """``tensor`` without ``level``: that level's dimension becomes its logical dimension 0."""
    data = tensor._data
    position = data.levels.index(level)
    rest = data.levels[:position] + data.levels[position + 1 :]
    moved = np.moveaxis(data.value, position, len(rest))
    return _make(BatchedArray(moved, rest) if rest else moved)


def _put_on(tensor, level, dim):
    """``tensor`` batched at ``level`` over its logical dimension ``dim``."""
    data = tensor._data
    levels = data.levels if data.__class__ is BatchedArray else ()
    value = data.value if levels else np.asarray(data)
    ndim = value.ndim - len(levels)
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got "
            f"{dim})"
        )
    at = bisect.bisect(levels, level)
    moved = np.moveaxis(value, len(levels) + dim % ndim, at)
    return _make(BatchedArray(moved, (*levels[:at], level, *levels[at:])))


_function.VMAP_FORWARD[0] = forward_under_transforms
