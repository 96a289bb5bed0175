"""Ops that join, split, repeat or reorder tensors: cat/stack, split/chunk/unbind,
repeat/tile, flip, roll. Their results are copies, except the pieces of a split (views)."""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import c_order
from glassgrad._tensor_info import _type_name
from glassgrad.autograd.forward_rules import filled
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result, results
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.ops.shape.view import _samples, _shape_arg, as_view
from glassgrad.tensor import Tensor, _wrap_dim


def with_outputs(cls: type, count: int) -> type:
    """``cls`` for a node with ``count`` outputs (split and unbind make a number known only
    when they run); the subclass keeps the PyTorch name."""
    cache = cls.__dict__.get("_by_count")
    if cache is None:
        cache = {}
        cls._by_count = cache
    made = cache.get(count)
    if made is None:
        made = cache[count] = type(
            cls.__name__,
            (cls,),
            {"__slots__": (), "_n_outputs": count, "__module__": cls.__module__},
        )
    return made


def _concat(parts, axis):
    """``np.concatenate`` for arrays, ``cat`` for tensors (rules serve both)."""
    if all(D._is_array(p) for p in parts):
        return np.concatenate(parts, axis=axis)
    return cat([p if isinstance(p, Tensor) else Tensor._from_array(p) for p in parts], axis)


def _filled(grads, shapes):
    """Missing output gradients (outputs that did not reach the loss) as zeros."""
    grads = grads if isinstance(grads, (list, tuple)) else [grads]
    ref = next(g for g in grads if g is not None)
    return [
        D.new_zeros(ref, shape) if g is None else g for g, shape in zip(grads, shapes, strict=False)
    ]


# -- cat / stack -----------------------------------------------------------------------------
def _cat_backward(ctx, grad):
    dim, sizes = ctx._args
    lead = (slice(None),) * dim
    grads, start = [], 0
    for size in sizes:
        if size is None:  # a skipped empty 1-D input
            grads.append(D.new_zeros(grad, (0,)))
            continue
        grads.append(grad[lead + (slice(start, start + size),)])
        start += size
    return tuple(grads)


CatBackward0 = node_class(
    "CatBackward0", _cat_backward, jvp=lambda ctx, *ts: cat(filled(ctx, ts), ctx.args[0])
)


def _common_dtype(tensors):
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = _dt.promote_types(dtype, t.dtype)
    return dtype.np


def tensor_list(tensors, name: str) -> list:
    """``tensors`` as a list of tensors, refused with PyTorch's TypeError otherwise."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
            f"{_type_name(tensors)}"
        )
    for position, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {position} in argument 0, but got {_type_name(t)}"
            )
    return list(tensors)


def cat(tensors, dim=0):
    """Join tensors along an existing dimension."""
    tensors = tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for position, t in enumerate(tensors):
        if not t._data.ndim:
            raise RuntimeError(
                f"zero-dimensional tensor (at position {position}) cannot be concatenated"
            )
    # PyTorch still skips 1-D empty tensors, whatever the others' shapes (legacy behaviour).
    kept = [t for t in tensors if t._data.shape != (0,)] or tensors[:1]
    ref = kept[0]._data
    dim = _wrap_dim(dim, ref.ndim)
    for number, t in enumerate(tensors):
        shape = t._data.shape
        if shape == (0,) and t is not kept[0]:
            continue
        if len(shape) != ref.ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {ref.ndim} and {len(shape)}"
            )
        for d in range(ref.ndim):
            if d != dim and shape[d] != ref.shape[d]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {dim}. Expected size "
                    f"{ref.shape[d]} but got size {shape[d]} for tensor number {number} in the "
                    "list."
                )
    dtype = _common_dtype(tensors)
    # (C order: PyTorch's cat of transposed inputs is contiguous, so ``view`` works on it)
    out = np.concatenate([t._data.astype(dtype, copy=False) for t in kept], axis=dim)
    if not out.flags.c_contiguous:
        out = np.ascontiguousarray(out)
    sizes = tuple(t._data.shape[dim] if any(t is k for k in kept) else None for t in tensors)
    return result(out, CatBackward0, tuple(tensors), args=(dim, sizes))


def hstack(tensors):
    """Join along dim 1 (dim 0 for 1-D tensors)."""
    tensors = tensor_list(tensors, "hstack")
    if not tensors:
        raise RuntimeError("hstack expects a non-empty TensorList")
    tensors = [t.reshape(1) if not t.ndim else t for t in tensors]  # PyTorch's atleast_1d
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Join along dim 0, 1-D tensors as rows."""
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


