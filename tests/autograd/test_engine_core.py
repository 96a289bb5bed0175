"""The core engine against PyTorch: promotion, broadcasting gradients, higher order, memory."""

from __future__ import annotations

import gc
import itertools
import weakref

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import glassgrad as gg

DTYPES = ["float16", "float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _both(values, dtype, dim):
    array = np.asarray(values if dim else values[0]).astype(dtype)
    return gg.from_numpy(array.copy()), torch.from_numpy(array.copy())


@pytest.mark.parametrize("left,right", list(itertools.product(DTYPES, DTYPES)))
@pytest.mark.parametrize("dims", [(1, 1), (1, 0), (0, 1), (0, 0)])
def test_tensor_tensor_promotion_matches_torch(left, right, dims):
    a, ta = _both([1, 0, 1], left, dims[0])
    b, tb = _both([1, 1, 0], right, dims[1])
    for op in ("__add__", "__mul__", "__truediv__"):
        if op == "__add__" and left == right == "bool":
            continue
        expected = getattr(ta, op)(tb)
        got = getattr(a, op)(b)
        assert got.dtype.name == str(expected.dtype).replace("torch.", ""), op
        if op != "__truediv__":
            np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_python_scalars_are_weak(dtype, scalar):
    a, ta = _both([1, 0, 1], dtype, 1)
    for op in ("__mul__", "__radd__", "__truediv__", "__rsub__"):
        if op == "__rsub__" and (dtype == "bool" or isinstance(scalar, bool)):
            continue
        expected = getattr(ta, op)(scalar)
        got = getattr(a, op)(scalar)
        assert got.dtype.name == str(expected.dtype).replace("torch.", ""), (op, scalar)
        np.testing.assert_allclose(
            got.numpy().astype(float), expected.numpy().astype(float), rtol=1e-3
        )


shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


@settings(max_examples=60, deadline=None)
@given(shapes=shapes, seed=st.integers(0, 2**16))
def test_broadcast_gradients_match_torch(shapes, seed):
    rng = np.random.default_rng(seed)
    a_np = rng.uniform(0.5, 2.0, shapes.input_shapes[0]).astype(np.float64)
    b_np = rng.uniform(0.5, 2.0, shapes.input_shapes[1]).astype(np.float64)
    results = []
    for lib in (gg, torch):
        a = lib.tensor(a_np, requires_grad=True)
        b = lib.tensor(b_np, requires_grad=True)
        out = ((a * b - a / b) ** 2 + (a + b).tanh() * (b - 1).exp()).sigmoid()
        out.sum().backward()
        results.append((out.detach().numpy(), a.grad.numpy(), b.grad.numpy()))
    for got, expected in zip(results[0], results[1], strict=True):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def _central_difference(fn, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += eps
        minus[index] -= eps
        grad[index] = (fn(plus) - fn(minus)) / (2 * eps)
    return grad


CORE_FUNCTIONS = {
    "mul-add": lambda t: (t * t + 3 * t).sum(),
    "div": lambda t: (1 / (t + 3) - t / 2).sum(),
    "pow": lambda t: (t**3 + 2 ** (t * 0.5)).sum(),
    "exp-log": lambda t: ((t * 0.3).exp() * (t * t + 1).log()).sum(),
    "tanh-sigmoid": lambda t: (t.tanh() * t.sigmoid()).sum(),
    "relu": lambda t: ((t - 0.3).relu() * t).sum(),
    "matmul": lambda t: (t @ t.t()).sum() + (t.reshape(-1) @ t.reshape(-1)),
    "mean-view": lambda t: (t.view(-1).mean() * t.transpose(0, 1).sum(0)).sum(),
}


@pytest.mark.parametrize("name", CORE_FUNCTIONS)
def test_gradients_match_central_differences(name):
    fn = CORE_FUNCTIONS[name]
    x = np.random.default_rng(0).uniform(-1.5, 1.5, (2, 3))
    t = gg.tensor(x, requires_grad=True)
    fn(t).backward()
    expected = _central_difference(lambda v: fn(gg.tensor(v)).item(), x)
    np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CORE_FUNCTIONS)
def test_second_order_matches_torch(name):
    fn = CORE_FUNCTIONS[name]
    x = np.random.default_rng(1).uniform(-1.5, 1.5, (2, 3))
    found = []
    for lib in (gg, torch):
        t = lib.tensor(x, requires_grad=True)
        (g,) = lib.autograd.grad(fn(t), t, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), t)
        found.append((g.detach().numpy(), h.numpy()))
    np.testing.assert_allclose(found[0][0], found[1][0], rtol=1e-10)
    np.testing.assert_allclose(found[0][1], found[1][1], rtol=1e-9, atol=1e-12)


