"""bfloat16 around the ops the op table once listed as open, against PyTorch 2.13: the
float32-autocast ops that PyTorch refuses in plain bfloat16 (still computed under autocast),
stft with a float32 window, nansum's float32 sum, the matmul family's dtypes and gradients, and
sparse products."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import glassgrad

RNG = np.random.default_rng(11)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((2, 3, 4)).astype(np.float32)
C = RNG.standard_normal((2, 4, 5)).astype(np.float32)
SPARSE = np.where(np.abs(A[:2, :3]) > 0.5, A[:2, :3], 0).astype(np.float32)


def _outcome(fn, lib):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = fn(lib)
        except Exception as exc:  # noqa: BLE001 - the error is what is compared
            return ("error", type(exc).__name__, str(exc).split("\nException raised from")[0])
    outs = out if isinstance(out, tuple) else (out,)
    return tuple(
        (str(o.dtype).split(".")[-1], tuple(o.shape), _real(lib, o.detach()).numpy()) for o in outs
    )


def _real(lib, value):
    value = value.to_dense() if value.layout != lib.strided else value
    return lib.view_as_real(value) if value.is_complex() else value.to(lib.float64)


def _same(fn, tol=3e-2):
    theirs, ours = _outcome(fn, torch), _outcome(fn, glassgrad)
    if theirs[0] == "error" or ours[0] == "error":
        assert ours == theirs
        return
    assert len(ours) == len(theirs)
    for (d1, s1, v1), (d2, s2, v2) in zip(ours, theirs, strict=True):
        assert (d1, s1) == (d2, s2)
        np.testing.assert_allclose(v1, v2, rtol=tol, atol=tol)


def _bf(lib, array, grad=False):
    out = lib.tensor(array).to(lib.bfloat16)
    return out.requires_grad_() if grad else out


CASES = {
    "cdist_autocast": lambda L: _autocast(L, lambda: L.cdist(_bf(L, A), _bf(L, A))),
    "cholesky_autocast": lambda L: _autocast(
        L, lambda: L.cholesky(_bf(L, A @ A.T + 3 * np.eye(3, dtype=np.float32)))
    ),
    "linalg_cholesky": lambda L: L.linalg.cholesky(_bf(L, A @ A.T)),
    "linalg_inv": lambda L: L.linalg.inv(_bf(L, A @ A.T)),
    "stft_float32_window": lambda L: L.stft(
        _bf(L, B.reshape(-1)), 8, window=L.ones(8), return_complex=True
    ),
    "stft_no_window": lambda L: L.stft(_bf(L, B.reshape(-1)), 8, return_complex=True),
    "nansum_into_bfloat16": lambda L: L.tensor(_with_nan(B)).nansum(dtype=L.bfloat16),
    "nanmean_dim": lambda L: _bf(L, _with_nan(B)).nanmean(1),
    "bmm_grads": lambda L: _grads(L, lambda a, c: L.bmm(a, c)),
    "baddbmm_grads": lambda L: _grads(L, lambda a, c: L.baddbmm(L.ones(5, dtype=L.bfloat16), a, c)),
    "addmm_grads": lambda L: _grads(
        L, lambda a, c: L.addmm(L.ones(5, dtype=L.bfloat16), a[0], c[0])
    ),
    "sparse_dense": lambda L: L.sparse.mm(_bf(L, SPARSE).to_sparse(), _bf(L, A)),
    "dense_sparse": lambda L: L.mm(_bf(L, A), _bf(L, C[0]).to_sparse()),
    "sparse_sparse": lambda L: L.sparse.mm(_bf(L, SPARSE).to_sparse(), _bf(L, A).to_sparse()),
    "interpolate_bicubic_grad": lambda L: _grads1(
        L, lambda x: L.nn.functional.interpolate(x[None], size=(5, 7), mode="bicubic")
    ),
}


def _autocast(lib, fn):
    with lib.autocast("cpu", dtype=lib.bfloat16):
        return fn()


def _with_nan(array):
    out = array.copy()
    out[out > 1.0] = np.nan
    return out


def _grads(lib, fn):
    a, c = _bf(lib, B, grad=True), _bf(lib, C, grad=True)
    out = fn(a, c)
    out.sum().backward()
    return out, a.grad, c.grad


def _grads1(lib, fn):
    x = _bf(lib, B, grad=True)
    out = fn(x)
    (out * out).sum().backward()
    return out, x.grad


@pytest.mark.parametrize("case", sorted(CASES))
def test_bfloat16_edge_matches_torch(case):
    _same(CASES[case])
