"""Modified Bessel functions of the first kind: ``i0``, ``special.i0e``, ``special.i1``,
``special.i1e``, ``special.modified_bessel_i0/i1`` and ``special.spherical_bessel_j0``.

The values are SciPy's (``scipy.special.i0``...: the Cephes kernels PyTorch also uses),
computed in float64 and cast to the input's dtype.
"""

from __future__ import annotations

import numpy as np
import scipy.special as _sc

from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops.elementwise.unary import elementwise
from glassgrad.ops.special.gamma import _in64

i0_values = quiet(_in64(_sc.i0))
i0e_values = quiet(_in64(_sc.i0e))
i1_values = quiet(_in64(_sc.i1))
i1e_values = quiet(_in64(_sc.i1e))


def _dual(values, op):
    """``values`` on arrays (first-order backward), the recorded op on tensors."""
    return lambda x: values(x) if D._is_array(x) else op(x)


def _without_zero(x):
    return D.where(x == 0, D.zeros_like(x) + 1, x)


# the rules recompute the output from the saved input: the unary op helper saves one of them
def _i1_slope(ctx, grad, x, _result=None):  # (result saved only as PyTorch does)
    # d/dx I1 = I0 - I1 / x, whose limit at 0 is 1/2 (PyTorch's i1_backward)
    out = _dual(i1_values, special_i1)(x)
    slope = _dual(i0_values, i0)(x) - out / _without_zero(x)
    return grad * D.where(x == 0, D.zeros_like(slope) + 0.5, slope)


def _i1e_slope(ctx, grad, x, _result=None):  # (result saved only as PyTorch does)
    # d/dx e^-|x| I1 = i0e - i1e (sign(x) + 1/x), 1/2 at 0 (PyTorch's i1e_backward)
    out = _dual(i1e_values, special_i1e)(x)
    slope = _dual(i0e_values, special_i0e)(x) - out * (D.call("sign", x) + 1 / _without_zero(x))
    return grad * D.where(x == 0, D.zeros_like(slope) + 0.5, slope)


def _i0e_slope(ctx, grad, x, _result=None):  # (result saved only as PyTorch does)
    # d/dx e^-|x| I0 = i1e - sign(x) i0e
    out = _dual(i0e_values, special_i0e)(x)
    return grad * (_dual(i1e_values, special_i1e)(x) - D.call("sign", x) * out)


_HIDDEN = {"method": False, "function": False}  # torch.special only

i0 = elementwise(
    "i0",
    i0_values,
    lambda ctx, grad, x: grad * _dual(i1_values, special_i1)(x),
    "input",
    domain=(-4.0, 4.0),
)
special_i0e = elementwise(
    "special_i0e",
    i0e_values,
    quiet(_i0e_slope),
    "both",
    grad_fn="SpecialI0EBackward0",
    domain=(-4.0, 4.0),
    **_HIDDEN,
)
special_i1 = elementwise(
    "special_i1", i1_values, quiet(_i1_slope), "both", domain=(-4.0, 4.0), **_HIDDEN
)
special_i1e = elementwise(
    "special_i1e",
    i1e_values,
    quiet(_i1e_slope),
    "both",
    grad_fn="SpecialI1EBackward0",
    domain=(-4.0, 4.0),
    **_HIDDEN,
)
# PyTorch records no derivative for these (their results never require grad)
modified_bessel_i0 = elementwise("special_modified_bessel_i0", i0_values, None, None, **_HIDDEN)
modified_bessel_i1 = elementwise("special_modified_bessel_i1", i1_values, None, None, **_HIDDEN)


def _j0(x):
    safe = np.where((x == 0) | np.isinf(x), 1.0, x)
    values = np.where(x == 0, 1.0, np.where(np.isinf(x), 0.0, np.sin(safe) / safe))
    return values.astype(x.dtype, copy=False)


spherical_bessel_j0 = elementwise(
    "special_spherical_bessel_j0", quiet(_j0), None, None, domain=(-6.0, 6.0), **_HIDDEN
)
