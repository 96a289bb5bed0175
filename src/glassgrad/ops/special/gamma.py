"""The gamma family: ``lgamma``, ``digamma``, ``polygamma`` and ``mvlgamma``.

``lgamma`` and ``digamma`` are SciPy's (``gammaln``, ``digamma``), which give PyTorch's
values, poles included. ``polygamma`` for n >= 1 stays here, as PyTorch's trigamma and Hurwitz
zeta differ from SciPy's in the last digits and at the poles. Its accuracy (float64, checked
against PyTorch's Cephes kernels in the tests): it shifts the argument up to 10 or more
with the recurrence, then sums the asymptotic (Bernoulli) series to the B_14 term, whose
truncation error at x >= 10 is below 1e-17 relative; the shifts add a few ulps.
``mvlgamma`` (``multigammaln``) is a sum of ``lgamma``s.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as _sc

from glassgrad._batched import anywhere, as_data
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import shaped
from glassgrad.ops.elementwise.unary import check_kind, elementwise
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, tensor_method

_LOG_PI = math.log(math.pi)
# Bernoulli numbers B_2, B_4, ..., B_14
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)


def _shift_up(x, step):
    """Add ``step(x)`` to a running total while ``x < 10``, moving ``x`` up by one each time."""
    total = np.zeros_like(x)
    low = x < 10
    while anywhere(low):  # (vmap: until every sample is up)
        total += np.where(low, step(np.where(low, x, 1.0)), 0.0)
        x = np.where(low, x + 1, x)
        low = x < 10
    return x, total


def _tanpi(x):
    return np.tan(math.pi * (x - np.round(x)))  # period 1


def _lgamma64(x):
    # SciPy's gammaln is std::lgamma but at -inf (std::lgamma gives +inf there)
    return np.where(x == -np.inf, np.inf, _sc.gammaln(x))


def _polygamma64(n, x, dtype=np.float64):
    """``psi^(n)(x)`` for real ``x``; ``n = 0`` is the digamma function. ``dtype``: the input's
    float dtype, in which PyTorch's trigamma computes its values at the poles."""
    nan_in = np.isnan(x)
    pole = (x <= 0) & (x == np.floor(x))
    reflect = (n == 0) & (x < 0.5) & ~pole
    y = np.where(reflect, 1 - x, np.where(pole | nan_in, 1.0, x))
    # psi^(n)(y) = psi^(n)(y + 1) - (-1)^n n! / y^(n+1)
    sign_fact = (-1) ** n * math.factorial(n)
    y, shifted = _shift_up(y, lambda v: sign_fact / v ** (n + 1))
    if n == 0:
        series = np.log(y) - 0.5 / y
        for k, b in enumerate(_BERNOULLI, 1):
            series -= b / (2 * k) / y ** (2 * k)
    else:
        series = math.factorial(n - 1) / y**n + math.factorial(n) / (2 * y ** (n + 1))
        for k, b in enumerate(_BERNOULLI, 1):
            coef = b * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
            series += coef / y ** (2 * k + n)
        series *= (-1) ** (n + 1)
    out = series - shifted
    if n == 0:  # psi(x) = psi(1 - x) - pi / tan(pi x)
        out = np.where(reflect, out - math.pi / _tanpi(np.where(reflect, x, 0.5)), out)
        at_pole = np.where(x == 0, np.copysign(np.inf, -x), np.nan)
    elif n == 1:  # PyTorch's trigamma: pi^2 / sin(pi x)^2 - ..., inf only where sin is 0
        at_pole = np.where(x == 0, np.inf, _trigamma_pole(x, dtype))
    else:  # -n! zeta(n + 1, x): Cephes' Hurwitz zeta is inf at the poles and at -inf
        at_pole = np.inf if n % 2 else -np.inf
    out = np.where(nan_in, x, np.where(pole, at_pole, out))
    if n == 1:  # trigamma: sin(pi x) is nan at -inf
        out = np.where(x == -np.inf, np.nan, out)
    elif n >= 2:  # the zeta's series gives nan at +inf
        out = np.where(x == np.inf, np.nan, out)
    return out


def _trigamma_pole(x, dtype):
    """PyTorch's trigamma at a negative integer: its reflection divides by ``sin(pi x)``, which
    is not exactly 0 there, so the value is huge but finite (computed in the input's dtype)."""
    pi = np.asarray(math.pi, dtype=dtype)
    sine = np.sin(pi * as_data(x, dtype))
    with np.errstate(all="ignore"):
        return (pi * pi / (sine * sine)).astype(np.float64)


def _in64(fn):
    """Compute in float64, hand back the input's float dtype."""
    return lambda x: as_data(fn(x.astype(np.float64))).astype(x.dtype, copy=False)


def _polygamma_values(n, x):
    """``psi^(n)`` of array ``x``, computed in float64, in ``x``'s dtype."""
    if n == 0:  # (SciPy's digamma is PyTorch's, poles included)
        return _sc.digamma(x.astype(np.float64)).astype(x.dtype, copy=False)
    pole_dtype = np.float32 if x.dtype.itemsize < 4 else x.dtype.type  # (half: float kernels)
    values = _polygamma64(n, x.astype(np.float64), pole_dtype)
    return as_data(values).astype(x.dtype, copy=False)


lgamma_values = quiet(_in64(_lgamma64))
digamma_values = quiet(lambda x: _polygamma_values(0, x))


def _polygamma_any(n, x):
    return quiet(_polygamma_values)(n, x) if D._is_array(x) else polygamma(n, x)


lgamma = elementwise(
    "lgamma",
    lgamma_values,
    lambda ctx, grad, x: grad * _polygamma_any(0, x),
    "input",
    domain=(0.3, 5.0),
)
digamma = elementwise(
    "digamma",
    digamma_values,
    lambda ctx, grad, x: grad * _polygamma_any(1, x),
    "input",
    domain=(0.3, 5.0),
)
PolygammaBackward0 = node_class(
    "PolygammaBackward0",
    lambda ctx, grad, x: (grad * _polygamma_any(ctx._args + 1, x),),
    jvp=ELEMENTWISE,
)


def polygamma(n, input):
    """The ``n``-th derivative of the digamma function."""
    if isinstance(n, Tensor) or not isinstance(input, Tensor):  # Tensor.polygamma(self, n)
        n, input = input, n
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    data = check_kind("polygamma", input._data, "float")
    values = quiet(_polygamma_values)(n, data)
    return result(values, PolygammaBackward0, (input,), (input,), args=n)


# -- mvlgamma (multigammaln) -----------------------------------------------------------------
def _mvlgamma_slope(ctx, grad, x):
    def psi(x):
        return digamma_values(x) if D._is_array(x) else digamma(x)

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


def _polygamma_samples(make, shape):
    x = make(shape, low=0.3, high=5.0)
    return [((0, x), {}), ((1, x), {}), ((2, make(shape, low=-1.8, high=-1.2)), {})]


register(
    "polygamma",
    polygamma,
    method=False,
    samples=shaped(_polygamma_samples),
    reference=lambda n, x: _polygamma64(n, x),
    any_shape=True,
    out="cast",
)


def _polygamma_method(self, n):
    """``polygamma(n, self)``."""
    return polygamma(n, self)


tensor_method(_polygamma_method, "polygamma")
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
