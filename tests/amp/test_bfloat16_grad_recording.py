"""bfloat16 tensors take part in autograd as every floating dtype does: a factory makes a
bfloat16 leaf that requires grad, and in-place ops on bfloat16 tensors in the graph are recorded
(bfloat16's NumPy dtype kind is "V", which once read as "not floating": the write was silent and
the other operand got no gradient)."""

from __future__ import annotations

import pytest

import glassgrad

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("factory", ["ones", "zeros", "empty", "rand", "randn"])
def test_bfloat16_factory_makes_a_leaf_that_requires_grad(factory):
    for lib in (glassgrad, torch):
        t = getattr(lib, factory)(3, dtype=lib.bfloat16, requires_grad=True)
        assert t.requires_grad and t.is_leaf and t.dtype == lib.bfloat16
    t = glassgrad.tensor([1.0, 2.0], dtype=glassgrad.bfloat16, requires_grad=True)
    assert t.requires_grad


CASES = {
    "add_": lambda y, w: y.add_(w, alpha=2),
    "sub_": lambda y, w: y.sub_(w),
    "mul_": lambda y, w: y.mul_(w),
    "div_": lambda y, w: y.div_(w + 3),
    "copy_": lambda y, w: y.copy_(w),
    "addcmul_": lambda y, w: y.addcmul_(w, w),
    "setitem": lambda y, w: y.__setitem__(slice(0, 2), w[:2]),
    "index_add_": lambda y, w: y.index_add_(0, w.new_tensor([0, 2]).long(), w[:2]),
    "clamp_": lambda y, w: y.clamp_(0.5, 3),
    "relu_": lambda y, w: y.relu_(),
}


@pytest.mark.parametrize("name", list(CASES))
def test_inplace_on_bfloat16_is_recorded(name):
    found = []
    for lib in (glassgrad, torch):
        x = lib.tensor([0.5, 1.25, 2.0, -1.0], dtype=lib.bfloat16, requires_grad=True)
        w = lib.tensor([1.5, 0.25, 1.0, 2.0], dtype=lib.bfloat16, requires_grad=True)
        y = x * 1.5
        CASES[name](y, w)
        y.float().sum().backward()
        found.append(
            (
                type(y.grad_fn).__name__,
                x.grad.float().tolist(),
                None if w.grad is None else w.grad.float().tolist(),
                y.float().tolist(),
            )
        )
    assert found[0] == found[1]
