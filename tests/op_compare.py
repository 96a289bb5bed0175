"""Differential checks the op tests share: run a function on PyTorch and glassgrad and compare
values, ``grad_fn`` names, first and second-order gradients, or the errors raised."""

import numpy as np
import pytest
import torch

import glassgrad as gg

RNG = np.random.default_rng(0)


def _make(lib, arrays):
    made = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            t = lib.tensor(a)
            if a.dtype.kind == "f":
                t.requires_grad_(True)
            made.append(t)
        else:
            made.append(a)
    return made


def _np(grad):
    # force: PyTorch hands back ZeroTensors for some second-order gradients
    return None if grad is None else grad.detach().numpy(force=True).copy()


def _flat(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def check(fn, *arrays, second=True, compare_names=True):
    """Run ``fn(lib, *tensors)`` on torch and glassgrad; compare values, grad_fn names, grads."""
    results = {}
    for lib in (torch, gg):
        inputs = _make(lib, arrays)
        outs = _flat(fn(lib, *inputs))
        leaves = [t for t in inputs if isinstance(t, lib.Tensor) and t.requires_grad]
        names = [type(o.grad_fn).__name__ if o.grad_fn is not None else None for o in outs]
        values = [o.detach().numpy().copy() for o in outs]
        grads = second_grads = None
        diff = [o for o in outs if o.requires_grad]
        if leaves and diff:
            weights = [lib.tensor(np.linspace(-1, 2, o.numel()).reshape(o.shape)) for o in diff]
            loss = sum((o * w).sum() for o, w in zip(diff, weights, strict=False))
            firsts = lib.autograd.grad(loss, leaves, create_graph=second, allow_unused=True)
            grads = [_np(g) for g in firsts]
            used = [
                (g, x)
                for g, x in zip(firsts, leaves, strict=False)
                if g is not None and g.requires_grad
            ]
            if second and used:
                total = sum((g * g).sum() for g, _ in used)
                seconds = lib.autograd.grad(total, leaves, allow_unused=True)
                second_grads = [
                    None if g is None else g.detach().numpy(force=True) for g in seconds
                ]
        results[lib.__name__] = (values, names, grads, second_grads)
    want, got = results["torch"], results["glassgrad"]
    for w, g in zip(want[0], got[0], strict=False):
        assert w.shape == g.shape and w.dtype == g.dtype
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)
    if compare_names:
        assert got[1] == want[1]
    for kind in (2, 3):
        if want[kind] is None:
            continue
        assert got[kind] is not None, "glassgrad recorded no graph"
        for w, g in zip(want[kind], got[kind], strict=False):
            assert (w is None) == (g is None)
            if w is not None:
                np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)


def same_error(fn, *arrays):
    """Both libraries raise the same exception type with the same message."""
    caught = []
    for lib in (torch, gg):
        with pytest.raises(Exception) as info:
            fn(lib, *_make(lib, arrays))
        caught.append((type(info.value).__name__, str(info.value)))
    assert caught[1] == caught[0]


def r(*shape):
    return RNG.standard_normal(shape)
