"""Decompositions with several outputs: ``linalg.qr``/``qr``, ``linalg.svd``/``svd``,
``linalg.svdvals``, ``linalg.eigh``, and ``linalg.pinv``/``pinverse`` built on the SVD.

First-order rules run on the saved factors. Under ``create_graph`` they recompute the factors
from the saved input with the recorded op itself, so the factors inside the rule depend on the
input and the second-order gradient is exact (a multi-output node cannot hand its own outputs
back to its rule as graph tensors).

Singular vectors and eigenvectors are unique only up to sign; LAPACK builds may choose other
signs than PyTorch's for some inputs (tall SVDs, ``eigh``), so compare sign-free quantities.
"""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result, results
from glassgrad.ops import _dual as D
from glassgrad.ops.linalg.inverse import (
    LinAlgError,
    _inv_any,
    _mT,
    _named,
    check_float,
    column_major,
)
from glassgrad.ops.registry import register
from glassgrad.tensor import tensor_method


def _row(x):
    """``x[..., None, :]``: a vector that scales the columns of a batch of matrices."""
    return D.reshape(x, (*x.shape[:-1], 1, x.shape[-1]))


def _column(x):
    return D.reshape(x, (*x.shape, 1))


def _diag_embed(x):
    return _column(x) * np.eye(x.shape[-1])


def _gap(values, square):
    """``E[i, j] = f(values[j]) - f(values[i])`` with 1 on the diagonal (never divided by)."""
    v = values * values if square else values
    return _row(v) - _column(v) + np.eye(values.shape[-1])


# -- QR --------------------------------------------------------------------------------------
def _qr_backward(ctx, grads, a, q, r):
    grad_q, grad_r = grads
    mode = ctx._args
    if mode == "r":
        raise RuntimeError(
            "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
            "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
            "linalg.qr."
        )
    m, n = a.shape[-2], a.shape[-1]
    if not D._is_array(grads[0] if grads[0] is not None else grads[1]):
        q, r = linalg_qr(a, mode)
    if mode == "complete" and m > n:
        raise RuntimeError(
            "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
        )
    if grad_q is None and grad_r is None:
        return (None,)
    if m < n:
        return (_qr_wide_backward(grad_q, grad_r, a, q, r),)
    return (_qr_square_backward(grad_q, grad_r, q, r),)


def _qr_wide_backward(grad_q, grad_r, a, q, r):
    """A = [X | Y] with X square: X = Q R1 is a square QR and Y = Q R2, so Y's gradient is
    Q gR2 and X's is the square rule's with gQ + Y gR2^T for gQ."""
    m = a.shape[-2]
    grad_y = None
    if grad_r is not None:
        grad_r, grad_r2 = grad_r[..., :m], grad_r[..., m:]
        grad_y = q @ grad_r2
        shift = a[..., m:] @ _mT(grad_r2)
        grad_q = shift if grad_q is None else grad_q + shift
    grad_x = _qr_square_backward(grad_q, grad_r, q, r[..., :m])
    if grad_y is None:
        grad_y = D.new_zeros(grad_x, (*grad_x.shape[:-1], a.shape[-1] - m))
    if D._is_array(grad_x):
        return np.concatenate([grad_x, grad_y], axis=-1)
    from glassgrad.ops.shape.join import cat

    return cat([grad_x, grad_y], -1)


def _qr_square_backward(grad_q, grad_r, q, r):
    # Walter & Lehmann (2018): M = R gR^T - gQ^T Q, gA = (gQ + Q copyltu(M)) R^-T
    n = r.shape[-1]
    lower, strict = np.tril(np.ones((n, n))), np.tril(np.ones((n, n)), -1)
    m_mat = 0
    if grad_r is not None:
        m_mat = r @ _mT(grad_r)
    if grad_q is not None:
        m_mat = m_mat - _mT(grad_q) @ q
    copyltu = m_mat * lower + _mT(m_mat * strict)
    left = q @ copyltu if grad_q is None else grad_q + q @ copyltu
    return left @ _mT(_inv_any(r))


