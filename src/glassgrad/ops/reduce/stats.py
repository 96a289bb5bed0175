"""Statistical reductions: ``var``/``std`` (and their ``_mean`` pairs), ``logsumexp``, ``norm``."""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data
from glassgrad._bfloat16 import differentiable as _differentiable
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.forward_rules import transposed
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result, results
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import shaped
from glassgrad.ops.reduce.sum_prod import (
    dim_samples,
    expand_back,
    float_data,
    keep_dims,
    normalize_dims,
    reduced_count,
)
from glassgrad.ops.registry import register

_DOF = (
    "{}(): degrees of freedom is <= 0. Correction should be strictly less than the "
    "reduction factor (input numel divided by output numel)."
)


def _centered(x, dims, count):
    return x - D.sum_dims(x, dims, keepdim=True) / count


def _var_grad(ctx, grad, x):
    shape, dims, keepdim, count, dof = ctx._args
    return (
        expand_back(grad, shape, dims, keepdim)
        * _centered(x, dims, count)
        * (2 / dof if dof else float("inf"))
    )


def _std_grad(ctx, grad, x, out):
    shape, dims, keepdim, count, dof = ctx._args
    # a zero standard deviation passes a zero gradient, as in PyTorch
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = D.where(out == 0, D.zeros_like(grad), grad / (out * dof))
    return expand_back(scale, shape, dims, keepdim) * _centered(x, dims, count)


def _mean_grad(ctx, grad):
    shape, dims, keepdim, count, dof = ctx._args
    return expand_back(grad / count, shape, dims, keepdim)


def _pair_backward(first):
    def backward(ctx, grads, *saved):
        grad_first, grad_mean = grads
        total = first(ctx, grad_first, *saved) if grad_first is not None else None
        if grad_mean is not None:
            mean_part = _mean_grad(ctx, grad_mean)
            total = mean_part if total is None else total + mean_part
        return (total,)

    return backward


def _var_jvp(ctx, tangent):
    """``2 / dof * sum((x - mean) * t)`` over the reduced dims."""
    _, dims, keepdim, _, dof = ctx.args
    x = ctx.saved[0]
    centered = x - x.mean(dim=dims, keepdim=True)
    return (centered * tangent).sum(dim=dims, keepdim=keepdim) * (2 / dof if dof else float("inf"))


def _moments_jvp(std, pair):
    def jvp(ctx, tangent):
        if ctx.inputs[0].is_complex():
            return transposed(ctx, tangent)
        made = _var_jvp(ctx, tangent)
        if std:
            made = made / (ctx.outputs[0] * 2)
        if not pair:
            return made
        _, dims, keepdim, _, _ = ctx.args
        return made, tangent.mean(dim=dims, keepdim=keepdim)

    return jvp


VarBackward0 = node_class(
    "VarBackward0",
    lambda ctx, grad, x: (_var_grad(ctx, grad, x),),
    jvp=_moments_jvp(False, False),
)
StdBackward0 = node_class(
    "StdBackward0",
    lambda ctx, grad, x, out: (_std_grad(ctx, grad, x, out),),
    jvp=_moments_jvp(True, False),
)
VarMeanBackward0 = node_class(
    "VarMeanBackward0", _pair_backward(_var_grad), n_outputs=2, jvp=_moments_jvp(False, True)
)
StdMeanBackward0 = node_class(
    "StdMeanBackward0", _pair_backward(_std_grad), n_outputs=2, jvp=_moments_jvp(True, True)
)


def _moments(name, input, dim, unbiased, keepdim, correction):
    """Variance and mean arrays, and the metadata their gradients need."""
    if isinstance(dim, bool):  # ``var(True)``: the old positional ``unbiased``
        dim, unbiased = None, dim
    data = input._data
    if data.dtype.kind != "c":  # (complex: the variance of the magnitudes, a real number)
        data = float_data("std and var", data)
    if correction is None:
        correction = 1 if unbiased in (None, True) else 0
    dims = normalize_dims(dim, data.ndim)
    count = reduced_count(data.shape, dims)
    dof = max(0, count - correction)
    if dof == 0:
        warnings.warn(_DOF.format(name), UserWarning, stacklevel=3)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = data.sum(axis=dims, keepdims=True) / data.dtype.type(count)
        centered = data - mean
        squares = (centered * centered.conj()).real if data.dtype.kind == "c" else centered**2
        var = squares.sum(axis=dims, keepdims=keepdim) / squares.dtype.type(dof)
    if not keepdim:
        mean = mean.reshape(var.shape)
    return var, mean, (data.shape, dims, keepdim, count, dof)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with Bessel's ``correction`` (default 1)."""
    out, _, args = _moments("var", input, dim, unbiased, keepdim, correction)
    return result(out, VarBackward0, (input,), (input,), args=args)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation over ``dim`` with Bessel's ``correction`` (default 1)."""
    out, _, args = _moments("std", input, dim, unbiased, keepdim, correction)
    return result(np.sqrt(out), StdBackward0, (input,), (input, OUT), args=args)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim``, computed together."""
    out, mean, args = _moments("var_mean", input, dim, unbiased, keepdim, correction)
    return results((out, mean), VarMeanBackward0, (input,), (input,), args=args)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``, computed together."""
    out, mean, args = _moments("std_mean", input, dim, unbiased, keepdim, correction)
    return results((np.sqrt(out), mean), StdMeanBackward0, (input,), (input, OUT), args=args)


