"""Running one case in PyTorch and glassgrad and comparing sparse and dense results."""

from __future__ import annotations

import numpy as np
import torch

import glassgrad


def both(fn):
    """``fn(lib)`` for PyTorch and glassgrad."""
    return fn(torch), fn(glassgrad)


def same(want, got, tol=1e-6, flag=True):
    """Equal through tuples: layout, shape, dtype, and for a sparse tensor its stored indices and
    values (in their order) and coalesced flag (unless ``flag=False``: PyTorch's flag on a
    sparse ``.grad`` depends on whether its indices were shared); ``repr`` too."""
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(want) == len(got)
        for w, g in zip(want, got, strict=True):
            same(w, g, tol, flag)
        return
    if not isinstance(want, torch.Tensor):
        assert want == got
        return
    assert repr(got.layout) == repr(want.layout)
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype) == str(want.dtype).replace("torch", "glassgrad") or (
        str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    )
    if want.layout == torch.sparse_coo:
        assert got.is_coalesced() == want.is_coalesced() or not flag
        np.testing.assert_array_equal(got._indices().numpy(), want._indices().numpy())
        np.testing.assert_allclose(
            got._values().detach().numpy(), want._values().detach().numpy(), rtol=tol, atol=tol
        )
    elif want.layout in (torch.sparse_csr, torch.sparse_csc):
        assert got.to_dense().tolist() == want.to_dense().tolist() or np.allclose(
            got.to_dense().detach().numpy(), want.to_dense().detach().numpy(), rtol=tol, atol=tol
        )
    else:
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=tol, atol=tol)
    if tol <= 1e-6:
        assert repr(got) == repr(want)


def raises_same(fn):
    """``fn`` raises in both libraries: the same exception type and message."""
    caught = []
    for lib in (torch, glassgrad):
        try:
            fn(lib)
        except Exception as exc:  # noqa: BLE001 - any exception is compared
            caught.append((type(exc).__name__, str(exc).split("\n")[0][:300]))
        else:
            caught.append(None)
    assert caught[0] is not None, "PyTorch did not raise"
    assert caught[1] == caught[0]
