"""Modified Bessel functions of the second kind on NumPy alone: ``special.modified_bessel_k0``,
``special.modified_bessel_k1`` and their scaled forms ``scaled_modified_bessel_k0/k1``
(``e^x K_nu(x)``).

The Chebyshev expansions of the Cephes Math Library (3-clause BSD, S. L. Moshier), which
PyTorch's kernels use too: one on ``(0, 2]`` around ``log(x / 2) I_nu(x)``, one in ``8 / x - 2``
beyond. PyTorch records no derivative for these.
"""

from __future__ import annotations

import numpy as np

from glassgrad.ops.elementwise.unary import elementwise
from glassgrad.ops.registry import quiet
from glassgrad.ops.special.bessel_i import _unscaled_i
from glassgrad.ops.special.gamma import _in64

# fmt: off
_K0_A = (
    1.374465435613523e-16,
    4.25981614279661e-14,
    1.0349695257633842e-11,
    1.904516377220209e-09,
    2.5347910790261494e-07,
    2.286212103119452e-05,
    0.001264615411446926,
    0.0359799365153615,
    0.3442898999246285,
    -0.5353273932339028,
)
_K0_B = (
    5.300433772686263e-18,
    -1.6475804301524212e-17,
    5.2103915050390274e-17,
    -1.678231096805412e-16,
    5.512055978524319e-16,
    -1.848593377343779e-15,
    6.3400764774050706e-15,
    -2.2275133269916698e-14,
    8.032890775363575e-14,
    -2.9800969231727303e-13,
    1.140340588208475e-12,
    -4.514597883373944e-12,
    1.8559491149547177e-11,
    -7.957489244477107e-11,
    3.577397281400301e-10,
    -1.69753450938906e-09,
    8.574034017414225e-09,
    -4.660489897687948e-08,
    2.766813639445015e-07,
    -1.8317555227191195e-06,
    1.39498137188765e-05,
    -0.00012849549581627802,
    0.0015698838857300533,
    -0.0314481013119645,
    2.4403030820659555,
)
_K1_A = (
    -7.023863479386288e-18,
    -2.427449850519366e-15,
    -6.666901694199329e-13,
    -1.4114883926335278e-10,
    -2.213387630734726e-08,
    -2.4334061415659684e-06,
    -0.0001730288957513052,
    -0.006975723859639864,
    -0.12261118082265715,
    -0.3531559607765449,
    1.5253002273389478,
)
_K1_B = (
    -5.756744483665017e-18,
    1.7940508731475592e-17,
    -5.689462558442859e-17,
    1.838093544366639e-16,
    -6.057047248373319e-16,
    2.038703165624334e-15,
    -7.019837090418314e-15,
    2.4771544244813043e-14,
    -8.976705182324994e-14,
    3.3484196660784293e-13,
    -1.2891739609510289e-12,
    5.13963967348173e-12,
    -2.1299678384275683e-11,
    9.218315187605006e-11,
    -4.1903547593418965e-10,
    2.015049755197033e-09,
    -1.0345762465678097e-08,
    5.7410841254500495e-08,
    -3.5019606030878126e-07,
    2.406484947837217e-06,
    -1.936197974166083e-05,
    0.00019521551847135162,
    -0.002857816859622779,
    0.10392373657681724,
    2.7206261904844427,
)
# fmt: on


def _chbevl(t, coefficients):
    """Clenshaw's sum of a Chebyshev series at ``t`` (``0.5 (b_0 - b_2)``), as Cephes' chbevl."""
    b0, b1, b2 = np.full_like(t, coefficients[0]), np.zeros_like(t), np.zeros_like(t)
    for c in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = t * b1 - b2 + c
    return 0.5 * (b0 - b2)


def _k(x, nu, scaled):
    """``K_nu(x)`` (``e^x K_nu(x)`` when ``scaled``) in float64, nu = 0 or 1."""
    near = x <= 2
    small = np.where(near & (x > 0), x, 1.0)
    large = np.where(near, 4.0, x)
    if nu == 0:
        inner = _chbevl(small * small - 2, _K0_A) - np.log(0.5 * small) * _unscaled_i(small, 0)
    else:
        inner = (
            np.log(0.5 * small) * _unscaled_i(small, 1) + _chbevl(small * small - 2, _K1_A) / small
        )
    outer = _chbevl(8 / large - 2, _K0_B if nu == 0 else _K1_B) / np.sqrt(large)
    values = np.where(
        near,
        inner * np.exp(small) if scaled else inner,
        outer if scaled else np.exp(-large) * outer,
    )
    values = np.where(x == 0, np.inf, np.where(x < 0, np.nan, values))
    return np.where(np.isnan(x), x, values)


_HIDDEN = {"method": False, "function": False}  # torch.special only
modified_bessel_k0 = elementwise(
    "special_modified_bessel_k0",
    quiet(_in64(lambda x: _k(x, 0, False))),
    None,
    None,
    domain=(0.1, 5.0),
    **_HIDDEN,
)
modified_bessel_k1 = elementwise(
    "special_modified_bessel_k1",
    quiet(_in64(lambda x: _k(x, 1, False))),
    None,
    None,
    domain=(0.1, 5.0),
    **_HIDDEN,
)
scaled_modified_bessel_k0 = elementwise(
    "special_scaled_modified_bessel_k0",
    quiet(_in64(lambda x: _k(x, 0, True))),
    None,
    None,
    domain=(0.1, 5.0),
    **_HIDDEN,
)
scaled_modified_bessel_k1 = elementwise(
    "special_scaled_modified_bessel_k1",
    quiet(_in64(lambda x: _k(x, 1, True))),
    None,
    None,
    domain=(0.1, 5.0),
    **_HIDDEN,
)
