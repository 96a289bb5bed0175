"""Batching rules for the NumPy functions glassgrad's ops call: reductions, shapes, joins,
products. Each takes the function's own arguments, some of them ``BatchedArray``."""

from __future__ import annotations

import numpy as np

from glassgrad._batched import (
    BatchedArray,
    axis_of,
    levels_of,
    logical_ndim,
    physical,
    wrap,
)
from glassgrad.func._batched_rules import RULES, fallback, flatten, matmul, no_rule, rule

_B = BatchedArray


def _plain(func, args, kwargs):
    return not any(v.__class__ is _B for v in flatten((args, kwargs)))


# -- reductions ----------------------------------------------------------------------------
def _reduction(func, default_axis=None):
    def reduce(a, axis=default_axis, *args, **kwargs):
        if a.__class__ is not _B or not _plain(func, args, kwargs):
            return fallback(func, (a, axis, *args), kwargs)
        nb = len(a.levels)
        out = func(a.value, axis_of(axis, a.ndim, nb), *args, **kwargs)
        return BatchedArray(np.asarray(out), a.levels)

    RULES[func] = reduce
    return reduce


for _func in (np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.any, np.all):
    _reduction(_func)
for _func in (np.std, np.var, np.nansum, np.nanmean, np.nanmax, np.nanmin, np.ptp):
    _reduction(_func)
for _func in (np.median, np.nanmedian, np.count_nonzero):
    _reduction(_func)


def _flat_axis(func, default_axis):
    """Functions where ``axis=None`` means "of the flattened array" (argmax, cumsum, sort)."""

    def run(a, axis=default_axis, *args, **kwargs):
        if a.__class__ is not _B or not _plain(func, args, kwargs):
            return fallback(func, (a, axis, *args), kwargs)
        nb = len(a.levels)
        value = a.value
        if axis is None:
            value = value.reshape((*value.shape[:nb], -1))
            axis = nb
            if kwargs.get("keepdims"):
                kwargs = dict(kwargs, keepdims=False)
                out = func(value, axis, *args, **kwargs)
                return BatchedArray(out.reshape(out.shape + (1,) * a.ndim), a.levels)
        else:
            axis = axis_of(axis, a.ndim, nb)
        return BatchedArray(np.asarray(func(value, axis, *args, **kwargs)), a.levels)

    RULES[func] = run
    return run


for _func in (np.argmax, np.argmin, np.cumsum, np.cumprod, np.nanargmax, np.nanargmin):
    _flat_axis(_func, None)
for _func in (np.sort, np.argsort):
    _flat_axis(_func, -1)


@rule(np.diff)
def _diff(a, n=1, axis=-1, **kwargs):
    if a.__class__ is not _B or kwargs:
        return fallback(np.diff, (a, n, axis), kwargs)
    return BatchedArray(np.diff(a.value, n, axis_of(axis, a.ndim, len(a.levels))), a.levels)


# -- shapes --------------------------------------------------------------------------------
@rule(np.reshape)
def reshape(a, shape=None, order="C", **kwargs):
    shape = kwargs.pop("newshape", shape)
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    nb = len(a.levels)
    return BatchedArray(a.value.reshape((*a.value.shape[:nb], *shape), order=order), a.levels)


@rule(np.ravel)
def _ravel(a, order="C"):
    return reshape(a, (-1,), order)


@rule(np.transpose)
def transpose(a, axes=None):
    nb = len(a.levels)
    if axes is None:
        axes = tuple(range(a.ndim))[::-1]
    axes = tuple(range(nb)) + tuple(axis_of(x, a.ndim, nb) for x in axes)
    return BatchedArray(a.value.transpose(axes), a.levels)


@rule(np.moveaxis)
def _moveaxis(a, source, destination):
    nb, ndim = len(a.levels), a.ndim
    return BatchedArray(
        np.moveaxis(a.value, axis_of(source, ndim, nb), axis_of(destination, ndim, nb)),
        a.levels,
    )


@rule(np.swapaxes)
def swapaxes(a, axis1, axis2):
    nb, ndim = len(a.levels), a.ndim
    return BatchedArray(
        a.value.swapaxes(axis_of(axis1, ndim, nb), axis_of(axis2, ndim, nb)), a.levels
    )


@rule(np.expand_dims)
def _expand_dims(a, axis):
    nb = len(a.levels)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    ndim = a.ndim + len(axes)
    return BatchedArray(np.expand_dims(a.value, axis_of(tuple(axes), ndim, nb)), a.levels)


@rule(np.squeeze)
def squeeze(a, axis=None):
    nb = len(a.levels)
    if axis is None:
        axis = tuple(i for i, n in enumerate(a.shape) if n == 1)
    return BatchedArray(a.value.squeeze(axis_of(axis, a.ndim, nb)), a.levels)


