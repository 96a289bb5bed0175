"""Run one program on PyTorch and on glassgrad and describe what happened, comparably.

A program is a function of the library (``torch`` or ``glassgrad``). Its outcome is what it
returned (tensors as dtype, shape, values, grad_fn name, requires_grad, is_leaf; containers
element-wise) or the type and message of the exception it raised. Shared by the view and
in-place tests.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

import glassgrad


def describe(value):
    """A comparable description of ``value`` (tensors by content and graph position)."""
    if isinstance(value, (torch.Tensor, glassgrad.Tensor)):
        node = value.grad_fn
        return (
            "tensor",
            str(value.dtype),
            tuple(value.shape),
            np.asarray(value.detach().numpy()).copy(),
            None if node is None else type(node).__name__,
            value.requires_grad,
            value.is_leaf,
        )
    if isinstance(value, (list, tuple)):
        return tuple(describe(item) for item in value)
    if isinstance(value, (torch.dtype, glassgrad.dtype)):
        return str(value)
    if hasattr(value, "next_functions"):  # a graph node: by PyTorch's class name
        return ("node", type(value).__name__)
    return value


def outcome(lib, program):
    """``("ok", description)`` or ``("raised", type name, message)``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ("ok", describe(program(lib)))
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome compared
        return ("raised", type(exc).__name__, str(exc))


def assert_same(got, want, where="result"):
    """``got`` (glassgrad's description) equals ``want`` (torch's); arrays to rounding."""
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), f"{where}: {got!r} vs {want!r}"
        assert got.shape == want.shape, f"{where}: shape {got.shape} vs {want.shape}"
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, equal_nan=True, err_msg=where)
        return
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), f"{where}: {got!r} vs {want!r}"
        for index, (item_got, item_want) in enumerate(zip(got, want, strict=True)):
            assert_same(item_got, item_want, f"{where}[{index}]")
        return
    assert got == want, f"{where}: {got!r} vs {want!r}"


def check(program):
    """Run ``program`` on both libraries and assert the outcomes agree."""
    want = outcome(torch, program)
    got = outcome(glassgrad, program)
    assert_same(got, want)
    return want
