"""The error-function family: ``erfinv``, ``erfc``, ``erfcx``, ``ndtr``, ``ndtri`` and
``log_ndtr`` (``erf`` itself is a unary row in ``elementwise/unary.py``).

Ops that PyTorch has only under ``torch.special`` are registered as ``special_<name>`` with no
Tensor method and no ``glassgrad.<name>``; ``glassgrad.special`` exposes them by their names.
The values are SciPy's (``scipy.special``), computed in float64 and cast to the input's dtype:
they agree with PyTorch's kernels, tails included. ``ndtr`` is built from ``erf`` as PyTorch
builds it (SciPy's keeps more of the far left tail than PyTorch does).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as _sc

from glassgrad import dtypes as _dt
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import shaped
from glassgrad.ops.elementwise.unary import _erf, elementwise, erf
from glassgrad.ops.nn.common import mul_scalar
from glassgrad.ops.registry import register
from glassgrad.ops.special.gamma import _in64

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_HIDDEN = {"method": False, "function": False}  # torch.special only


def _dual(values, op):
    """``values`` on arrays (first-order backward), the recorded op on tensors."""
    return lambda x: values(x) if D._is_array(x) else op(x)


# -- erfinv ----------------------------------------------------------------------------------
def _erfinv64(y):
    return np.where(y == 0, y, _sc.erfinv(y))  # (PyTorch keeps the sign of a zero)


erfinv_values = quiet(_in64(_erfinv64))


def _erfinv_again(x):
    return erfinv_values(np.asarray(x)) if D._is_array(x) else erfinv(x)


erfinv = elementwise(
    "erfinv",
    erfinv_values,
    # PyTorch saves the input and computes erfinv again (changing the result is harmless)
    lambda ctx, grad, x: grad * (math.sqrt(math.pi) / 2) * D.exp(_erfinv_again(x) ** 2),
    "input",
    domain=(-0.9, 0.9),
)


# -- erfc, erfcx -----------------------------------------------------------------------------
erfc_values = quiet(_in64(_sc.erfc))
erfcx_values = quiet(_in64(_sc.erfcx))
erfc = elementwise(
    "erfc",
    erfc_values,
    lambda ctx, grad, x: grad * (-2 / _SQRT_PI) * D.exp(-(x * x)),
    "input",
)


def _erfcx_slope(ctx, grad, x, _result=None):  # (result saved only as PyTorch does)
    return grad * (2 * x * _dual(erfcx_values, special_erfcx)(x) - 2 / _SQRT_PI)


special_erfcx = elementwise(
    "special_erfcx",
    erfcx_values,
    quiet(_erfcx_slope),
    "both",
    grad_fn="SpecialErfcxBackward0",
    domain=(-3.0, 4.0),
    **_HIDDEN,
)


# -- ndtr, log_ndtr, ndtri -------------------------------------------------------------------
AddBackward1 = node_class("AddBackward1", lambda ctx, grad: (grad,), jvp=ELEMENTWISE)


def special_ndtr(input):
    """The standard normal CDF, ``(1 + erf(x / sqrt(2))) / 2``, built as PyTorch builds it."""
    if not _floating(input._data):
        input = input.to(_dt.get_default_dtype())
    shifted = erf(mul_scalar(input, _SQRT_HALF))
    return mul_scalar(result(shifted._data + 1, AddBackward1, (shifted,)), 0.5)


log_ndtr_values = quiet(_in64(_sc.log_ndtr))


def _log_ndtr_slope(ctx, grad, x, _result=None):  # (result saved only as PyTorch does)
    out = _dual(log_ndtr_values, special_log_ndtr)(x)
    return grad / _SQRT_2PI * D.exp(-(out + x * x / 2))


special_log_ndtr = elementwise(
    "special_log_ndtr",
    log_ndtr_values,
    quiet(_log_ndtr_slope),
    "both",
    grad_fn="SpecialLogNdtrBackward0",
    domain=(-4.0, 3.0),
    **_HIDDEN,
)


special_ndtri = elementwise(
    "special_ndtri",
    quiet(_in64(_sc.ndtri)),
    lambda ctx, grad, out: grad * _SQRT_2PI * D.exp(out * out / 2),
    "output",
    grad_fn="SpecialNdtriBackward0",
    domain=(0.05, 0.95),
    **_HIDDEN,
)


# -- the op table ----------------------------------------------------------------------------
register(
    "special_ndtr",
    special_ndtr,
    reference=lambda x: (1 + _erf(x / math.sqrt(2))) / 2,
    any_shape=True,
    samples=shaped(lambda make, shape: [((make(shape, low=-3.0, high=3.0),), {})]),
    **_HIDDEN,
    out={"dtype": "cast", "grad_name": None, "composite": True},
)
