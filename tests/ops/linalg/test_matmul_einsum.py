"""Matrix products, einsum and torch.linalg norms against PyTorch."""

import pytest

from op_compare import check, r, same_error

MATMUL = [
    ((3,), (3,)),
    ((2, 3), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (3, 2)),
    ((2, 2, 3), (3, 4)),
    ((3,), (2, 3, 4)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((4, 2, 3), (4, 3, 1)),
]


@pytest.mark.parametrize("shapes", MATMUL, ids=str)
def test_matmul_forms(shapes):
    check(lambda t, a, b: a @ b, r(*shapes[0]), r(*shapes[1]))
    check(lambda t, a, b: t.matmul(a, b), r(*shapes[0]), r(*shapes[1]))


PRODUCTS = {
    "mm": (lambda t, a, b: a.mm(b), r(2, 3), r(3, 4)),
    "mv": (lambda t, a, b: t.mv(a, b), r(2, 3), r(3)),
    "bmm": (lambda t, a, b: t.bmm(a, b), r(2, 2, 3), r(2, 3, 4)),
    "dot": (lambda t, a, b: a.dot(b), r(3), r(3)),
    "outer": (lambda t, a, b: t.outer(a, b), r(3), r(2)),
    "addmm": (lambda t, c, a, b: t.addmm(c, a, b), r(4), r(2, 3), r(3, 4)),
    "addmm_scaled": (
        lambda t, c, a, b: t.addmm(c, a, b, beta=0.5, alpha=-2.0),
        r(2, 4),
        r(2, 3),
        r(3, 4),
    ),
    "addmm_beta0": (lambda t, c, a, b: t.addmm(c, a, b, beta=0), r(1, 4), r(2, 3), r(3, 4)),
    "baddbmm": (lambda t, c, a, b: t.baddbmm(c, a, b, alpha=2.0), r(3, 4), r(2, 3, 2), r(2, 2, 4)),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_products(name):
    fn, *arrays = PRODUCTS[name]
    check(fn, *arrays)


EINSUM = [
    ("ij,jk->ik", (2, 3), (3, 4)),
    ("ii->i", (3, 3)),
    ("ii", (3, 3)),
    ("ij->", (2, 3)),
    ("ij->j", (2, 3)),
    ("bij,bjk", (2, 2, 3), (2, 3, 2)),
    ("...i,i->...", (2, 3), (3,)),
    ("i,j->ij", (2,), (3,)),
    ("ij,ij->i", (2, 3), (2, 3)),
    ("iij->j", (2, 2, 3)),
]


@pytest.mark.parametrize("case", EINSUM, ids=lambda c: c[0])
def test_einsum_values_and_grads(case):
    # PyTorch's einsum ends in whichever node its contraction plan needs; glassgrad records one
    # EinsumBackward0, so names are not compared.
    equation, *shapes = case
    check(lambda t, *xs: t.einsum(equation, *xs), *[r(*s) for s in shapes], compare_names=False)


def _have_reductions():
    import glassgrad as gg

    try:
        import glassgrad.ops.reduce.stats  # noqa: F401
    except ImportError:
        return False
    return hasattr(gg.Tensor, "amax") and hasattr(gg.Tensor, "amin")


needs_reductions = pytest.mark.skipif(
    not _have_reductions(), reason="the vector norm and amax/amin come from the reductions family"
)


NORMS = {
    "norm": (lambda t, x: t.linalg.norm(x), r(3, 4)),
    "norm_dim": (lambda t, x: t.linalg.norm(x, dim=1, keepdim=True), r(3, 4)),
    "norm_ord1_vec": (lambda t, x: t.linalg.norm(x, 1), r(4)),
    "norm_fro": (lambda t, x: t.linalg.norm(x, "fro"), r(3, 4)),
    "norm_inf_mat": (lambda t, x: t.linalg.norm(x, float("inf")), r(3, 4)),
    "vector_norm": (lambda t, x: t.linalg.vector_norm(x, 3, dim=(0, 1)), r(2, 3, 2)),
    "vector_norm_inf": (lambda t, x: t.linalg.vector_norm(x, float("inf"), dim=-1), r(2, 3)),
    "matrix_norm_1": (lambda t, x: t.linalg.matrix_norm(x, 1), r(2, 3, 4)),
    "matrix_norm_neg1": (lambda t, x: t.linalg.matrix_norm(x, -1, keepdim=True), r(3, 4)),
    "matrix_norm_ninf": (
        lambda t, x: t.linalg.matrix_norm(x, -float("inf"), dim=(0, 2)),
        r(3, 2, 4),
    ),
    "matrix_norm_fro": (lambda t, x: t.linalg.matrix_norm(x), r(2, 3, 4)),
}


@needs_reductions
@pytest.mark.parametrize("name", sorted(NORMS))
def test_norms(name):
    fn, *arrays = NORMS[name]
    check(fn, *arrays)


@needs_reductions
@pytest.mark.parametrize("ord_", ["nuc", 2, -2])
def test_spectral_norms_first_order(ord_):
    check(lambda t, x: t.linalg.matrix_norm(x, ord_), r(3, 4), second=False)


ERRORS = [
    (lambda t, a, b: a @ b, r(2, 3), r(2, 3)),
    (lambda t, a, b: a @ b, r(3), r(4)),
    (lambda t, a, b: a @ b, r(2, 3), r(4)),
    (lambda t, a: a @ t.tensor(2.0, dtype=t.float64), r(2, 3)),
    (lambda t, a, b: a.mm(b), r(3), r(3, 2)),
    (lambda t, a, b: t.bmm(a, b), r(2, 3), r(3, 2)),
    (lambda t, a, b: t.bmm(a, b), r(2, 3, 4), r(2, 5, 4)),
    (lambda t, a, b: t.dot(a, b), r(2, 3), r(3)),
    (lambda t, a, b: t.outer(a, b), r(2, 3), r(3)),
    (lambda t, c, a, b: t.addmm(c, a, b), r(3), r(3, 4), r(3, 4)),
    (lambda t, c, a, b: t.addmm(c, a, b), r(2), r(3, 4), r(4, 3)),
    (lambda t, a, b: t.einsum("ij,jk", a, b), r(3, 4), r(3, 4)),
    (lambda t, a: t.einsum("ij->k", a), r(3, 4)),
    (lambda t, a: t.einsum("ij,ij->", a), r(3, 4)),
    (lambda t, a: t.linalg.norm(a, "fro", dim=1), r(2, 3)),
    (lambda t, a: t.linalg.matrix_norm(a, "abc"), r(2, 3)),
    (lambda t, a: t.linalg.norm(a, ord=1), r(2, 3, 4)),
    (lambda t, a: t.linalg.matrix_norm(a), r(3)),
    (lambda t, a: t.linalg.norm(a, dim=(0, 1), ord=3), r(2, 3)),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    fn, *arrays = ERRORS[case]
    same_error(fn, *arrays)
