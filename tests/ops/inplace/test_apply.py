"""Tensor.apply_ against PyTorch: values per dtype, strided tensors, version counter, errors."""

import pytest
import torch

import glassgrad as gg


@pytest.mark.parametrize(
    "make, fn",
    [
        (lambda L: L.tensor([1.0, 2.0]), lambda v: v * 2),
        (lambda L: L.tensor([1, 2]), lambda v: v + 0.7),
        (lambda L: L.tensor([True, False]), lambda v: not v),
        (lambda L: L.ones(2, 3).t(), lambda v: v + 1),
        (lambda L: L.arange(6.0).reshape(2, 3)[:, ::2], lambda v: -v),
    ],
)
def test_apply_matches_torch(make, fn):
    results = []
    for lib in (torch, gg):
        x = make(lib)
        version = x._version
        assert x.apply_(fn) is x
        results.append((str(x.dtype), x.tolist(), x._version - version))
    assert results[0] == results[1]


@pytest.mark.parametrize(
    "make, fn",
    [
        (lambda L: L.ones(2, requires_grad=True), lambda v: v),
        (lambda L: L.ones(2), lambda v: "a"),
    ],
)
def test_apply_errors(make, fn):
    caught = []
    for lib in (torch, gg):
        with pytest.raises(Exception) as info:
            make(lib).apply_(fn)
        caught.append((type(info.value).__name__, str(info.value)))
    assert caught[0] == caught[1]
