"""The error-function family on NumPy alone: ``erfinv``, ``erfc``, ``erfcx``, ``ndtr``, ``ndtri``
and ``log_ndtr`` (``erf`` itself is a unary row in ``elementwise/unary.py``).

Ops that PyTorch has only under ``torch.special`` are registered as ``special_<name>`` with no
Tensor method and no ``glassgrad.<name>``; ``glassgrad.special`` exposes them by their names.
The tails keep precision: ``erfc`` and ``erfcx`` use the continued fraction of ``erfc`` for
``|x| >= 2.5`` (``erfcx`` never forms ``e^(x^2)`` there), ``log_ndtr`` works through ``erfcx`` below
-1, and ``ndtri`` solves ``log_ndtr(x) = log(p)`` by Newton's method in both tails. ``erfinv``
starts from Giles' single-precision polynomial (relative error ~1e-7) and takes two Newton steps
on this library's double-precision ``erf``.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import shaped
from glassgrad.ops.elementwise.unary import _erf, elementwise, erf
from glassgrad.ops.nn.common import mul_scalar
from glassgrad.ops.registry import node_class, quiet, register, result
from glassgrad.ops.special.gamma import _in64

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_HIDDEN = {"method": False, "function": False}  # torch.special only


def _dual(values, op):
    """``values`` on arrays (first-order backward), the recorded op on tensors."""
    return lambda x: values(x) if D._is_array(x) else op(x)


# -- erfinv ----------------------------------------------------------------------------------
def _giles(y):
    """Giles (2010), "Approximating the erfinv function": relative error ~1e-7 (a start)."""
    w = -np.log((1 - y) * (1 + y))
    central, tail = w - 2.5, np.sqrt(w) - 3
    p = np.full_like(y, 2.81022636e-08)
    q = np.full_like(y, -0.000200214257)
    for c in (
        3.43273939e-07,
        -3.5233877e-06,
        -4.39150654e-06,
        0.00021858087,
        -0.00125372503,
        -0.00417768164,
        0.246640727,
        1.50140941,
    ):
        p = c + p * central
    for c in (
        0.000100950558,
        0.00134934322,
        -0.00367342844,
        0.00573950773,
        -0.0076224613,
        0.00943887047,
        1.00167406,
        2.83297682,
    ):
        q = c + q * tail
    return np.where(w < 5, p, q) * y


def _erfc_large(t):
    """``erfc(t)`` for ``t >= 2.5`` by its continued fraction (double precision there)."""
    frac = t
    for k in range(60, 0, -1):
        frac = t + (k / 2) / frac
    return np.exp(-t * t) / math.sqrt(math.pi) / frac


def _erfinv64(y):
    inside = np.abs(y) < 1
    z = np.where(inside, y, 0.0)
    x = _giles(z)
    slope = 2 / math.sqrt(math.pi)
    for _ in range(2):  # Newton on erf(x) = y: each step squares the relative error
        x -= (_erf(x) - z) / (slope * np.exp(-x * x))
    # in the tails erf(x) is 1 - tiny: Newton on log erfc(|x|) = log(1 - |y|) keeps precision
    tail = np.abs(x) > 2.5
    if np.any(tail):
        t = np.where(tail, np.abs(_giles(z)), 3.0)
        goal = np.log(np.where(tail, 1 - np.abs(z), 1.0))
        for _ in range(4):
            tail_value = _erfc_large(t)
            t += (np.log(tail_value) - goal) * tail_value / (slope * np.exp(-t * t))
        x = np.where(tail, np.copysign(t, z), x)
    edge = np.where(np.abs(y) == 1, np.copysign(np.inf, y), np.nan)
    return np.where(inside, x, edge)


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
