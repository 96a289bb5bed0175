"""Reductions: ``sum``, ``mean``, ``prod``, ``all``/``any`` and the cumulative ``cumsum``,
``cumprod`` (``var``/``std`` and ``logsumexp``: ``stats.py``).

Every reduction takes ``dim`` as None, an int or a sequence (an empty sequence means all dims,
as in PyTorch) and ``keepdim``. The gradient re-inserts the reduced dims and broadcasts back.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data, c_order
from glassgrad._bfloat16 import differentiable as _differentiable
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import shaped
from glassgrad.ops.registry import register
from glassgrad.tensor import _wrap_dim


def normalize_dims(dim, ndim):
    """``dim`` (None, int, or sequence; empty means all) as a sorted tuple of axes."""
    if dim is None or (isinstance(dim, (list, tuple)) and not dim):
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        dims = [_wrap_dim(d, ndim) for d in dim]
        for d in dims:
            if dims.count(d) > 1:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    else:
        dims = [_wrap_dim(dim, ndim)]
    return tuple(sorted(dims)) if ndim else ()


def reduced_count(shape, dims) -> int:
    """How many elements each output element of a reduction over ``dims`` combines."""
    return math.prod(shape[d] for d in dims)


def expand_back(grad, shape, dims, keepdim):
    """The gradient of a reduction: re-insert the reduced dims and broadcast to ``shape``."""
    if not keepdim and dims:
        if D._is_array(grad):
            kept = list(shape)
            for d in dims:
                kept[d] = 1
            grad = D.reshape(grad, tuple(kept))
        else:
            # under create_graph, PyTorch's unsqueeze_multiple: one unsqueeze per dim, in order,
            # so a gradient of this gradient ends in SqueezeBackward1 as PyTorch's does
            for d in sorted(d % len(shape) for d in dims):
                grad = grad.unsqueeze(d)
    return D.expand(grad, shape)


def keep_dims(out, shape, dims, keepdim):
    """``out`` with the reduced dims present (size 1), for broadcasting against the input."""
    if keepdim or not dims:
        return out
    kept = list(shape)
    for d in dims:
        kept[d] = 1
    return D.reshape(out, tuple(kept))


def float_data(name, data):
    """The data of a float-only reduction (integer inputs refused, as PyTorch does)."""
    if not _floating(data):
        raise RuntimeError(f"{name} only support floating point and complex dtypes")
    return data


# linear: the forward rule is the op itself on the tangent
SumBackward0 = node_class(
    "SumBackward0", lambda ctx, grad: (D.expand(grad, ctx._args),), jvp=lambda ctx, t: t.sum()
)
SumBackward1 = node_class(
    "SumBackward1",
    lambda ctx, grad: (expand_back(grad, *ctx._args),),
    jvp=lambda ctx, t: t.sum(dim=ctx.args[1], keepdim=ctx.args[2]),
)


def _sum_dtype(data, dtype):
    if dtype is not None:
        return _dt.to_dtype(dtype).np
    return np.int64 if data.dtype.kind in "biu" else data.dtype


def _sum_dtype_error(dim, dtype) -> TypeError:
    """PyTorch's argument parser on ``t.sum(dtype=<not a dtype>)``: with ``dim`` one overload
    fits all but ``dtype``; without it, none does, and it lists them."""
    from glassgrad._tensor_info import _type_name

    if dim is not None:
        return TypeError(f"sum(): argument 'dtype' must be torch.dtype, not {_type_name(dtype)}")
    return TypeError(
        f"sum() received an invalid combination of arguments - got (dtype={_type_name(dtype)}, ), "
        "but expected one of:\n * (*, torch.dtype dtype = None)\n * (tuple of ints dim, bool "
        "keepdim = False, *, torch.dtype dtype = None)\n"
    )


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001 - PyTorch's name
    """Sum of all elements, or over ``dim``."""
    if dtype is not None and not isinstance(dtype, _dt.dtype):
        raise _sum_dtype_error(dim, dtype)
    data = input._data
    out_dtype = _sum_dtype(data, dtype)
    if dim is None:
        return result(data.sum(dtype=out_dtype), SumBackward0, (input,), args=data.shape)
    dims = normalize_dims(dim, data.ndim)
    out = data.sum(axis=dims, keepdims=keepdim, dtype=out_dtype)
    return result(out, SumBackward1, (input,), args=(data.shape, dims, keepdim))


MeanBackward0 = node_class(
    "MeanBackward0",
    lambda ctx, grad: (D.expand(grad / ctx._args[1], ctx._args[0]),),
    jvp=lambda ctx, t: t.sum() / ctx.args[1],
)
MeanBackward1 = node_class(
    "MeanBackward1",
    lambda ctx, grad: (expand_back(grad / ctx._args[3], *ctx._args[:3]),),
    jvp=lambda ctx, t: t.sum(dim=ctx.args[1], keepdim=ctx.args[2]) / ctx.args[3],
)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of all elements, or over ``dim`` (floating-point tensors only)."""
    data = input._data
    if dtype is not None:
        dtype = _dt.to_dtype(dtype)
        if not (dtype.is_floating_point or dtype.is_complex):
            raise RuntimeError(
                "mean(): could not infer output dtype. Optional dtype must be "
                f"either a floating point or complex dtype. Got: {dtype._legacy[:-6]}"
            )
        data = data.astype(dtype.np)
    if not _differentiable(data):
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {_dt.from_numpy_dtype(data.dtype)._legacy[:-6]}"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        if dim is None:
            return result(
                as_data(data.mean() if data.size else np.nan, data.dtype),
                MeanBackward0,
                (input,),
                args=(data.shape, max(data.size, 1)),
            )
        dims = normalize_dims(dim, data.ndim)
        count = reduced_count(data.shape, dims)
        out = data.sum(axis=dims, keepdims=keepdim) / data.dtype.type(count)
    return result(out, MeanBackward1, (input,), args=(data.shape, dims, keepdim, max(count, 1)))


