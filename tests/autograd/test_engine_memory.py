"""Gradients stored in ``.grad``: never aliased when shared, taken over when private."""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.autograd import engine


class _Twice(gg.autograd.Function):
    """Doubles; its backward notes the identity of the gradient array it returns."""

    seen: list = []

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        out = grad * 2
        _Twice.seen.append(id(out._data))
        return out


def test_one_array_handed_to_two_leaves_is_copied_for_each():
    c = gg.tensor(np.ones(3), requires_grad=True)
    d = gg.tensor(np.ones(3), requires_grad=True)
    (c + d).sum().backward()
    assert not np.shares_memory(c.grad.numpy(), d.grad.numpy())
    c.grad.add_(1)
    assert d.grad.tolist() == [1.0, 1.0, 1.0]


def test_a_gradient_the_user_passed_is_copied():
    x = gg.tensor(np.ones(3), requires_grad=True)
    given = gg.tensor([1.0, 2.0, 3.0], dtype=gg.float64)
    x.backward(given)
    assert not np.shares_memory(x.grad.numpy(), given.numpy())
    given.add_(1)
    assert x.grad.tolist() == [1.0, 2.0, 3.0]


def test_a_gradient_seen_by_a_retained_non_leaf_is_copied():
    x = gg.tensor(np.ones(3), requires_grad=True)
    y = x * 1.0
    y.retain_grad()
    (y * 2.0).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())


def test_private_gradients_are_taken_over():
    x = gg.tensor(np.ones(3), requires_grad=True)
    _Twice.seen.clear()
    _Twice.apply(x).sum().backward()
    taken = id(x.grad._data) == _Twice.seen[0]
    assert taken == (engine._UNSHARED > 0)  # copied only where references are not counted
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_a_linear_weight_gradient_comes_back_contiguous():
    w = gg.tensor(np.ones((3, 4)), requires_grad=True)
    x = gg.tensor(np.arange(8.0).reshape(2, 4))
    gg.nn.functional.linear(x, w).sum().backward()
    assert w.grad.is_contiguous()
    assert w.grad.tolist() == [[4.0, 6.0, 8.0, 10.0]] * 3


def test_accumulation_into_a_taken_over_gradient_leaves_the_graph_alone():
    a = gg.tensor(np.ones(3), requires_grad=True)
    b = gg.tensor(np.full(3, 2.0), requires_grad=True)
    out = (a * b).sum()
    out.backward(retain_graph=True)
    out.backward()
    assert a.grad.tolist() == [4.0, 4.0, 4.0] and b.grad.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("second", ["mul_", "add_"])
@pytest.mark.parametrize("first", ["relu_", "sigmoid_", "tanh_", "exp_"])
def test_an_output_saved_by_an_in_place_op_is_watched_like_pytorch(first, second):
    import torch

    found = []
    for lib in (torch, gg):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = x * 1
        getattr(y, first)()
        getattr(y, second)(2)
        try:
            y.sum().backward()
            found.append(("ok", x.grad.tolist()))
        except RuntimeError as exc:
            found.append(("error", str(exc)))
    assert found[0][0] == found[1][0]
    if found[0][0] == "error":
        assert found[0][1] == found[1][1]
