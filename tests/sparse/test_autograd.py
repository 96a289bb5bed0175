"""Gradients through sparse tensors against PyTorch: of the values a tensor was built from, of a
sparse leaf (sparse where PyTorch's is sparse, dense where it is dense) and of dense operands."""

from __future__ import annotations

import pytest
from tests.sparse.compare import both, same


def _leaf(L):
    indices = L.tensor([[0, 1, 1], [2, 0, 2]])
    return L.sparse_coo_tensor(indices, L.tensor([1.0, 2.0, 3.0]), (2, 3), requires_grad=True)


def _dense(L):
    return L.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, -6.0]], requires_grad=True)


def _weights(L):
    return L.arange(6.0).view(2, 3) - 2


def _through_values(L, use):
    """The gradient of the values and of the dense operand, the sparse tensor built in the graph."""
    values = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    dense = _dense(L)
    sparse = L.sparse_coo_tensor(L.tensor([[0, 1, 1], [2, 0, 2]]), values, (2, 3))
    out = use(L, sparse, dense)
    (out.to_dense() if out.layout != L.strided else out).pow(2).sum().backward()
    return repr(out.grad_fn.__class__.__name__), values.grad, dense.grad


def _of_leaf(L, use, accumulate=1):
    leaf = _leaf(L)
    dense = _dense(L)
    for _ in range(accumulate):
        out = use(L, leaf, dense)
        (out.to_dense() if out.layout != L.strided else out).pow(2).sum().backward()
    return out.grad_fn.__class__.__name__, leaf.grad, dense.grad


USES = {
    "sparse.mm": lambda L, s, d: L.sparse.mm(s, d),
    "mm": lambda L, s, d: L.mm(s, d),
    "matmul operator": lambda L, s, d: s @ d,
    "spmm": lambda L, s, d: L.spmm(s, d),
    "to_dense": lambda L, s, d: s.to_dense() * _weights(L),
    "scaled": lambda L, s, d: s * 2.5,
    "sum of two": lambda L, s, d: s + s,
    "sparse.sum": lambda L, s, d: L.sparse.sum(s) * 2,
    "sparse.sum dim": lambda L, s, d: L.sparse.sum(s, 1),
    "sparse.sum dim 0": lambda L, s, d: L.sparse.sum(s, 0),
    "transposed": lambda L, s, d: L.sparse.mm(s.t(), L.ones(2, 2)),
    "coalesce values": lambda L, s, d: s.coalesce().values() * L.tensor([1.0, 2, 3]),
    "softmax": lambda L, s, d: L.sparse.softmax(s, 1).to_dense() * _weights(L),
    "log_softmax": lambda L, s, d: L.sparse.log_softmax(s, 0).to_dense() * _weights(L),
    "dense plus sparse": lambda L, s, d: _weights(L) + s,
}


@pytest.mark.parametrize("name", USES)
def test_values_gradient(name):
    want, got = both(lambda L: _through_values(L, USES[name]))
    same(want, got)


# The sparse leaf's gradient matches PyTorch's pattern (order of entries, coalesced flag) for
# these; the others give the same dense gradient with another pattern (to do).
LEAF = ["sparse.mm", "mm", "matmul operator", "spmm", "to_dense", "scaled", "sparse.sum dim"]
LEAF += ["sparse.sum dim 0", "dense plus sparse"]


@pytest.mark.parametrize("name", LEAF)
def test_leaf_gradient(name):
    want, got = both(lambda L: _of_leaf(L, USES[name]))
    same(want, got)


@pytest.mark.parametrize("name", ["mm", "matmul operator"])
def test_gradients_accumulate(name):
    want, got = both(lambda L: _of_leaf(L, USES[name], accumulate=2))
    same(want, got)
