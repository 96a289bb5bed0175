"""Bessel functions of the first and second kind on NumPy alone: ``special.bessel_j0``,
``bessel_j1``, ``bessel_y0`` and ``bessel_y1``.

The rational approximations of the Cephes Math Library (3-clause BSD, S. L. Moshier), which
PyTorch's kernels use too: a rational function of ``x^2`` (times the factors that put the zeros
where they are) up to 5, the Hankel form ``sqrt(2 / (pi x)) (P cos(x - phase) - 5/x Q sin(...))``
beyond. Computed in float64 and rounded once. PyTorch records no derivative for these.
"""

from __future__ import annotations

import math

import numpy as np

from glassgrad.backend import quiet
from glassgrad.ops.elementwise.unary import elementwise
from glassgrad.ops.special.gamma import _in64

# fmt: off
_J0_PP = (
    0.0007969367292973471,
    0.08283523921074408,
    1.239533716464143,
    5.447250030587687,
    8.74716500199817,
    5.303240382353949,
    1.0,
)
_J0_PQ = (
    0.0009244088105588637,
    0.08562884743544745,
    1.2535274390105895,
    5.470977403304171,
    8.761908832370695,
    5.306052882353947,
    1.0,
)
_J0_QP = (
    -0.011366383889846916,
    -1.2825271867050931,
    -19.553954425773597,
    -93.20601521237683,
    -177.68116798048806,
    -147.07750515495118,
    -51.41053267665993,
    -6.050143506007285,
)
_J0_QQ = (
    64.3178256118178,
    856.4300259769806,
    3882.4018360540163,
    7240.467741956525,
    5930.727011873169,
    2062.0933166032783,
    242.0057402402914,
)
_J0_RP = (
    -4794432209.782018,
    1956174919465.5657,
    -249248344360967.72,
    9708622510473064.0,
)
_J0_RQ = (
    499.563147152651,
    173785.4016763747,
    48440965.83399621,
    11185553704.535683,
    2112775201154.892,
    310518229857422.56,
    3.1812195594320496e+16,
    1.7108629408104315e+18,
)
_J1_PP = (
    0.0007621256162081731,
    0.07313970569409176,
    1.1271960812968493,
    5.112079511468076,
    8.424045901417724,
    5.214515986823615,
    1.0,
)
_J1_PQ = (
    0.0005713231280725487,
    0.06884559087544954,
    1.105142326340617,
    5.073863861286015,
    8.399855543276042,
    5.209828486823619,
    1.0,
)
_J1_QP = (
    0.05108625947501766,
    4.982138729512334,
    75.82382841325453,
    366.7796093601508,
    710.8563049989261,
    597.4896124006136,
    211.68875710057213,
    25.207020585802372,
)
_J1_QQ = (
    74.23732770356752,
    1056.4488603826283,
    4986.410583376536,
    9562.318924047562,
    7997.041604473507,
    2826.1927851763908,
    336.0936078106983,
)
_J1_RP = (
    -899971225.7055594,
    452228297998.19403,
    -72749424522181.83,
    3682957328638529.0,
)
_J1_RQ = (
    620.8364781180543,
    256987.25675774884,
    83514679.14319493,
    22151159547.97925,
    4749141220799.914,
    784369607876235.9,
    8.952223361846274e+16,
    5.322786203326801e+18,
)
_Y0_PP = _J0_PP  # Cephes' Y0 shares J0's asymptotic tables
_Y0_PQ = _J0_PQ  # Cephes' Y0 shares J0's asymptotic tables
_Y0_QP = _J0_QP  # Cephes' Y0 shares J0's asymptotic tables
_Y0_QQ = _J0_QQ  # Cephes' Y0 shares J0's asymptotic tables
_Y0_YP = (
    15592.436785523574,
    -14663929.59039716,
    5435264770.518765,
    -982136065717.9115,
    87590639439536.7,
    -3466283033847297.0,
    4.4273326857256984e+16,
    -1.8495080043698668e+16,
)
_Y0_YQ = (
    1041.2835366425984,
    626107.330137135,
    268919633.39381415,
    86400248710.3935,
    20297961275010.555,
    3171577528429750.5,
    2.5059625617265306e+17,
)
_Y1_PP = _J1_PP  # Cephes' Y1 shares J1's asymptotic tables
_Y1_PQ = _J1_PQ  # Cephes' Y1 shares J1's asymptotic tables
_Y1_QP = _J1_QP  # Cephes' Y1 shares J1's asymptotic tables
_Y1_QQ = _J1_QQ  # Cephes' Y1 shares J1's asymptotic tables
_Y1_YP = (
    1263204747.9017804,
    -647355876379.1603,
    114509511541823.73,
    -8127702555013251.0,
    2.024394757135949e+17,
    -7.788771962659501e+17,
)
_Y1_YQ = (
    594.3015923461282,
    235564.09294306856,
    73481194.44597217,
    18760131610.870617,
    3882312774962.3857,
    620557727146953.8,
    6.871410873553005e+16,
    3.9727060811656064e+18,
)
# fmt: on
_SQRT_2_OVER_PI = 0.797884560802865355879892119868763737
_TWO_OVER_PI = 0.636619772367581343075535053490057448