def _unstack(grad, dim, count):
    lead = (slice(None),) * dim
    return tuple(grad[lead + (i,)] for i in range(count))


StackBackward0 = node_class(
    "StackBackward0",
    lambda ctx, grad: _unstack(grad, *ctx._args),
    jvp=lambda ctx, *ts: stack(filled(ctx, ts), ctx.args[0]),
)


def stack(tensors, dim=0):
    """Join tensors of equal shape along a new dimension."""
    tensors = tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    first = tensors[0]._data.shape
    for entry, t in enumerate(tensors):
        if t._data.shape != first:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got "
                f"{list(first)} at entry 0 and {list(t._data.shape)} at entry "
                f"{entry}"
            )
    dim = _wrap_dim(dim, len(first) + 1)
    dtype = _common_dtype(tensors)
    out = np.stack([t._data.astype(dtype, copy=False) for t in tensors], axis=dim)
    out = c_order(out)  # (NumPy keeps the inputs' layout; PyTorch's is contiguous)
    return result(out, StackBackward0, tuple(tensors), args=(dim, len(tensors)))


# -- split / chunk / unbind ------------------------------------------------------------------
def _split_backward(ctx, grads):
    dim, shapes = ctx._args
    return (_concat(_filled(grads, shapes), dim),)


def _split_jvp(ctx, tangent):
    dim, shapes = ctx.args
    return tuple(split(tangent, [shape[dim] for shape in shapes], dim))


SplitBackward0 = node_class("SplitBackward0", _split_backward, jvp=_split_jvp)
SplitWithSizesBackward0 = node_class("SplitWithSizesBackward0", _split_backward, jvp=_split_jvp)


def _pieces(input, dim, sizes, cls):
    data = input._data
    bounds = np.cumsum((0, *sizes))
    lead = (slice(None),) * dim
    keys = [lead + (slice(int(a), int(b)),) for a, b in zip(bounds[:-1], bounds[1:], strict=False)]
    outs = [data[key] for key in keys]
    shapes = [o.shape for o in outs]
    made = results(outs, with_outputs(cls, len(outs)), (input,), args=(dim, shapes))
    return tuple(as_view(t, input, multi=True) for t in made)


