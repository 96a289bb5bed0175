"""Mismatch classes the program fuzzer (tests/fuzz) still found after test_fuzz_found.py, each
reduced to a few lines run on PyTorch 2.13 and glassgrad: values, flags, grad_fn names,
gradients and exceptions must agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
from fuzz.compare import _differ
from fuzz.runner import raised, snapshot

NAN = float("nan")


def _copysign_result_written(lib, input_grad):
    """copysign saves its result even when only ``other`` needs a gradient."""
    a = lib.tensor([1.0, -2.0], requires_grad=input_grad) * 1
    b = lib.tensor([-1.0, 1.0], requires_grad=True) * 1
    out = lib.copysign(a, b)
    out.mul_(2)
    out.sum().backward()


def _copysign_input_written(lib):
    """... but saves ``input`` only for its own gradient."""
    a = lib.tensor([1.0, -2.0]) * 1
    b = lib.tensor([-1.0, 1.0], requires_grad=True)
    out = lib.copysign(a, b)
    a.mul_(2)
    out.sum().backward()
    return b.grad


def _det_1x1(lib, shape):
    """The cofactor of a 1x1 matrix is 1: a create_graph gradient of a constant is a constant."""
    a = lib.full(shape, 1.242, requires_grad=True)
    with lib.no_grad(), lib.enable_grad():
        det = a.det()
    (det * lib.tensor(2.0)).sum().backward(create_graph=True)
    return a.grad, det


def _det_1x1_grad_output(lib):
    a = lib.tensor([[0.0]], requires_grad=True)
    weight = lib.tensor(3.0, requires_grad=True)
    return lib.autograd.grad(a.det(), [a], weight * 1, create_graph=True)


def _nan_matrices(lib, op):
    """A NaN anywhere in a matrix: sign 0 and NaN (NumPy's pivoting may give 0 and -inf)."""
    rows = [
        [[NAN, 1.0], [1.0, 1.0]],
        [[1.0, NAN], [1.0, 1.0]],
        [[1.0, 1.0], [1.0, NAN]],
        [[2.0, 1.0], [1.0, 3.0]],
    ]
    a = lib.tensor(rows, dtype=lib.float64, requires_grad=True)
    return op(lib)(a), op(lib)(a[:, :1, :1].float())


def _no_grad_view_requires_grad(lib, kind, unset):
    """A view taken under no_grad, given requires_grad=True: a leaf with its own .grad."""
    base = lib.tensor([0.025, 0.496, 1.719, -1.73], dtype=lib.float64, requires_grad=True)
    with lib.no_grad():
        view = base.unbind(0)[2] if kind == "unbind" else base[1:]
    if unset:
        base.requires_grad_(False)
    if kind == "setter":
        view.requires_grad = True
    else:
        view.requires_grad_()
    (view * 2).sum().backward()
    base.requires_grad_(not unset)
    return view.requires_grad, view.is_leaf, view.grad, base.grad


CASES = {
    "copysign result written, input needs grad": lambda lib: _copysign_result_written(lib, True),
    "copysign result written, only other needs grad": lambda lib: _copysign_result_written(
        lib, False
    ),
    "copysign input written, only other needs grad": _copysign_input_written,
    "det 1x1 create_graph": lambda lib: _det_1x1(lib, (1, 1)),
    "det batch of 1x1 create_graph": lambda lib: _det_1x1(lib, (3, 1, 1)),
    "det 1x1 at 0, grad output needs grad": _det_1x1_grad_output,
    "slogdet with NaN": lambda lib: _nan_matrices(lib, lambda m: m.slogdet),
    "linalg.slogdet with NaN": lambda lib: _nan_matrices(lib, lambda m: m.linalg.slogdet),
    "det with NaN": lambda lib: _nan_matrices(lib, lambda m: m.det),
    "logdet with NaN": lambda lib: _nan_matrices(lib, lambda m: m.logdet),
    **{
        f"no_grad view requires_grad ({kind}, base unset {unset})": (
            lambda lib, kind=kind, unset=unset: _no_grad_view_requires_grad(lib, kind, unset)
        )
        for kind in ("unbind", "slice", "setter")
        for unset in (False, True)
    },
}


def outcome(lib, case):
    try:
        with np.errstate(all="ignore"):
            return snapshot(CASES[case](lib))
    except Exception as error:  # noqa: BLE001 - the type and message are compared
        return raised(error)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", sorted(CASES))
def test_fuzz_class(case):
    want, got = outcome(torch, case), outcome(glassgrad, case)
    assert _differ(got, want) is None, (_differ(got, want), got, want)
