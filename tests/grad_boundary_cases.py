"""Shared harness: run one op on PyTorch and on glassgrad at awkward points and compare.

Inputs hold both signs of zero, ties, the bounds of clamps and activations, and +-inf; NaN is
checked one element at a time, since PyTorch's vectorised kernels give other derivatives at NaN
than its scalar ones (glassgrad follows the scalar formulas). Gradients flowing in are 1, inf and
NaN: a rule that multiplies by a 0/1 mask instead of selecting turns inf and NaN into NaN where
PyTorch gives 0.
"""

from __future__ import annotations

import math

import numpy as np

X = [-math.inf, -6.0, -3.0, -2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 3.0, 6.0, 7.0, math.inf]
Y = [-1.0, -3.0, 0.0, -2.0, -1.0, 0.5, 0.0, 0.0, -0.5, 1.0, 3.0, 3.0, 7.0, 6.0, math.inf]
ONE_ELEMENT = [
    (math.nan, 1.0),
    (1.0, math.nan),
    (math.nan, math.nan),
    (0.0, 0.0),
    (-0.0, 0.0),
    (0.0, -0.0),
    (2.0, 2.0),
    (math.inf, math.inf),
]


def _array(tensor):
    return None if tensor is None else tensor.detach().numpy().astype(np.float64)


def _gradients(lib, fn, inputs, flowing, second):
    """The op's value, its gradients for ``flowing`` and, with ``second``, second order."""
    leaves = [lib.tensor(v, dtype=lib.float64, requires_grad=True) for v in inputs]
    out = fn(lib, *leaves)
    seed = lib.full(out.shape, flowing, dtype=out.dtype)
    grads = lib.autograd.grad(out, leaves, seed, create_graph=second, allow_unused=True)
    found = [_array(out)] + [_array(g) for g in grads]
    if second:
        parts = [(g * 1.5).sum() for g in grads if g is not None and g.requires_grad]
        if parts:
            again = lib.autograd.grad(sum(parts), leaves, allow_unused=True)
            found += [_array(g) for g in again]
    return found


def _outcome(lib, fn, inputs, flowing, second):
    try:
        return _gradients(lib, fn, inputs, flowing, second)
    except Exception as exc:  # noqa: BLE001 - the exception type is what is compared
        return type(exc).__name__


def cases(nargs):
    """``(inputs, flowing gradient, second order)`` for an op of ``nargs`` tensor arguments."""
    full = [X, Y][:nargs]
    found = [
        (full, 1.0, False),
        (full, math.inf, False),
        (full, math.nan, False),
        (full, 1.0, True),
    ]
    for pair in ONE_ELEMENT:
        if nargs == 1 and pair[0] == 1.0:
            continue
        found += [([[v] for v in pair[:nargs]], 1.0, False)]
        found += [([[v] for v in pair[:nargs]], 1.0, True)]
    return found


def mismatches(torch, glassgrad, fn, nargs, first_order_only=False):
    """Descriptions of the cases where glassgrad differs from PyTorch (empty: none)."""
    found = []
    for inputs, flowing, second in cases(nargs):
        if second and first_order_only:
            continue
        expected = _outcome(torch, fn, inputs, flowing, second)
        got = _outcome(glassgrad, fn, inputs, flowing, second)
        if isinstance(expected, str) or isinstance(got, str):
            if expected != got:
                found.append((inputs, flowing, second, expected, got))
            continue
        if len(expected) != len(got) or not all(
            (a is None) == (b is None)
            and (a is None or np.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True))
            for a, b in zip(expected, got, strict=True)
        ):
            found.append((inputs, flowing, second, expected, got))
    return found