@rule(np.broadcast_to)
def broadcast_to(array, shape, subok=False):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    shape = tuple(shape)
    if array.__class__ is not _B:  # (a batched shape: only through np.shape of a batch)
        return np.broadcast_to(array, shape)
    levels = array.levels
    sizes = array.value.shape[: len(levels)]
    if logical_ndim(array) > len(shape):
        np.broadcast_to(np.empty(array.shape, bool), shape)  # NumPy's own error
    value = physical(array, levels, sizes, len(shape))
    return BatchedArray(np.broadcast_to(value, (*sizes, *shape)), levels)


@rule(np.broadcast_arrays)
def _broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    levels, sizes = levels_of(args)
    out = [physical(a, levels, sizes, len(shape), expand=True) for a in args]
    return tuple(wrap(np.broadcast_to(v, (*sizes, *shape)), levels) for v in out)


@rule(np.shape)
def _shape(a):
    return a.shape


@rule(np.ndim)
def _ndim(a):
    return a.ndim


@rule(np.size)
def _size(a, axis=None):
    return a.size if axis is None else a.shape[axis]


@rule(np.result_type)
def _result_type(*args):
    return np.result_type(*(a.value if a.__class__ is _B else a for a in args))


@rule(np.iscomplexobj)
def _iscomplexobj(x):
    return np.iscomplexobj(x.value)


@rule(np.may_share_memory, np.shares_memory)
def _shares(a, b, max_work=None):
    return np.may_share_memory(
        a.value if a.__class__ is _B else a, b.value if b.__class__ is _B else b
    )


@rule(np.copy)
def _copy(a, order="K", subok=False):
    return BatchedArray(a.value.copy(), a.levels)


def _like(func):
    def like(a, *args, shape=None, **kwargs):
        if "shape" in kwargs or (func is np.full_like and len(args) > 2):
            return fallback(func, (a, *args), kwargs)
        if func is np.full_like and args[0].__class__ is BatchedArray and shape is None:
            return _full_of_batch(a, args[0], *args[1:], **kwargs)
        nb = len(a.levels)
        if shape is not None:
            shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
            shape = (*a.value.shape[:nb], *shape)
        return BatchedArray(func(a.value, *args, shape=shape, **kwargs), a.levels)

    RULES[func] = like


def _full_of_batch(a, fill, dtype=None, order="K", subok=True):
    """``np.full_like(a, fill)`` with a batched ``fill`` (``fill_`` with a per-sample value)."""
    levels, sizes = levels_of((a, fill))
    ndim = logical_ndim(a)
    shape = physical(a, levels, sizes, ndim, expand=True).shape
    out = np.empty(shape, a.dtype if dtype is None else dtype)
    out[...] = physical(fill, levels, sizes, ndim)
    return BatchedArray(out, levels)


for _func in (np.zeros_like, np.ones_like, np.empty_like, np.full_like):
    _like(_func)


# -- joins and splits ----------------------------------------------------------------------
def _joined(arrays, axis, func):
    levels, sizes = levels_of(arrays)
    ndim = max(logical_ndim(a) for a in arrays)
    parts = [physical(a, levels, sizes, logical_ndim(a), expand=True) for a in arrays]
    if func is np.stack:
        return wrap(np.stack(parts, axis_of(axis, ndim + 1, len(levels))), levels)
    return wrap(np.concatenate(parts, axis_of(axis, ndim, len(levels))), levels)


@rule(np.concatenate)
def _concatenate(arrays, axis=0, out=None, **kwargs):
    if out is not None or kwargs or axis is None:
        return fallback(np.concatenate, (arrays, axis), dict(kwargs, out=out))
    return _joined(list(arrays), axis, np.concatenate)


@rule(np.stack)
def _stack(arrays, axis=0, out=None, **kwargs):
    if out is not None or kwargs:
        return fallback(np.stack, (arrays, axis), dict(kwargs, out=out))
    return _joined(list(arrays), axis, np.stack)


def _splitting(func):
    def split(a, indices_or_sections, axis=0):
        if a.__class__ is not BatchedArray or indices_or_sections.__class__ is BatchedArray:
            raise no_rule(f"numpy.{func.__name__} at per-sample points")  # (their own shapes)
        nb = len(a.levels)
        parts = func(a.value, indices_or_sections, axis_of(axis, a.ndim, nb))
        return [BatchedArray(p, a.levels) for p in parts]

    RULES[func] = split


_splitting(np.split)
_splitting(np.array_split)


@rule(np.pad)
def _pad(array, pad_width, mode="constant", **kwargs):
    nb = len(array.levels)
    widths = np.broadcast_to(np.asarray(pad_width), (array.ndim, 2)).tolist()
    return BatchedArray(
        np.pad(array.value, [(0, 0)] * nb + widths, mode=mode, **kwargs), array.levels
    )


