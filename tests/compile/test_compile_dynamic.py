"""``compile(fn, dynamic=True)``: one trace serves every size of the inputs' first dimension
where the plan cannot depend on it; elsewhere (and with ``dynamic=None``/``False``) each shape
gets its own entry, as before."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
import glassgrad.nn.functional as F

SIZES = (4, 9, 2, 33, 700, 4)


def _model(lib, F_, w, b):
    def f(x, y):
        h = F_.relu(x @ w + b).tanh() * 0.5 + x.sum() * 0.01
        return F_.cross_entropy(h, y) + (h * h).mean()

    return f


def _run(lib, fn, x_np, y_np, params):
    x = lib.tensor(x_np, requires_grad=True)
    out = fn(x, lib.tensor(y_np))
    leaves = [x, *params]
    grads = lib.autograd.grad(out, leaves)
    return out.detach().numpy(), [g.numpy() for g in grads], out


def _params(lib, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    w = lib.tensor(rng.standard_normal((7, 3)), requires_grad=True)
    b = lib.tensor(rng.standard_normal(3), requires_grad=True)
    return w, b


def test_one_trace_serves_every_batch_size_with_eager_values():
    w, b = _params(glassgrad)
    tw, tb = _params(torch)
    eager = _model(glassgrad, F, w, b)
    compiled = glassgrad.compile(eager, dynamic=True)
    theirs = _model(torch, torch.nn.functional, tw, tb)
    rng = np.random.default_rng(1)
    for k, n in enumerate(SIZES):
        x_np, y_np = rng.standard_normal((n, 7)), rng.integers(0, 3, n)
        got = _run(glassgrad, compiled, x_np, y_np, (w, b))
        expected = _run(glassgrad, eager, x_np, y_np, (w, b))
        oracle = _run(torch, theirs, x_np, y_np, (tw, tb))
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
        np.testing.assert_allclose(got[0], oracle[0], rtol=1e-10)
        for a, e, o in zip(got[1], expected[1], oracle[1], strict=True):
            assert a.shape == e.shape
            np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(a, o, rtol=1e-8, atol=1e-12)
        if k:
            assert type(got[2].grad_fn).__name__ == "CompiledFunctionBackward"
    entries = compiled._compiled.entries
    assert len(entries) == 1 and entries[0].dynamic


def test_dynamic_false_gives_each_shape_its_entry():
    w, b = _params(glassgrad)
    compiled = glassgrad.compile(_model(glassgrad, F, w, b), dynamic=False)
    rng = np.random.default_rng(1)
    for n in (4, 9, 4, 12):
        compiled(glassgrad.tensor(rng.standard_normal((n, 7))), glassgrad.tensor([0] * n))
    entries = compiled._compiled.entries
    assert len(entries) == 3 and not any(e.dynamic for e in entries)


def test_dynamic_none_turns_dynamic_at_the_first_size_change_as_pytorch():
    w, b = _params(glassgrad)
    eager = _model(glassgrad, F, w, b)
    compiled = glassgrad.compile(eager)
    rng = np.random.default_rng(1)
    for n in (4, 4, 9, 12, 4, 30):
        x_np, y_np = rng.standard_normal((n, 7)), rng.integers(0, 3, n)
        got = _run(glassgrad, compiled, x_np, y_np, (w, b))
        expected = _run(glassgrad, eager, x_np, y_np, (w, b))
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
        for a, e in zip(got[1], expected[1], strict=True):
            np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-14)
    entries = compiled._compiled.entries
    assert [e.dynamic for e in entries] == [False, True]


@pytest.mark.parametrize(
    "body",
    [
        lambda x: (x * 2).sum() / x.shape[0],
        lambda x: (x * 2).sum() / len(x),
        lambda x: (x * 2).sum() / x.size(0),
        lambda x: (x * 2).sum() * (1.0 / x.numel()),
        lambda x: (x * 2).reshape(-1, 7).sum(),  # (a reshape's sizes are the trace's)
    ],
)
def test_code_that_reads_a_size_keeps_one_entry_per_shape(body):
    compiled = glassgrad.compile(body, dynamic=True)
    for n in (4, 9, 4, 12):
        x = glassgrad.ones(n, 7, requires_grad=True)
        out = compiled(x)
        np.testing.assert_allclose(out.item(), body(x).item())
    entries = compiled._compiled.entries
    assert len(entries) == 3 and not any(e.dynamic for e in entries)


def test_a_batch_size_equal_to_another_size_is_not_made_dynamic():
    w = glassgrad.randn(3, 3, requires_grad=True)
    compiled = glassgrad.compile(lambda x: (x @ w).tanh().sum(), dynamic=True)
    compiled(glassgrad.randn(3, 3))  # batch 3 meets w's 3: which is which?
    compiled(glassgrad.randn(5, 3))  # traced anew, and 5 meets nothing: dynamic from here
    compiled(glassgrad.randn(8, 3))
    assert [e.dynamic for e in compiled._compiled.entries] == [False, True]


def test_sizes_equal_at_the_trace_must_stay_equal():
    compiled = glassgrad.compile(lambda x, y: (x * y).exp().sum(), dynamic=True)
    compiled(glassgrad.randn(4, 3), glassgrad.randn(4, 3))
    out = compiled(glassgrad.randn(6, 3), glassgrad.randn(6, 3))
    assert type(out).__name__ == "Tensor" and len(compiled._compiled.entries) == 1
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        compiled(glassgrad.randn(5, 3), glassgrad.randn(6, 3))  # traced anew: eager's error
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        torch.randn(5, 3) * torch.randn(6, 3)


def test_many_sizes_never_reach_the_recompile_limit(caplog):
    compiled = glassgrad.compile(lambda x: (x.tanh() * x).sum(), dynamic=True)
    for n in range(2, 40):
        x = glassgrad.randn(n, 5, requires_grad=True)
        compiled(x).backward()
        got = x.grad.numpy().copy()
        x.grad = None
        (x.tanh() * x).sum().backward()
        np.testing.assert_allclose(got, x.grad.numpy(), rtol=1e-6)
    assert len(compiled._compiled.entries) == 1
    assert "recompile_limit" not in caplog.text
