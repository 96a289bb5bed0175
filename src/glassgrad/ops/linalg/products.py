"""Products and rearrangements of whole tensors: ``cross``/``linalg.cross``, ``tensordot``,
``kron``, ``cdist``, ``block_diag`` and ``rot90``.

``tensordot`` and ``kron`` are composites (PyTorch ends them in a view of a matrix product and of
a broadcast product); ``cross``, ``cdist``, ``block_diag`` and ``rot90`` are primitives with the
node names PyTorch records.
"""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad import _bfloat16
from glassgrad import dtypes as _dt
from glassgrad._batched import zeros_over
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, needs_grad, result
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops.elementwise.binary import _promote, broadcast_shapes
from glassgrad.ops.registry import register
from glassgrad.ops.shape.view import UnsafeViewBackward0
from glassgrad.tensor import Tensor, _wrap_dim


def _same_scalar_type(a, b):
    """The refusal of mixed dtypes by PyTorch's kernels that take one scalar type."""
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected scalar type {_C_TYPES[a.dtype.name]} but found {_C_TYPES[b.dtype.name]}"
        )


# -- cross -----------------------------------------------------------------------------------
def _cross_any(a, b, dim):
    if D._is_array(a) and D._is_array(b):
        return np.cross(a, b, axis=dim)
    return linalg_cross(_tensor(a), _tensor(b), dim=dim)


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor._from_array(np.asarray(x))


LinalgCrossBackward0 = node_class(
    "LinalgCrossBackward0",
    lambda ctx, grad, a, b: (
        None if ctx.next_functions[0][0] is None else _cross_any(b, grad, ctx._args),
        None if ctx.next_functions[1][0] is None else _cross_any(grad, a, ctx._args),
    ),
)


def linalg_cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along ``dim`` (operands broadcast)."""
    a_shape, b_shape = input.shape, other.shape
    if len(a_shape) != len(b_shape):
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    axis = _wrap_dim(dim, len(a_shape))
    if a_shape[axis] != 3 or b_shape[axis] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. "
            f"Got {a_shape[axis]} and {b_shape[axis]}"
        )
    _same_scalar_type(input, other)
    ad, bd = _promote(input, other)
    shape = broadcast_shapes(ad.shape, bd.shape)
    ad, bd = np.broadcast_to(ad, shape), np.broadcast_to(bd, shape)
    values = np.cross(ad, bd, axis=axis)
    # as PyTorch: each operand is saved only if the other one's gradient needs it
    saved = (input if needs_grad(other) else None, other if needs_grad(input) else None)
    return result(values, LinalgCrossBackward0, (input, other), saved, args=axis)


def cross(input, other, dim=None):
    """``torch.cross``: without ``dim``, the first dim of length 3 (deprecated in PyTorch)."""
    if dim is None:
        warnings.warn(_CROSS_DEFAULT_DIM, UserWarning, stacklevel=2)
        shape = broadcast_shapes(input.shape, other.shape)
        dim = next((d for d, size in enumerate(shape) if size == 3), -1)
    return linalg_cross(input, other, dim=dim)


_CROSS_DEFAULT_DIM = (
    "Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
    "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
    "with that of linalg.cross in a future release."
)


# -- tensordot and kron (composites) ---------------------------------------------------------
def _contracted(a, b, dims):
    """The contracted dims of ``a`` and ``b``, as given (PyTorch's messages show them so)."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        return list(range(-dims, 0)), list(range(dims))
    first, second = dims
    first = [first] if isinstance(first, int) else list(first)
    second = [second] if isinstance(second, int) else list(second)
    return first, second


def tensordot(a, b, dims=2):
    """Sum of products over ``dims`` of ``a`` and ``b`` (as a permuted matrix product)."""
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    first, second = _contracted(a, b, dims)
    for da, db in zip(first, second, strict=True):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[da]} in dim "
                f"{da} and second has size {b.shape[db]} in dim {db}"
            )
    first = [_wrap_dim(d, a.ndim) for d in first]
    second = [_wrap_dim(d, b.ndim) for d in second]
    free_a = [d for d in range(a.ndim) if d not in first]
    free_b = [d for d in range(b.ndim) if d not in second]
    size = int(np.prod([a.shape[d] for d in first]))
    left = a.permute(*free_a, *first).reshape(-1, size)
    right = b.permute(*second, *free_b).reshape(size, -1)
    shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    return (left @ right).reshape(shape)


def _unsafe_view(input, shape):
    data = input._data
    return result(data.reshape(shape), UnsafeViewBackward0, (input,), args=data.shape)


