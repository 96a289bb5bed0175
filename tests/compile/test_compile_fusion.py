"""Fused elementwise kernels: the same values and gradients as eager, with and without Numba."""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad
from glassgrad._compile import fusion


def _chain(x, w, c):
    h = x
    for _ in range(4):
        h = h.tanh() * 0.5 + h * w - 1.25 / (c + 2.0)
    return (h * h).sum()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("numba", [True, False])
def test_fused_chain_matches_eager(dtype, numba, monkeypatch):
    if numba and not fusion.numba_available():
        pytest.skip("numba is not installed")
    monkeypatch.setattr(fusion, "_AVAILABLE", [numba])
    rng = np.random.default_rng(0)
    shape = (40, 50)  # 2,000 elements: fused when Numba is there
    dt = getattr(glassgrad, dtype)
    x = glassgrad.tensor(rng.standard_normal(shape), dtype=dt, requires_grad=True)
    w = glassgrad.tensor(rng.standard_normal(shape), dtype=dt, requires_grad=True)
    c = glassgrad.tensor(2.0, dtype=dt, requires_grad=True)  # a broadcast 0-d operand
    expected = _chain(x, w, c)
    expected_grads = glassgrad.autograd.grad(expected, (x, w, c))
    compiled = glassgrad.compile(_chain)
    for _ in range(2):
        got = compiled(x, w, c)
        grads = glassgrad.autograd.grad(got, (x, w, c))
        rtol = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(got.item(), expected.item(), rtol=rtol)
        for g, e in zip(grads, expected_grads, strict=True):
            assert g.dtype == e.dtype and g.shape == e.shape
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=rtol, atol=1e-6)
    plan = compiled._compiled.entries[0].plan
    assert (plan.fused_count > 0) == numba


def test_kernels_are_cached_on_disk(tmp_path, monkeypatch):
    if not fusion.numba_available():
        pytest.skip("numba is not installed")
    monkeypatch.setenv("GLASSGRAD_KERNEL_CACHE", str(tmp_path))
    x = glassgrad.randn(1000, requires_grad=True)
    compiled = glassgrad.compile(lambda x: (x * 3.0517578125 + x * x - 0.2890625).sum())
    compiled(x).backward()
    assert list(tmp_path.glob("k_*.py"))


def test_more_lowered_ops_match_eager_and_stay_silent():
    import warnings

    F = glassgrad.nn.functional

    def f(x, w):
        h = F.relu(x * w) + x.sigmoid() * (x * x + 1).log() + (x.abs() + 1).sqrt() ** 2
        return (h + x.square() + x**3 + x / 0.0 + (x - 5).log()).sum()

    for shape in [(3,), (40, 50)]:
        for dtype in (glassgrad.float32, glassgrad.float64):
            x = glassgrad.randn(*shape, dtype=dtype, requires_grad=True)
            w = glassgrad.randn(*shape, dtype=dtype, requires_grad=True)
            expected = f(x, w)
            expected_grads = glassgrad.autograd.grad(expected, (x, w))
            compiled = glassgrad.compile(f)
            compiled(x, w)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                warnings.filterwarnings(
                    "ignore", category=RuntimeWarning, module=r"glassgrad\."
                )  # (what glassgrad installs at import, for its own modules)
                got = compiled(x, w)
                grads = glassgrad.autograd.grad(got, (x, w))
            entry = compiled._compiled.entries[0]
            assert entry.plan.lowered_count >= 15 and not entry.eager
            np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-5)
            for g, e in zip(grads, expected_grads, strict=True):
                np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-5, equal_nan=True)
