"""Running and integrating reductions: ``logcumsumexp`` (a primitive, for stability), and the
trapezoid rule ``trapezoid``/``trapz``/``cumulative_trapezoid``, built from slices, sums and
cumsums as PyTorch builds them (so their ``grad_fn`` chains match)."""

from __future__ import annotations

import numpy as np

from glassgrad._bfloat16 import differentiable as _differentiable
from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result
from glassgrad.ops import _dual as D
from glassgrad.ops.nn.common import div_scalar, mul_scalar
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, _wrap_dim


# -- logcumsumexp ----------------------------------------------------------------------------
@D.on_tensors
def _logcumsumexp_backward(ctx, grad, input, out):
    # PyTorch's rule: the positive and negative parts of grad in log space, each through a
    # reversed logcumsumexp (exact where grad would under- or overflow)
    dim = ctx._args
    lowest = np.finfo(grad._data.dtype).min
    floor = grad.new_full((), lowest)
    log_abs = grad.abs().log()
    positive = log_abs.where(grad > 0, floor)
    negative = log_abs.where(grad < 0, floor)

    def reverse(x):
        return logcumsumexp(x.flip(dim), dim).flip(dim)

    return ((reverse(positive - out) + input).exp() - (reverse(negative - out) + input).exp(),)


def _logcumsumexp_jvp(ctx, tangent):
    # PyTorch's: cumsum(exp(x - max) * t) / cumsum(exp(x - max)), max over dim
    input, dim = ctx.inputs[0], ctx.args
    shifted = (input - input.amax(dim, keepdim=True)).exp() if input.numel() else input.exp()
    return (shifted * tangent).cumsum(dim) / shifted.cumsum(dim)


LogcumsumexpBackward0 = node_class(
    "LogcumsumexpBackward0", _logcumsumexp_backward, jvp=_logcumsumexp_jvp
)


def logcumsumexp(input, dim):
    """``log(cumsum(exp(input), dim))``, computed without overflow."""
    data = input._data
    if not _differentiable(data):
        raise NotImplementedError(
            f"\"logcumsumexp_out_cpu\" not implemented for '{_C_TYPES[input.dtype.name]}'"
        )
    dim = _wrap_dim(dim, data.ndim)
    with np.errstate(invalid="ignore"):
        out = np.logaddexp.accumulate(data, axis=dim) if data.ndim else data.copy()
    return result(out, LogcumsumexpBackward0, (input,), saved=(input, OUT), args=dim)


# -- the trapezoid rule ------------------------------------------------------------------------
def _pairs(y, dim):
    """``y``'s neighbours along ``dim`` added: the heights of the trapezoids."""
    n = y.shape[dim]
    return y.narrow(dim, 1, n - 1) + y.narrow(dim, 0, n - 1)


def _widths(x, y, dim, name):
    """The spacing ``x``'s neighbours give, shaped to broadcast against ``y``."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[dim]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        shape = [1] * y.ndim
        shape[dim] = x.shape[0]
        x = x.view(shape)
    n = x.shape[dim]
    return x.narrow(dim, 1, n - 1) - x.narrow(dim, 0, n - 1)


def _spacing(dx):
    return dx.item() if isinstance(dx, Tensor) else dx


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The integral of ``y`` along ``dim`` by the trapezoid rule, at points ``x`` or spaced
    ``dx`` apart (1 by default)."""
    dim = _wrap_dim(dim, y.ndim)
    if isinstance(x, Tensor):
        if y.shape[dim] == 0:
            return _zeros_without(y, dim)
        widths = _widths(x, y, dim, "trapezoid")
        return div_scalar((_pairs(y, dim) * widths).sum(dim), 2.0)
    dx = _spacing(x if x is not None else dx if dx is not None else 1)
    if y.shape[dim] == 0:
        return _zeros_without(y, dim)
    ends = y.select(dim, 0) + y.select(dim, -1)
    return mul_scalar(y.sum(dim) - mul_scalar(ends, 0.5), dx)


def _zeros_without(y, dim):
    from glassgrad.creation import zeros

    shape = [n for d, n in enumerate(y.shape) if d != dim]
    dtype = y.dtype if y.is_floating_point() else None
    return zeros(shape, dtype=dtype)


def trapz(y, x=None, *, dx=None, dim=-1):
    """``trapezoid`` (its older name)."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running integral of ``y`` along ``dim`` by the trapezoid rule (one fewer element)."""
    dim = _wrap_dim(dim, y.ndim)
    if isinstance(x, Tensor):
        widths = _widths(x, y, dim, "cumulative_trapezoid")
        return div_scalar((_pairs(y, dim) * widths).cumsum(dim), 2.0)
    dx = _spacing(x if x is not None else dx if dx is not None else 1)
    if y.shape[dim] == 0:
        return y.narrow(dim, 0, 0) * 1.0
    return mul_scalar(_pairs(y, dim), dx / 2.0).cumsum(dim)


def _ref_logcumsumexp(x, dim):
    return np.log(np.cumsum(np.exp(x), axis=dim))


def _ref_trapezoid(y, x=None, *, dx=1.0, dim=-1):
    return np.trapezoid(y, x, dx=dx, axis=dim)


def _ref_cumulative(y, x=None, *, dx=1.0, dim=-1):
    from scipy.integrate import cumulative_trapezoid as integrate

    return integrate(y, x, dx=dx, axis=dim)


register(
    "logcumsumexp",
    logcumsumexp,
    reference=_ref_logcumsumexp,
    samples=lambda rng: [
        ((rng.standard_normal((3, 4)), 1), {}),
        ((rng.standard_normal((3, 4)), 0), {}),
        ((rng.standard_normal(5) * 3, 0), {}),
    ],
)


def _trapezoid_samples(rng):
    return [
        ((rng.standard_normal((3, 4)),), {}),
        ((rng.standard_normal((3, 4)),), {"dx": 0.5, "dim": 0}),
        ((rng.standard_normal((3, 4)), np.sort(rng.standard_normal(4))), {}),
        ((rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), {"dim": 0}),
    ]


for _name, _fn, _ref in (
    ("trapezoid", trapezoid, _ref_trapezoid),
    ("trapz", trapz, _ref_trapezoid),
    ("cumulative_trapezoid", cumulative_trapezoid, _ref_cumulative),
):
    register(_name, _fn, method=False, reference=_ref, samples=_trapezoid_samples)
