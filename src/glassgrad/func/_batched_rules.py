"""Batching rules for NumPy's ufuncs and the functions glassgrad's ops call, and the fallback.

A rule maps a call on logical (per-sample) arrays to one call on the physical arrays: it moves
axes past the batch dimensions and aligns operands batched at different levels. NumPy functions
without a rule run once per sample with PyTorch's performance warning (``fallback``).
"""

from __future__ import annotations

import itertools
import sys
import warnings

import numpy as np

from glassgrad._batched import (
    INPLACE_ERROR,
    BatchedArray,
    axis_of,
    levels_of,
    logical_ndim,
    physical,
    wrap,
)

RULES: dict = {}  # NumPy function -> rule(args, kwargs)
_FALLBACK = (
    "There is a performance drop because we have not yet implemented the batching rule for "
    "{name}. Please file us an issue on GitHub so that we can prioritize its implementation."
)


class NoRule(RuntimeError):
    """A NumPy entry point that cannot be batched or looped (``np.asarray`` of a batch)."""


def no_rule(name):
    error = NoRule(f"vmap: no batching rule for {name}")
    error.name = name
    return error


def rule(*funcs):
    def add(fn):
        for func in funcs:
            RULES[func] = fn
        return fn

    return add


def flatten(args):
    """The leaves of nested lists/tuples/dicts in ``args``."""
    for arg in args:
        if isinstance(arg, (list, tuple)):
            yield from flatten(arg)
        elif isinstance(arg, dict):
            yield from flatten(arg.values())
        else:
            yield arg


def _select(value, levels, index):
    if value.__class__ is BatchedArray:
        own = value.levels
        key = tuple(index[levels.index(level)] for level in own)
        return value.value[key]
    if isinstance(value, list):
        return [_select(v, levels, index) for v in value]
    if isinstance(value, tuple):
        return tuple(_select(v, levels, index) for v in value)
    if isinstance(value, dict):
        return {k: _select(v, levels, index) for k, v in value.items()}
    return value


def fallback(func, args, kwargs, name=None):
    """Run ``func`` once per sample and stack the results (PyTorch's slow path, with its
    warning). In-place calls write into the per-sample views and return what ``func`` does."""
    levels, sizes = levels_of(flatten((args, kwargs)))
    name = name or f"numpy.{getattr(func, '__name__', func)}"
    warnings.warn(_FALLBACK.format(name=name), UserWarning, stacklevel=3)
    outs = []
    for index in itertools.product(*(range(size) for size in sizes)):
        outs.append(func(*_select(args, levels, index), **_select(kwargs, levels, index)))
    return _stack(outs, levels, sizes)


def _stack(outs, levels, sizes):
    first = outs[0] if outs else None
    if first is None:
        return None
    if isinstance(first, (tuple, list)):
        parts = [_stack([out[i] for out in outs], levels, sizes) for i in range(len(first))]
        return type(first)(parts) if isinstance(first, tuple) else parts
    arrays = [np.asarray(out) for out in outs]
    stacked = np.stack(arrays).reshape((*sizes, *arrays[0].shape))
    return BatchedArray(stacked, levels)


_USE_RESULT = {"glassgrad.ops._dual"}  # modules whose ``out=`` calls use the returned array


# -- ufuncs --------------------------------------------------------------------------------
def ufunc_rule(ufunc, method, inputs, kwargs):
    if method == "__call__":
        if ufunc.signature is not None:
            if ufunc is np.matmul:
                return matmul(*inputs, **kwargs)
            return fallback(ufunc, inputs, kwargs, f"numpy.{ufunc.__name__}")
        return _elementwise(ufunc, inputs, kwargs)
    if method in ("reduce", "accumulate"):
        return _ufunc_reduce(ufunc, method, inputs, kwargs)
    if method == "at":
        return _ufunc_at(ufunc, inputs)
    return fallback(getattr(ufunc, method), inputs, kwargs, f"numpy.{ufunc.__name__}.{method}")


def _elementwise(ufunc, inputs, kwargs):
    out = kwargs.pop("out", None)
    if out is not None:
        out = out[0] if isinstance(out, tuple) else out
        inputs = (*inputs, out)
    levels, sizes = levels_of(inputs)
    ndim = max(logical_ndim(value) for value in inputs)
    arrays = [physical(value, levels, sizes, ndim) for value in inputs]
    if out is None:
        result = ufunc(*arrays, **kwargs)
        if isinstance(result, tuple):
            return tuple(wrap(r, levels) for r in result)
        return wrap(result, levels)
    if out.__class__ is not BatchedArray or out.levels != levels:
        caller = sys._getframe(3).f_globals.get("__name__", "")
        if caller.startswith("glassgrad.ops.inplace"):  # x.add_(batch) for an unbatched x
            raise RuntimeError(INPLACE_ERROR.format(name="inplace arithmetic"))
        if caller in _USE_RESULT:  # (a scratch buffer whose caller uses what the call returns)
            result = ufunc(*arrays[:-1], **kwargs)
            return wrap(result, levels)
        raise no_rule(f"numpy.{ufunc.__name__}(out=)")  # (an op's scratch buffer: per sample)
    ufunc(*arrays[:-1], out=out.value, **kwargs)
    return out