# -- logsumexp -------------------------------------------------------------------------------
LogsumexpBackward0 = node_class(
    "LogsumexpBackward0",
    lambda ctx, grad, x, out: (
        expand_back(grad, *ctx._args) * D.exp(x - keep_dims(out, *ctx._args)),
    ),
    jvp=lambda ctx, t: (t * (ctx.saved[0] - keep_dims(ctx.saved[1], *ctx.args)).exp()).sum(
        dim=ctx.args[1], keepdim=ctx.args[2]
    ),
)


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input)))`` over ``dim``, computed stably."""
    data = input._data
    if not _differentiable(data):
        data = data.astype(_dt.get_default_dtype().np)
    dims = normalize_dims(dim, data.ndim)
    if data.dtype.kind == "c":  # shifted by the largest real part (the magnitudes of exp)
        with np.errstate(invalid="ignore", divide="ignore"):
            shift = data.real.max(axis=dims, keepdims=True, initial=-np.inf)
            shift = np.where(np.isfinite(shift), shift, 0).astype(data.real.dtype)
            out = np.log(np.exp(data - shift).sum(axis=dims, keepdims=keepdim))
            out = out + (shift if keepdim else shift.reshape(out.shape))
        args = (data.shape, dims, keepdim)
        return result(out, LogsumexpBackward0, (input,), (input, OUT), args=args)
    # Fused for stability: shift by the maximum so exp never overflows; an infinite maximum is
    # not shifted (it would turn into inf - inf = nan).
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = (
            data.max(axis=dims, keepdims=True, initial=-np.inf)
            if data.size
            else np.zeros([1 if d in dims else n for d, n in enumerate(data.shape)], data.dtype)
        )
        shift = np.where(np.isfinite(shift), shift, 0).astype(data.dtype)
        out = np.log(np.exp(data - shift).sum(axis=dims, keepdims=True)) + shift
    if not keepdim:
        out = out.reshape([n for d, n in enumerate(data.shape) if d not in dims])
    return result(out, LogsumexpBackward0, (input,), (input, OUT), args=(data.shape, dims, keepdim))


def _logsumexp_reference(x, dim, keepdim=False):
    dims = normalize_dims(dim, x.ndim)
    return np.log(np.exp(x).sum(axis=dims, keepdims=keepdim))


def _logsumexp_samples(make, shape):
    return [s for s in dim_samples(make, shape) if "dim" in s[1]]


def _moment_samples(make, shape, low=None, high=None):
    # no ``dim=[]``: PyTorch's own var/std backward is inf there (it reduces over nothing)
    samples = dim_samples(make, shape, low=low, high=high, empty_list=False)
    return samples + [((make(shape),), {"correction": 0}), ((make(shape),), {"unbiased": False})]


def _moment_reference(fn, with_mean=False):
    def reference(x, dim=None, unbiased=True, keepdim=False, correction=None):
        ddof = (1 if unbiased else 0) if correction is None else correction
        dims = normalize_dims(dim, x.ndim)
        value = fn(x, axis=dims, keepdims=keepdim, ddof=ddof)
        return (value, np.mean(x, axis=dims, keepdims=keepdim)) if with_mean else value

    return reference


var, std, var_mean, std_mean = (quiet(f) for f in (var, std, var_mean, std_mean))
for _fn, _np, _pair, _low in (
    (var, np.var, False, None),
    (std, np.std, False, 0.5),
    (var_mean, np.var, True, None),
    (std_mean, np.std, True, 0.5),
):
    register(
        _fn.__name__,
        _fn,
        method=not _pair,
        any_shape=True,
        samples=shaped(
            lambda make, shape, low=_low: _moment_samples(make, shape, low, 2.0 if low else None)
        ),
        reference=_moment_reference(_np, _pair),
        out=None if _pair else "cast",  # var_mean, std_mean take no out=
    )
register(
    "logsumexp",
    logsumexp,
    samples=shaped(_logsumexp_samples),
    reference=_logsumexp_reference,
    any_shape=True,
    dtypes=("float64", "float32", "int64"),
    out="logsumexp",
)


# -- norm ------------------------------------------------------------------------------------
def _safe_div(grad, out):
    # PyTorch's convention: a zero norm passes a zero gradient (not nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return D.where(out == 0, D.zeros_like(grad), grad / out)


def _norm_backward(ctx, grad, x, out):
    p, shape, dims, keepdim = ctx._args
    grad = expand_back(grad, shape, dims, keepdim)
    out = keep_dims(out, shape, dims, keepdim)
    if p == 0:
        return (D.zeros_like(x) if D._is_array(grad) else grad * 0,)
    if p == 1:
        return (grad * D.sign(x),)
    if p == 2:
        return (_safe_div(grad, out) * x,)
    if abs(p) == np.inf:
        # ties share the gradient evenly, as PyTorch does
        mask = D.call("abs", x) == out
        # (PyTorch multiplies by the mask here: an inf gradient gives NaN off the maximum)
        count = D.sum_dims(mask * 1.0, dims, keepdim=True)
        count = D.where(count == 0, count + 1, count)  # all NaN: no maximum to share, 0
        return (grad * D.sign(x) * mask / count,)
    return (_safe_div(grad, out ** (p - 1)) * x * D.call("abs", x) ** (p - 2),)


LinalgVectorNormBackward0 = node_class("LinalgVectorNormBackward0", _norm_backward)


def _empty_inf_norm(p, dim, data, dims):
    """PyTorch's error for an infinity norm over an empty reduction (it has no identity)."""
    head = f"linalg.vector_norm cannot compute the {'-' if p < 0 else ''}inf norm on "
    if dim is None:
        return RuntimeError(
            head + "an empty tensor because the operation does not have an identity"
        )
    empty = next(d for d in dims if data.shape[d] == 0)
    return RuntimeError(
        head + f"the dimension {empty}because this dimension is empty and the "
        "operation does not have an identity"
    )