# -- prod ------------------------------------------------------------------------------------
def _exclusive_prod(x, dims):
    """For each element, the product of the others in its reduction group (zeros allowed)."""
    moved = np.moveaxis(x, dims, range(-len(dims), 0))
    flat = moved.reshape(moved.shape[: moved.ndim - len(dims)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], -1), -1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], -1), -1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), range(-len(dims), 0), dims)


def _others_replaced(x):
    """``x`` (a tensor, groups along its last axis) as (..., n, n): row i has x_i set to 1.

    The running or full product of row i is then free of x_i, so the gradients of products
    at zeros are themselves products of tensors, differentiable to any order (n^2 memory; only
    the create_graph path with zeros pays it).
    """
    from glassgrad.creation import tensor

    n = x.shape[-1]
    eye = np.eye(n, dtype=x._data.dtype)
    return x.unsqueeze(-2) * tensor(1 - eye) + tensor(eye)


def _has_zero(x):
    return not getattr(x, "_data", x).all()  # (an array, a vmap batch or a tensor)


def _prod_backward(ctx, grad, x, out):
    shape, dims, keepdim = ctx._args
    grad = expand_back(grad, shape, dims, keepdim)
    if dims and _has_zero(x):
        if x.__class__ is np.ndarray:
            return (grad * _exclusive_prod(x, dims),)
        moved = x.movedim(dims, tuple(range(-len(dims), 0)))
        flat = moved.reshape(moved.shape[: moved.ndim - len(dims)] + (-1,))
        others = _others_replaced(flat).prod(-1).reshape(moved.shape)
        return (grad * others.movedim(tuple(range(-len(dims), 0)), dims),)
    # without zeros the product of the others is out / x (also the differentiable form)
    return (grad * keep_dims(out, shape, dims, keepdim) / x,)


