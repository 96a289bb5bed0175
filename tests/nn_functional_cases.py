"""Helpers for the nn.functional tests: run one call on torch and on glassgrad with the same
inputs, then compare values, ``grad_fn`` names and gradients (first and second order)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF

import glassgrad
import glassgrad.nn.functional as GF

LIBS = {"torch": (torch, TF), "glassgrad": (glassgrad, GF)}


def to_lib(lib, value, grad):
    """A NumPy array as a tensor of ``lib`` (floats require grad when ``grad``)."""
    if not isinstance(value, np.ndarray):
        return value
    t = lib.tensor(value.copy())
    if grad and value.dtype.kind == "f":
        t.requires_grad_(True)
    return t


def run(lib_name, fn, arrays, grad=True):
    """``fn(lib, F, *tensors)`` on ``lib``; returns (output, input tensors)."""
    lib, functional = LIBS[lib_name]
    tensors = [to_lib(lib, a, grad) for a in arrays]
    return fn(lib, functional, *tensors), tensors


def _np(t):
    return t.detach().numpy(force=True) if hasattr(t, "detach") else np.asarray(t)


def compare(
    fn, arrays, *, rtol=1e-6, atol=1e-7, grad=True, second=False, name=True, grad_mask=None
):
    """Check ``fn`` on glassgrad against torch: values, grad_fn name, gradients."""
    expected, t_inputs = run("torch", fn, arrays, grad)
    got, g_inputs = run("glassgrad", fn, arrays, grad)
    e_out = expected[0] if isinstance(expected, tuple) else expected
    g_out = got[0] if isinstance(got, tuple) else got
    if isinstance(expected, tuple):
        for e, g in zip(expected, got, strict=False):
            np.testing.assert_allclose(_np(g), _np(e), rtol=rtol, atol=atol)
    np.testing.assert_allclose(_np(g_out), _np(e_out), rtol=rtol, atol=atol)
    assert g_out.dtype.name == str(e_out.dtype).split(".")[-1] or str(e_out.dtype) == str(
        g_out.dtype
    )
    if name and e_out.grad_fn is not None:
        assert type(g_out.grad_fn).__name__ == type(e_out.grad_fn).__name__
    if not grad or e_out.grad_fn is None:
        return
    rng = np.random.default_rng(1)
    seed = rng.standard_normal(e_out.shape).astype(_np(e_out).dtype)
    pairs = [
        (t, g)
        for t, g in zip(t_inputs, g_inputs, strict=False)
        if hasattr(t, "requires_grad") and t.requires_grad
    ]
    e_grads = torch.autograd.grad(
        e_out, [p[0] for p in pairs], torch.tensor(seed), create_graph=second, allow_unused=True
    )
    g_grads = glassgrad.autograd.grad(
        g_out, [p[1] for p in pairs], glassgrad.tensor(seed), create_graph=second, allow_unused=True
    )
    for e, g in zip(e_grads, g_grads, strict=False):
        if e is None:
            assert g is None or not np.any(_np(g))
            continue
        np.testing.assert_allclose(_np(g), _np(e), rtol=rtol * 10, atol=atol * 10)
    if second:
        _second(e_grads, g_grads, pairs, rtol, atol)


def _second(e_grads, g_grads, pairs, rtol, atol):
    """Differentiate the sum of squared first gradients again and compare."""
    e_terms, g_terms = [], []
    for e, g in zip(e_grads, g_grads, strict=False):
        if e is None or not e.requires_grad:
            continue
        if g is None or not g.requires_grad:
            # glassgrad records nothing when the gradient is constant: torch's must be too
            second = torch.autograd.grad(
                (e * e).sum(), [p[0] for p in pairs], allow_unused=True, retain_graph=True
            )
            assert all(s is None or not s.abs().max() > 0 for s in second)
            continue
        e_terms.append((e * e).sum())
        g_terms.append((g * g).sum())
    if not e_terms:
        return
    e_total, g_total = sum(e_terms), sum(g_terms)
    e2 = torch.autograd.grad(e_total, [p[0] for p in pairs], allow_unused=True)
    g2 = glassgrad.autograd.grad(g_total, [p[1] for p in pairs], allow_unused=True)
    for e, g in zip(e2, g2, strict=False):
        if e is None:
            assert g is None or not np.any(_np(g))
            continue
        assert g is not None
        np.testing.assert_allclose(_np(g), _np(e), rtol=rtol * 100, atol=atol * 100)