def kron(input, other):
    """The Kronecker product: every element of ``input`` times a copy of ``other``."""
    ndim = max(input.ndim, other.ndim)
    a_shape = (1,) * (ndim - input.ndim) + tuple(input.shape)
    b_shape = (1,) * (ndim - other.ndim) + tuple(other.shape)
    # interleave: a[i0, 1, i1, 1, ...] * b[1, j0, 1, j1, ...]; as PyTorch, through
    # ``_unsafe_view``s, which share no version counter: the product's saved operands do not
    # see a later in-place change of the inputs
    spread_a = _unsafe_view(input, [n for size in a_shape for n in (size, 1)])
    spread_b = _unsafe_view(other, [n for size in b_shape for n in (1, size)])
    product = spread_a * spread_b
    shape = tuple(x * y for x, y in zip(a_shape, b_shape, strict=True))
    data = product._data.reshape(shape)
    return result(data, UnsafeViewBackward0, (product,), args=product._data.shape)


# -- cdist -----------------------------------------------------------------------------------
def _cdist_backward(ctx, grad, x1, x2, out):
    p = ctx._args
    diff = D.reshape(x1, (*x1.shape[:-1], 1, x1.shape[-1])) - D.reshape(
        x2, (*x2.shape[:-2], 1, *x2.shape[-2:])
    )
    dist = D.reshape(out, (*out.shape, 1))
    g = D.reshape(grad, (*grad.shape, 1))
    if p == 0:
        zero = D.zeros_like(D.sum_dims(diff * g, -2))
        return zero, D.zeros_like(D.sum_dims(diff * g, -3))
    sign = D.sign(diff)
    if p == 1:
        term = g * sign
    elif p == float("inf"):  # only the coordinates that reach the max carry the gradient
        top = D.call("abs", diff) == dist
        term = g * sign * D.where(top, D.zeros_like(diff) + 1, D.zeros_like(diff))
    else:
        ratio = D.call("abs", diff) / D.where(dist == 0, D.zeros_like(dist) + 1, dist)
        term = D.where(dist == 0, D.zeros_like(diff), g * sign * ratio ** (p - 1))
    return D.sum_dims(term, -2), -D.sum_dims(term, -3)


CdistBackward0 = node_class("CdistBackward0", quiet(_cdist_backward), jvp="none")
CdistBackward0._fw_name = "_cdist_forward"  # (PyTorch has no forward-mode rule for it)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The ``p``-norm distance between each row of ``x1`` and each row of ``x2``."""
    a, b = x1._data, x2._data
    for name, data in (("X1", a), ("X2", b)):
        if data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {data.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: {b.shape[-1]}"
        )
    for name, t in (("X1", x1), ("X2", x2)):
        if not t.dtype.is_floating_point:
            raise RuntimeError(
                f"cdist only supports floating-point dtypes, {name} got: {_C_TYPES[t.dtype.name]}"
            )
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    _same_scalar_type(x1, x2)
    _bfloat16.refuse(a, "cdist")
    diff = np.abs(a[..., :, None, :] - b[..., None, :, :])
    if p == 0:
        values = (diff != 0).sum(-1).astype(diff.dtype)
    elif p == float("inf"):
        values = diff.max(-1, initial=0.0)
    else:
        values = (diff**p).sum(-1) ** (1 / p)
    return result(values.astype(a.dtype), CdistBackward0, (x1, x2), (x1, x2, OUT), args=p)


# -- block_diag and rot90 --------------------------------------------------------------------
def _block_diag_backward(ctx, grad):
    grads, row, col = [], 0, 0
    for shape in ctx._args:
        rows, cols = (1, shape[0]) if len(shape) == 1 else ((1, 1) if not shape else shape)
        piece = grad[row : row + rows, col : col + cols]
        grads.append(D.reshape(piece, shape))
        row, col = row + rows, col + cols
    return tuple(grads)


BlockDiagBackward0 = node_class("BlockDiagBackward0", _block_diag_backward)


def block_diag(*tensors):
    """The tensors (0-, 1- or 2-D) placed along the diagonal of one matrix."""
    for index, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(
                "torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                f"Input {index} has {t.ndim} dimensions"
            )
    mats = [t._data for t in tensors]
    mats = [
        m.reshape(1, 1) if m.ndim == 0 else m.reshape(1, -1) if m.ndim == 1 else m for m in mats
    ]
    dtype = _dt.get_default_dtype().np
    if tensors:
        # PyTorch's result_type: 0-d inputs only raise the category of the dimensioned ones
        kind, dims = tensors[0].dtype, tensors[0].ndim
        for t in tensors[1:]:
            kind, dims = _dt.result_type(kind, dims, t.dtype, t.ndim), max(dims, t.ndim)
        dtype = kind.np
    shape = (sum(m.shape[0] for m in mats), sum(m.shape[1] for m in mats))
    out = zeros_over(shape, dtype, tuple(mats))  # (vmap: batched blocks, a batched result)
    row = col = 0
    for m in mats:
        out[row : row + m.shape[0], col : col + m.shape[1]] = m
        row, col = row + m.shape[0], col + m.shape[1]
    shapes = tuple(tuple(t.shape) for t in tensors)
    return result(out, BlockDiagBackward0, tensors, args=shapes)