@rule(np.flip)
def _flip(m, axis=None):
    nb = len(m.levels)
    return BatchedArray(np.flip(m.value, axis_of(axis, m.ndim, nb)), m.levels)


@rule(np.roll)
def _roll(a, shift, axis=None):
    nb = len(a.levels)
    if axis is None:
        flat = a.value.reshape((*a.value.shape[:nb], -1))
        return BatchedArray(np.roll(flat, shift, nb).reshape(a.value.shape), a.levels)
    return BatchedArray(np.roll(a.value, shift, axis_of(axis, a.ndim, nb)), a.levels)


def _triangle(func):  # (NumPy's tril/triu act on the last two axes of a stack)
    RULES[func] = lambda m, k=0: BatchedArray(func(m.value, k), m.levels)


_triangle(np.tril)
_triangle(np.triu)


@rule(np.diagonal)
def _diagonal(a, offset=0, axis1=0, axis2=1):
    nb, ndim = len(a.levels), a.ndim
    return BatchedArray(
        np.diagonal(a.value, offset, axis_of(axis1, ndim, nb), axis_of(axis2, ndim, nb)),
        a.levels,
    )


@rule(np.trace)
def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    nb, ndim = len(a.levels), a.ndim
    out = np.trace(a.value, offset, axis_of(axis1, ndim, nb), axis_of(axis2, ndim, nb), dtype)
    return BatchedArray(np.asarray(out), a.levels)


@rule(np.rot90)
def _rot90(m, k=1, axes=(0, 1)):
    nb = len(m.levels)
    return BatchedArray(np.rot90(m.value, k, axis_of(tuple(axes), m.ndim, nb)), m.levels)


@rule(np.where)
def _where(condition, *xy):
    if not xy:
        raise no_rule("numpy.nonzero")
    return _aligned(np.where, (condition, *xy), {})


def _dynamic(*args, **kwargs):
    from glassgrad.func._vmap import DYNAMIC_SHAPE

    raise RuntimeError(DYNAMIC_SHAPE)  # (torch.nonzero, argwhere, masked_select: as PyTorch)


RULES[np.nonzero] = RULES[np.argwhere] = _dynamic


@rule(np.clip)
def _clip(a, a_min=None, a_max=None, out=None, **kwargs):
    if out is not None:
        return fallback(np.clip, (a, a_min, a_max), dict(kwargs, out=out))
    return _aligned(np.clip, (a, a_min, a_max), kwargs)


def _aligned(func, args, kwargs):
    levels, sizes = levels_of(args)
    ndim = max(logical_ndim(a) for a in args if a is not None)
    parts = [physical(a, levels, sizes, ndim) if a is not None else None for a in args]
    return wrap(func(*parts, **kwargs), levels)


@rule(np.copyto)
def _copyto(dst, src, casting="same_kind", where=True):
    from glassgrad.func._batched_index import setitem

    if where is not True:
        return fallback(np.copyto, (dst, src), {"casting": casting, "where": where})
    setitem(dst, Ellipsis, src, casting)


@rule(np.take_along_axis)
def _take_along_axis(arr, indices, axis):
    levels, sizes = levels_of((arr, indices))
    if axis is None:
        return fallback(np.take_along_axis, (arr, indices, axis), {})
    ndim = logical_ndim(arr)
    a = physical(arr, levels, sizes, ndim, expand=True)
    i = physical(indices, levels, sizes, ndim, expand=True)
    return wrap(np.take_along_axis(a, i, axis_of(axis, ndim, len(levels))), levels)


@rule(np.take)
def _take(a, indices, axis=None, out=None, mode="raise"):
    if (
        indices.__class__ is _B
        and a.__class__ is _B
        and out is None
        and mode == "raise"
        and axis is not None
        and axis % a.ndim == 0
    ):
        return _take_rows(a, indices)  # (a table and indices per sample: embedding's lookup)
    if out is not None or a.__class__ is not _B or indices.__class__ is _B:
        return fallback(np.take, (a, indices, axis), {"out": out, "mode": mode})
    nb = len(a.levels)
    value = a.value
    if axis is None:
        value, axis = value.reshape((*value.shape[:nb], -1)), nb
    else:
        axis = axis_of(axis, a.ndim, nb)
    return BatchedArray(np.take(value, indices, axis, mode=mode), a.levels)


def _take_rows(a, indices):
    """``np.take(a, indices, axis=0)`` with a table and indices per sample."""
    levels, sizes = levels_of((a, indices))
    count = int(np.prod(sizes))
    table = physical(a, levels, sizes, a.ndim, expand=True).reshape(count, *a.shape)
    keys = physical(indices, levels, sizes, indices.ndim, expand=True)
    keys = keys.reshape(count, *indices.shape)
    rows = np.arange(count).reshape(count, *(1,) * indices.ndim)
    taken = table[rows, keys]
    return BatchedArray(taken.reshape(*sizes, *taken.shape[1:]), levels)


