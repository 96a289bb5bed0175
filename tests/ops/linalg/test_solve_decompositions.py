"""torch.linalg's solvers and decompositions against PyTorch: values, grad_fn names, first and
second-order gradients, batches, and the errors PyTorch raises.

Singular vectors and eigenvectors are unique only up to sign, and LAPACK builds choose signs
differently, so they are compared through sign-free quantities (``U * U``, ``u1 v1^T``,
reconstructions).
"""

import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg
from op_compare import check, r, same_error


def well(*shape):
    """Diagonally dominant square matrices: invertible, positive determinant."""
    return r(*shape) * 0.5 + 2 * np.eye(shape[-1])


def spd(t, x):
    """A symmetric positive-definite matrix made from ``x`` (differentiable in both libraries)."""
    return x @ x.mT + 3 * t.eye(x.shape[-1], dtype=x.dtype)


def sym(t, x):
    return x + x.mT


CASES = {
    "det": (lambda t, a: t.det(a), well(3, 3)),
    "det_batched": (lambda t, a: t.linalg.det(a), well(2, 3, 3)),
    "det_negative": (lambda t, a: a.det(), r(3, 3)),
    "inverse": (lambda t, a: t.inverse(a), well(3, 3)),
    "inv_batched": (lambda t, a: t.linalg.inv(a), well(2, 2, 3, 3)),
    "inv_method": (lambda t, a: a.inverse(), well(4, 4)),
    "slogdet": (lambda t, a: t.slogdet(a), r(3, 3)),
    "slogdet_linalg": (lambda t, a: t.linalg.slogdet(a).logabsdet, well(2, 3, 3)),
    "logdet": (lambda t, a: t.logdet(a), well(3, 3)),
    "logdet_spd": (lambda t, a: spd(t, a).logdet(), r(2, 3, 3)),
    "solve_matrix": (lambda t, a, b: t.linalg.solve(a, b), well(3, 3), r(3, 2)),
    "solve_vector": (lambda t, a, b: t.linalg.solve(a, b), well(3, 3), r(3)),
    "solve_batch_vector": (lambda t, a, b: t.linalg.solve(a, b), well(2, 3, 3), r(2, 3)),
    "solve_broadcast": (lambda t, a, b: t.linalg.solve(a, b), well(3, 3), r(2, 3, 2)),
    "solve_right": (lambda t, a, b: t.linalg.solve(a, b, left=False), well(3, 3), r(2, 3)),
    "cholesky": (lambda t, x: t.linalg.cholesky(spd(t, x)), r(3, 3)),
    "cholesky_upper": (lambda t, x: t.linalg.cholesky(spd(t, x), upper=True), r(2, 3, 3)),
    "cholesky_legacy": (lambda t, x: t.cholesky(spd(t, x)), r(3, 3)),
    "cholesky_legacy_upper": (lambda t, x: spd(t, x).cholesky(True), r(4, 4)),
    "qr": (lambda t, a: t.linalg.qr(a), r(4, 3)),
    "qr_square_batched": (lambda t, a: t.linalg.qr(a), r(2, 3, 3)),
    "qr_R_only_grad": (lambda t, a: t.linalg.qr(a).R, r(4, 2)),
    "qr_Q_only_grad": (lambda t, a: t.linalg.qr(a)[0], r(3, 3)),
    "qr_complete_square": (lambda t, a: t.linalg.qr(a, mode="complete"), r(3, 3)),
    "qr_legacy": (lambda t, a: t.qr(a), r(4, 3)),
    "pinverse_tall": (lambda t, a: t.pinverse(a), r(4, 3)),
    "pinverse_wide": (lambda t, a: a.pinverse(), r(2, 4)),
    "pinv_batched": (lambda t, a: t.linalg.pinv(a), r(2, 3, 2)),
    "pinv_hermitian": (lambda t, x: t.linalg.pinv(spd(t, x), hermitian=True), r(3, 3)),
    "svdvals": (lambda t, a: t.linalg.svdvals(a), r(3, 4)),
    "svd_S": (lambda t, a: t.linalg.svd(a).S, r(4, 3)),
    "svd_rebuild": (
        lambda t, a: (lambda u, s, vh: (u * s.unsqueeze(-2)) @ vh)(
            *t.linalg.svd(a, full_matrices=False)
        ),
        r(2, 3, 4),
    ),
    "svd_squares": (lambda t, a: [v * v for v in t.linalg.svd(a, full_matrices=False)], r(3, 3)),
    "svd_tall_vectors": (
        lambda t, a: (lambda u, s, vh: (u[:, :1] * vh[:1, :], u * u, s))(
            *t.linalg.svd(a, full_matrices=False)
        ),
        r(4, 3),
    ),
    "svd_wide_vectors": (
        lambda t, a: (lambda u, s, vh: (u[:, :1] * vh[:1, :], vh * vh))(
            *t.linalg.svd(a, full_matrices=False)
        ),
        r(2, 4),
    ),
    "svd_full": (
        lambda t, a: (lambda u, s, vh: (u[:, :1] * vh[:1, :], s))(*t.linalg.svd(a)),
        r(4, 3),
    ),
    "svd_legacy": (lambda t, a: (lambda u, s, v: (u[:, :1] * v[:, :1].T, s))(*t.svd(a)), r(3, 4)),
    "eigh_values": (lambda t, x: t.linalg.eigh(sym(t, x)).eigenvalues, r(2, 3, 3)),
    "eigh_vectors": (lambda t, x: [v * v for v in t.linalg.eigh(sym(t, x))], r(4, 4)),
    "eigh_rebuild": (
        lambda t, x: (lambda w, v: (v * w.unsqueeze(-2)) @ v.mT)(*t.linalg.eigh(sym(t, x))),
        r(3, 3),
    ),
    "eigh_upper": (lambda t, x: [v * v for v in t.linalg.eigh(sym(t, x), UPLO="U")], r(3, 3)),
    "matrix_norm_nuc": (lambda t, a: t.linalg.matrix_norm(a, "nuc"), r(3, 4)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    fn, *arrays = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.cholesky and torch.qr are deprecated
        check(fn, *arrays)


def test_svd_values_match_up_to_sign():
    a = r(2, 4, 3)
    ours = gg.linalg.svd(gg.tensor(a))
    theirs = torch.linalg.svd(torch.tensor(a))
    assert type(ours).__name__ == type(theirs).__name__ == "linalg_svd"
    for o, t in zip(ours, theirs, strict=True):
        assert tuple(o.shape) == tuple(t.shape)
        np.testing.assert_allclose(np.abs(o.numpy()), np.abs(t.numpy()), rtol=1e-10, atol=1e-12)


def test_return_types_and_reprs():
    a = well(3, 3)
    for name in ("slogdet", "linalg.slogdet", "linalg.qr", "linalg.eigh", "svd"):
        parts = name.split(".")
        ours = getattr(gg.linalg if len(parts) > 1 else gg, parts[-1])(gg.tensor(a + a.T))
        theirs = getattr(torch.linalg if len(parts) > 1 else torch, parts[-1])(
            torch.tensor(a + a.T)
        )
        assert type(ours).__name__ == type(theirs).__name__
        assert ours._fields == theirs._fields if hasattr(theirs, "_fields") else True
        if name in ("slogdet", "linalg.slogdet"):
            assert repr(ours) == repr(theirs)


def test_cholesky_reads_the_lower_triangle():
    factor = well(3, 3)
    a = factor @ factor.T
    a[0, 2] = 100.0  # the upper triangle is never read
    want = torch.linalg.cholesky(torch.tensor(a)).numpy()
    np.testing.assert_allclose(gg.linalg.cholesky(gg.tensor(a)).numpy(), want, rtol=1e-12)


def test_cholesky_warns_like_torch():
    factor = well(3, 3)
    a = factor @ factor.T
    with pytest.warns(UserWarning, match="torch.cholesky is deprecated"):
        gg.cholesky(gg.tensor(a))


def test_det_gradient_at_singular_matrices_is_torchs():
    for a in (np.zeros((3, 3)), np.diag([1.0, 0.0]), np.array([[1.0, 2.0], [2.0, 4.0]])):
        grads = []
        for lib in (torch, gg):
            x = lib.tensor(a, requires_grad=True)
            lib.det(x).backward()
            grads.append(x.grad.numpy())
        np.testing.assert_allclose(grads[1], grads[0], atol=1e-12)


def test_singular_and_empty():
    zeros = np.zeros((3, 3))
    assert float(gg.det(gg.tensor(zeros))) == 0.0
    np.testing.assert_array_equal(
        gg.slogdet(gg.tensor(zeros)).logabsdet.numpy(), torch.slogdet(torch.tensor(zeros))[1]
    )
    assert float(gg.det(gg.zeros(0, 0))) == float(torch.det(torch.zeros(0, 0)))
    assert tuple(gg.linalg.inv(gg.zeros(2, 0, 0)).shape) == (2, 0, 0)
    neg = np.eye(3)
    neg[0, 0] = -1.0
    assert np.isnan(float(gg.logdet(gg.tensor(neg))))
    assert gg.linalg.LinAlgError.__mro__[1] is RuntimeError


S = np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
INT = np.ones((3, 3), dtype=np.int64)
ERRORS = [
    (lambda t, a: t.det(a), r(2, 3)),
    (lambda t, a: t.det(a), INT),
    (lambda t, a: t.det(a), r(3)),
    (lambda t, a: t.linalg.inv(a), r(2, 3)),
    (lambda t, a: t.linalg.inv(a), np.zeros((3, 3))),
    (lambda t, a: t.linalg.inv(a), S),
    (lambda t, a: t.inverse(a), INT),
    (lambda t, a: t.slogdet(a), r(2, 3)),
    (lambda t, a: t.logdet(a), r(2, 3)),
    (lambda t, a: t.linalg.solve(a, a[0]), np.zeros((3, 3))),
    (lambda t, a: t.linalg.solve(a, t.ones(4, dtype=a.dtype)), np.eye(3)),
    (lambda t, a: t.linalg.solve(a.float(), a[0]), np.eye(3)),
    (lambda t, a: t.linalg.solve(a, a[0]), r(2, 3)),
    (lambda t, a: t.linalg.solve(a, a[0], left=False), np.eye(3)),
    (lambda t, a: t.linalg.solve(a, a[0], left=False), np.eye(1)),
    (lambda t, a: t.linalg.solve(a, t.ones(3, 4, dtype=a.dtype), left=False), np.eye(3)),
    (lambda t, a: t.linalg.cholesky(a), -np.eye(3)),
    (lambda t, a: t.linalg.cholesky(a), S),
    (lambda t, a: t.linalg.cholesky(a), r(2, 3)),
    (lambda t, a: t.linalg.qr(a), r(3)),
    (lambda t, a: t.linalg.qr(a), INT),
    (lambda t, a: t.linalg.qr(a, mode="x"), r(3, 3)),
    (lambda t, a: t.linalg.svd(a), r(3)),
    (lambda t, a: t.linalg.svd(a), INT),
    (lambda t, a: t.linalg.eigh(a), r(2, 3)),
    (lambda t, a: t.linalg.eigh(a), INT),
    (lambda t, a: t.linalg.eigh(a, UPLO="X"), np.eye(2)),
    (lambda t, a: t.linalg.pinv(a), r(3)),
    (lambda t, a: t.linalg.pinv(a), INT),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    fn, *arrays = ERRORS[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(fn, *arrays)


def test_qr_mode_r_has_no_gradient_path():
    a = r(4, 3)
    results = []
    for lib in (torch, gg):
        x = lib.tensor(a, requires_grad=True)
        q, rr = lib.linalg.qr(x, mode="r")
        with pytest.raises(RuntimeError) as info:
            rr.sum().backward()
        results.append((tuple(q.shape), str(info.value)))
    assert results[0] == results[1]


def test_gradcheck_style_central_differences():
    """First-order gradients of every op against central differences (float64)."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal((3, 3)) * 0.5 + 2 * np.eye(3)
    ops = [
        lambda x: gg.det(x),
        lambda x: gg.linalg.inv(x).sum(),
        lambda x: (gg.linalg.cholesky(x @ x.mT) * gg.tensor(a)).sum(),
        lambda x: (gg.linalg.qr(x).Q * gg.tensor(a)).sum(),
        lambda x: gg.linalg.svdvals(x).sum(),
        lambda x: (gg.linalg.eigh(x + x.mT).eigenvectors ** 2 * gg.tensor(a)).sum(),
        lambda x: (gg.linalg.pinv(x) * gg.tensor(a)).sum(),
    ]
    for op in ops:
        x = gg.tensor(a, requires_grad=True)
        (grad,) = gg.autograd.grad(op(x), [x])
        numeric = np.zeros_like(a)
        for index in np.ndindex(a.shape):
            up, down = a.copy(), a.copy()
            up[index] += 1e-6
            down[index] -= 1e-6
            numeric[index] = (float(op(gg.tensor(up))) - float(op(gg.tensor(down)))) / 2e-6
        np.testing.assert_allclose(grad.numpy(), numeric, rtol=1e-5, atol=1e-7)
