"""Resuming after a graph break: the parts around ``.item()``, ``print`` or a data-dependent
branch replay compiled segments, and any call that differs from the trace runs eagerly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
import glassgrad.nn.functional as F


def _step(lib, F_, x, w, log):
    h = (x @ w).tanh()
    loss = (h * h).mean()
    log.append(loss.item())  # a break that only reads a value
    if loss > 0.2:  # data-dependent branching: another break
        out = loss * 2 + h.sum()
    else:
        out = loss * 3
    return out.exp()


def _grads(lib, fn, x_np, w_np):
    x = lib.tensor(x_np, requires_grad=True)
    w = lib.tensor(w_np, requires_grad=True)
    log = []
    out = fn(lib, F if lib is glassgrad else torch.nn.functional, x, w, log)
    out.backward()
    return out.detach().numpy(), x.grad.numpy(), w.grad.numpy(), log, out


@pytest.mark.parametrize("scales", [(1, 1, 1, 1, 1), (1, 1, 0.01, 1, 0.01)])
def test_resumed_function_matches_eager_and_pytorch_across_branches(scales):
    compiled = glassgrad.compile(_step)
    rng = np.random.default_rng(0)
    kinds = []
    for scale in scales:
        x_np = rng.standard_normal((40, 3))
        w_np = rng.standard_normal((3, 50)) * scale
        got = _grads(glassgrad, lambda t, F_, *a: compiled(t, F_, *a), x_np, w_np)
        eager = _grads(glassgrad, _step, x_np, w_np)
        theirs = _grads(torch, _step, x_np, w_np)
        for a, b, c in zip(got[:3], eager[:3], theirs[:3], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)
            np.testing.assert_allclose(a, c, rtol=1e-10)
        assert got[3] == eager[3]  # the value .item() read, once per call
        kinds.append(type(got[4].grad_fn).__name__)
    entry = compiled._compiled.entries[0]
    assert entry.resume is not None and len(entry.resume.segments) == 3
    assert len(compiled._compiled.entries) == 1
    # the trace runs eagerly; replays that take the traced branch run the segments, a replay
    # that branches the other way finishes eagerly
    replayed = [k == "CompiledFunctionBackward" for k in kinds[1:]]
    assert replayed == [s == scales[0] for s in scales[1:]]


def test_a_number_read_by_item_that_changes_finishes_eagerly():
    def f(x):
        scale = x.sum().item()
        return (x * scale).tanh()

    compiled = glassgrad.compile(f)
    base = np.linspace(0.1, 1, 600, dtype=np.float32) / 300
    for values in (base, base, base[::-1] * 2, base):
        x = glassgrad.tensor(values, requires_grad=True)
        out = compiled(x)
        out.sum().backward()
        for lib, rtol in ((glassgrad, 1e-6), (torch, 1e-4)):
            expected = lib.tensor(values, requires_grad=True)
            f(expected).sum().backward()
            np.testing.assert_allclose(out.detach().numpy(), f(expected).detach().numpy(), rtol)
            np.testing.assert_allclose(x.grad.numpy(), expected.grad.numpy(), rtol=rtol)


def test_print_in_the_middle_prints_each_call(capsys):
    def f(x):
        h = x.exp() * 2
        print(h.sum())
        return (h * x).sum()

    compiled = glassgrad.compile(f)
    for k in range(3):
        values = np.linspace(0, k, 1000)
        x = glassgrad.tensor(values, requires_grad=True)
        compiled(x).backward()
        expected = torch.tensor(values, requires_grad=True)
        f(expected).backward()
        np.testing.assert_allclose(x.grad.numpy(), expected.grad.numpy(), rtol=1e-6)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6  # ours and PyTorch's, each call
    assert compiled._compiled.entries[0].resume is not None


def test_a_compiled_training_loop_that_logs_gives_eager_losses():
    def train(compile_it):
        rng = np.random.default_rng(1)
        x = glassgrad.tensor(rng.standard_normal((200, 5)).astype(np.float32))
        y = glassgrad.tensor(rng.integers(0, 3, 200))
        w = glassgrad.tensor(rng.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
        b = glassgrad.tensor(np.zeros(3, np.float32), requires_grad=True)
        logged = []

        def step(x, y):
            loss = F.cross_entropy(F.linear(x, w, b), y)
            logged.append(loss.item())
            return loss

        run = glassgrad.compile(step) if compile_it else step
        for _ in range(5):
            w.grad = b.grad = None
            run(x, y).backward()
            with glassgrad.no_grad():
                w -= w.grad * 0.5
                b -= b.grad * 0.5
        if compile_it:
            assert run._compiled.entries[0].resume is not None
        return logged, w.detach().numpy()

    (losses, w), (eager_losses, eager_w) = train(True), train(False)
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-6)
    np.testing.assert_allclose(w, eager_w, rtol=1e-5, atol=1e-7)
    assert len(set(losses)) == 5  # (the loop really trained: a stale value would repeat)


def test_small_functions_with_a_break_run_eagerly():
    def f(x):
        h = x.tanh()
        print(h.sum().item())
        return h * 2

    compiled = glassgrad.compile(f)
    compiled(glassgrad.ones(3, requires_grad=True))
    entry = compiled._compiled.entries[0]
    assert entry.eager and entry.resume is None


def test_breaks_that_change_state_still_run_eagerly():
    def f(x):
        h = x * 2
        h.add_(1)  # in place: no resume
        return h.sum().item(), h

    compiled = glassgrad.compile(f)
    x = glassgrad.tensor([1.0, 2.0], requires_grad=True)
    compiled(x)
    entry = compiled._compiled.entries[0]
    assert entry.eager and entry.resume is None


def test_an_output_changed_in_place_off_the_trace_raises_eagers_error_at_backward():
    def f(x, flag):
        h = x.tanh()
        if flag.item() > 0:  # the trace does not take this branch
            h.mul_(2)
        return (h * 3).sum()

    compiled = glassgrad.compile(f)
    x = glassgrad.randn(1000, requires_grad=True)
    compiled(x, glassgrad.tensor(0)).backward()
    assert compiled._compiled.entries[0].resume is not None
    compiled(x, glassgrad.tensor(0)).backward()  # a replay
    for run in (f, compiled):
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            run(x, glassgrad.tensor(1)).backward()
