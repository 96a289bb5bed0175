"""Ops built on vector norms that PyTorch records as nodes of their own: ``renorm`` (rescale
each slice whose norm exceeds a bound) and ``dist`` (the norm of a difference), with PyTorch's
``norm_backward`` (ties of the inf-norm share the gradient; a zero norm gives zero)."""

from __future__ import annotations

import math

import numpy as np

from glassgrad._batched import as_data
from glassgrad._bfloat16 import floating as _floating
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.tensor import _wrap_dim


def _norm_values(x, p, dims, keepdim):
    """The ``p``-norm of array ``x`` over ``dims`` (all for None), as linalg.vector_norm."""
    magnitude = np.abs(x)
    if p == math.inf:
        return magnitude.max(axis=dims, keepdims=keepdim, initial=0)
    if p == -math.inf:
        return magnitude.min(axis=dims, keepdims=keepdim)
    if p == 0:
        return (magnitude != 0).sum(axis=dims, keepdims=keepdim).astype(x.dtype)
    if p == 1:
        return magnitude.sum(axis=dims, keepdims=keepdim)
    if p == 2:
        return np.sqrt((magnitude * magnitude).sum(axis=dims, keepdims=keepdim))
    return (magnitude**p).sum(axis=dims, keepdims=keepdim) ** (1 / p)


def norm_backward(grad, x, p, norm, dims):
    """PyTorch's ``norm_backward`` on tensors: the gradient of ``norm = ||x||_p`` (over
    ``dims``, kept) given the gradient ``grad`` of the norm."""
    if p == 0:
        return x * 0
    if p == 1:
        return x.sgn() * grad
    if p == 2:
        return x * (grad / norm).masked_fill(norm == 0, 0)
    if math.isinf(p):
        mask = (x.abs() == norm).to(x.dtype)
        return x.sgn() * ((grad / mask.sum(dims, keepdim=True)) * mask)
    if p < 1:
        scale = x.abs().pow(p - 1).masked_fill(x == 0, 0)
        return x.sgn() * scale * (grad * norm.pow(1 - p))
    if p < 2:
        return x.sgn() * x.abs().pow(p - 1) * (grad / norm.pow(p - 1)).masked_fill(norm == 0, 0)
    return x * x.abs().pow(p - 2) * (grad / norm.pow(p - 1)).masked_fill(norm == 0, 0)


# -- renorm ----------------------------------------------------------------------------------
@D.on_tensors
def _renorm_backward(ctx, grad, input):
    p, dims, maxnorm = ctx._args
    norm = input.norm(p, dims, keepdim=True) if dims else input.abs()
    weighted = (input * grad).sum(dims, keepdim=True) if dims else input * grad
    along = norm_backward(weighted, input, p, norm, dims)
    inverse = (norm + 1e-7).reciprocal()
    factor = inverse * maxnorm
    return ((factor * grad - (factor * inverse) * along).where(norm > maxnorm, grad),)


RenormBackward0 = node_class("RenormBackward0", _renorm_backward)


def renorm(input, p, dim, maxnorm):
    """``input`` with every slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled
    down to norm ``maxnorm``."""
    data = input._data
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if data.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {data.ndim} dimensions")
    if not _floating(data):
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{_C_TYPES[input.dtype.name]}"
        )
    dim = _wrap_dim(dim, data.ndim)
    dims = tuple(d for d in range(data.ndim) if d != dim)
    norm = _norm_values(data, p, dims, True)
    factor = np.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0).astype(data.dtype)
    out = data * factor
    return result(out, RenormBackward0, (input,), saved=(input,), args=(p, dims, maxnorm))


# -- dist ------------------------------------------------------------------------------------
def _dist_backward(ctx, grad, input, other, out):
    if ctx._args == 0:
        # PyTorch's gradient for p = 0 is undefined: none for input, and negating it for other
        # fails in its words
        if ctx.next_functions[1][0] is not None:
            raise RuntimeError(
                "Expected a proper Tensor but got None (or an undefined Tensor in C++) for "
                "argument #0 'self'"
            )
        return None, None
    return _dist_grads(ctx, grad, input, other, out)


@D.on_tensors
def _dist_grads(ctx, grad, input, other, out):
    difference = input - other
    dims = tuple(range(difference.ndim))
    along = norm_backward(grad, difference, ctx._args, out, dims)
    return along, -along


DistBackward0 = node_class("DistBackward0", _dist_backward)


def dist(input, other, p=2):
    """The ``p``-norm of ``input - other`` (broadcast)."""
    from glassgrad._errors import broadcast_error

    try:
        np.broadcast_shapes(input._data.shape, other._data.shape)
    except ValueError:
        raise broadcast_error(input._data.shape, other._data.shape) from None
    difference = input._data - other._data
    if not _floating(difference):
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{_C_TYPES[input.dtype.name]}"
        )
    out = as_data(_norm_values(difference, float(p), None, False), difference.dtype)
    return result(out, DistBackward0, (input, other), saved=(input, other, OUT), args=float(p))


def _ref_renorm(x, p, dim, maxnorm):
    dims = tuple(d for d in range(x.ndim) if d != dim % x.ndim)
    norm = _norm_values(x, p, dims, True)
    return x * np.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)


register(
    "renorm",
    renorm,
    reference=_ref_renorm,
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), 2, 0, 1.0), {}),
        ((rng.standard_normal((3, 4)), 1, 1, 1.5), {}),
        ((rng.standard_normal((2, 3, 2)), 3, -1, 1.0), {}),
    ],
    out="expected",
)
register(
    "dist",
    dist,
    reference=lambda x, y, p=2: _norm_values(x - y, float(p), None, False),
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), {}),
        ((rng.standard_normal((3, 4)), rng.standard_normal(4), 1), {}),
        ((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), 3.5), {}),
        ((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), math.inf), {}),
    ],
)