ProdBackward0 = node_class("ProdBackward0", _prod_backward)
ProdBackward1 = node_class("ProdBackward1", _prod_backward)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of all elements, or over the single dimension ``dim``."""
    data = input._data
    out_dtype = _sum_dtype(data, dtype)
    if dim is None:
        dims = tuple(range(data.ndim))
        return result(
            data.prod(dtype=out_dtype),
            ProdBackward0,
            (input,),
            (input, OUT),
            args=(data.shape, dims, False),
        )
    dims = normalize_dims(int(dim) if not isinstance(dim, (list, tuple)) else dim, data.ndim)
    out = data.prod(axis=dims, keepdims=keepdim, dtype=out_dtype)
    return result(out, ProdBackward1, (input,), (input, OUT), args=(data.shape, dims, keepdim))


# -- cumulative ------------------------------------------------------------------------------
def _reverse_cumsum(grad, dim):
    if grad.__class__ is np.ndarray:
        return np.flip(np.cumsum(np.flip(grad, dim), dim), dim)
    # total - cumsum + self: the suffix sums, from ops that have derivatives themselves
    return D.sum_dims(grad, (dim,), keepdim=True) - grad.cumsum(dim) + grad


CumsumBackward0 = node_class(
    "CumsumBackward0",
    lambda ctx, grad: (_reverse_cumsum(grad, ctx._args) if grad.ndim else grad,),
    jvp=lambda ctx, t: cumsum(t, ctx.args) if t.dim() else t,
)


def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim`` (integer and bool inputs accumulate in int64)."""
    data = input._data
    axis = _wrap_dim(dim, data.ndim)
    out_dtype = _sum_dtype(data, dtype)
    out = np.cumsum(data, axis=axis, dtype=out_dtype) if data.ndim else data.astype(out_dtype)
    if data.ndim and _differentiable(out):
        out += 0  # PyTorch's running sum starts from +0.0, so it never gives -0.0
    # (NumPy keeps a transposed input's layout; PyTorch's result is contiguous)
    out = c_order(out)
    return result(out, CumsumBackward0, (input,), args=axis)


def _cumprod_with_zeros(x, grad, dim):
    """Exact gradient of cumprod when ``x`` has zeros: ``d out_j / d x_i`` for all ``i <= j``."""
    moved_x, moved_g = np.moveaxis(x, dim, -1), np.moveaxis(grad, dim, -1)
    n = moved_x.shape[-1]
    eye = np.eye(n, dtype=bool)
    # row i: x with x_i replaced by 1, so its running product is prod_{k <= j, k != i} x_k
    others = np.cumprod(np.where(eye, 1, moved_x[..., None, :]), -1)
    upper = np.triu(np.ones((n, n), dtype=bool))
    grad_x = (others * upper * moved_g[..., None, :]).sum(-1)
    return np.moveaxis(grad_x, -1, dim)


def _cumprod_with_zeros_tensor(x, grad, dim):
    """``_cumprod_with_zeros`` from tensor ops, so that it is differentiable again."""
    from glassgrad.creation import tensor

    others = _others_replaced(x.movedim(dim, -1)).cumprod(-1)
    n = x.shape[dim]
    upper = tensor(np.triu(np.ones((n, n), dtype=x._data.dtype)))
    grad_x = (others * upper * grad.movedim(dim, -1).unsqueeze(-2)).sum(-1)
    return grad_x.movedim(-1, dim)


def _cumprod_backward(ctx, grad, x, out):
    dim = ctx._args
    if not x.ndim:
        return (grad,)
    if _has_zero(x):
        if x.__class__ is np.ndarray:
            return (_cumprod_with_zeros(x, grad, dim),)
        return (_cumprod_with_zeros_tensor(x, grad, dim),)
    return (_reverse_cumsum(grad * out, dim) / x,)


CumprodBackward0 = node_class("CumprodBackward0", _cumprod_backward)


def cumprod(input, dim, *, dtype=None):
    """Running product along ``dim``."""
    data = input._data
    axis = _wrap_dim(dim, data.ndim)
    out_dtype = _sum_dtype(data, dtype)
    out = np.cumprod(data, axis=axis, dtype=out_dtype) if data.ndim else data.astype(out_dtype)
    out = c_order(out)  # (contiguous, as PyTorch's)
    return result(out, CumprodBackward0, (input,), (input, OUT), args=axis)


