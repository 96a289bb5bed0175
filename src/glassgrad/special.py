"""``glassgrad.special``: PyTorch's ``torch.special`` namespace, by PyTorch's names.

The ops live in ``glassgrad.ops`` (the ``special`` family folder, and the elementwise, softmax
and reduction families); this module only names them as ``torch.special`` does.
"""

from __future__ import annotations

from glassgrad.ops.elementwise.binary_math import xlogy
from glassgrad.ops.elementwise.conversions import logit
from glassgrad.ops.elementwise.unary import erf, exp2, expm1, log1p
from glassgrad.ops.elementwise.unary import sigmoid as expit
from glassgrad.ops.nn.softmax import log_softmax, softmax
from glassgrad.ops.reduce.stats import logsumexp
from glassgrad.ops.registry import function_form
from glassgrad.ops.special.airy import airy_ai
from glassgrad.ops.special.bessel_i import (
    i0,
    modified_bessel_i0,
    modified_bessel_i1,
    spherical_bessel_j0,
)
from glassgrad.ops.special.bessel_i import special_i0e as i0e
from glassgrad.ops.special.bessel_i import special_i1 as i1
from glassgrad.ops.special.bessel_i import special_i1e as i1e
from glassgrad.ops.special.bessel_j import bessel_j0, bessel_j1, bessel_y0, bessel_y1
from glassgrad.ops.special.bessel_k import (
    modified_bessel_k0,
    modified_bessel_k1,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
)
from glassgrad.ops.special.elementary import sinc
from glassgrad.ops.special.elementary import special_entr as entr
from glassgrad.ops.special.elementary import special_round as round  # noqa: A004 - PyTorch's name
from glassgrad.ops.special.elementary import special_xlog1py as xlog1py
from glassgrad.ops.special.erf import erfc, erfinv
from glassgrad.ops.special.erf import special_erfcx as erfcx
from glassgrad.ops.special.erf import special_log_ndtr as log_ndtr
from glassgrad.ops.special.erf import special_ndtr as ndtr
from glassgrad.ops.special.erf import special_ndtri as ndtri
from glassgrad.ops.special.gamma import digamma, lgamma, polygamma
from glassgrad.ops.special.gamma import mvlgamma as multigammaln
from glassgrad.ops.special.incomplete_gamma import gammainc, gammaincc
from glassgrad.ops.special.polynomials import OPS as _POLYNOMIALS
from glassgrad.ops.special.zeta import special_zeta as zeta

globals().update(_POLYNOMIALS)  # chebyshev_polynomial_t, ..., legendre_polynomial_p
psi = digamma
gammaln = lgamma

__all__ = [
    "airy_ai",
    "bessel_j0",
    "bessel_j1",
    "bessel_y0",
    "bessel_y1",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammainc",
    "gammaincc",
    "gammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "modified_bessel_i0",
    "modified_bessel_i1",
    "modified_bessel_k0",
    "modified_bessel_k1",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1",
    "sinc",
    "softmax",
    "spherical_bessel_j0",
    "xlog1py",
    "xlogy",
    "zeta",
    *_POLYNOMIALS,
]

# each name is its op's function form, as ``register`` made it (``out=`` included)
# (torch.special.softmax and log_softmax take no out=)
globals().update(
    {name: function_form(globals()[name]) for name in __all__ if "softmax" not in name}
)