def _rot90_backward(ctx, grad):
    k, dims = ctx._args
    if D._is_array(grad):
        return (np.rot90(grad, -k, dims),)
    return (rot90(grad, -k, dims),)


Rot90Backward0 = node_class(
    "Rot90Backward0", _rot90_backward, jvp=lambda ctx, t: rot90(t, *ctx.args)
)


def rot90(input, k=1, dims=(0, 1)):
    """``input`` rotated by ``k`` quarter turns in the plane of ``dims`` (from the first dim
    toward the second)."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = (_wrap_dim(d, input.ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}"
        )
    values = np.rot90(input._data, k, (d0, d1)).copy()  # a copy even for k % 4 == 0
    return result(values, Rot90Backward0, (input,), args=(k, (d0, d1)))


def _samples(*cases):
    """Samples from ``(shapes, kwargs)`` pairs: one standard-normal array per shape."""
    return lambda rng: [
        (tuple(rng.standard_normal(s) for s in shapes), dict(kwargs)) for shapes, kwargs in cases
    ]


def _block_reference(*arrays):
    mats = [
        a.reshape(1, 1) if a.ndim == 0 else a.reshape(1, -1) if a.ndim == 1 else a for a in arrays
    ]
    out = np.zeros((sum(m.shape[0] for m in mats), sum(m.shape[1] for m in mats)))
    row = col = 0
    for m in mats:
        out[row : row + m.shape[0], col : col + m.shape[1]] = m
        row, col = row + m.shape[0], col + m.shape[1]
    return out


def _cdist_reference(a, b, p=2.0):
    diff = np.abs(a[..., :, None, :] - b[..., None, :, :])
    if p == float("inf"):
        return diff.max(-1)
    return (diff**p).sum(-1) ** (1 / p)


register(
    "cross",
    cross,
    nin=2,
    reference=lambda a, b, dim=-1: np.cross(a, b, axis=dim),
    samples=_samples(
        (((2, 3), (2, 3)), {"dim": 1}),
        (((3, 4), (3, 1)), {"dim": 0}),
        (((4, 3), (1, 3)), {"dim": -1}),
    ),
    out={"dtype": "expected", "grad_name": "linalg_cross"},
)
register(
    "tensordot",
    tensordot,
    method=False,
    nin=2,
    reference=lambda a, b, dims=2: np.tensordot(a, b, dims),
    samples=_samples(
        (((2, 3, 4), (3, 4, 2)), {"dims": 2}),
        (((2, 3), (3, 4)), {"dims": 1}),
        (((2, 3), (4, 3, 2)), {"dims": ([0, 1], [2, 1])}),
        (((2,), (3,)), {"dims": 0}),
    ),
    out={
        "dtype": "tensordot",
        "grad_name": None,
        "out_grad_name": "aten::tensordot",
        "composite": True,
    },
)
register(
    "kron",
    kron,
    nin=2,
    reference=np.kron,
    samples=_samples((((2, 3), (3, 2)), {}), (((2,), (2, 1, 3)), {}), (((3,), (2,)), {})),
    out={"dtype": "cast", "grad_name": "mul"},
)
register(
    "cdist",
    cdist,
    method=False,
    nin=2,
    reference=_cdist_reference,
    samples=_samples(
        (((3, 4), (2, 4)), {}),
        (((2, 3, 2), (2, 4, 2)), {"p": 1.0}),
        (((3, 2), (4, 2)), {"p": 3.0}),
        (((3, 2), (2, 2)), {"p": float("inf")}),
    ),
)
register(
    "block_diag",
    block_diag,
    method=False,
    reference=_block_reference,
    samples=_samples((((2, 3), (3,), (), (1, 2)), {}), (((2, 2),), {})),
)
register(
    "rot90",
    rot90,
    reference=lambda a, k=1, dims=(0, 1): np.rot90(a, k, dims),
    samples=_samples(
        (((2, 3),), {}),
        (((2, 3, 4),), {"k": 2, "dims": [1, 2]}),
        (((2, 3),), {"k": -1, "dims": [1, 0]}),
        (((2, 3),), {"k": 4}),
    ),
)


def inner(input, other):
    """The dot products of ``input``'s and ``other``'s last dimensions (a product where either is
    0-d), as ``tensordot`` over the last dims."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            "inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    return tensordot(input, other, ([-1], [-1]))


register(
    "inner",
    inner,
    reference=lambda a, b: np.inner(a, b),
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), rng.standard_normal((2, 4))), {}),
        ((rng.standard_normal(4), rng.standard_normal(4)), {}),
        ((rng.standard_normal((2, 3)), rng.standard_normal(())), {}),
    ],
)
