"""``Tensor.view(dtype)`` reinterprets the bytes (as PyTorch does), never converts the values:
same-size and different-size element types, the shared memory, no graph, PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg


def _outcome(fn):
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc)
    return (
        str(value.dtype),
        tuple(value.shape),
        value.tolist()
        if not value.is_floating_point()
        else np.asarray(value.tolist()).round(6).tolist(),
        value.requires_grad,
        value.grad_fn is None,
    )


CASES = {
    "float-as-int": lambda L: L.tensor([1.0, 2.0], requires_grad=True).view(L.int32),
    "float-as-float": lambda L: L.tensor([1.0, 2.0], requires_grad=True).view(L.float32),
    "float-as-double": lambda L: L.tensor([1.0, 2.0]).view(L.float64),
    "float-as-bytes": lambda L: L.tensor([1.0, 2.0]).view(L.uint8),
    "float-as-half": lambda L: L.tensor([1.0, 2.0]).view(L.float16),
    "bytes-as-long-2d": lambda L: L.arange(16, dtype=L.uint8).reshape(2, 8).view(L.int64),
    "short-as-bytes": lambda L: L.arange(4, dtype=L.int16).view(L.uint8),
    "scalar-same-size": lambda L: L.tensor(3, dtype=L.int16).view(L.float16),
    "scalar-other-size": lambda L: L.tensor(3, dtype=L.uint8).view(L.int16),
    "not-divisible": lambda L: L.arange(7, dtype=L.uint8).view(L.int64),
    "strided": lambda L: L.arange(8, dtype=L.uint8).reshape(4, 2).t().view(L.int16),
    "last-dim-one": lambda L: L.arange(8, dtype=L.int16).reshape(8, 1).view(L.uint8),
    "bool-as-bytes": lambda L: L.tensor([True, False]).view(L.uint8),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_view_dtype_against_torch(name):
    assert _outcome(lambda: CASES[name](gg)) == _outcome(lambda: CASES[name](torch))


@pytest.mark.parametrize("lib", [torch, gg], ids=["torch", "glassgrad"])
def test_view_dtype_shares_memory(lib):
    base = lib.arange(4, dtype=lib.int16)
    view = base.view(lib.uint8)
    view[0] = 9
    assert base.tolist() == [9, 1, 2, 3]
