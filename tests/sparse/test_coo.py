"""Sparse COO tensors against PyTorch: construction, repr, parts, conversions, arithmetic."""

from __future__ import annotations

import pytest
from tests.sparse.compare import both, raises_same, same


def coo(L, values=(3.0, 4.0, 5.0), size=(2, 3), **kw):
    return L.sparse_coo_tensor(L.tensor([[0, 1, 1], [2, 0, 2]]), L.tensor(values), size, **kw)


def dup(L):
    """An uncoalesced tensor with a repeated index, out of order."""
    return L.sparse_coo_tensor(L.tensor([[1, 0, 1], [0, 0, 0]]), L.tensor([1.0, 2, 3]), (2, 2))


def other(L):
    return L.sparse_coo_tensor(L.tensor([[1, 0, 1], [2, 2, 2]]), L.tensor([1.0, 2, 3]), (2, 3))


def pattern(L):
    return L.sparse_coo_tensor(
        L.tensor([[0, 0, 1, 1], [0, 2, 1, 2]]), L.tensor([1.0, 2, 3, 4]), (2, 3)
    )


CASES = {
    "plain": coo,
    "inferred size": lambda L: L.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2]),
    "float64": lambda L: coo(L, dtype=L.float64),
    "int values": lambda L: coo(L, values=(1, 2, 3)),
    "requires_grad": lambda L: coo(L, requires_grad=True),
    "dense dims": lambda L: L.sparse_coo_tensor(L.tensor([[0, 1, 1], [2, 0, 2]]), L.ones(3, 2)),
    "empty": lambda L: L.sparse_coo_tensor(L.zeros(2, 0, dtype=L.long), L.zeros(0), (2, 3)),
    "is_coalesced flag": lambda L: coo(L, is_coalesced=True),
    "coalesce": lambda L: dup(L).coalesce(),
    "coalesce sorted": lambda L: coo(L).coalesce(),
    "t": lambda L: coo(L).t(),
    "times scalar": lambda L: coo(L) * 2,
    "scalar times": lambda L: 2.5 * coo(L),
    "divided": lambda L: coo(L) / 2,
    "negated": lambda L: -coo(L),
    "sum of two": lambda L: coo(L) + coo(L),
    "sum coalesced": lambda L: coo(L).coalesce() + other(L).coalesce(),
    "difference": lambda L: coo(L) - other(L),
    "product": lambda L: coo(L) * coo(L),
    "product of patterns": lambda L: pattern(L) * other(L),
    "product coalesced": lambda L: pattern(L).coalesce() * other(L).coalesce(),
    "product half coalesced": lambda L: (
        pattern(L).coalesce() * other(L),
        other(L).coalesce() * pattern(L),
    ),
    "product dense": lambda L: pattern(L) * L.arange(6.0).view(2, 3),
    "to_dense": lambda L: dup(L).to_dense(),
    "to_sparse": lambda L: L.tensor([[0.0, 1], [2, 0]]).to_sparse(),
    "to_sparse(1)": lambda L: L.tensor([[0.0, 1], [2, 0]]).to_sparse(1),
    "to_sparse 3-d": lambda L: L.tensor([[[0.0, 1], [0, 0]], [[2, 0], [0, 3]]]).to_sparse(),
    "to_sparse of sparse": lambda L: coo(L).to_sparse(),
    "to_sparse_coo": lambda L: L.eye(3).to_sparse_coo(),
    "indices": lambda L: coo(L).coalesce().indices(),
    "values": lambda L: coo(L).coalesce().values(),
    "_indices": lambda L: dup(L)._indices(),
    "_values": lambda L: dup(L)._values(),
    "dims": lambda L: (coo(L).sparse_dim(), coo(L).dense_dim(), coo(L)._nnz()),
    "strided dims": lambda L: (L.ones(2, 3).sparse_dim(), L.ones(2, 3).dense_dim()),
    "flags": lambda L: (coo(L).is_sparse, coo(L).is_sparse_csr, L.ones(1).is_sparse),
    "metadata": lambda L: (tuple(coo(L).shape), tuple(coo(L).size()), coo(L).size(1)),
    "more metadata": lambda L: (coo(L).dim(), coo(L).numel(), str(coo(L).device)),
    "dense plus sparse": lambda L: L.ones(2, 3) + coo(L),
    "sparse_mask": lambda L: L.arange(6.0).view(2, 3).sparse_mask(coo(L)),
    "sparse_resize_": lambda L: coo(L).sparse_resize_((3, 4), 2, 0),
    "mm": lambda L: L.mm(coo(L), L.arange(6.0).view(3, 2)),
    "matmul vector": lambda L: coo(L) @ L.ones(3),
    "dense mm sparse": lambda L: L.mm(L.ones(2, 2), coo(L)),
    "sparse.mm": lambda L: L.sparse.mm(coo(L), L.arange(6.0).view(3, 2)),
    "sparse.mm sparse": lambda L: L.sparse.mm(coo(L), coo(L).t()),
    "spmm": lambda L: L.spmm(coo(L), L.ones(3, 2)),
    "sparse.sum": lambda L: L.sparse.sum(coo(L)),
    "sparse.sum dim": lambda L: L.sparse.sum(coo(L), 0),
    "sparse.sum dims": lambda L: L.sparse.sum(coo(L), (0, 1)),
    "sparse.sum dense dim": lambda L: L.sparse.sum(
        L.sparse_coo_tensor(L.tensor([[0, 1, 1], [2, 0, 2]]), L.arange(6.0).view(3, 2)), 2
    ),
    "Tensor.sum": lambda L: (coo(L).sum(), coo(L).sum(1), dup(L).sum(0)),
    "pickled": lambda L: __import__("pickle").loads(__import__("pickle").dumps(dup(L))),
    "deep copy": lambda L: __import__("copy").deepcopy(coo(L, requires_grad=True)),
    "coo rows to csr": lambda L: (
        L._convert_indices_from_coo_to_csr(L.tensor([0, 1, 1, 3]), 5),
        L._convert_indices_from_coo_to_csr(L.tensor([0, 1, 1, 3]), 5, out_int32=True),
    ),
    "csr to coo indices": lambda L: (
        L._convert_indices_from_csr_to_coo(L.tensor([0, 1, 3]), L.tensor([2, 0, 2])),
        L._convert_indices_from_csr_to_coo(
            L.tensor([0, 1, 3]), L.tensor([2, 0, 2]), transpose=True
        ),
    ),
    "zeros_like": lambda L: (L.zeros_like(coo(L)), L.empty_like(dup(L), dtype=L.float64)),
    "zeros_like csr": lambda L: L.zeros_like(coo(L).to_sparse_csr()).to_dense(),
    "relu": lambda L: (L.relu(dup(L)), L.nn.functional.relu(-coo(L))),
    "isnan": lambda L: coo(L).isnan(),
    "new_zeros": lambda L: (coo(L).new_zeros(4, 5), coo(L).new_zeros((4,)), coo(L).new_empty(2, 2)),
    "permute": lambda L: (coo(L).permute(1, 0), coo(L).T, dup(L).mT),
    "permute dense dims": lambda L: L.sparse_coo_tensor(
        L.tensor([[0, 2]]), L.arange(12.0).view(2, 2, 3)
    ).permute(0, 2, 1),
    "unsqueeze": lambda L: (coo(L).unsqueeze(0), coo(L).unsqueeze(1), coo(L).unsqueeze(-1)),
    "select": lambda L: (coo(L)[1], coo(L)[-2], coo(L).select(0, 1), dup(L)[1]),
    "stride": lambda L: (coo(L).stride(), coo(L).stride(1)),
    "softmax": lambda L: L.sparse.softmax(coo(L), 1),
    "log_softmax": lambda L: L.sparse.log_softmax(coo(L), 0),
    "spdiags": lambda L: L.sparse.spdiags(L.arange(1.0, 7).view(2, 3), L.tensor([0, -1]), (3, 3)),
    "to float64": lambda L: coo(L).to(L.float64),
    "double": lambda L: coo(L).double(),
    "clone": lambda L: coo(L).clone(),
    "detach": lambda L: coo(L, requires_grad=True).detach(),
    "zero-preserving": lambda L: (coo(L).abs(), L.sin(coo(L)), coo(L).sqrt(), L.tanh(coo(L))),
}