def _ufunc_reduce(ufunc, method, inputs, kwargs):
    (array,) = inputs
    if kwargs.get("out") is not None or kwargs.get("where") is not None:
        return fallback(getattr(ufunc, method), inputs, kwargs)
    nb = len(array.levels)
    axis = kwargs.pop("axis", 0)
    if method == "accumulate" or not isinstance(axis, tuple):
        if axis is None and method == "reduce":
            axis = axis_of(None, array.ndim, nb)
        else:
            axis = axis_of(axis, array.ndim, nb)
    else:
        axis = axis_of(axis, array.ndim, nb)
    result = getattr(ufunc, method)(array.value, axis=axis, **kwargs)
    return BatchedArray(np.asarray(result), array.levels)


def _ufunc_at(ufunc, inputs):
    from glassgrad.func._batched_index import _batched_key, _normalize

    target, key, *rest = inputs
    values = rest[0] if rest else None
    batched_key = any(v.__class__ is BatchedArray for v in flatten((key,)))
    if target.__class__ is not BatchedArray:
        if batched_key or values.__class__ is BatchedArray:
            raise RuntimeError(INPLACE_ERROR.format(name=f"{ufunc.__name__}.at"))
        return ufunc.at(target, key, *rest)
    key = _normalize(key, target.ndim)
    nb = len(target.levels)
    if batched_key:
        levels, sizes, parts, adjacent, before, width = _batched_key(target, key)
        if (
            levels != target.levels
            or before
            or any(isinstance(p, (slice, type(None))) for p in key)
        ):
            fallback(ufunc.at, inputs, {}, f"numpy.{ufunc.__name__}.at")
            return None
    else:
        arrays = sum(1 for k in key if not isinstance(k, (slice, type(None), int, np.integer)))
        if any(k is None for k in key) or (arrays > 1 and any(isinstance(k, slice) for k in key)):
            fallback(ufunc.at, inputs, {}, f"numpy.{ufunc.__name__}.at")
            return None
        # (one index array after slices, as index_add's: its dimensions stay where it is)
        parts = (slice(None),) * nb + key
    sub = target.value[parts]  # (only for its shape)
    if values is not None and values.__class__ is BatchedArray:
        values = physical(values, target.levels, target.value.shape[:nb], sub.ndim - nb, True)
    ufunc.at(target.value, parts, *((values,) if rest else ()))
    return None


def matmul(a, b, out=None, **kwargs):
    if out is not None:
        return fallback(np.matmul, (a, b), {"out": out, **kwargs})
    levels, sizes = levels_of((a, b))
    vector_a, vector_b = logical_ndim(a) == 1, logical_ndim(b) == 1
    if vector_a:
        a = a[None, :] if a.__class__ is BatchedArray else np.asarray(a)[None, :]
    if vector_b:
        b = b[:, None] if b.__class__ is BatchedArray else np.asarray(b)[:, None]
    ndim = max(logical_ndim(a), logical_ndim(b))
    result = _batched_matmul(a, b, levels, sizes, ndim)
    if vector_b:
        result = result[..., 0]
    if vector_a:
        result = result[..., 0] if vector_b else result[..., 0, :]
    return wrap(result, levels)


def _batched_matmul(a, b, levels, sizes, ndim):
    """The physical product, with the two shapes per-sample gradients make turned into one
    BLAS call: a batch of matrices times one matrix (rows folded into one GEMM), and outer
    products (contraction of length 1: a broadcast multiply, not a batch of tiny GEMMs)."""
    pa, pb = physical(a, levels, sizes, ndim), physical(b, levels, sizes, ndim)
    if pa.shape[-1] == 1 and pb.ndim >= 2 and pb.shape[-2] == 1:
        return np.multiply(pa, pb)
    if a.__class__ is BatchedArray and b.__class__ is not BatchedArray and np.ndim(b) == 2:
        rows = pa.reshape(-1, pa.shape[-1])
        return np.matmul(rows, pb).reshape((*pa.shape[:-1], pb.shape[-1]))
    if b.__class__ is BatchedArray and a.__class__ is not BatchedArray and np.ndim(a) == 2:
        # one matrix times a batch (a Jacobian's rows through ``w.T @ grad``): the batch's
        # columns side by side, one GEMM instead of a GEMV per sample
        mat = np.asarray(a)
        cols = np.swapaxes(pb, -1, -2).reshape(-1, pb.shape[-2])
        made = np.matmul(cols, mat.T).reshape((*pb.shape[:-2], pb.shape[-1], mat.shape[0]))
        return np.swapaxes(made, -1, -2)
    return np.matmul(pa, pb)


# -- NumPy functions -----------------------------------------------------------------------
def function_rule(func, args, kwargs):
    found = RULES.get(func)
    if found is None:
        return fallback(func, args, kwargs)
    return found(*args, **kwargs)
