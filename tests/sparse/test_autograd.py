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
    "Tensor.sum": lambda L, s, d: s.sum() * 3,
}


@pytest.mark.parametrize("name", USES)
def test_values_gradient(name):
    want, got = both(lambda L: _through_values(L, USES[name]))
    same(want, got, flag=False)


@pytest.mark.parametrize("name", USES)
def test_leaf_gradient(name):
    want, got = both(lambda L: _of_leaf(L, USES[name]))
    same(want, got, flag=False)


@pytest.mark.parametrize("name", ["sparse.mm", "mm", "sum of two", "to_dense", "scaled"])
def test_gradients_accumulate(name):
    want, got = both(lambda L: _of_leaf(L, USES[name], accumulate=2))
    same(want, got, flag=False)


def test_sparse_sparse_mm_gradient():
    def run(L):
        a = _leaf(L)
        b = L.sparse_coo_tensor(
            L.tensor([[0, 2], [1, 0]]), L.tensor([2.0, -1.0]), (3, 2), requires_grad=True
        )
        out = L.sparse.mm(a, b)
        out.to_dense().pow(2).sum().backward()
        return out, a.grad, b.grad

    want, got = both(run)
    same(want, got, flag=False)


def _duplicated(L, **kw):
    """Uncoalesced: out of order, (1, 2) twice."""
    indices = L.tensor([[1, 0, 1, 1], [2, 2, 0, 2]])
    return L.sparse_coo_tensor(indices, L.tensor([1.0, 2, 3, 4]), (2, 3), **kw)


@pytest.mark.parametrize("name", ["sparse.mm", "to_dense", "sparse.sum", "sparse.sum dim"])
def test_uncoalesced_leaf_gradient(name):
    def run(L):
        leaf = _duplicated(L, requires_grad=True)
        out = USES[name](L, leaf, _dense(L))
        (out.to_dense() if out.layout != L.strided else out).pow(2).sum().backward()
        return leaf.grad

    want, got = both(run)
    same(want, got, flag=False)


def test_uncoalesced_values_gradient():
    def run(L):
        values = L.tensor([1.0, 2, 3, 4], requires_grad=True)
        sparse = L.sparse_coo_tensor(L.tensor([[1, 0, 1, 1], [2, 2, 0, 2]]), values, (2, 3))
        L.sparse.mm(sparse, _dense(L)).pow(2).sum().backward()
        return values.grad

    want, got = both(run)
    same(want, got)
