"""The Hurwitz zeta function ``special.zeta(x, q) = sum_k (k + q)^-x``.

The values are SciPy's ``scipy.special.zeta``: Cephes' method, which PyTorch's kernel also
follows (the same values, poles and NaNs). PyTorch differentiates only with respect to ``q``
(``-x zeta(x + 1, q)``); the derivative in ``x`` raises its error.
"""

from __future__ import annotations

import numpy as np
import scipy.special as _sc

from glassgrad._batched import as_data
from glassgrad._bfloat16 import refuse
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import shaped
from glassgrad.ops.elementwise.binary_math import _floats
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor


def _zeta64(x, q):
    x, q = np.broadcast_arrays(as_data(x, np.float64), as_data(q, np.float64))
    # (Cephes' tail is 0 * inf at q = inf: NaN in PyTorch, where SciPy gives 0)
    return _zeta_edges(x, q, np.where(q == np.inf, np.nan, _sc.zeta(x, q)))


def _zeta_edges(x, q, total):
    pole = (q <= 0) & (q == np.floor(q))
    bad = (q <= 0) & ~pole & (x != np.floor(x))
    total = np.where(pole, np.inf, np.where(bad, np.nan, total))
    return np.where(x == 1, np.inf, np.where(x < 1, np.nan, total))


zeta_values = quiet(_zeta64)


def _no_x_derivative(ctx):
    raise NotImplementedError("the derivative for 'zeta' is not implemented.")


def _q_slope(grad, x, q):
    if D._is_array(q) and D._is_array(x):
        return grad * -x * zeta_values(x + 1, q).astype(np.result_type(x, q), copy=False)
    return grad * -x * special_zeta(x + 1, q)


def _backward_both(ctx, grad, x, q):
    if ctx.next_functions[0][0] is not None:  # x requires grad: PyTorch has no formula
        _no_x_derivative(ctx)
    return None, _q_slope(grad, x, q)


SpecialZetaBackward0 = node_class("SpecialZetaBackward0", quiet(_backward_both), jvp="none")
SpecialZetaBackward1 = node_class(
    "SpecialZetaBackward1",
    quiet(lambda ctx, grad, q: (_q_slope(grad, ctx._args, q),)),
    jvp="none",
)
SpecialZetaBackward2 = node_class(
    "SpecialZetaBackward2", lambda ctx, grad: _no_x_derivative(ctx), jvp="none"
)
for _cls in (SpecialZetaBackward0, SpecialZetaBackward1, SpecialZetaBackward2):
    _cls._fw_name = "special_zeta"  # PyTorch has no forward rule for zeta; its error's name


def special_zeta(input, other):
    """The Hurwitz zeta function ``sum_k (k + other)^-input``."""
    if not isinstance(input, Tensor):
        qd, xd = _floats("zeta", other, input, integers="float")
        refuse(qd, "zeta_cpu")
        values = zeta_values(np.asarray(xd, qd.dtype), qd).astype(qd.dtype)
        return result(values, SpecialZetaBackward1, (other,), (other,), args=input)
    xd, qd = _floats("zeta", input, other, integers="float")
    refuse(xd, "zeta_cpu")
    values = zeta_values(xd, as_data(qd, xd.dtype)).astype(xd.dtype)
    if not isinstance(other, Tensor):
        return result(values, SpecialZetaBackward2, (input,), args=other)
    return result(values, SpecialZetaBackward0, (input, other), (input, other))


def _samples(make, shape):
    x, q = make(shape, low=1.5, high=5.0), make(shape, low=0.5, high=3.0)
    return [((x, q), {}), ((x, 2.0), {}), ((3.0, q), {})]


register(
    "special_zeta",
    special_zeta,
    method=False,
    function=False,
    nin=2,
    samples=shaped(_samples),
    reference=lambda x, q: zeta_values(x, q),
    any_shape=True,
    differentiable=False,  # only partly: the table cannot differentiate in x
    out={"dtype": "cast", "grad_name": "special_zeta"},
)