def _vector_norm(data, p, dim, dims, keepdim):
    magnitude = np.abs(data)
    if p == np.inf or p == -np.inf:
        if any(data.shape[d] == 0 for d in dims):
            raise _empty_inf_norm(p, dim, data, dims)
        reduce = np.max if p > 0 else np.min
        return reduce(magnitude, axis=dims, keepdims=keepdim)
    if p == 0:
        return (data != 0).sum(axis=dims, keepdims=keepdim).astype(data.dtype)
    if p == 1:
        return magnitude.sum(axis=dims, keepdims=keepdim)
    if p == 2:
        return np.sqrt((data * data).sum(axis=dims, keepdims=keepdim))
    return (magnitude**p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector norm of ``input`` (over ``dim``): p = 0, 1, 2, 'fro', inf, -inf or any float."""
    data = input._data
    if data.dtype.kind == "c" and dtype is None and p != "nuc":
        # the norm of the magnitudes (PyTorch's value and gradient, through abs's node)
        return norm(input.abs(), p, dim, keepdim)
    if not _floating(data):
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as "
            f"input. Got {input.dtype._legacy[:-6]}"
        )
    if dtype is not None:
        data = data.astype(_dt.to_dtype(dtype).np)
    if isinstance(p, str) and p not in ("fro", "nuc"):
        raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
    if p == "nuc":
        raise (
            RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
            if data.ndim < 2
            else NotImplementedError("glassgrad: the nuclear norm is not implemented")
        )
    p = 2 if p in ("fro", None) else float(p)
    dims = normalize_dims(dim, data.ndim)
    out = as_data(_vector_norm(data, p, dim, dims, keepdim), dtype=data.dtype)
    return result(
        out, LinalgVectorNormBackward0, (input,), (input, OUT), args=(p, data.shape, dims, keepdim)
    )


def _norm_samples(make, shape):
    x = make(shape)
    samples = [
        ((x,), {}),
        ((x,), {"p": 1}),
        ((x,), {"p": float("inf")}),
        ((x,), {"p": 3}),
        ((x,), {"p": "fro"}),
    ]
    if shape:
        samples += [((x,), {"dim": -1}), ((x,), {"p": 1, "dim": 0, "keepdim": True})]
    return samples


def _norm_reference(x, p="fro", dim=None, keepdim=False):
    p = 2 if p == "fro" else p
    dims = normalize_dims(dim, x.ndim)
    if p == np.inf:
        return np.abs(x).max(axis=dims, keepdims=keepdim)
    return (np.abs(x) ** p).sum(axis=dims, keepdims=keepdim) ** (1 / p)


register(
    "norm",
    norm,
    samples=shaped(_norm_samples),
    reference=_norm_reference,
    any_shape=True,
    out={"dtype": "expected", "grad_name": "linalg_vector_norm"},
)
