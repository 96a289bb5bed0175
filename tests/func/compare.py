"""What the torch.func tests share: run a case in both libraries and compare nested results."""

from __future__ import annotations

import numpy as np
import torch

import glassgrad


def both(fn):
    """``fn(lib)`` for PyTorch and glassgrad."""
    return fn(torch), fn(glassgrad)


def close(want, got, tol=1e-10, dtype=True):
    """``got`` (glassgrad) equals ``want`` (PyTorch) through tuples, lists and dicts: shapes,
    dtypes (unless ``dtype=False``) and values within ``tol``."""
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(want) == len(got)
        for w, g in zip(want, got, strict=True):
            close(w, g, tol, dtype)
        return
    if isinstance(want, dict):
        assert set(want) == set(got)
        for key in want:
            close(want[key], got[key], tol, dtype)
        return
    assert tuple(got.shape) == tuple(want.shape)
    if dtype:
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=tol, atol=tol)