LinalgQrBackward0 = node_class("LinalgQrBackward0", _qr_backward, n_outputs=2)
linalg_qr_type = _named("linalg_qr", ("Q", "R"))
qr_type = _named("qr", ("Q", "R"))


def _qr(A, mode, kind):
    data = check_float("linalg.qr", A, square=False)
    if mode not in ("reduced", "r", "complete"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'"
        )
    q, r = np.linalg.qr(data, mode="complete" if mode == "complete" else "reduced")
    q, r = column_major(q), column_major(r)
    if mode == "r":
        q = np.zeros((0,), data.dtype)
    made = results((q, r), LinalgQrBackward0, (A,), (A, q, r), args=mode)
    return kind(*made)


def linalg_qr(A, mode="reduced"):
    """``(Q, R)`` with orthonormal columns in ``Q`` and upper-triangular ``R`` (``A = QR``)."""
    return _qr(A, mode, linalg_qr_type)


def qr(input, some=True):
    """``torch.qr`` (deprecated in PyTorch): ``linalg.qr`` with ``some`` for the mode."""
    warnings.warn(_QR_DEPRECATED, UserWarning, stacklevel=2)
    return _qr(input, "reduced" if some else "complete", qr_type)


_QR_DEPRECATED = (
    "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch "
    "release.\nThe boolean parameter 'some' has been replaced with a string parameter 'mode'.\n"
    "Q, R = torch.qr(A, some)\nshould be replaced with\n"
    "Q, R = torch.linalg.qr(A, 'reduced' if some else 'complete')"
)


# -- SVD -------------------------------------------------------------------------------------
def _svd_core(grad_u, grad_s, grad_vh, u, s, vh):
    """PyTorch's ``svd_backward`` for real matrices (reduced factors, k = min(m, n))."""
    m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
    if grad_u is None and grad_vh is None:
        return (u * _row(grad_s)) @ vh
    grad_v = None if grad_vh is None else _mT(grad_vh)
    gap = _gap(s, square=True)
    inner = 0
    if grad_u is not None:
        uhgu = _mT(u) @ grad_u
        inner = (uhgu - _mT(uhgu)) * _row(s)
    if grad_v is not None:
        vhgv = vh @ grad_v
        inner = inner + _column(s) * (vhgv - _mT(vhgv))
    inner = inner / gap
    if grad_s is not None:
        inner = inner + _diag_embed(grad_s)
    if m > k and grad_u is not None:
        scaled = grad_u / _row(s)
        return (u @ inner + scaled - u @ (_mT(u) @ scaled)) @ vh
    if n > k and grad_v is not None:
        scaled = _mT(grad_v / _row(s))
        return u @ (inner @ vh + scaled - (scaled @ _mT(vh)) @ vh)
    return u @ inner @ vh


def _svd_backward(ctx, grads, a, u, s, vh):
    grad_u, grad_s, grad_vh = grads
    full = ctx._args
    if not D._is_array(next(g for g in grads if g is not None)):
        u, s, vh = linalg_svd(a, full_matrices=full)
    k = s.shape[-1]
    if full:  # the extra columns of a complete SVD are arbitrary: they get no gradient
        u, vh = u[..., :, :k], vh[..., :k, :]
        grad_u = None if grad_u is None else grad_u[..., :, :k]
        grad_vh = None if grad_vh is None else grad_vh[..., :k, :]
    return (_svd_core(grad_u, grad_s, grad_vh, u, s, vh),)


LinalgSvdBackward0 = node_class("LinalgSvdBackward0", _svd_backward, n_outputs=3)
linalg_svd_type = _named("linalg_svd", ("U", "S", "Vh"))
svd_type = _named("svd", ("U", "S", "V"))


