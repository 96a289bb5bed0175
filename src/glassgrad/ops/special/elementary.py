"""Elementary special functions on NumPy alone: ``sinc``, ``special.entr``, ``special.xlog1py``
and ``special.round``.

Ops that PyTorch has only under ``torch.special`` are registered as ``special_<name>`` with no
Tensor method and no ``glassgrad.<name>``; ``glassgrad.special`` exposes them by their names.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad._batched import as_data
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import scalar_samples, shaped
from glassgrad.ops.elementwise.binary_math import _floats
from glassgrad.ops.elementwise.pointwise import RoundBackward1
from glassgrad.ops.elementwise.unary import check_kind, elementwise
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor

_HIDDEN = {"method": False, "function": False}  # torch.special only


# -- sinc ------------------------------------------------------------------------------------
def _sinc(x):
    scaled = math.pi * np.where(x == 0, 1.0, x)
    return np.where(x == 0, 1.0, np.sin(scaled) / scaled).astype(x.dtype, copy=False)


def _sinc_backward(ctx, grad, x):
    # PyTorch: (pi x cos(pi x) - sin(pi x)) / (pi x^2), 0 at x = 0
    scaled = x * math.pi
    slope = (scaled * D.call("cos", scaled) - D.call("sin", scaled)) / (scaled * x)
    return D.select(~(_array(x) == 0), grad * slope)


def _array(x):
    return x if D._is_array(x) else x._data


sinc = elementwise("sinc", quiet(_sinc), quiet(_sinc_backward), "input")


# -- entr, xlog1py ---------------------------------------------------------------------------
def _entr(x):
    positive = x > 0
    safe = np.where(positive, x, 1.0)
    values = np.where(positive, -safe * np.log(safe), np.where(x == 0, 0.0, -np.inf))
    return np.where(np.isnan(x), x, values).astype(x.dtype, copy=False)


special_entr = elementwise(
    "special_entr",
    quiet(_entr),
    quiet(lambda ctx, grad, x: grad * -(1 + D.log(x))),
    "input",
    grad_fn="SpecialEntrBackward0",
    domain=(0.2, 3.0),
    **_HIDDEN,
)


def _xlog1py_values(x, y):
    with np.errstate(all="ignore"):
        values = np.where(np.isnan(y), np.nan, np.where(x == 0, 0.0, x * np.log1p(y)))
    return values.astype(np.result_type(x, y), copy=False)


def _xlog1py_self(grad, y):
    # PyTorch's formula is grad * log1p(y), with no mask where x is 0 (unlike xlogy)
    return grad * D.call("log1p", y)


SpecialXlog1PyBackward0 = node_class(
    "SpecialXlog1PyBackward0",
    quiet(lambda ctx, grad, x, y: (_xlog1py_self(grad, y), grad * x / (y + 1))),
    jvp=ELEMENTWISE,
)
SpecialXlog1PyBackward1 = node_class(
    "SpecialXlog1PyBackward1",
    quiet(lambda ctx, grad, y: (grad * ctx._args / (y + 1),)),
    jvp=ELEMENTWISE,
)
SpecialXlog1PyBackward2 = node_class(
    "SpecialXlog1PyBackward2",
    quiet(lambda ctx, grad, x: (_xlog1py_self(grad, np.float64(ctx._args)),)),
    jvp=ELEMENTWISE,
)


def special_xlog1py(input, other):
    """``input * log1p(other)``, 0 where ``input`` is 0 (unless ``other`` is nan)."""
    if not isinstance(input, Tensor):  # a number times log1p of a tensor
        ad, bd = _floats("xlog1py", other, input, integers="float")
        values = _xlog1py_values(np.asarray(bd, ad.dtype), ad)
        return result(values, SpecialXlog1PyBackward1, (other,), (other,), args=input)
    ad, bd = _floats("xlog1py", input, other, integers="float")
    values = _xlog1py_values(ad, as_data(bd, ad.dtype))
    if not isinstance(other, Tensor):
        return result(values, SpecialXlog1PyBackward2, (input,), (input,), args=other)
    return result(values, SpecialXlog1PyBackward0, (input, other), (input, other))


def special_round(input, *, decimals=0):
    """Round half to even; PyTorch's ``special.round`` is always its ``decimals`` overload."""
    data = check_kind("round", input._data, "floatonly", "round_vml_cpu")
    return result(np.round(data, decimals), RoundBackward1, (input,))


# -- the op table ----------------------------------------------------------------------------
def _xlog1py_samples(make, shape):
    zeros = np.where(make(shape) > 0, make(shape), 0.0)  # x == 0 exercises the mask
    return scalar_samples(make, shape, -0.5, 2.0) + [((zeros, make(shape, low=-0.5)), {})]


register(
    "special_xlog1py",
    special_xlog1py,
    nin=2,
    samples=shaped(_xlog1py_samples),
    reference=lambda x, y: _xlog1py_values(np.asarray(x), np.asarray(y)),
    any_shape=True,
    **_HIDDEN,
    out="cast",
)
register(
    "special_round",
    special_round,
    samples=shaped(lambda make, shape: [((make(shape, low=-3.0, high=3.0),), {"decimals": 1})]),
    reference=lambda x, decimals=0: np.round(x, decimals),
    any_shape=True,
    **_HIDDEN,
    out={"dtype": "same", "grad_name": "round"},
)
