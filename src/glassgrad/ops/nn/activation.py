"""Activation functions, each PyTorch's primitive with its own ``grad_fn`` (``EluBackward0``, ...).

Every rule multiplies ``grad`` by the local derivative written with operations that exist on
arrays and tensors, so double backward records itself. Masks (``x > 0``) are computed on the
array: they are constant, so differentiating through them would add nothing.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.elementwise.unary import keep_inside
from glassgrad.ops.nn import common as N
from glassgrad.ops.registry import register

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _in_place():
    """The in-place forms (``ops.activation_inplace``, which builds on this module)."""
    from glassgrad.ops.nn import activation_inplace

    return activation_inplace


def _op(cls, input, out, saved=True):
    return result(out, cls, (input,), (input,) if saved else None)


def _sample(*kwargs):
    """Samples for the op table: a random (2, 3) input with each set of keyword arguments."""
    return lambda rng: [((rng.standard_normal((2, 3)),), dict(k)) for k in (kwargs or ({},))]


# -- hardtanh / relu6 --------------------------------------------------------------------------
def _hardtanh_backward(ctx, grad, x):
    # PyTorch's hardtanh_backward: 0 at and beyond the bounds, grad elsewhere (NaN included)
    xa = N.arr(x)
    inside = ~((xa <= ctx._args[0]) | (xa >= ctx._args[1]))
    return (D.select(inside, grad, x, "HardtanhBackwardBackward0"),)


HardtanhBackward0 = node_class("HardtanhBackward0", _hardtanh_backward, jvp=ELEMENTWISE)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Clamp to ``[min_val, max_val]``; gradient 1 strictly inside."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return _in_place().hardtanh_(input, min_val, max_val)
    data = N.float_data(input)
    clipped = np.clip(data, min_val, max_val).astype(data.dtype, copy=False)  # (bfloat16)
    out = keep_inside(clipped, data)
    return result(out, HardtanhBackward0, (input,), (input,), args=(min_val, max_val))


def relu6(input, inplace=False):
    """``min(max(0, x), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


# -- leaky_relu, elu family ----------------------------------------------------------------------
def _leaky_slope(grad, x_or_out, negative_slope):
    """``grad`` where positive, ``grad * negative_slope`` elsewhere (NaN: the latter)."""
    positive = N.arr(x_or_out) > 0
    if D._is_array(grad):
        return np.where(positive, grad, grad * negative_slope)
    scale = np.where(positive, 1.0, negative_slope).astype(N.arr(x_or_out).dtype)
    return D.select(np.ones_like(positive), grad * scale, x_or_out, "LeakyReluBackwardBackward0")


LeakyReluBackward0 = node_class(
    "LeakyReluBackward0", lambda ctx, grad, x: (_leaky_slope(grad, x, ctx._args),), jvp=ELEMENTWISE
)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    if inplace:
        return _in_place().leaky_relu_(input, negative_slope)
    data = N.float_data(input)
    out = np.where(data > 0, data, data * negative_slope)
    return result(out, LeakyReluBackward0, (input,), (input,), args=negative_slope)


def _elu_backward(ctx, grad, x):
    alpha, scale, input_scale = ctx._args
    xa = N.arr(x)
    # the exponential of the negative part only: a large positive x (or inf) would overflow in the
    # branch ``where`` drops, and 0 * inf would come back from it as NaN in double backward
    negative = D.where(xa < 0, x, D.zeros_like(x))
    slope = D.exp(negative * input_scale) * (scale * alpha * input_scale)
    # at exactly 0 the slope is the negative branch's, but constant (PyTorch's double backward)
    flat = np.where(xa == 0, scale * alpha * input_scale, scale).astype(xa.dtype)
    return (grad * D.where(xa < 0, slope, D.zeros_like(slope) + flat),)


EluBackward0 = node_class("EluBackward0", _elu_backward, jvp=ELEMENTWISE)
CeluBackward0 = node_class("CeluBackward0", _elu_backward, jvp=ELEMENTWISE)


def _elu(cls, input, alpha, scale, input_scale):
    data = N.float_data(input)
    negative = scale * alpha * np.expm1(np.where(data > 0, 0, data) * input_scale)
    out = np.where(data > 0, data * scale, negative).astype(data.dtype)
    return result(out, cls, (input,), (input,), args=(alpha, scale, input_scale))


def elu(input, alpha=1.0, inplace=False):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    if inplace:
        return _in_place().elu_(input, alpha)
    return _elu(EluBackward0, input, alpha, 1.0, 1.0)


def selu(input, inplace=False):
    """Scaled ELU with the self-normalising constants."""
    if inplace:
        return _in_place().elu_(input, _SELU_ALPHA, _SELU_SCALE)
    return _elu(EluBackward0, input, _SELU_ALPHA, _SELU_SCALE, 1.0)


def celu(input, alpha=1.0, inplace=False):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if inplace:
        module = _in_place()
        return module.elu_(input, alpha, 1.0, 1.0 / alpha, module.CeluBackward1)
    return _elu(CeluBackward0, input, alpha, 1.0, 1.0 / alpha)


# -- gelu, silu, mish ----------------------------------------------------------------------------
def _gelu_backward(ctx, grad, x, cdf=None):
    if ctx._args == "tanh":
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        t = N.tanh(inner)
        d_inner = (x * x * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
        return (grad * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * d_inner),)
    if cdf is None or not D._is_array(x):  # (on tensors, recomputed so it is differentiable)
        cdf = (N.erf(x * (1 / math.sqrt(2.0))) + 1) * 0.5
    elif D._is_array(grad) and grad.shape == x.shape:  # first order: in place, one buffer
        slope = x * x
        slope *= -0.5
        np.exp(slope, out=slope)
        slope *= x
        slope *= _INV_SQRT_2PI
        slope += cdf
        slope *= grad
        return (slope,)
    pdf = D.exp(x * x * -0.5) * _INV_SQRT_2PI
    return (grad * (cdf + x * pdf),)


GeluBackward0 = node_class("GeluBackward0", _gelu_backward, jvp=ELEMENTWISE)


def gelu(input, approximate="none"):
    """``x * Phi(x)``; ``approximate='tanh'`` uses the tanh formula."""
    data = N.float_data(input)
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (data + 0.044715 * data * data * data)
        out = 0.5 * data * (1 + np.tanh(inner))
    elif approximate == "none":
        # Phi(x) is kept for the first-order backward, which would otherwise compute erf again
        # (erf is most of GELU's time)
        scaled = data * (1 / math.sqrt(2.0))
        if scaled.dtype.type is np.float32 and scaled.ndim:
            one_plus_erf = N.erf_float32(scaled)
            one_plus_erf += N.ONE32
        else:
            one_plus_erf = N.erf(scaled) + 1
        out = data * 0.5 * one_plus_erf  # (PyTorch's order of products)
        cdf = one_plus_erf * 0.5
        return result(
            out.astype(data.dtype, copy=False),
            GeluBackward0,
            (input,),
            (input, cdf),
            args=approximate,
        )
    else:
        raise RuntimeError("approximate argument must be either none or tanh.")
    return result(out.astype(data.dtype), GeluBackward0, (input,), (input,), args=approximate)


def _silu_backward(ctx, grad, x):
    s = N.sigmoid(x)
    return (grad * s * (x * (1 - s) + 1),)


SiluBackward0 = node_class("SiluBackward0", _silu_backward, jvp=ELEMENTWISE)


def silu(input, inplace=False):
    """``x * sigmoid(x)``."""
    if inplace:
        return _in_place().run_inplace(input, silu)
    data = N.float_data(input)
    return _op(SiluBackward0, input, data * N.np_sigmoid(data))


def _mish_backward(ctx, grad, x):
    t = N.tanh(N.softplus(x))
    return (grad * (t + x * N.sigmoid(x) * (1 - t * t)),)


MishBackward0 = node_class("MishBackward0", _mish_backward, jvp=ELEMENTWISE)


def mish(input, inplace=False):
    """``x * tanh(softplus(x))``."""
    if inplace:
        return _in_place().run_inplace(input, mish)
    data = N.float_data(input)
    return _op(MishBackward0, input, data * np.tanh(N.np_softplus(data)))


# -- softplus, logsigmoid, hardsigmoid, hardswish ------------------------------------------------
def _softplus_backward(ctx, grad, x):
    beta, threshold = ctx._args
    linear = N.arr(x) * beta > threshold
    s = N.sigmoid(x * beta)
    return (grad * D.where(linear, D.zeros_like(s) + 1, s),)


SoftplusBackward0 = node_class("SoftplusBackward0", _softplus_backward, jvp=ELEMENTWISE)


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""
    data = N.float_data(input)
    scaled = data * beta
    out = np.where(scaled > threshold, data, N.np_softplus(scaled) / beta).astype(data.dtype)
    return result(out, SoftplusBackward0, (input,), (input,), args=(beta, threshold))


LogSigmoidBackward0 = node_class(
    "LogSigmoidBackward0", lambda ctx, grad, x: (grad * N.sigmoid(-x),), jvp=ELEMENTWISE
)


def logsigmoid(input):
    """``log(sigmoid(x))``, computed as ``-softplus(-x)`` so it never overflows."""
    return _op(LogSigmoidBackward0, input, -N.np_softplus(-N.float_data(input)))


HardsigmoidBackward0 = node_class(
    "HardsigmoidBackward0",
    lambda ctx, grad, x: (D.select((N.arr(x) > -3) & (N.arr(x) < 3), grad * (1 / 6)),),
    jvp=ELEMENTWISE,
)


def hardsigmoid(input, inplace=False):
    """``relu6(x + 3) / 6``."""
    if inplace:
        return _in_place().run_inplace(input, hardsigmoid)
    data = N.float_data(input)
    return _op(HardsigmoidBackward0, input, (np.clip(data + 3, 0, 6) / 6).astype(data.dtype))


def _hardswish_backward(ctx, grad, x):
    xa = N.arr(x)
    # PyTorch's kernel: 0 up to -3 (included), the ramp's slope below 3, grad from 3 on (NaN too)
    middle = grad * (x * (1 / 3) + 0.5)
    return (D.where(xa <= -3, D.zeros_like(middle), D.where(xa < 3, middle, grad)),)


HardswishBackward0 = node_class("HardswishBackward0", _hardswish_backward, jvp=ELEMENTWISE)


def hardswish(input, inplace=False):
    """``x * relu6(x + 3) / 6``."""
    if inplace:
        return _in_place().run_inplace(input, hardswish)
    data = N.float_data(input)
    return _op(HardswishBackward0, input, (data * np.clip(data + 3, 0, 6) / 6).astype(data.dtype))


# -- composites ---------------------------------------------------------------------------------
def softsign(input):
    """``x / (1 + |x|)``."""
    return input / (input.abs() + 1)


def tanhshrink(input):
    """``x - tanh(x)``."""
    return input - input.tanh()


# -- prelu, glu ---------------------------------------------------------------------------------
def _prelu_backward(ctx, grad, x, weight):
    positive = N.arr(x) > 0
    grad_x = grad * D.where(positive, D.zeros_like(weight) + 1, weight)
    grad_w = grad * D.where(positive, D.zeros_like(x), x)
    return grad_x, grad_w


PreluKernelBackward0 = node_class("PreluKernelBackward0", _prelu_backward)


def prelu(input, weight):
    """``x`` where positive, ``weight * x`` elsewhere (``weight``: one value or one per channel)."""
    if weight.ndim != 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}"
        )
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(
            f"prelu: Type promoting not supported. Got {_C_TYPES[input.dtype.name]} and "
            f"{_C_TYPES[weight.dtype.name]}"
        )
    count = weight.shape[0]
    if input.ndim > 1 and count > 1:
        shape = [1] * input.ndim
        shape[1] = count
        weight = weight.reshape(shape)
    data = input._data
    out = np.where(data > 0, data, data * weight._data)
    return result(out, PreluKernelBackward0, (input, weight), (input, weight))