@rule(np.repeat)
def _repeat(a, repeats, axis=None):
    if a.__class__ is not _B or repeats.__class__ is _B:
        return fallback(np.repeat, (a, repeats, axis), {})
    nb = len(a.levels)
    value = a.value
    if axis is None:
        value, axis = value.reshape((*value.shape[:nb], -1)), nb
    else:
        axis = axis_of(axis, a.ndim, nb)
    return BatchedArray(np.repeat(value, repeats, axis), a.levels)


@rule(np.tile)
def _tile(a, reps):
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    nb = len(a.levels)
    ndim = max(a.ndim, len(reps))
    value = physical(a, a.levels, a.value.shape[:nb], ndim)
    reps = (1,) * nb + (1,) * (ndim - len(reps)) + reps
    return BatchedArray(np.tile(value, reps), a.levels)


# -- products ------------------------------------------------------------------------------
RULES[np.matmul] = matmul


@rule(np.dot)
def _dot(a, b, out=None):
    if out is None and logical_ndim(a) <= 2 and logical_ndim(b) <= 2:
        if logical_ndim(a) == 0 or logical_ndim(b) == 0:
            return np.multiply(a, b)
        if logical_ndim(a) == 1 and logical_ndim(b) == 1:
            return einsum("i,i->", a, b)
        return matmul(a, b)
    return fallback(np.dot, (a, b), {"out": out})


@rule(np.vdot)
def _vdot(a, b):
    return einsum("i,i->", np.conj(a).reshape(-1), b.reshape(-1))


@rule(np.outer)
def _outer(a, b, out=None):
    return einsum("i,j->ij", a.reshape(-1), b.reshape(-1))


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@rule(np.einsum)
def einsum(subscripts, *operands, **kwargs):
    if not isinstance(subscripts, str) or kwargs.get("out") is not None:
        return fallback(np.einsum, (subscripts, *operands), kwargs)
    inputs, _, output = subscripts.replace(" ", "").partition("->")
    terms = inputs.split(",")
    if not _:
        letters = [c for c in inputs if c.isalpha()]
        output = ("..." if "..." in inputs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1)
        )
    levels, sizes = levels_of(operands)
    names = {level: _LETTERS[i] for i, level in enumerate(levels)}
    parts = []
    for term, value in zip(terms, operands, strict=True):
        if value.__class__ is _B:
            term = "".join(names[level] for level in value.levels) + term
            value = value.value
        parts.append((term, value))
    spec = ",".join(t for t, _v in parts) + "->" + "".join(names[x] for x in levels) + output
    return wrap(np.einsum(spec, *(v for _t, v in parts), **kwargs), levels)


@rule(np.tensordot)
def _tensordot(a, b, axes=2):
    na, nb_ = logical_ndim(a), logical_ndim(b)
    if isinstance(axes, (int, np.integer)):
        axes = (list(range(na - axes, na)), list(range(axes)))
    axes_a, axes_b = axes
    axes_a = [int(x) % na for x in np.atleast_1d(axes_a)]
    axes_b = [int(x) % nb_ for x in np.atleast_1d(axes_b)]
    la = list("abcdefghijklm"[:na])
    lb = list("nopqrstuvwxyz"[:nb_])
    for x, y in zip(axes_a, axes_b, strict=True):
        lb[y] = la[x]
    out = [c for i, c in enumerate(la) if i not in axes_a]
    out += [c for i, c in enumerate(lb) if i not in axes_b]
    return einsum(f"{''.join(la)},{''.join(lb)}->{''.join(out)}", a, b)


def _linalg(func, core):
    """``np.linalg`` functions act on stacks of matrices in the last ``core`` axes already."""

    def run(a, *args, **kwargs):
        if a.__class__ is not _B or not _plain(func, args, kwargs):
            return fallback(func, (a, *args), kwargs)
        out = func(a.value, *args, **kwargs)
        if isinstance(out, tuple):
            return type(out)(*(BatchedArray(np.asarray(o), a.levels) for o in out))
        return BatchedArray(np.asarray(out), a.levels)

    RULES[func] = run


for _func in (np.linalg.inv, np.linalg.det, np.linalg.slogdet, np.linalg.pinv):
    _linalg(_func, 2)
for _func in (np.linalg.qr, np.linalg.cholesky, np.linalg.eigh, np.linalg.eigvalsh):
    _linalg(_func, 2)
for _func in (np.linalg.svd, np.linalg.eig, np.linalg.eigvals, np.linalg.matrix_power):
    _linalg(_func, 2)
