"""``inplace=True`` activations, ``threshold`` and ``rrelu``.

An in-place activation writes its result into ``input`` through ``inplace_core.inplace`` (version
bump, ``grad_fn`` rebased, the same tensor returned). Where PyTorch's in-place form has its own
node that differentiates from the result (``EluBackward1``, ``LeakyReluBackward1``,
``ThresholdBackward1``, ...), so has glassgrad's: the node saves the output, and a later in-place
change of it makes backward raise as in PyTorch. Every rule selects (``where``) rather than
multiplying by a 0/1 mask, so an inf or NaN arriving from further down stays out of the zeros.
"""

from __future__ import annotations

import numpy as np

from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result
from glassgrad.ops import _dual as D
from glassgrad.ops.elementwise.unary import keep_inside
from glassgrad.ops.inplace_core import inplace as _inplace
from glassgrad.ops.nn import activation as A
from glassgrad.ops.nn import common as N
from glassgrad.ops.registry import register


def _elu_result_backward(ctx, grad, out):
    # PyTorch's elu_backward(is_result=True): the negative branch's slope is (out + alpha*scale)
    alpha, scale, input_scale = ctx._args
    negative = N.arr(out) <= 0
    return (D.where(negative, grad * (out + scale * alpha) * input_scale, grad * scale),)


EluBackward1 = node_class("EluBackward1", _elu_result_backward, jvp=ELEMENTWISE)
CeluBackward1 = node_class("CeluBackward1", _elu_result_backward, jvp=ELEMENTWISE)


def _elu_out(input, cls, alpha, scale, input_scale):
    data = N.float_data(input)
    negative = scale * alpha * np.expm1(np.where(data > 0, 0, data) * input_scale)
    out = np.where(data > 0, data * scale, negative).astype(data.dtype)
    return result(out, cls, (input,), (OUT,), args=(alpha, scale, input_scale))


def elu_(input, alpha=1.0, scale=1.0, input_scale=1.0, cls=EluBackward1):
    """``elu`` written into ``input`` (``selu_`` and ``celu_`` are elus with other constants)."""
    return _inplace(input, _elu_out, cls, alpha, scale, input_scale)


LeakyReluBackward1 = node_class(
    "LeakyReluBackward1",
    lambda ctx, grad, out: (A._leaky_slope(grad, out, ctx._args),),
    jvp=ELEMENTWISE,
)


def _leaky_out(input, negative_slope):
    data = N.float_data(input)
    out = np.where(data > 0, data, data * negative_slope)
    return result(out, LeakyReluBackward1, (input,), (OUT,), args=negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    """``leaky_relu`` written into ``input``."""
    return _inplace(input, _leaky_out, negative_slope)


def _threshold_rule(ctx, grad, x):
    # PyTorch's threshold_backward: ``x <= threshold ? 0 : grad`` (a NaN input passes grad on)
    return (D.select(~(N.arr(x) <= ctx._args), grad, x),)


ThresholdBackward0 = node_class("ThresholdBackward0", _threshold_rule, jvp=ELEMENTWISE)
ThresholdBackward1 = node_class("ThresholdBackward1", _threshold_rule, jvp=ELEMENTWISE)


def _threshold(input, threshold, value, cls=ThresholdBackward0, saved=None):
    data = input._data
    out = np.where(data <= threshold, np.asarray(value).astype(data.dtype), data)
    return result(out, cls, (input,), saved or (input,), args=threshold)


def threshold(input, threshold, value, inplace=False):
    """``value`` where ``input <= threshold``, else ``input``."""
    if inplace:
        return _inplace(input, _threshold, threshold, value, ThresholdBackward1, (OUT,))
    return _threshold(input, threshold, value)


def threshold_(input, threshold, value):
    """``threshold`` written into ``input``."""
    return _inplace(input, _threshold, threshold, value, ThresholdBackward1, (OUT,))


def _hardtanh_out(input, min_val, max_val):
    # ``input`` is the private copy the in-place machinery made of the tensor before the write:
    # PyTorch saves that clone too, so a later in-place change of the result breaks nothing
    data = N.float_data(input)
    out = keep_inside(np.clip(data, min_val, max_val), data)
    return result(out, A.HardtanhBackward0, (input,), (input,), args=(min_val, max_val))


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """``hardtanh`` written into ``input``."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _inplace(input, _hardtanh_out, min_val, max_val)


def run_inplace(input, outplace, *args):
    """``outplace(input, *args)`` written into ``input`` (hardsigmoid_, silu_, mish_, ...)."""
    return _inplace(input, outplace, *args)


# -- rrelu ---------------------------------------------------------------------------------------
def _rrelu_rule(ctx, grad, x_or_out, noise):
    lower, upper, training = ctx._args
    if training and upper - lower > 1e-6:
        return (grad * noise, None)
    slope = (lower + upper) / 2
    return (A._leaky_slope(grad, x_or_out, slope), None)


RreluWithNoiseBackward0 = node_class(
    "RreluWithNoiseBackward0", lambda ctx, grad, x, noise: _rrelu_rule(ctx, grad, x, noise)[:1]
)
RreluWithNoiseBackward1 = node_class(
    "RreluWithNoiseBackward1", lambda ctx, grad, out, noise: _rrelu_rule(ctx, grad, out, noise)[:1]
)


def _rrelu_out(input, lower, upper, training, cls):
    from glassgrad._batched import ACTIVE as _VMAP
    from glassgrad._random import _rng as _draw_rng

    if _VMAP.levels:  # (PyTorch's vmap has no rule for it, in any randomness mode)
        raise RuntimeError("vmap: we do not yet support aten::rrelu. Please file an issue")
    data = N.float_data(input)
    if training and upper - lower > 1e-6:
        slopes = _draw_rng(None).uniform(lower, upper, data.shape).astype(data.dtype)
        noise = np.where(data > 0, np.ones((), data.dtype), slopes)
    else:
        noise = np.where(data > 0, 1.0, (lower + upper) / 2).astype(data.dtype)
    out = (data * noise).astype(data.dtype)
    first = OUT if cls is RreluWithNoiseBackward1 else input
    return result(out, cls, (input,), (first, noise), args=(lower, upper, training))


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky relu with a random slope from ``[lower, upper]`` for each negative element while
    training, their mean otherwise."""
    if inplace:
        return _inplace(input, _rrelu_out, lower, upper, training, RreluWithNoiseBackward1)
    return _rrelu_out(input, lower, upper, training, RreluWithNoiseBackward0)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """``rrelu`` written into ``input``."""
    return rrelu(input, lower, upper, training, inplace=True)


register("rrelu", rrelu, method=False, samples=A._sample({}))
register(
    "threshold",
    threshold,
    method=False,
    samples=A._sample({"threshold": 0.1, "value": -2}),
    out="cast",
)