@pytest.mark.parametrize("name", CASES)
def test_matches_torch(name):
    want, got = both(CASES[name])
    same(want, got)


ERRORS = {
    "nnz mismatch": lambda L: L.sparse_coo_tensor(L.tensor([[0, 1, 1]]), L.ones(2), (3,)),
    "size mismatch": lambda L: coo(L, size=(2, 3, 4)),
    "index out of size": lambda L: coo(L, size=(1, 3), check_invariants=True),
    "negative index": lambda L: L.sparse_coo_tensor(
        L.tensor([[-1]]), L.ones(1), (2,), check_invariants=True
    ),
    "indices uncoalesced": lambda L: dup(L).indices(),
    "values uncoalesced": lambda L: dup(L).values(),
    "indices of strided": lambda L: L.ones(2).indices(),
    "values of strided": lambda L: L.ones(2).values(),
    "coalesce strided": lambda L: L.ones(2).coalesce(),
    "is_coalesced strided": lambda L: L.ones(2).is_coalesced(),
    "crow of coo": lambda L: coo(L).crow_indices(),
    "exp": lambda L: L.exp(coo(L)),
    "view": lambda L: coo(L).view(6),
    "max": lambda L: coo(L).max(),
    "numpy": lambda L: coo(L).numpy(),
    "tolist": lambda L: coo(L).tolist(),
    "new_ones": lambda L: coo(L).new_ones(2),
    "new_full": lambda L: coo(L).new_full((2,), 1.0),
    "index out of range": lambda L: coo(L)[2],
    "permute across sparse and dense": lambda L: L.sparse_coo_tensor(
        L.tensor([[0, 2]]), L.ones(2, 3)
    ).permute(1, 0),
    "storage": lambda L: coo(L).untyped_storage(),
    "storage csr": lambda L: coo(L).to_sparse_csr().untyped_storage(),
    "contiguous": lambda L: coo(L).contiguous(),
    "contiguous csr": lambda L: coo(L).to_sparse_csr().contiguous(),
    "ones_like": lambda L: L.ones_like(coo(L)),
    "full_like": lambda L: L.full_like(coo(L), 2.0),
    "rand_like": lambda L: L.rand_like(coo(L)),
    "sparse plus dense": lambda L: coo(L) + L.ones(2, 3),
    "sparse.mm shapes": lambda L: L.sparse.mm(coo(L), L.ones(2, 2)),
    "sparse.mm dtypes": lambda L: L.sparse.mm(coo(L, values=(1, 2, 3)), L.ones(3, 2)),
    "resize shrinking": lambda L: coo(L).sparse_resize_((1, 4), 2, 0),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    raises_same(ERRORS[name])