def _horner(t, coefficients):
    total = np.zeros_like(t)
    for c in coefficients:
        total = total * t + c
    return total


def _hankel(x, pp, pq, qp, qq, phase, second_kind):
    """The large-``x`` form, for ``x > 5`` (``second_kind``: sin and cos trade places)."""
    t = 25 / (x * x)
    p, q = _horner(t, pp) / _horner(t, pq), 5 / x * _horner(t, qp) / _horner(t, qq)
    angle = x - phase
    if second_kind:
        return (p * np.sin(angle) + q * np.cos(angle)) * _SQRT_2_OVER_PI / np.sqrt(x)
    return (p * np.cos(angle) - q * np.sin(angle)) * _SQRT_2_OVER_PI / np.sqrt(x)


def _j0(x):
    x = np.abs(x)
    near = x <= 5
    s = np.where(near, x, 1.0)
    z = s * s
    rational = (z - 5.78318596294678452118) * (z - 30.4712623436620863991) * _horner(z, _J0_RP)
    inner = np.where(s < 1e-5, 1 - z / 4, rational / _horner(z, _J0_RQ))
    far = np.where(near, 6.0, x)
    outer = _hankel(far, _J0_PP, _J0_PQ, _J0_QP, _J0_QQ, math.pi / 4, False)
    return np.where(near, inner, outer)


def _j1(x):
    negative, x = np.signbit(x), np.abs(x)  # (j1 is odd: j1(-0.0) is -0.0)
    near = x <= 5
    s = np.where(near, x, 1.0)
    z = s * s
    inner = _horner(z, _J1_RP) / _horner(z, _J1_RQ) * s * (z - 14.6819706421238932572)
    inner = inner * (z - 49.2184563216946036703)
    far = np.where(near, 6.0, x)
    outer = _hankel(far, _J1_PP, _J1_PQ, _J1_QP, _J1_QQ, 3 * math.pi / 4, False)
    return np.where(negative, -1.0, 1.0) * np.where(near, inner, outer)


def _y0(x):
    near = x <= 5
    s = np.where(near & (x > 0), x, 1.0)
    z = s * s
    inner = _horner(z, _Y0_YP) / _horner(z, _Y0_YQ) + _TWO_OVER_PI * np.log(s) * _j0(s)
    inner = np.where(x == 0, -np.inf, np.where(x < 0, np.nan, inner))
    far = np.where(near, 6.0, x)
    outer = _hankel(far, _Y0_PP, _Y0_PQ, _Y0_QP, _Y0_QQ, math.pi / 4, True)
    return np.where(near, inner, outer)


def _y1(x):
    near = x <= 5
    s = np.where(near & (x > 0), x, 1.0)
    z = s * s
    inner = s * (_horner(z, _Y1_YP) / _horner(z, _Y1_YQ))
    inner = inner + _TWO_OVER_PI * (_j1(s) * np.log(s) - 1 / s)
    inner = np.where(x == 0, -np.inf, np.where(x < 0, np.nan, inner))
    far = np.where(near, 6.0, x)
    outer = _hankel(far, _Y1_PP, _Y1_PQ, _Y1_QP, _Y1_QQ, 3 * math.pi / 4, True)
    return np.where(near, inner, outer)


def _keep_nan(fn):
    return lambda x: np.where(np.isnan(x), x, fn(x))


_HIDDEN = {"method": False, "function": False}  # torch.special only
bessel_j0, bessel_j1, bessel_y0, bessel_y1 = (
    elementwise(
        "special_" + name,
        quiet(_in64(_keep_nan(fn))),
        None,
        None,
        domain=(0.1, 12.0),
        **_HIDDEN,
    )
    for name, fn in (("bessel_j0", _j0), ("bessel_j1", _j1), ("bessel_y0", _y0), ("bessel_y1", _y1))
)
