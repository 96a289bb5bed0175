"""The regularized incomplete gamma functions ``special.gammainc`` (P) and ``gammaincc`` (Q).

The values are SciPy's (``scipy.special.gammainc``/``gammaincc``: Cephes' series, continued
fraction and, for large ``a``, Temme's asymptotic series, as PyTorch's kernels); the values off
the ordinary range (``a`` or ``x`` zero or infinite) are PyTorch's. PyTorch differentiates only
in ``x``; the derivative in ``a`` raises its error.
"""

from __future__ import annotations

import numpy as np
import scipy.special as _sc

from glassgrad._batched import as_data
from glassgrad.autograd.engine import output_needed
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import needs_grad, result
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import shaped
from glassgrad.ops.elementwise.unary import check_kind
from glassgrad.ops.registry import register
from glassgrad.ops.special.gamma import lgamma, lgamma_values
from glassgrad.tensor import Tensor


def _gammainc64(a, x, upper):
    a, x = np.broadcast_arrays(as_data(a, np.float64), as_data(x, np.float64))
    ordinary = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    sa, sx = np.where(ordinary, a, 1.0), np.where(ordinary, x, 1.0)
    values = (_sc.gammaincc if upper else _sc.gammainc)(sa, sx)
    return np.where(ordinary, values, _edges(a, x, upper))


def _edges(a, x, upper):
    # PyTorch's values off the ordinary range: P = 1 at a = 0 or x = inf, 0 at x = 0 or a = inf
    one = ((a == 0) & (x > 0)) | ((x == np.inf) & np.isfinite(a) & (a >= 0))
    zero = ((x == 0) & (a > 0)) | ((a == np.inf) & np.isfinite(x) & (x >= 0))
    p = np.where(one, 1.0, np.where(zero, 0.0, np.nan))
    return np.where(np.isnan(p), p, 1 - p) if upper else p


def _density(x, a):
    """``x^(a-1) e^-x / Gamma(a)``: dP/dx."""
    if D._is_array(x) and D._is_array(a):
        return np.exp((a - 1) * np.log(x) - x - lgamma_values(a))
    return D.exp((a - 1) * D.log(x) - x - lgamma(a))


def _backward(name, sign):
    def rule(ctx, grad, a, x):
        if output_needed(ctx, 0):  # a's gradient is needed: PyTorch has no formula
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        if x is None:  # (other needs no gradient: nothing was saved)
            return None, None
        return None, grad * (sign * _density(x, a))

    return quiet(rule)


IgammaBackward0 = node_class("IgammaBackward0", _backward("igamma", 1), jvp=ELEMENTWISE)
IgammacBackward0 = node_class("IgammacBackward0", _backward("igammac", -1), jvp=ELEMENTWISE)


def _tensors(name, input, other):
    for position, (arg, value) in enumerate((("input", input), ("other", other)), 1):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"special_{name}(): argument '{arg}' (position {position}) must be Tensor, "
                f"not {type(value).__name__}"
            )


def _op(name, kernel, input, other, cls, upper):
    _tensors(name, input, other)
    from glassgrad.ops.elementwise.binary import _promote

    ad, xd = _promote(input, other)
    ad = check_kind(kernel, ad, "floatonly", kernel + "_cpu")
    values = quiet(_gammainc64)(ad, xd, upper).astype(ad.dtype)
    # as PyTorch: both are saved for other's gradient only (input's has no formula)
    saved = (input, other) if needs_grad(other) else (None, None)
    return result(values, cls, (input, other), saved)


def gammainc(input, other):
    """The regularized lower incomplete gamma function ``P(input, other)``."""
    return _op("gammainc", "igamma", input, other, IgammaBackward0, False)


def gammaincc(input, other):
    """The regularized upper incomplete gamma function ``Q(input, other) = 1 - P``."""
    return _op("gammaincc", "igammac", input, other, IgammacBackward0, True)


def _samples(make, shape):
    return [((make(shape, low=0.5, high=6.0), make(shape, low=0.2, high=9.0)), {})]


for _name, _fn, _upper in (("gammainc", gammainc, False), ("gammaincc", gammaincc, True)):
    register(
        "special_" + _name,
        _fn,
        method=False,
        function=False,
        nin=2,
        samples=shaped(_samples),
        reference=lambda a, x, _u=_upper: _gammainc64(a, x, _u),
        any_shape=True,
        differentiable=False,  # only partly: the table cannot differentiate in a
        out={"dtype": "cast", "grad_name": "igammac" if _upper else "igamma"},
    )
