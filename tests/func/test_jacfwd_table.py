"""The op table under ``jacfwd``: forward mode with the whole identity as one batch of tangents
(every JVP rule run under ``vmap``) against PyTorch's ``torch.func.jacfwd``.

For each differentiable op, its first sample is a function of its first float array (at most 30
elements; the other arguments fixed) and of the op's first float output.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from tests.ops.test_op_table import outputs, run, run_torch, samples_of

import glassgrad
from glassgrad.ops import OPS

NAMES = sorted(name for name in OPS if OPS[name].differentiable)


def _case(info):
    """(args in float64, position of the array to differentiate) or None."""
    for args, kwargs in list(samples_of(info, np.random.default_rng(3)))[:1]:
        args = [
            a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in args
        ]
        for position, value in enumerate(args):
            if isinstance(value, np.ndarray) and value.dtype.kind == "f" and 0 < value.size <= 30:
                return args, kwargs, position
    return None


def _function(info, lib, args, kwargs, position):
    def func(x):
        call = [lib.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        call[position] = x
        if lib is glassgrad:
            found = outputs(run(info, lib, call, kwargs))
        else:
            found = outputs(run_torch(info, call, kwargs)[0])
        floats = [o for o in found if o.dtype.is_floating_point]
        return floats[0] if floats else found[0]

    return func


def _jacobian(info, lib, case):
    args, kwargs, position = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        func = _function(info, lib, args, kwargs, position)
        return lib.func.jacfwd(func)(lib.tensor(args[position])).detach().numpy()


@pytest.mark.parametrize("name", NAMES)
def test_jacfwd_matches_torch(name):
    info = OPS[name]
    case = _case(info)
    if case is None:
        pytest.skip(f"{name}: no float input of at most 30 elements")
    try:
        theirs = _jacobian(info, torch, case)
    except Exception as exc:  # noqa: BLE001 - an op PyTorch's jacfwd refuses: ours may differ
        pytest.skip(f"PyTorch's jacfwd of {name} raises {type(exc).__name__}")
    ours = _jacobian(info, glassgrad, case)
    assert ours.shape == theirs.shape, name
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9, equal_nan=True, err_msg=name)