def split(tensor, split_size_or_sections, dim=0):
    """Split into pieces of ``split_size`` (the last may be smaller) or of the listed sizes."""
    data = tensor._data
    if not data.ndim:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    dim = _wrap_dim(dim, data.ndim)
    length = data.shape[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length or any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {length} (input "
                f"tensor's size at dimension {dim}), but got split_sizes={sizes}"
            )
        return _pieces(tensor, dim, sizes, SplitWithSizesBackward0)
    size = int(split_size_or_sections)
    if size < 0 or (size == 0 and length):
        raise RuntimeError(
            f"split_size can only be 0 if dimension size is 0, but got dimension size of {length}"
            if size == 0
            else f"split expects split_size be non-negative, but got split_size={size}"
        )
    sizes = [min(size, length - start) for start in range(0, length, size)] if length else [0]
    return _pieces(tensor, dim, sizes, SplitBackward0)


def split_with_sizes(input, split_sizes, dim=0):
    """Split into pieces of the listed sizes along ``dim`` (views)."""
    if not isinstance(split_sizes, (list, tuple)):
        raise TypeError(
            "split_with_sizes(): argument 'split_sizes' (position 2) must be tuple of ints, not "
            f"{type(split_sizes).__name__}"
        )
    return split(input, list(split_sizes), dim)


def chunk(input, chunks, dim=0):
    """Split into at most ``chunks`` pieces of equal size (the last may be smaller)."""
    if not input._data.ndim:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    length = input._data.shape[_wrap_dim(dim, input._data.ndim)]
    return split(input, max(-(-length // chunks), 1) if length else 1, dim)


UnbindBackward0 = node_class(
    "UnbindBackward0",
    lambda ctx, grads: (_stack_grads(_filled(grads, ctx._args[1]), ctx._args[0]),),
    jvp=lambda ctx, t: unbind(t, ctx.args[0]),
)


def _stack_grads(parts, dim):
    if all(D._is_array(p) for p in parts):
        return np.stack(parts, axis=dim)
    return stack([p if isinstance(p, Tensor) else Tensor._from_array(p) for p in parts], dim)


def unbind(input, dim=0):
    """The slices along ``dim``, as a tuple of views."""
    data = input._data
    if not data.ndim:  # PyTorch wraps the dim as for one dimension first: -1 is 0
        raise IndexError(f"Dimension specified as {_wrap_dim(dim, 0)} but tensor has no dimensions")
    dim = _wrap_dim(dim, data.ndim)
    lead = (slice(None),) * dim
    # (a trailing Ellipsis keeps a 0-d slice a view of ``data``, not a NumPy scalar)
    outs = [data[lead + (i, Ellipsis)] for i in range(data.shape[dim])]
    if not outs:
        return ()
    made = results(
        outs,
        with_outputs(UnbindBackward0, len(outs)),
        (input,),
        args=(dim, [o.shape for o in outs]),
    )
    return tuple(as_view(t, input, multi=True) for t in made)


# -- repeat / tile / flip / roll -------------------------------------------------------------
def _repeat_backward(ctx, grad):
    shape, reps = ctx._args
    padded = (1,) * (len(reps) - len(shape)) + tuple(shape)
    interleaved = tuple(n for pair in zip(reps, padded, strict=False) for n in pair)
    summed = D.sum_dims(D.reshape(grad, interleaved), tuple(range(0, 2 * len(reps), 2)))
    return (D.reshape(summed, shape),)


RepeatBackward0 = node_class(
    "RepeatBackward0", _repeat_backward, jvp=lambda ctx, t: repeat(t, ctx.args[1])
)


def repeat(input, *sizes):
    """Tile the tensor ``sizes[i]`` times along each dimension (leading new dims allowed)."""
    reps = _shape_arg(sizes)
    data = input._data
    if len(reps) < data.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of "
            "dimensions of tensor"
        )
    padded = (1,) * (len(reps) - data.ndim) + data.shape
    shape = [rep * size for rep, size in zip(reps, padded, strict=True)]
    if any(size < 0 for size in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {shape}")
    return result(np.tile(data, reps), RepeatBackward0, (input,), args=(data.shape, reps))


def tile(input, dims):
    """``repeat`` with ``dims`` padded by leading 1s to the tensor's rank."""
    reps = _shape_arg((dims,) if isinstance(dims, int) else tuple(dims))
    reps = (1,) * (input._data.ndim - len(reps)) + reps
    return repeat(input, reps)


def _flip_dims(dims, ndim):
    dims = [dims] if isinstance(dims, int) else list(dims)
    wrapped = [_wrap_dim(d, ndim) for d in dims]
    for d in wrapped:
        if wrapped.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return tuple(wrapped)


FlipBackward0 = node_class(
    "FlipBackward0",
    lambda ctx, grad: (np.flip(grad, ctx._args) if D._is_array(grad) else flip(grad, ctx._args),),
    jvp=lambda ctx, t: flip(t, ctx.args),
)


def flip(input, *dims):
    """Reverse the order of elements along ``dims`` (a copy, as in PyTorch)."""
    dims = _flip_dims(
        dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims, input._data.ndim
    )
    if not input._data.ndim:
        dims = ()  # (PyTorch lets dim 0 of a 0-d tensor be flipped: nothing moves)
    out = np.flip(input._data, dims).copy()
    return result(out, FlipBackward0, (input,), args=dims)


def fliplr(input):
    """Flip along dim 1."""
    return flip(input, (1,))


def flipud(input):
    """Flip along dim 0."""
    return flip(input, (0,))


def _roll_backward(ctx, grad):
    shifts, dims = ctx._args
    back = tuple(-s for s in shifts)
    if D._is_array(grad):
        return (np.roll(grad, back, dims) if dims is not None else np.roll(grad, back[0]),)
    return (roll(grad, back, dims),)


RollBackward0 = node_class("RollBackward0", _roll_backward, jvp=lambda ctx, t: roll(t, *ctx.args))


def roll(input, shifts, dims=None):
    """Shift elements along ``dims`` cyclically (over the flattened tensor if ``dims`` is None)."""
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    data = input._data
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        out = c_order(np.roll(data, shifts[0]))
        return result(out, RollBackward0, (input,), args=(shifts, None))
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}"
        )
    dims = tuple(_wrap_dim(d, data.ndim, scalar_ok=False) for d in dims)
    out = c_order(np.roll(data, shifts, dims))  # (contiguous, as PyTorch's)
    return result(out, RollBackward0, (input,), args=(shifts, dims))


def _many(*shapes):
    return lambda rng: [(([rng.standard_normal(s) for s in shapes],), {})]


register(
    "cat",
    cat,
    aliases=("concat", "concatenate"),
    method=False,
    reference=lambda ts, dim=0: np.concatenate(ts, dim),
    samples=lambda rng: [
        (([rng.standard_normal((2, 3)), rng.standard_normal((1, 3))],), {}),
        (([rng.standard_normal((2, 3)), rng.standard_normal((2, 1))], 1), {}),
    ],
    out="cat",
)
register(
    "stack",
    stack,
    method=False,
    reference=lambda ts, dim=0: np.stack(ts, dim),
    samples=_many((2, 3), (2, 3)),
    out="cat",
)
register(
    "hstack",
    hstack,
    method=False,
    reference=np.hstack,
    samples=_many((2, 3), (2, 1)),
    out={"dtype": "cat", "grad_name": "cat"},
)
register(
    "vstack",
    vstack,
    method=False,
    reference=np.vstack,
    samples=_many((3,), (2, 3)),
    out={"dtype": "cat", "grad_name": "cat"},
)
register(
    "split",
    split,
    reference=lambda x, s, dim=0: tuple(
        np.split(x, np.cumsum(s)[:-1] if isinstance(s, list) else range(s, x.shape[dim], s), dim)
    ),
    samples=_samples((1, ((5, 2), 2), {}), (1, ((2, 5), [1, 4], 1), {})),
)
register(
    "split_with_sizes",
    split_with_sizes,
    reference=lambda x, s, dim=0: tuple(np.split(x, np.cumsum(s)[:-1], dim)),
    samples=_samples((1, ((2, 5), [1, 4], 1), {})),
)
register(
    "chunk",
    chunk,
    reference=lambda x, c, dim=0: tuple(np.array_split(x, c, dim)),
    samples=_samples((1, ((6, 2), 3), {})),
)
register(
    "unbind",
    unbind,
    reference=lambda x, dim=0: tuple(np.moveaxis(x, dim, 0)),
    samples=_samples((1, ((2, 3),), {}), (1, ((2, 3), 1), {})),
)
register(
    "repeat",
    repeat,
    function=False,
    reference=lambda x, *r: np.tile(x, r),
    samples=_samples((1, ((2, 3), 2, 1, 3), {})),
)
register("tile", tile, reference=np.tile, samples=_samples((1, ((2, 3), (2,)), {})))
register(
    "flip",
    flip,
    reference=lambda x, d: np.flip(x, d),
    samples=_samples((1, ((2, 3, 4), (0, 2)), {})),
)
register("fliplr", fliplr, reference=np.fliplr, shapes=((2, 3),))
register("flipud", flipud, reference=np.flipud, shapes=((2, 3),))
register(
    "roll",
    roll,
    reference=lambda x, s, d=None: np.roll(x, s, d),
    samples=_samples((1, ((2, 3), 1), {}), (1, ((2, 3), (1, -1), (0, 1)), {})),
)
