"""Run the same lines on PyTorch and glassgrad and compare everything a user can see.

``outcome(thunk)`` turns a call into comparable data: tensors become (shape, dtype, values,
requires_grad, grad_fn name), exceptions (type name, message), warnings their messages.
"""

from __future__ import annotations

import warnings

import numpy as np


def describe(value, decimals=10):
    if isinstance(value, (tuple, list)):
        return type(value).__name__, [describe(v, decimals) for v in value]
    if hasattr(value, "grad_fn") and hasattr(value, "shape"):
        grad_fn = value.grad_fn
        return (
            "tensor",
            tuple(value.shape),
            str(value.dtype),
            np.round(value.detach().numpy().astype(np.float64), decimals).tolist(),
            value.requires_grad,
            None if grad_fn is None else grad_fn.name(),
        )
    return value


def outcome(thunk, decimals=10):
    """(result or (exception type, message), warning messages) of ``thunk()``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            found = describe(thunk(), decimals)
        except Exception as error:  # noqa: BLE001 - the comparison is the point
            found = ("raised", type(error).__name__, str(error))
    return found, [str(w.message) for w in caught]


def assert_same(case, *args, decimals=10):
    """``case(lib, *args)`` gives the same outcome on PyTorch and glassgrad."""
    import torch

    import glassgrad

    want = outcome(lambda: case(torch, *args), decimals)
    got = outcome(lambda: case(glassgrad, *args), decimals)
    assert got == want
