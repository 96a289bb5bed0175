"""renorm, dist, inner, torch.fill, torch.relu_, logspace and hann_window against PyTorch."""

import math

import numpy as np
import pytest
import torch
from tests.op_compare import check, r, same_error

import glassgrad as gg


@pytest.mark.parametrize("p", [1, 2, 3.5, math.inf])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_renorm_matches_torch(p, dim):
    check(lambda lib, x: lib.renorm(x, p, dim, 0.8), r(3, 4) * 2)
    check(lambda lib, x: x.renorm(p, dim, 100.0), r(3, 4))


# (p = 0: PyTorch's own double backward fails; p = 0.5: near-zero differences)
@pytest.mark.parametrize("p", [0, 1, 2, 0.5, 3.5, math.inf, -math.inf])
def test_dist_matches_torch(p):
    if p == 0:
        check(lambda lib, x: lib.dist(x, lib.ones(4), 0), r(3, 4))
        same_error(lambda lib, x, y: lib.autograd.grad(lib.dist(x, y, 0), [x, y]), r(3), r(3))
        return
    check(lambda lib, x, y: lib.dist(x, y, p), r(3, 4), r(4), second=p not in (0, 0.5))
    check(lambda lib, x, y: x.dist(y, p=p), r(2, 3), r(2, 3), second=p not in (0, 0.5))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.renorm(lib.ones(2, 2), 2, 0, -1),
        lambda lib: lib.renorm(lib.ones(2, 2), -1, 0, 1),
        lambda lib: lib.renorm(lib.ones(3), 2, 0, 1.0),
        lambda lib: lib.renorm(lib.tensor([[1, 2]]), 2, 0, 1.0),
        lambda lib: lib.dist(lib.ones(3), lib.ones(2)),
        lambda lib: lib.inner(lib.ones(3, 4), lib.ones(2, 3)),
        lambda lib: lib.fill(lib.ones(3), lib.ones(2)),
    ],
)
def test_errors_are_pytorchs(call):
    same_error(call)


def test_inner_matches_torch():
    check(lambda lib, a, b: lib.inner(a, b), r(3, 4), r(2, 4))
    check(lambda lib, a, b: a.inner(b), r(4), r(4))
    check(lambda lib, a, b: lib.inner(a, b), r(2, 3), r())
    check(lambda lib, a, b: lib.inner(a, b), r(2, 2, 3), r(5, 3))


def test_fill_and_relu_in_place():
    check(lambda lib, x: lib.fill(x, 2.5), r(3))
    check(lambda lib, x, v: lib.fill(x, v), r(2, 3), r())
    for lib in (torch, gg):
        assert lib.fill(lib.tensor([1, 2]), 2.7).tolist() == [2, 2]
        x = lib.tensor([-1.0, 2.0])
        assert lib.relu_(x) is x and x.tolist() == [0.0, 2.0]


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.logspace(0, 2, 5),
        lambda L: L.logspace(0, 2, 5, base=2),
        lambda L: L.logspace(-1, 1, 3, dtype=L.float64),
        lambda L: L.logspace(0, 3, 4, dtype=L.int64),
        lambda L: L.logspace(2, 0, 7, base=3.0),
        lambda L: L.logspace(0, 1, 1),
        lambda L: L.logspace(0, 1, 0),
        lambda L: L.hann_window(5),
        lambda L: L.hann_window(5, periodic=False),
        lambda L: L.hann_window(1),
        lambda L: L.hann_window(0),
        lambda L: L.hann_window(4, dtype=L.float64),
        lambda L: L.hann_window(400),
    ],
)
def test_spaced_factories_match_torch(make):
    ours, theirs = make(gg), make(torch)
    assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-7, atol=1e-7)


@pytest.mark.parametrize(
    "call",
    [
        lambda L, b: L.frombuffer(b, dtype=L.int32).tolist(),
        lambda L, b: L.frombuffer(b, dtype=L.int32, count=2, offset=4).tolist(),
        lambda L, b: L.frombuffer(b, dtype=L.int16).tolist(),
        lambda L, b: L.frombuffer(b, dtype=L.int64),
        lambda L, b: L.frombuffer(bytearray(), dtype=L.int32),
        lambda L, b: L.frombuffer(b, dtype=L.int32, offset=20),
        lambda L, b: L.frombuffer(b, dtype=L.int32, count=5),
        lambda L, b: L.frombuffer([1, 2], dtype=L.int32),
        lambda L, b: L.frombuffer(b),
    ],
)
def test_frombuffer_matches_torch(call):
    outcomes = []
    for lib in (torch, gg):
        buffer = bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00")
        try:
            outcomes.append(call(lib, buffer))
        except Exception as exc:  # noqa: BLE001 - compared
            outcomes.append((type(exc).__name__, str(exc)))
    assert outcomes[1] == outcomes[0]


def test_frombuffer_shares_memory():
    buffer = bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00")
    tensor = gg.frombuffer(buffer, dtype=gg.int32)
    tensor[0] = 9
    assert buffer[0] == 9
