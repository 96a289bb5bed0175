"""``hardshrink`` and ``softshrink``: activations that zero a band ``[-lambd, lambd]``, each a
PyTorch primitive with its own ``grad_fn`` (``tanhshrink`` is a composite, in ``activation.py``).

Both gradients are ``grad`` outside the band (NaN inputs included) and 0 inside it, selected
rather than multiplied by a mask, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from glassgrad._tensor_info import _C_TYPES
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops.nn import common as N
from glassgrad.ops.registry import register


def _outside(x, lambd):
    xa = N.arr(x)
    return ~((xa >= -lambd) & (xa <= lambd))


HardshrinkBackward0 = node_class(
    "HardshrinkBackward0",
    lambda ctx, grad, x: (
        D.select(_outside(x, ctx._args), grad, x, "HardshrinkBackwardBackward0"),
    ),
    jvp=ELEMENTWISE,
)
SoftshrinkBackward0 = node_class(
    "SoftshrinkBackward0",
    lambda ctx, grad, x: (
        D.select(_outside(x, ctx._args), grad, x, "SoftshrinkBackwardBackward0"),
    ),
    jvp=ELEMENTWISE,
)


def _refuse_integers(input, kernel):
    if input._data.dtype.kind in "iub":
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{_C_TYPES[input._data.dtype.name]}'"
        )


def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0."""
    _refuse_integers(input, "hardshrink_cpu")
    x = input._data
    out = np.where((x >= -lambd) & (x <= lambd), np.zeros((), x.dtype), x)
    return result(out, HardshrinkBackward0, (input,), (input,), args=lambd)


def softshrink(input, lambd=0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    _refuse_integers(input, "softshrink_check")
    x = input._data
    largest = float(np.finfo(x.dtype).max)
    if not 0 <= lambd <= largest:
        raise RuntimeError(
            f"lambda must be in range [0, {largest:g}] for input dtype "
            f"{_C_TYPES[x.dtype.name]}, but found {lambd:g}"
        )
    step = x.dtype.type(lambd)
    # x * 0 + 0 inside the band: NaN propagates, zeros are +0 (PyTorch's vectorised kernel
    # gives +0, its scalar tail -0 for negative inputs: the sign depends on the array's length)
    out = np.where(x > step, x - step, np.where(x < -step, x + step, x * 0 + 0))
    return result(
        out.astype(x.dtype, copy=False), SoftshrinkBackward0, (input,), (input,), args=lambd
    )


def _sample(*kwargs):
    return lambda rng: [((rng.standard_normal((2, 3)),), dict(k)) for k in kwargs]


register("hardshrink", hardshrink, out="same", samples=_sample({}, {"lambd": 0.9}, {"lambd": 0.0}))
register(
    "softshrink",
    softshrink,
    method=False,  # (PyTorch has F.softshrink only)
    function=False,
    samples=_sample({}, {"lambd": 0.9}, {"lambd": 0.0}),
)