def test_third_order_scalar():
    x = gg.tensor(0.7, dtype=gg.float64, requires_grad=True)
    y = x**4
    (g1,) = gg.autograd.grad(y, x, create_graph=True)
    (g2,) = gg.autograd.grad(g1, x, create_graph=True)
    (g3,) = gg.autograd.grad(g2, x)
    assert g3.item() == pytest.approx(24 * 0.7)


def test_saved_arrays_are_freed_after_backward():
    x = gg.tensor(np.ones(1000), requires_grad=True)
    out = (x * 2) * (x * 3)
    node = out.grad_fn
    saved = [weakref.ref(array) for array in node._saved]
    out.sum().backward()
    gc.collect()
    assert all(ref() is None for ref in saved)


def test_graph_is_freed_without_the_cycle_collector():
    gc.disable()
    try:
        x = gg.tensor(np.ones(10), requires_grad=True)
        out = ((x * 2).exp() * x).tanh().sum()
        out.retain_grad()
        node_ref = weakref.ref(out.grad_fn)
        out_ref = weakref.ref(out)
        del out
        assert out_ref() is None and node_ref() is None
    finally:
        gc.enable()


def test_backward_through_a_deep_graph_is_iterative():
    x = gg.tensor(1.0, dtype=gg.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001**10_000)


def test_detach_shares_storage_and_copies_nothing():
    a = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = a.detach()
    assert d.data_ptr() == a.data_ptr()
    d[0] = 10.0
    assert a.tolist() == [10.0, 2.0, 3.0]
    assert a._version == d._version == 1


def test_numpy_shares_memory_and_from_numpy_too():
    array = np.arange(3.0)
    t = gg.from_numpy(array)
    t.add_(1)
    assert array.tolist() == [1.0, 2.0, 3.0]
    assert np.shares_memory(t.numpy(), array)


def test_format_and_conversions():
    t = gg.tensor(37.0, requires_grad=True)
    assert "{}".format(t) == "37.0"  # noqa: UP032 - the article formats this way
    assert f"{t:.1f}" == "37.0"
    assert int(gg.tensor(3)) == 3 and bool(gg.tensor(1))
    assert len(gg.zeros(4, 2)) == 4
    assert gg.zeros(2, 3).T.shape == (3, 2)
    assert np.asarray(gg.tensor([1, 2])).tolist() == [1, 2]
    assert gg.tensor([[1, 2], [3, 4]]).size(1) == 2 and gg.ones(2, 3).numel() == 6


def test_manual_seed_is_deterministic():
    gg.manual_seed(3)
    first = gg.randn(5).tolist(), gg.rand(2).tolist(), gg.randint(0, 10, (4,)).tolist()
    gg.manual_seed(3)
    second = gg.randn(5).tolist(), gg.rand(2).tolist(), gg.randint(0, 10, (4,)).tolist()
    assert first == second
    assert gg.randn(2).dtype == gg.float32 and gg.randint(0, 3, (2,)).dtype == gg.int64


@pytest.mark.parametrize(
    "expr",
    [
        "lib.zeros(2, 3)",
        "lib.ones((2,))",
        "lib.full((2,), 7)",
        "lib.full((2,), 7.)",
        "lib.arange(5)",
        "lib.arange(0., 1., 0.25)",
        "lib.arange(1, 2.5, 0.5)",
        "lib.linspace(0, 1, 5)",
        "lib.eye(3)",
        "lib.eye(2, 3)",
        "lib.zeros_like(lib.tensor([1, 2]))",
        "lib.ones_like(lib.tensor([1., 2.]), dtype=lib.float64)",
        "lib.empty(2).shape",
        "lib.tensor([[1, 2.], [3, 4]])",
        "lib.tensor(True)",
        "lib.tensor([])",
    ],
)
def test_factories_match_torch(expr):
    got, expected = eval(expr, {"lib": gg}), eval(expr, {"lib": torch})
    if isinstance(expected, torch.Tensor):
        assert repr(got) == repr(expected)
    else:
        assert tuple(got) == tuple(expected)


def test_threads_start_with_grad_enabled():
    import threading

    seen = []
    with gg.no_grad():
        thread = threading.Thread(target=lambda: seen.append(gg.is_grad_enabled()))
        thread.start()
        thread.join()
        assert not gg.is_grad_enabled()
    assert seen == [True]


def test_allocator_tuning_applies_on_glibc_and_can_be_switched_off(monkeypatch):
    import sys

    from glassgrad import backend

    monkeypatch.setenv("GLASSGRAD_TUNE_MALLOC", "0")
    assert backend.tune_allocator() is False
    monkeypatch.delenv("GLASSGRAD_TUNE_MALLOC")
    if sys.platform.startswith("linux"):
        import ctypes.util

        if ctypes.util.find_library("c") == "libc.so.6":
            assert backend.tune_allocator() is True
