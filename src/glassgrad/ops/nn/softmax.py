"""The softmax family: ``softmax``, ``log_softmax``, ``softmin`` and the safe softmax of attention.

``softmax`` and ``log_softmax`` are primitives: computing ``log(softmax(x))`` in two steps loses
everything below ``exp(-88)`` in float32, so ``log_softmax`` is fused and shifted by the row
maximum. ``nll_loss`` and ``cross_entropy`` (built on ``log_softmax``) are in ``loss/nll.py``.
"""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad._batched import c_order
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.tensor import _wrap_dim

_OUT = (OUT,)


# -- softmax family ----------------------------------------------------------------------------
def _softmax_dim(name, ndim, dim, stacklevel=4):
    if dim is None:
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the "
            "call to include dim=X as an argument.",
            UserWarning,
            stacklevel=stacklevel,
        )
        dim = 0 if ndim in (0, 1, 3) else 1
    return _wrap_dim(dim, ndim)  # a 0-d tensor takes dim 0 or -1


def _cast(input, dtype, kernel="softmax", dim=-1):
    if dtype is not None:
        input = input.to(dtype)
    if not _floating(input._data):
        last = "_lastdim" if dim in (-1, input._data.ndim - 1) or not input._data.ndim else ""
        raise NotImplementedError(
            f"\"{kernel}{last}_kernel_impl\" not implemented for '{input.dtype._legacy[:-6]}'"
        )
    return input


SoftmaxBackward0 = node_class(
    "SoftmaxBackward0",
    lambda ctx, grad, out: (out * (grad - D.sum_dims(grad * out, ctx._args, True)),),
    jvp=lambda ctx, t: ctx.output * (t - (t * ctx.output).sum(dim=ctx.args, keepdim=True)),
)


def _log_softmax_backward(ctx, grad, out):
    """``grad - exp(out) * sum(grad)``; on plain arrays in one buffer (three fewer passes that
    allocate, which matter on a language model's (tokens, vocabulary) logits)."""
    total = D.sum_dims(grad, ctx._args, True)
    if out.__class__ is np.ndarray and grad.__class__ is np.ndarray and out.dtype == grad.dtype:
        scratch = np.exp(out)
        np.multiply(scratch, total, out=scratch)
        return (np.subtract(grad, scratch, out=scratch),)
    return (grad - D.exp(out) * total,)


LogSoftmaxBackward0 = node_class(
    "LogSoftmaxBackward0",
    _log_softmax_backward,
    jvp=lambda ctx, t: t - (t * ctx.output.exp()).sum(dim=ctx.args, keepdim=True),
)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``, shifted by the maximum so it never overflows."""
    dim = _softmax_dim("softmax", input._data.ndim, dim)
    input = _cast(input, dtype, "softmax", dim)
    data = input._data
    shifted = np.exp(data - data.max(axis=dim, keepdims=True)) if data.size else data
    # (NumPy keeps a transposed input's layout; PyTorch's result is contiguous)
    out = c_order(shifted / shifted.sum(axis=dim, keepdims=True))
    return result(out, SoftmaxBackward0, (input,), _OUT, args=dim)


SafeSoftmaxBackward0 = node_class(
    "SafeSoftmaxBackward0",
    lambda ctx, grad, out: (out * (grad - D.sum_dims(grad * out, ctx._args, True)),),
    jvp=lambda ctx, t: ctx.output * (t - (t * ctx.output).sum(dim=ctx.args, keepdim=True)),
)


def _safe_softmax(input, dim, dtype=None):
    """``softmax`` that gives zeros, not NaN, along rows that are all ``-inf`` (fully masked)."""
    input = _cast(input, dtype)
    data = input._data
    dim = _wrap_dim(dim, max(data.ndim, 1)) if data.ndim else 0
    if not data.size:
        return result(data.copy(), SafeSoftmaxBackward0, (input,), _OUT, args=dim)
    top = data.max(axis=dim, keepdims=True)
    masked = np.isneginf(top)
    with np.errstate(invalid="ignore"):
        shifted = np.exp(data - np.where(masked, 0, top))
        out = shifted / shifted.sum(axis=dim, keepdims=True)
    out = c_order(np.where(masked, 0, out).astype(data.dtype, copy=False))
    return result(out, SafeSoftmaxBackward0, (input,), _OUT, args=dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``x - logsumexp(x)`` along ``dim``, fused for stability (see the module docstring)."""
    dim = _softmax_dim("log_softmax", input._data.ndim, dim)
    input = _cast(input, dtype, "log_softmax", dim)
    data = input._data
    if data.size:
        out = data - data.max(axis=dim, keepdims=True)
        total = np.exp(out).sum(axis=dim, keepdims=True)
        out -= np.log(total)  # (in place: one array of the input's size less)
    else:
        out = data.copy()
    out = c_order(out)  # (contiguous, as PyTorch's)
    return result(out, LogSoftmaxBackward0, (input,), _OUT, args=dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-x)``."""
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, None)
    return softmax(-_cast(input, dtype), dim)


def _dim_samples(rng):
    return [
        ((rng.standard_normal((3, 4)),), {"dim": 1}),
        ((rng.standard_normal((2, 3)),), {"dim": 0}),
    ]


def _np_softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


register(
    "softmax",
    softmax,
    reference=_np_softmax,
    samples=_dim_samples,
    out={
        "dtype": "expected",
        "grad_name": None,
        "out_grad_name": "aten::softmax",
        "composite": True,
    },
)
register(
    "_safe_softmax",
    _safe_softmax,
    method=False,
    reference=_np_softmax,
    samples=_dim_samples,
    edge_samples=lambda rng: [
        ((np.array([[1.0, 2.0, -np.inf], [-np.inf, -np.inf, -np.inf]]),), {"dim": 1}),
        ((np.array([[-np.inf, 0.5], [-np.inf, -np.inf], [3.0, 1.0]]),), {"dim": 0}),
    ],
)
register(
    "log_softmax",
    log_softmax,
    reference=lambda x, dim: np.log(_np_softmax(x, dim)),
    samples=_dim_samples,
    out={
        "dtype": "expected",
        "grad_name": None,
        "out_grad_name": "aten::log_softmax",
        "composite": True,
    },
)
register(
    "softmin",
    softmin,
    method=False,
    function=False,
    reference=lambda x, dim: _np_softmax(-x, dim),
    samples=_dim_samples,
)


def gumbel_softmax(logits, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1):
    """A sample from the Gumbel-softmax distribution; ``hard`` gives a one-hot sample whose
    gradient is the soft sample's (straight through), built from the same ops as PyTorch's."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -logits.new_empty(logits.shape).exponential_().log()
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = logits.new_zeros(logits.shape).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