# -- all / any -------------------------------------------------------------------------------
def _logical_reduce(ufunc, name):
    def reduce(input, dim=None, keepdim=False):
        data = input._data
        # unlike sum, an empty dim list reduces nothing here (as in PyTorch)
        empty = isinstance(dim, (list, tuple)) and not dim
        dims = () if empty else normalize_dims(dim, data.ndim)
        values = ufunc.reduce(data.astype(bool), axis=dims, keepdims=keepdim)
        # uint8 inputs give uint8, as in PyTorch; everything else gives bool
        return result(values.astype(np.uint8) if data.dtype == np.uint8 else values, None, ())

    reduce.__name__ = name
    reduce.__doc__ = f"Whether {name} elements are true (over ``dim``)."
    return reduce


all = _logical_reduce(np.logical_and, "all")  # noqa: A001 - PyTorch's name
any = _logical_reduce(np.logical_or, "any")  # noqa: A001 - PyTorch's name


# -- sample inputs for the table tests -------------------------------------------------------
def dim_samples(make, shape, extra=None, tuples=True, low=None, high=None, empty_list=True):
    """Full reduction, each dim with and without keepdim, a negative dim and a dim tuple."""
    x = make(shape, low=low, high=high)
    extra = extra or {}
    samples = [((x,), dict(extra))]
    for d in range(len(shape)):
        samples.append(((x,), {"dim": d, **extra}))
        samples.append(((x,), {"dim": d - len(shape), "keepdim": True, **extra}))
    if tuples and len(shape) >= 2:
        samples.append(((x,), {"dim": (0, -1), **extra}))
        if empty_list:
            samples.append(((x,), {"dim": [], "keepdim": True, **extra}))
    if not shape:
        samples.append(((x,), {"dim": 0, **extra}))
    return samples


def _single_dim(make, shape, low=None, high=None):
    return [s for s in dim_samples(make, shape, tuples=False, low=low, high=high)]


def _cum_samples(make, shape):
    x = make(shape)
    return [((x,), {"dim": d}) for d in range(-len(shape), len(shape) or 1)]


def reduce_reference(fn, empty_means_none=False):
    """A NumPy reference taking PyTorch's ``dim``/``keepdim`` keywords."""

    def reference(x, dim=None, keepdim=False, **kwargs):
        empty = empty_means_none and isinstance(dim, (list, tuple)) and not dim
        dims = () if empty else normalize_dims(dim, x.ndim)
        return fn(x, axis=dims, keepdims=keepdim, **kwargs)

    return reference


# NumPy's reductions are Python functions: their overflow warnings escape the package's filter
sum, mean, prod, cumsum, cumprod = (quiet(f) for f in (sum, mean, prod, cumsum, cumprod))  # noqa: A001
register(
    "sum",
    sum,
    samples=shaped(dim_samples),
    any_shape=True,
    reference=reduce_reference(np.sum),
    dtypes=("float64", "float32", "int64", "bool"),
)
register(
    "mean",
    mean,
    samples=shaped(dim_samples),
    any_shape=True,
    reference=reduce_reference(np.mean),
    out="mean",
)
register(
    "prod",
    prod,
    samples=shaped(lambda make, shape: _single_dim(make, shape, 0.5, 1.5)),
    any_shape=True,
    reference=reduce_reference(np.prod),
    dtypes=("float64", "int64"),
)
register(
    "cumsum",
    cumsum,
    samples=shaped(_cum_samples),
    any_shape=True,
    reference=lambda x, dim: np.cumsum(x, axis=dim) if x.ndim else x,
    dtypes=("float64", "float32", "int64"),
    out={"dtype": "cumsum", "dtype_from": "reduce"},
)
register(
    "cumprod",
    cumprod,
    samples=shaped(_cum_samples),
    any_shape=True,
    reference=lambda x, dim: np.cumprod(x, axis=dim) if x.ndim else x,
    dtypes=("float64", "int64"),
    out={"dtype": "cumprod", "dtype_from": "reduce"},
)
for _fn, _ufunc in ((all, np.all), (any, np.any)):
    register(
        _fn.__name__,
        _fn,
        samples=shaped(dim_samples),
        any_shape=True,
        differentiable=False,
        reference=reduce_reference(_ufunc, empty_means_none=True),
        dtypes=("float64", "bool", "int64"),
        out=_fn.__name__,  # all, any: their own rules
    )
