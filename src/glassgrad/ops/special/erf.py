"""The rest of ``torch.special`` on NumPy alone: ``erfc``, ``erfcx``, ``ndtr``, ``ndtri``,
``log_ndtr``, ``entr``, ``xlog1py``, ``mvlgamma`` (``multigammaln``) and ``special.round``.

Ops that PyTorch has only under ``torch.special`` are registered as ``special_<name>`` with no
Tensor method and no ``glassgrad.<name>``; ``glassgrad.special`` exposes them by their names.
The tails keep precision: ``erfc`` and ``erfcx`` use the continued fraction of ``erfc`` for
``|x| >= 2.5`` (``erfcx`` never forms ``e^(x^2)`` there), ``log_ndtr`` works through ``erfcx`` below
-1, and ``ndtri`` solves ``log_ndtr(x) = log(p)`` by Newton's method in both tails.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import scalar_samples, shaped
from glassgrad.ops.elementwise.binary_math import _floats
from glassgrad.ops.elementwise.pointwise import RoundBackward1
from glassgrad.ops.elementwise.unary import _erf, check_kind, elementwise, erf
from glassgrad.ops.nn.common import mul_scalar
from glassgrad.ops.registry import Tensor, node_class, quiet, register, result
from glassgrad.ops.special.gamma import _in64, digamma, digamma_values, erfinv_values, lgamma_values

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_HIDDEN = {"method": False, "function": False}  # torch.special only


def _dual(values, op):
    """``values`` on arrays (first-order backward), the recorded op on tensors."""
    return lambda x: values(x) if D._is_array(x) else op(x)


# -- erfc, erfcx -----------------------------------------------------------------------------
def _cf(t):
    """``1 / (t + (1/2) / (t + (2/2) / (t + ...)))``: ``sqrt(pi) e^(t^2) erfc(t)`` for t >= 2.5."""
    frac = t
    for k in range(100, 0, -1):
        frac = t + (k / 2) / frac
    return 1 / frac


def _erfc64(x):
    t = np.abs(x)
    far = t >= 2.5
    tail = np.exp(-t * t) / _SQRT_PI * _cf(np.where(far, t, 3.0))
    tail = np.where(x < 0, 2 - tail, tail)
    return np.where(far, tail, 1 - _erf(np.where(far, 0.0, x)))


def _erfcx64(x):
    far = x >= 2.5
    near = np.exp(x * x) * _erfc64(np.where(far, 0.0, x))
    return np.where(far, _cf(np.where(far, x, 3.0)) / _SQRT_PI, near)


erfc_values = quiet(_in64(_erfc64))
erfcx_values = quiet(_in64(_erfcx64))
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
AddBackward1 = node_class("AddBackward1", lambda ctx, grad: (grad,))


def special_ndtr(input):
    """The standard normal CDF, ``(1 + erf(x / sqrt(2))) / 2``, built as PyTorch builds it."""
    if input._data.dtype.kind != "f":
        input = input.to(_dt.get_default_dtype())
    shifted = erf(mul_scalar(input, _SQRT_HALF))
    return mul_scalar(result(shifted._data + 1, AddBackward1, (shifted,)), 0.5)


def _log_ndtr64(x):
    low = x < -1
    below = np.log(_erfcx64(np.where(low, -x * _SQRT_HALF, 0.0)) / 2) - x * x / 2
    return np.where(low, below, np.log1p(-_erfc64(np.where(low, 0.0, x * _SQRT_HALF)) / 2))


log_ndtr_values = quiet(_in64(_log_ndtr64))


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


def _ndtri_tail(p):
    """``x`` with ``ndtr(x) = p`` for ``0 < p < 0.02``: Newton on ``log_ndtr(x) = log(p)``."""
    goal = np.log(p)
    y = -2 * goal
    x = -np.sqrt(y - np.log(y) - math.log(2 * math.pi))  # the tail's asymptotic inverse
    for _ in range(8):
        value = _log_ndtr64(x)
        # d/dx log_ndtr(x) = exp(-x^2/2 - log_ndtr(x)) / sqrt(2 pi), exact in the tail
        x = x - (value - goal) * _SQRT_2PI * np.exp(x * x / 2 + value)
    return x


def _ndtri64(p):
    inside = (p > 0) & (p < 1)
    q = np.where(inside, p, 0.5)
    upper = q > 0.5
    tail_p = np.where(upper, 1 - q, q)  # exact: Sterbenz
    tail = tail_p < 0.02
    central = math.sqrt(2) * erfinv_values(2 * q - 1)
    far = _ndtri_tail(np.where(tail, tail_p, 0.01))
    x = np.where(tail, np.where(upper, -far, far), central)
    edge = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, np.nan))
    return np.where(inside, x, edge)


special_ndtri = elementwise(
    "special_ndtri",
    quiet(_in64(_ndtri64)),
    lambda ctx, grad, out: grad * _SQRT_2PI * D.exp(out * out / 2),
    "output",
    grad_fn="SpecialNdtriBackward0",
    domain=(0.05, 0.95),
    **_HIDDEN,
)


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


# -- mvlgamma (multigammaln) -----------------------------------------------------------------
def _mvlgamma_slope(ctx, grad, x):
    psi = _dual(digamma_values, digamma)
    # x + (-i / 2) as PyTorch adds its offsets: -0.0 + 0.0 is +0.0, where digamma is -inf
    return grad * sum(psi(x + (-i / 2)) for i in range(ctx._args))


MvlgammaBackward0 = node_class(
    "MvlgammaBackward0", lambda ctx, grad, x: (_mvlgamma_slope(ctx, grad, x),), jvp=ELEMENTWISE
)


def _mvlgamma_values(x, p):
    total = sum(lgamma_values(x - x.dtype.type(i / 2)) for i in range(p))
    return (total + x.dtype.type(p * (p - 1) / 4 * math.log(math.pi))).astype(x.dtype, copy=False)


def mvlgamma(input, p):
    """The multivariate log-gamma function of dimension ``p``."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    data = check_kind("mvlgamma", input._data, "float")
    return result(_mvlgamma_values(data, p), MvlgammaBackward0, (input,), (input,), args=p)


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
    "special_ndtr",
    special_ndtr,
    reference=lambda x: (1 + _erf(x / math.sqrt(2))) / 2,
    any_shape=True,
    samples=shaped(lambda make, shape: [((make(shape, low=-3.0, high=3.0),), {})]),
    **_HIDDEN,
    out={"dtype": "cast", "grad_name": None, "composite": True},
)
register(
    "mvlgamma",
    mvlgamma,
    samples=shaped(
        lambda make, shape: [
            ((make(shape, low=0.3, high=4.0), 1), {}),
            ((make(shape, low=1.3, high=4.0), 3), {}),
        ]
    ),
    reference=lambda x, p: _mvlgamma_values(x, p),
    any_shape=True,
    out="mvlgamma",
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