def _svd(data, full_matrices):
    """NumPy's SVD; where its LAPACK call does not converge (a NaN in the matrix), PyTorch's
    error, naming the first such matrix of a batch."""
    try:
        return np.linalg.svd(data, full_matrices=full_matrices)
    except np.linalg.LinAlgError:
        pass
    bad = ~np.isfinite(data.reshape(-1, *data.shape[-2:])).all(axis=(-2, -1))
    where = f"(Batch element {int(np.argmax(bad))}): " if data.ndim > 2 else ""
    raise LinAlgError(
        f"linalg.svd: {where}The algorithm failed to converge because the input matrix "
        "contained non-finite values."
    ) from None


def linalg_svd(A, full_matrices=True, *, driver=None):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh`` and ``S`` descending."""
    data = check_float("linalg.svd", A, square=False)
    u, s, vh = _svd(data, full_matrices)
    u, vh = column_major(u), column_major(vh)
    made = results((u, s, vh), LinalgSvdBackward0, (A,), (A, u, s, vh), args=full_matrices)
    return linalg_svd_type(*made)


def svd(input, some=True, compute_uv=True):
    """``torch.svd``: ``(U, S, V)`` with ``V = Vh^T`` (``some=False``: complete factors)."""
    if not compute_uv:
        # PyTorch returns zero-filled U and V of the complete shapes and differentiable S
        m, n = input.shape[-2], input.shape[-1]
        from glassgrad.creation import zeros

        s = svdvals(input)
        batch = tuple(input.shape[:-2])
        return svd_type(
            zeros(*batch, m, m, dtype=input.dtype), s, zeros(*batch, n, n, dtype=input.dtype)
        )
    u, s, vh = linalg_svd(input, full_matrices=not some)
    return svd_type(u, s, vh.mT)


def _svdvals_backward(ctx, grad, a, u, vh):
    if not D._is_array(grad):
        u, _, vh = linalg_svd(a, full_matrices=False)
    return ((u * _row(grad)) @ vh,)


def svdvals(A, *, driver=None):
    """The singular values of the matrices in ``A``, in descending order."""
    data = check_float("linalg.svd", A, square=False)
    u, s, vh = _svd(data, False)
    return result(s, _SvdvalsNode, (A,), saved=(A, u, vh))


# PyTorch records svdvals as the SVD's node (with only S used); one class per rule here
_SvdvalsNode = type("LinalgSvdBackward0", (LinalgSvdBackward0,), {"_n_outputs": 1})
_SvdvalsNode._backward = _svdvals_backward


# -- symmetric eigendecomposition ------------------------------------------------------------
def _eigh_backward(ctx, grads, a, values, vectors):
    grad_values, grad_vectors = grads
    if not D._is_array(next(g for g in grads if g is not None)):
        values, vectors = linalg_eigh(a, ctx._args)
    # gA = V (diag(gL) + (V^T gV) / E) V^T with E[i, j] = L[j] - L[i] off the diagonal
    n = values.shape[-1]
    inner = 0
    if grad_vectors is not None:
        inner = (_mT(vectors) @ grad_vectors) / _gap(values, square=False) * (1 - np.eye(n))
    if grad_values is not None:
        inner = inner + _diag_embed(grad_values)
    return (vectors @ inner @ _mT(vectors),)


LinalgEighBackward0 = node_class("LinalgEighBackward0", _eigh_backward, n_outputs=2)
linalg_eigh_type = _named("linalg_eigh", ("eigenvalues", "eigenvectors"))


def linalg_eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric ``A``, read from the
    ``UPLO`` triangle."""
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    if A._data.ndim >= 2 and A._data.dtype.kind != "f":
        raise NotImplementedError(
            f"\"linalg_eigh_cpu\" not implemented for '{A.dtype._legacy[:-6]}'"
        )
    data = check_float("linalg.eigh", A)
    values, vectors = np.linalg.eigh(data, UPLO=UPLO)
    vectors = column_major(vectors)
    made = results((values, vectors), LinalgEighBackward0, (A,), (A, values, vectors), args=UPLO)
    return linalg_eigh_type(*made)


