"""Sparse gradients in training code: ``nn.Embedding(sparse=True)``, an optimizer step with a
sparse gradient, and timm's MADGRAD sparse branch (in-place ops on sparse values and masks)."""

from __future__ import annotations

import pytest
from tests.sparse.compare import both, raises_same, same


def _embedding(L, **kw):
    module = L.nn.Embedding(5, 3, sparse=True, **kw)
    with L.no_grad():
        module.weight.copy_(L.arange(15.0).view(5, 3) / 10)
    return module


def _embedding_grad(L, **options):
    module = _embedding(L, **options)
    out = module(L.tensor([[1, 3], [1, 4]]))
    (out * L.arange(12.0).view(2, 2, 3)).sum().backward()
    return module.weight.grad


@pytest.mark.parametrize("options", [{}, {"padding_idx": 1}], ids=["plain", "padding"])
def test_sparse_embedding_gradient(options):
    want, got = both(lambda L: _embedding_grad(L, **options))
    same(want, got)


def test_sparse_embedding_refuses_scaling_by_frequency():
    raises_same(lambda L: _embedding_grad(L, scale_grad_by_freq=True))


def test_sgd_step_with_sparse_gradient():
    def run(L):
        module = _embedding(L)
        optimizer = L.optim.SGD(module.parameters(), lr=0.5)
        for _ in range(2):
            optimizer.zero_grad()
            module(L.tensor([1, 3, 1])).pow(2).sum().backward()
            optimizer.step()
        return module.weight.detach()

    want, got = both(run)
    same(want, got)


def _madgrad_sparse_step(L):
    """The sparse branch of timm's MADGRAD step, as it is written there."""
    p = L.arange(12.0).view(4, 3) / 10
    grad_sum_sq = L.ones(4, 3) * 0.5
    s = L.ones(4, 3) * 0.25
    rows = L.tensor([[2, 0, 2]])
    grad = L.sparse_coo_tensor(rows, L.arange(1.0, 10).view(3, 3), (4, 3))
    eps, lamb = 1e-6, 0.1
    grad = grad.coalesce()
    grad_val = grad._values()
    p_masked = p.sparse_mask(grad)
    grad_sum_sq_masked = grad_sum_sq.sparse_mask(grad)
    s_masked = s.sparse_mask(grad)
    rms_masked_vals = grad_sum_sq_masked._values().pow(1 / 3).add_(eps)
    x0_masked_vals = p_masked._values().addcdiv(s_masked._values(), rms_masked_vals, value=1)
    grad_sq = grad * grad
    grad_sum_sq.add_(grad_sq, alpha=lamb)
    grad_sum_sq_masked.add_(grad_sq, alpha=lamb)
    rms_masked_vals = grad_sum_sq_masked._values().pow_(1 / 3).add_(eps)
    s.add_(grad, alpha=lamb)
    s_masked._values().add_(grad_val, alpha=lamb)
    p_kp1_masked_vals = x0_masked_vals.addcdiv(s_masked._values(), rms_masked_vals, value=-1)
    p_masked._values().add_(p_kp1_masked_vals, alpha=-1)
    p.data.add_(p_masked, alpha=-1)
    return p, grad_sum_sq, s, grad_sum_sq_masked


def test_madgrad_sparse_branch():
    want, got = both(_madgrad_sparse_step)
    same(want, got)
