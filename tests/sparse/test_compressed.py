"""Sparse CSR and CSC tensors against PyTorch: construction, conversions, products, gradients."""

from __future__ import annotations

import pytest
from tests.sparse.compare import both, raises_same, same


def _coo(L):
    return L.sparse_coo_tensor(L.tensor([[0, 1, 1], [2, 0, 2]]), L.tensor([1.0, 2.0, 3.0]), (2, 3))


def compressed(L, layout, requires_grad=False):
    made = getattr(_coo(L), "to_sparse_" + layout)()
    return made.requires_grad_() if requires_grad else made


def _grad(L, layout, use):
    leaf = compressed(L, layout, requires_grad=True)
    use(L, leaf).pow(2).sum().backward()
    return leaf.grad


def _weights(L):
    return L.arange(6.0).view(3, 2)


CASES = {
    "repr": lambda L, lay: compressed(L, lay),
    "constructor": lambda L, lay: (
        L.sparse_csr_tensor(L.tensor([0, 1, 3]), L.tensor([2, 0, 2]), L.tensor([1.0, 2, 3]))
        if lay == "csr"
        else L.sparse_csc_tensor(L.tensor([0, 1, 1, 3]), L.tensor([1, 0, 1]), L.ones(3), (2, 3))
    ),
    "parts": lambda L, lay: (
        (compressed(L, lay).crow_indices(), compressed(L, lay).col_indices())
        if lay == "csr"
        else (compressed(L, lay).ccol_indices(), compressed(L, lay).row_indices())
    ),
    "values": lambda L, lay: compressed(L, lay).values(),
    "dims": lambda L, lay: (
        compressed(L, lay)._nnz(),
        compressed(L, lay).sparse_dim(),
        compressed(L, lay).dense_dim(),
    ),
    "layout": lambda L, lay: (repr(compressed(L, lay).layout), compressed(L, lay).is_sparse_csr),
    "to_dense": lambda L, lay: compressed(L, lay).to_dense(),
    "to_sparse_coo": lambda L, lay: compressed(L, lay).to_sparse_coo(),
    "to_sparse": lambda L, lay: compressed(L, lay).to_sparse(),
    "csr and csc": lambda L, lay: (
        compressed(L, lay).to_sparse_csr(),
        compressed(L, lay).to_sparse_csc(),
    ),
    "from dense": lambda L, lay: getattr(L.eye(3), "to_sparse_" + lay)(),
    "to_sparse(layout=)": lambda L, lay: L.eye(2).to_sparse(layout=getattr(L, "sparse_" + lay)),
    "t": lambda L, lay: compressed(L, lay).t(),
    "scaled": lambda L, lay: compressed(L, lay) * 2,
    "sum with itself": lambda L, lay: (lambda c: c + c)(compressed(L, lay)),
    "sum": lambda L, lay: compressed(L, lay).sum(),
    "new_zeros": lambda L, lay: compressed(L, lay).new_zeros(3, 4).to_dense(),
    "matmul": lambda L, lay: compressed(L, lay) @ _weights(L),
    "sparse.mm": lambda L, lay: L.sparse.mm(compressed(L, lay), _weights(L)),
    "dense plus": lambda L, lay: L.ones(2, 3) + compressed(L, lay),
    "grad of matmul": lambda L, lay: _grad(L, lay, lambda L, c: c @ _weights(L)),
}


@pytest.mark.parametrize("layout", ["csr", "csc"])
@pytest.mark.parametrize("name", CASES)
def test_matches_torch(name, layout):
    want, got = both(lambda L: CASES[name](L, layout))
    same(want, got, flag=False)


def test_csr_sparse_mm_gradient_keeps_the_pattern():
    want, got = both(lambda L: _grad(L, "csr", lambda L, c: L.sparse.mm(c, _weights(L))))
    same(want, got)


def test_csr_to_dense_gradient():
    want, got = both(lambda L: _grad(L, "csr", lambda L, c: c.to_dense() * L.arange(6.0)[:3]))
    same(want, got)


def test_gradient_of_values():
    def run(L):
        values = L.tensor([1.0, 2, 3], requires_grad=True)
        csr = L.sparse_csr_tensor(L.tensor([0, 1, 3]), L.tensor([2, 0, 2]), values, (2, 3))
        csc = L.sparse_csc_tensor(L.tensor([0, 1, 1, 3]), L.tensor([1, 0, 1]), values, (2, 3))
        (L.sparse.mm(csr, _weights(L)).pow(2).sum() + (csc @ _weights(L)).pow(2).sum()).backward()
        return csr.grad_fn.__class__.__name__, values.grad

    want, got = both(run)
    same(want, got)


def test_csr_gradient_through_coo():
    want, got = both(lambda L: _grad(L, "csr", lambda L, c: c.to_sparse().to_dense()))
    same(want, got, flag=False)


@pytest.mark.parametrize("layout", ["csr"])
def test_gradient_through_conversion_from_dense(layout):
    def run(L):
        dense = L.tensor([[0.0, 1, 0], [2, 0, 3]], requires_grad=True)
        L.sparse.mm(getattr(dense, "to_sparse_" + layout)(), L.ones(3, 2)).sum().backward()
        return dense.grad

    want, got = both(run)
    same(want, got)


def _from_dense_csc(L):
    dense = L.tensor([[0.0, 1, 0], [2, 0, 3]], requires_grad=True)
    L.sparse.mm(dense.to_sparse_csc(), L.ones(3, 2)).sum().backward()


ERRORS = {
    "csc sum of two": lambda L: compressed(L, "csc") + compressed(L, "csc"),
    "csc gradient through coo": lambda L: _grad(L, "csc", lambda L, c: c.to_sparse().to_dense()),
    "csc from dense, sparse.mm gradient": _from_dense_csc,
    "csc sparse.mm gradient": lambda L: _grad(L, "csc", lambda L, c: L.sparse.mm(c, L.ones(3, 2))),
    "csc to_dense gradient": lambda L: _grad(L, "csc", lambda L, c: c.to_dense()),
    "sparse.sum of csr": lambda L: L.sparse.sum(compressed(L, "csr")),
    "indices of csr": lambda L: compressed(L, "csr").indices(),
    "coalesce of csc": lambda L: compressed(L, "csc").coalesce(),
    "is_coalesced of csr": lambda L: compressed(L, "csr").is_coalesced(),
    "crow of csc": lambda L: compressed(L, "csc").crow_indices(),
    "ccol of csr": lambda L: compressed(L, "csr").ccol_indices(),
    "crow of strided": lambda L: L.ones(2, 2).crow_indices(),
    "new_zeros 1-d": lambda L: compressed(L, "csr").new_zeros(2),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    raises_same(ERRORS[name])