# -- pseudo-inverse --------------------------------------------------------------------------
def _pinv_backward(ctx, grad, a, out):
    # PyTorch's pinv_backward (Golub & Pereyra 1973), arranged for the smaller of m and n
    m, n = a.shape[-2], a.shape[-1]
    out_t, grad_t = _mT(out), _mT(grad)
    if m <= n:
        k = grad_t @ out
        k_out_t = k @ out_t
        return (-_mT(out @ k) + k_out_t - (a @ out) @ k_out_t + (out_t @ out) @ (grad_t - k @ a),)
    k = out @ grad_t
    out_t_k = out_t @ k
    return (-_mT(k @ out) + (grad_t - a @ k) @ out @ out_t + out_t_k - out_t_k @ out @ a,)


LinalgPinvBackward0 = node_class("LinalgPinvBackward0", _pinv_backward)


def _pinv_array(data, atol, rtol, hermitian):
    if hermitian:
        values, vectors = np.linalg.eigh(data)
        scale = np.abs(values)
        left, right = vectors * np.sign(values)[..., None, :], np.swapaxes(vectors, -1, -2)
    else:
        left, scale, right = _svd(data, False)
    top = scale.max(axis=-1, keepdims=True, initial=0.0)
    cutoff = np.maximum(atol, rtol * top)
    kept = scale > cutoff
    inverse = np.where(kept, 1 / np.where(kept, scale, 1), 0)
    return np.swapaxes(right, -1, -2) @ (inverse[..., :, None] * np.swapaxes(left, -1, -2))


def linalg_pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    """The Moore-Penrose pseudo-inverse; singular values below ``max(atol, rtol * max(S))``
    count as zero (default ``rtol``: ``eps * max(m, n)``)."""
    data = A._data
    if data.ndim < 2 or data.dtype.kind != "f":
        shape = ", ".join(str(d) for d in data.shape)
        raise RuntimeError(
            f"linalg.pinv({A.dtype._legacy[:-6]}{{[{shape}]}}): expected a tensor with 2 or more "
            "dimensions of float, double, cfloat or cdouble types"
        )
    if rcond is not None:
        rtol = rcond
    elif rtol is None:
        rtol = (
            0.0
            if atol is not None and atol > 0
            else np.finfo(data.dtype).eps * max(data.shape[-2:])
        )
    atol = 0.0 if atol is None else atol
    with np.errstate(all="ignore"):
        out_data = _pinv_array(data, atol, rtol, hermitian).astype(data.dtype, copy=False)
    return result(out_data, LinalgPinvBackward0, (A,), (A, OUT))


def pinverse(input, rcond=1e-15):
    """The pseudo-inverse with relative cutoff ``rcond`` (``torch.pinverse``)."""
    return linalg_pinv(input, rcond)


def _matrices(rng):
    return [
        ((rng.standard_normal((3, 3)) + 2 * np.eye(3),), {}),
        ((rng.standard_normal((2, 4)),), {}),
        ((rng.standard_normal((2, 3, 3)) + 2 * np.eye(3),), {}),
    ]


def _tall(rng):
    return [((rng.standard_normal((4, 3)),), {}), ((rng.standard_normal((2, 3, 2)),), {})]


register(
    "pinverse", pinverse, reference=np.linalg.pinv, samples=lambda rng: _matrices(rng) + _tall(rng)
)
register(
    "qr",
    qr,
    reference=np.linalg.qr,
    samples=lambda rng: _tall(rng) + _matrices(rng)[:1],
    out={"dtype": "expected", "grad_name": "linalg_qr"},
)
tensor_method(svd, "svd")
# svd and eigh are not in the op table: their vectors' signs can differ from PyTorch's, and
# eigh reads one triangle only (central differences disagree with PyTorch's symmetric
# gradient). tests/ops/linalg/test_solve_decompositions.py checks them on sign-free quantities.
