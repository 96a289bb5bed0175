"""Conversions: ``deg2rad``/``rad2deg`` (angles) and ``logit`` (probabilities to log-odds)."""

from __future__ import annotations

import sys

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.backend import quiet
from glassgrad.ops import _dual
from glassgrad.ops._sampling import shaped
from glassgrad.ops.registry import register


# -- logit -----------------------------------------------------------------------------------
@quiet
def _logit_backward(ctx, grad, x):
    # PyTorch: outside [eps, 1 - eps] the gradient is 0; without eps, outside [0, 1] it is NaN
    eps = ctx._args
    data = x if _dual._is_array(x) else x._data
    if eps is None:
        outside, fill = (data < 0) | (data > 1), np.nan
    else:
        outside, fill = (data < eps) | (data > 1 - eps), 0.0
    inside = grad / (x * (1 - x))
    return (_dual.where(outside, inside * 0 + fill, inside),)


LogitBackward0 = node_class("LogitBackward0", _logit_backward, jvp=ELEMENTWISE)


def _float_data(input):
    data = input._data
    if data.dtype.kind == "c":
        _dt.refuse_complex(data, f"{sys._getframe(1).f_code.co_name}_cpu")
    return data if _floating(data) else data.astype(_dt.get_default_dtype().np)


@quiet
def logit(input, eps=None):
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    data = _float_data(input)
    z = data if eps is None else np.clip(data, eps, 1 - eps)
    out = as_data(np.log(z / (1 - z))).astype(data.dtype, copy=False)
    return result(out, LogitBackward0, (input,), (input,), eps)


register(
    "logit",
    logit,
    reference=quiet(
        lambda x, eps=None: np.log((z := x if eps is None else np.clip(x, eps, 1 - eps)) / (1 - z))
    ),
    any_shape=True,
    samples=shaped(
        lambda make, shape: [
            ((make(shape, low=0.05, high=0.95),), {}),
            ((make(shape, low=0.3, high=0.7), 0.2), {}),
        ]
    ),
    out="cast",
)


# -- deg2rad / rad2deg -----------------------------------------------------------------------
def _scaling(name, node_name, factor):
    node = node_class(node_name, lambda ctx, grad: (grad * factor,), jvp=ELEMENTWISE)

    def scaled(input):
        if input._data.dtype.kind == "c":
            raise RuntimeError(f"{name} is not supported for complex tensors.")
        data = _float_data(input)
        return result(as_data(data * factor).astype(data.dtype, copy=False), node, (input,))

    scaled.__name__ = name
    return scaled


deg2rad = _scaling("deg2rad", "Deg2RadBackward0", np.pi / 180)
deg2rad.__doc__ = """Degrees to radians."""
rad2deg = _scaling("rad2deg", "Rad2DegBackward0", 180 / np.pi)
rad2deg.__doc__ = """Radians to degrees."""
register("deg2rad", deg2rad, reference=np.deg2rad, domain=(-200.0, 200.0), out="cast")
register("rad2deg", rad2deg, reference=np.rad2deg, out="cast")