def _glu_backward(ctx, grad, x):
    dim = ctx._args
    half = x.shape[dim] // 2
    a, b = _halves(x, dim, half)
    s = N.sigmoid(b)
    return (_cat((grad * s, grad * a * s * (1 - s)), dim),)


GluBackward0 = node_class("GluBackward0", _glu_backward)


def _halves(x, dim, half):
    index = [slice(None)] * x.ndim
    first, second = list(index), list(index)
    first[dim], second[dim] = slice(0, half), slice(half, None)
    return x[tuple(first)], x[tuple(second)]


def _cat(parts, dim):
    if all(D._is_array(p) for p in parts):
        return np.concatenate(parts, axis=dim)
    from glassgrad.ops.registry import OPS

    return OPS["cat"].fn(list(parts), dim)


def glu(input, dim=-1):
    """``a * sigmoid(b)`` where ``a`` and ``b`` are the halves of ``input`` along ``dim``."""
    data = input._data
    if data.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    dim = dim % data.ndim
    if data.shape[dim] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim} is size {data.shape[dim]}"
        )
    a, b = _halves(data, dim, data.shape[dim] // 2)
    return result(a * N.np_sigmoid(b), GluBackward0, (input,), (input,), args=dim)


_FUNCTIONAL = (
    ("hardtanh", hardtanh, _sample({}, {"min_val": -0.5, "max_val": 0.7})),
    ("relu6", relu6, None),
    ("leaky_relu", leaky_relu, _sample({}, {"negative_slope": 0.2})),
    ("elu", elu, _sample({}, {"alpha": 0.5})),
    ("gelu", gelu, _sample({}, {"approximate": "tanh"})),
    ("silu", silu, None),
    ("mish", mish, None),
    ("softplus", softplus, _sample({}, {"beta": 2.0, "threshold": 1.0})),
    ("logsigmoid", logsigmoid, None),
    ("hardsigmoid", hardsigmoid, None),
    ("hardswish", hardswish, None),
    ("softsign", softsign, None),
    ("tanhshrink", tanhshrink, None),
    ("glu", glu, lambda rng: [((rng.standard_normal((2, 4)),), {})]),
)
# PyTorch has no derivative for hardsigmoid_backward: a second derivative raises
_FIRST_ORDER_ONLY = {"hardsigmoid"}
for _name, _fn, _samples in _FUNCTIONAL:
    register(
        _name,
        _fn,
        method=False,
        function=False,
        samples=_samples or _sample(),
        second_order=_name not in _FIRST_ORDER_ONLY,
    )
# PyTorch has these as ``torch.<name>`` (and ``prelu`` as a method too)
register("selu", selu, method=False, samples=_sample())
register("celu", celu, method=False, samples=_sample({}, {"alpha": 2.0}))
register(
    "prelu",
    prelu,
    nin=2,
    samples=lambda rng: [
        ((rng.standard_normal((2, 3, 4)), np.array([0.25, -0.5, 0.1])), {}),
        ((rng.standard_normal((2, 3)), np.array([0.3])), {}),
    ],
)
