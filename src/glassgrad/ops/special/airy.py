"""The Airy function ``special.airy_ai`` on NumPy alone.

The method of the Cephes Math Library (3-clause BSD, S. L. Moshier), as PyTorch's kernel uses
it: rational asymptotic forms for ``x < -2.09`` (oscillating) and ``x >= 2.09`` (decaying), the
Maclaurin series of ``f`` and ``g`` in between. PyTorch records no derivative for it.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad._batched import anywhere
from glassgrad.backend import quiet
from glassgrad.ops.elementwise.unary import elementwise
from glassgrad.ops.special.gamma import _in64

# fmt: off
_AN = (
    0.346538101525629,
    12.007595273964581,
    76.27960536152345,
    168.08922493463058,
    159.75639135016442,
    70.53609068404442,
    14.026469116338967,
    1.0,
)
_AD = (
    0.5675945326387702,
    14.75625625848472,
    84.51389701414746,
    177.31808814540045,
    164.2346928715297,
    71.47784008255756,
    14.095913560783403,
    1.0,
)
_AFN = (
    -0.1316963234183318,
    -0.6264565444319123,
    -0.6931580360369335,
    -0.2797799815451191,
    -0.04919001326095003,
    -0.004062659235948854,
    -0.0001592764962392621,
    -2.776491081552329e-06,
    -1.6778769848911465e-08,
)
_AFD = (
    13.356042070655324,
    32.682503279522464,
    26.736704094149957,
    9.187074029072596,
    1.4752914677166642,
    0.11568717379518804,
    0.004402916416152112,
    7.547203482874142e-05,
    4.5185009297058035e-07,
)
_AGN = (
    0.01973399320916857,
    0.39110302961568827,
    1.0657989759959559,
    0.9391692298166502,
    0.35146565610554764,
    0.06338889196289255,
    0.005858041130483885,
    0.000282851600836737,
    6.98793669997261e-06,
    8.117892395543892e-08,
    3.415517847659236e-10,
)
_AGD = (
    9.30892908077442,
    19.835292871831214,
    15.564662893286462,
    5.476860694229755,
    0.9542936116189619,
    0.08645808263523921,
    0.004126565238242226,
    0.00010125908511650914,
    1.1716673321441352e-06,
    4.9183457006293e-09,
)
# fmt: on
_C1, _C2 = 0.355028053887817239260, 0.258819403792806798405
_SQRT_1_PI = 5.64189583547756286948e-01


def _horner(t, coefficients):
    total = np.zeros_like(t)
    for c in coefficients:
        total = total * t + c
    return total


def _oscillating(x):
    """``x < -2.09``."""
    root = np.sqrt(-x)
    zeta = -2.0 * x * root / 3.0
    z = 1.0 / zeta
    zz = z * z
    f = 1.0 + zz * _horner(zz, _AFN) / _horner(zz, _AFD)
    g = z * _horner(zz, _AGN) / _horner(zz, _AGD)
    t = zeta + 0.25 * math.pi
    return _SQRT_1_PI / np.sqrt(root) * (np.sin(t) * f - np.cos(t) * g)


def _decaying(x):
    """``x >= 2.09``."""
    zeta = 2.0 * x * np.sqrt(x) / 3.0
    ratio = _horner(1.0 / zeta, _AN) / _horner(1.0 / zeta, _AD)
    return _SQRT_1_PI * ratio / (2.0 * np.sqrt(np.sqrt(x)) * np.exp(zeta))


def _maclaurin(x):
    """``|x| < 2.09``: Ai = c1 f - c2 g, summed until the terms fall below float64's epsilon."""
    f, g, k, m, n = np.ones_like(x), x.copy(), np.ones_like(x), np.ones_like(x), x.copy()
    z = x * x * x
    live = np.ones_like(x, bool)  # (vmap: per-sample flags for a batch)
    for _ in range(200):
        m = np.where(live, m * z / (k + 1) / (k + 2), m)
        n = np.where(live, n * z / (k + 2) / (k + 3), n)
        k = np.where(live, k + 3, k)
        f = np.where(live, f + m, f)
        g = np.where(live, g + n, g)
        live &= np.abs(m / f) > np.finfo(np.float64).eps
        if not anywhere(live):
            break
    return _C1 * f - _C2 * g


def _airy_ai(x):
    low, high = x < -2.09, x >= 2.09
    values = np.where(low, _oscillating(np.where(low, x, -3.0)), 0.0)
    values = np.where(high, _decaying(np.where(high, x, 3.0)), values)
    middle = ~low & ~high
    values = np.where(middle, _maclaurin(np.where(middle, x, 0.0)), values)
    values = np.where(x > 103.892, 0.0, values)
    return np.where(np.isinf(x), np.nan, np.where(np.isnan(x), x, values))


airy_ai = elementwise(
    "special_airy_ai",
    quiet(_in64(_airy_ai)),
    None,
    None,
    domain=(-6.0, 6.0),
    kernel="airy_ai_cpu",
    bfloat16=False,
    method=False,
    function=False,
)
