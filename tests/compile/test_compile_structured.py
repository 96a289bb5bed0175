"""The ops of training steps written out in a compiled plan (``_compile/structured``): products,
softmax, losses, reductions over dimensions, reshapes, convolution and pooling.

Each case runs a function eagerly in glassgrad and in PyTorch and compiled in glassgrad (traced,
then replayed on new values), and compares the outputs and the gradients; it also checks that
the plan really wrote the op out (``_F_<prim>`` in its source) instead of calling it opaquely.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad
import glassgrad.nn.functional as F

TF = torch.nn.functional


def _cases():
    r = np.random.default_rng(3)

    def arr(*shape, dtype=np.float32):
        return r.standard_normal(shape).astype(dtype)

    labels = r.integers(0, 5, 6)
    return [
        ("matmul", lambda t, F, a, b: (a @ b).tanh().sum(), [arr(6, 4), arr(4, 3)]),
        ("matmul", lambda t, F, a, b: t.matmul(a, b).sum(), [arr(2, 6, 4), arr(4, 3)]),
        (
            "matmul",
            lambda t, F, a, b: a.mm(b).exp().mean(),
            [arr(6, 4, dtype=np.float64), arr(4, 3, dtype=np.float64)],
        ),
        (
            "addmm",
            lambda t, F, c, a, b: t.addmm(c, a, b).sin().sum(),
            [arr(3), arr(6, 4), arr(4, 3)],
        ),
        (
            "linear",
            lambda t, F, x, w, b: F.linear(x, w, b).tanh().sum(),
            [arr(6, 4), arr(3, 4), arr(3)],
        ),
        ("linear", lambda t, F, x, w: F.linear(x, w).square().sum(), [arr(2, 6, 4), arr(3, 4)]),
        (
            "linear",
            lambda t, F, x, w, b: F.linear(x, w, b).sum(),
            [arr(2, 6, 4), arr(3, 4), arr(3)],
        ),
        (
            "linear",
            lambda t, F, x, w, b: F.linear(x, w, b).exp().sum(),
            [arr(4), arr(3, 4), arr(3)],
        ),
        ("relu", lambda t, F, x: (F.relu(x) * x).sum(), [arr(5, 7)]),
        ("gelu", lambda t, F, x: (F.gelu(x) * x).sum(), [arr(5, 7)]),
        (
            "gelu",
            lambda t, F, x: F.gelu(x, approximate="tanh").sum(),
            [arr(5, 7, dtype=np.float64)],
        ),
        ("softmax", lambda t, F, x: (F.softmax(x, dim=1) * x).sum(), [arr(5, 7)]),
        ("softmax", lambda t, F, x: (x.softmax(0) * x).sum(), [arr(5, 7)]),
        ("log_softmax", lambda t, F, x: (F.log_softmax(x, -1) * x).sum(), [arr(3, 5, 7)]),
        ("cross_entropy", lambda t, F, x, y: F.cross_entropy(x, y), [arr(6, 5), labels]),
        (
            "cross_entropy",
            lambda t, F, x, y: F.cross_entropy(x * 2, y, reduction="sum"),
            [arr(6, 5), labels],
        ),
        (
            "cross_entropy",
            lambda t, F, x, y: (F.cross_entropy(x, y, reduction="none") * x[:, 0]).sum(),
            [arr(6, 5, dtype=np.float64), labels],
        ),
        (
            "cross_entropy",
            lambda t, F, x, y: F.cross_entropy(x, y, ignore_index=2),
            [arr(6, 5), labels],
        ),
        ("nll_loss", lambda t, F, x, y: F.nll_loss(F.log_softmax(x, 1), y), [arr(6, 5), labels]),
        ("mse_loss", lambda t, F, x, y: F.mse_loss(x.tanh(), y), [arr(4, 5), arr(4, 5)]),
        (
            "mse_loss",
            lambda t, F, x, y: F.mse_loss(x, y, reduction="sum") * 3,
            [arr(4, 5), arr(4, 5)],
        ),
        (
            "mse_loss",
            lambda t, F, x, y: (F.mse_loss(x, y, reduction="none") * x).sum(),
            [arr(4, 5), arr(4, 5)],
        ),
        ("sum", lambda t, F, x: (x.sum(1) * x[:, 0]).sum(), [arr(4, 5)]),
        ("sum", lambda t, F, x: (x.sum((0, 2), keepdim=True) * x).sum(), [arr(3, 4, 5)]),
        ("mean", lambda t, F, x: (x.mean(-1) ** 2).sum(), [arr(4, 5)]),
        ("mean", lambda t, F, x: (t.mean(x, dim=(0, 1), keepdim=True) * x).sum(), [arr(3, 4, 5)]),
        (
            "reshape",
            lambda t, F, x: (x.reshape(4, 15).tanh() * x.view(-1)[:15]).sum(),
            [arr(3, 4, 5)],
        ),
        (
            "reshape",
            lambda t, F, x: (x.flatten(1).exp() + x.unsqueeze(0).sum()).sum(),
            [arr(3, 4, 5)],
        ),
        (
            "conv2d",
            lambda t, F, x, w, b: F.conv2d(x, w, b, padding=1).tanh().sum(),
            [arr(2, 3, 6, 6), arr(4, 3, 3, 3), arr(4)],
        ),
        (
            "conv2d",
            lambda t, F, x, w: F.conv2d(x, w, stride=2, groups=2).exp().sum(),
            [arr(2, 4, 7, 7), arr(6, 2, 3, 3)],
        ),
        (
            "max_pool2d",
            lambda t, F, x: (F.max_pool2d(x, 2) * 3).sum(),
            [arr(2, 3, 6, 8)],
        ),
        (
            "relu_max_pool2d",
            lambda t, F, x: (F.max_pool2d(F.relu(x - 0.5), 2) * x[:, :, ::2, ::2]).sum(),
            [arr(2, 3, 6, 8)],
        ),
        (
            "max_pool2d",  # (the relu's output has another use: not combined)
            lambda t, F, x: (lambda r: F.max_pool2d(r, 2).sum() + r.sum() * 0)(F.relu(x)),
            [arr(2, 3, 6, 8)],
        ),
    ]


CASES = _cases()


def _run(lib, fn, arrays, grads=True):
    F_ = TF if lib is torch else F
    tensors = []
    for a in arrays:
        t = lib.tensor(a)
        if grads and a.dtype.kind == "f":
            t.requires_grad_(True)
        tensors.append(t)
    out = fn(lib, F_, *tensors)
    found = lib.autograd.grad(out, [t for t in tensors if t.requires_grad])
    return out.detach().numpy(), [g.numpy() for g in found]


def _close(got, expected, rtol):
    np.testing.assert_allclose(got[0], expected[0], rtol=rtol, atol=1e-6)
    assert len(got[1]) == len(expected[1])
    for a, b in zip(got[1], expected[1], strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("index", range(len(CASES)))
def test_written_out_op_matches_eager_and_pytorch(index):
    prim, fn, arrays = CASES[index]
    compiled = glassgrad.compile(lambda *a: fn(glassgrad, F, *a))
    rng = np.random.default_rng(index)
    for call in range(3):  # the trace, then replays on new values
        if call:
            arrays = [
                a if a.dtype.kind != "f" else rng.standard_normal(a.shape).astype(a.dtype)
                for a in arrays
            ]
        eager = _run(glassgrad, fn, arrays)
        got = _run(glassgrad, lambda t, F_, *a: compiled(*a), arrays)
        _close(got, eager, 1e-6)
        _close(got, _run(torch, fn, arrays), 1e-4)
    entry = compiled._compiled.entries[0]
    assert not entry.eager and entry.profitable, entry.breaks
    name = "_relu(" if prim == "relu" else f"_F_{prim}("
    assert name in entry.plan.forward_source, entry.plan.forward_source
    assert len(compiled._compiled.entries) == 1


def test_a_target_out_of_range_raises_at_replay():
    x = glassgrad.randn(4, 3, requires_grad=True)
    compiled = glassgrad.compile(lambda x, y: F.cross_entropy(x, y))
    compiled(x, glassgrad.tensor([0, 1, 2, 1]))
    with pytest.raises(IndexError, match="Target 7 is out of bounds."):
        compiled(x, glassgrad.tensor([0, 7, 2, 1]))


@pytest.mark.parametrize("relu", [False, True])
def test_max_pool_with_nan_replays_eager_values(relu):
    def f(x, F_=F):
        return (F_.max_pool2d(F_.relu(x) if relu else x, 2) * 2).sum()

    compiled = glassgrad.compile(f)
    data = np.arange(2 * 4 * 4, dtype=np.float32).reshape(1, 2, 4, 4)
    compiled(glassgrad.tensor(data, requires_grad=True))
    data[0, 0, 1, 0] = np.nan
    got = _run(glassgrad, lambda t, F_, x: compiled(x), [data])
    expected = _run(torch, lambda t, F_, x: f(x, F_), [data])
    source = compiled._compiled.entries[0].plan.forward_source
    assert ("_F_relu_max_pool2d(" in source) is relu
    np.testing.assert_array_equal(got[1][0], expected[1][0])
    assert np.isnan(got[0]) and np.isnan(expected[0])


def _mlp_and_cnn_losses(compile_it):
    rng = np.random.default_rng(0)
    x = glassgrad.tensor(rng.standard_normal((16, 1, 8, 8)).astype(np.float32))
    y = glassgrad.tensor(rng.integers(0, 10, 16))
    shapes = [(8, 1, 3, 3), (8,), (32, 128), (32,), (10, 32), (10,)]
    params = [
        glassgrad.tensor((rng.standard_normal(s) * 0.3).astype(np.float32), requires_grad=True)
        for s in shapes
    ]

    def loss_fn(x, y, c, cb, w1, b1, w2, b2):
        h = F.max_pool2d(F.relu(F.conv2d(x, c, cb, padding=1)), 2).flatten(1)
        return F.cross_entropy(F.linear(F.relu(F.linear(h, w1, b1)), w2, b2), y)

    run = glassgrad.compile(loss_fn) if compile_it else loss_fn
    losses = []
    for _ in range(4):
        for p in params:
            p.grad = None
        loss = run(x, y, *params)
        loss.backward()
        losses.append(loss.item())
        with glassgrad.no_grad():
            for p in params:
                p -= p.grad * 0.1
    if compile_it:
        entry = run._compiled.entries[0]
        assert not entry.eager and entry.profitable
        assert entry.plan.opaque_grad_count == 0, entry.plan.forward_source
    return losses, [p.detach().numpy() for p in params]


def test_a_compiled_training_step_gives_eager_losses():
    eager_losses, eager_params = _mlp_and_cnn_losses(False)
    losses, params = _mlp_and_cnn_losses(True)
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5)
    for a, b in zip(params, eager_params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_its_backward_in_a_kernel_keep_eagers_zeros_and_nans(dtype):
    data = np.random.default_rng(0).standard_normal(1024).astype(dtype)
    data[:4] = [np.nan, -0.0, 0.0, -np.inf]

    def f(x, w):
        return (F.relu(x * 1.5) * w).sum()

    weights = np.linspace(-1, 1, 1024).astype(dtype)
    weights[5] = np.nan
    compiled = glassgrad.compile(f)
    for run in (f, compiled, compiled):
        x = glassgrad.tensor(data, requires_grad=True)
        w = glassgrad.tensor(weights, requires_grad=True)
        out = run(x, w)
        out.backward()
        if run is f:
            expected = (x.grad.numpy().copy(), w.grad.numpy().copy())
            continue
        for got, want in zip((x.grad.numpy(), w.grad.numpy()), expected, strict=True):
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    source = compiled._compiled.entries[0].plan.backward_source
    assert "_k" in source and "_relu_bwd" not in source  # (the select is inside a kernel)


@pytest.mark.parametrize("weight_inf", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_max_pool_loops_give_eagers_values_and_signed_zeros(dtype, weight_inf):
    rng = np.random.default_rng(4)
    data = rng.standard_normal((3, 4, 8, 6)).astype(dtype)
    data[0, 0, :2, :2] = [[-0.0, 0.0], [-1.0, -0.0]]  # a window of zeros: ties
    data[0, 1, :2, :2] = [[2.0, 2.0], [1.0, 2.0]]  # ties at the maximum: the first wins
    weights = rng.standard_normal((3, 4, 4, 3)).astype(dtype)
    if weight_inf:
        weights[1, 2, 0, 0] = np.inf  # (eager then selects: +0, not g * 0)

    def f(x, w):
        return (F.max_pool2d(F.relu(x), 2) * w).sum()

    compiled = glassgrad.compile(f)
    for run in (f, compiled, compiled):
        x = glassgrad.tensor(data, requires_grad=True)
        w = glassgrad.tensor(weights)
        out = run(x, w)
        out.backward()
        if run is f:
            expected = out.detach().numpy(), x.grad.numpy().copy()
            continue
        np.testing.assert_array_equal(out.detach().numpy(), expected[0])
        np.testing.assert_array_equal(x.grad.numpy(), expected[1])
        np.testing.assert_array_equal(np.signbit(x.grad.numpy()), np.signbit(expected[1]))
    source = compiled._compiled.entries[0].plan.forward_source
    assert "_F_relu_max_pool2d(" in source
