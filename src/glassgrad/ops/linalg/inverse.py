"""Square-matrix linear algebra: ``inverse``/``linalg.inv``, ``det``, ``slogdet``, ``logdet``,
``linalg.solve`` and ``cholesky``/``linalg.cholesky`` (``pinverse`` is built on the SVD, in
``factorize.py``).

Every op works on batches ``(..., n, n)``. Backward rules are written with ``@``, transposes and
this file's ``inv`` (on arrays: NumPy's), so the same rule runs under ``create_graph`` and gives
second-order gradients. The formulas are the standard ones (Giles, "An extended collection of
matrix derivative results", 2008; PyTorch's ``FunctionsManual.cpp``).
"""

from __future__ import annotations

import warnings

import numpy as np

from glassgrad import _bfloat16
from glassgrad._batched import as_data
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result, results, track_versions
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.tensor import tensor_method


class _LinAlgError(RuntimeError):
    """Raised when a matrix is singular or not positive-definite (``torch.linalg.LinAlgError``)."""


LinAlgError = _LinAlgError  # PyTorch's class is ``torch._C._LinAlgError`` under this name


def _mT(x):
    return D.swapaxes(x, -1, -2)


def _col(x):
    """``x[..., None, None]``: a batch of numbers that scales a batch of matrices."""
    return D.reshape(x, (*x.shape, 1, 1))


def column_major(x):
    """``x`` with each matrix laid out column by column, as LAPACK leaves (and PyTorch returns)
    its results: not contiguous, so ``.view(-1)`` refuses them as PyTorch's does. (vmap's
    batched arrays stay as they are.)"""
    if x.__class__ is not np.ndarray:
        return x
    return np.swapaxes(np.ascontiguousarray(np.swapaxes(x, -1, -2)), -1, -2)


def _inv_any(x):
    return np.linalg.inv(x) if D._is_array(x) else inv(x)


def check_float(name, A, least=2, square=True):
    """PyTorch's checks of a matrix argument: float dtype, at least 2-D, square batches."""
    data = A._data
    if data.ndim < least:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if data.dtype.kind != "f":
        raise RuntimeError(
            f"{name}: Expected a floating point or complex tensor as input. "
            f"Got {A.dtype._legacy[:-6]}"
        )
    if square and data.shape[-1] != data.shape[-2]:
        raise RuntimeError(
            f"{name}: A must be batches of square matrices, but they are "
            f"{data.shape[-2]} by {data.shape[-1]} matrices"
        )
    return data


def _zero_pivot(data):
    """The 1-based index of LU's first zero pivot (PyTorch's singular-matrix message names it).

    Runs only on the error path: Gaussian elimination with partial pivoting, one loop per column.
    """
    lu = np.array(data, dtype=np.float64).reshape(-1, *data.shape[-2:])
    n = lu.shape[-1]
    first = n + 1
    for col in range(n):
        rows = np.arange(lu.shape[0])
        pivot = col + np.argmax(np.abs(lu[:, col:, col]), axis=1)
        lu[:, [col]], lu[rows, pivot] = lu[rows, pivot][:, None], lu[:, col].copy()
        head = lu[:, col, col]
        if np.any(head == 0):
            first = min(first, col + 1)
            head = np.where(head == 0, 1.0, head)
        factors = lu[:, col + 1 :, col] / head[:, None]
        lu[:, col + 1 :, :] -= factors[:, :, None] * lu[:, col, None, :]
    return first if first <= n else n


def _inv_backward(ctx, grad, out):
    # d(A^-1) = -A^-1 dA A^-1, so the gradient is -A^-T G A^-T
    inv_t = _mT(out)
    return (-(inv_t @ grad @ inv_t),)


LinalgInvExBackward0 = node_class("LinalgInvExBackward0", _inv_backward)


def inv(A):
    """The inverse of each square matrix in ``A`` (``torch.linalg.inv``)."""
    if _bfloat16.is_bfloat16(A._data):
        raise RuntimeError("linalg.inv: Low precision dtypes not supported. Got BFloat16")
    data = check_float("linalg.inv", A)
    with np.errstate(all="ignore"):
        try:
            inverse_data = np.linalg.inv(data)
        except np.linalg.LinAlgError:
            raise LinAlgError(
                f"linalg.inv: The diagonal element {_zero_pivot(data)} is zero, the inversion "
                "could not be completed because the input matrix is singular."
            ) from None
    return result(column_major(inverse_data), LinalgInvExBackward0, (A,), (OUT,))


def inverse(input):
    """The inverse of each square matrix in ``input`` (``torch.inverse``)."""
    return inv(input)


def _det_backward(ctx, grad, a, out):
    # d det(A) = det(A) tr(A^-1 dA): the gradient is grad * det * A^-T. At an exactly singular
    # A PyTorch gives 0: det is 0 there, so any finite stand-in for A^-1 (the pseudo-inverse)
    # gives the same. A 1x1 matrix's cofactor is 1: PyTorch passes grad through alone (so a
    # create_graph gradient of a constant grad is a constant).
    if a.shape[-1] == 1:
        return (D.expand(_col(grad), a.shape),)
    if D._is_array(a):
        try:
            inverse = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            inverse = np.linalg.pinv(a)
        return (_col(grad * out) * _mT(inverse),)
    return (_col(grad * out) * _mT(_inv_any(a)),)


LinalgDetBackward0 = node_class("LinalgDetBackward0", _det_backward)


@quiet  # NumPy's det (Python code) warns of an overflow in its own module's name
def det(A):
    """The determinant of each square matrix in ``A``."""
    data = check_float("linalg.det", A)
    values = np.linalg.det(data)
    has_nan = np.isnan(data).any(axis=(-2, -1))  # (see _slogdet)
    if has_nan.any():
        values = np.where(has_nan, np.nan, values).astype(values.dtype, copy=False)
    return result(as_data(values), LinalgDetBackward0, (A,), (A, OUT))


def _slogdet_backward(ctx, grads, a):
    # the sign is piecewise constant: only log|det A| carries a gradient, g * A^-T
    grad = grads[1]
    if grad is None:
        return (None,)
    return (_col(grad) * _mT(_inv_any(a)),)


LinalgSlogdetBackward0 = node_class("LinalgSlogdetBackward0", _slogdet_backward, n_outputs=2)


def _named(name, fields):
    """A ``torch.return_types.<name>`` tuple class with the given field names."""

    def new(cls, *values):
        return tuple.__new__(cls, values)

    def rep(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self, strict=True))
        return f"torch.return_types.{name}(\n{body})"

    members = {"__slots__": (), "__new__": new, "__repr__": rep, "_fields": fields}
    members["__module__"] = "torch.return_types"
    for index, field_name in enumerate(fields):
        members[field_name] = property(lambda self, i=index: self[i], doc=f"The {field_name}.")
    return type(name, (tuple,), members)


slogdet_type = _named("slogdet", ("sign", "logabsdet"))
linalg_slogdet_type = _named("linalg_slogdet", ("sign", "logabsdet"))


def _slogdet(A, name, kind):
    data = check_float(name, A)
    sign, logabs = np.linalg.slogdet(data)
    # a NaN anywhere reaches a pivot of PyTorch's LU, whose sign is then sgn(NaN) = 0 and whose
    # log|det| is NaN; NumPy's pivot search may skip it ([[nan, 1], [1, 1]] gives 0, -inf)
    has_nan = np.isnan(data).any(axis=(-2, -1))
    if has_nan.any():
        sign = np.where(has_nan, 0, sign).astype(sign.dtype, copy=False)
        logabs = np.where(has_nan, np.nan, logabs).astype(logabs.dtype, copy=False)
    made = results((as_data(sign), as_data(logabs)), LinalgSlogdetBackward0, (A,), (A,))
    track_versions(made[0], output=True)  # (PyTorch's backward reads the sign too)
    return kind(*made)


def slogdet(A):
    """``(sign, log|det|)`` of each square matrix in ``A`` (``torch.slogdet``)."""
    return _slogdet(A, "linalg.slogdet", slogdet_type)


def linalg_slogdet(A):
    """``(sign, log|det|)`` of each square matrix in ``A`` (``torch.linalg.slogdet``)."""
    return _slogdet(A, "linalg.slogdet", linalg_slogdet_type)


def logdet(input):
    """``log det`` of each square matrix: nan where the determinant is negative."""
    check_float("logdet", input)
    sign, logabs = slogdet(input)
    from glassgrad.ops.elementwise.where import where

    # as PyTorch: log|det| where the sign is not -1, nan where it is
    return where(sign < 0, np.nan, logabs)


def _solve_backward(ctx, grad, a, out):
    vector, left = ctx._args
    if vector:
        grad, out = D.reshape(grad, (*grad.shape, 1)), D.reshape(out, (*out.shape, 1))
    inv_t = _mT(_inv_any(a))
    if left:  # X = A^-1 B: grad_B = A^-T G, grad_A = -grad_B X^T
        grad_b = inv_t @ grad
        grad_a = -(grad_b @ _mT(out))
    else:  # X = B A^-1: grad_B = G A^-T, grad_A = -X^T grad_B
        grad_b = grad @ inv_t
        grad_a = -(_mT(out) @ grad_b)
    if vector:
        grad_b = D.reshape(grad_b, grad_b.shape[:-1])
    return grad_a, grad_b


LinalgSolveExBackward0 = node_class("LinalgSolveExBackward0", _solve_backward)


def solve(A, B, *, left=True):
    """The solution ``X`` of ``A X = B`` (``left=False``: ``X A = B``) for square ``A``."""
    a, b = check_float("linalg.solve", A), B._data
    if a.dtype != b.dtype:
        raise RuntimeError(
            "linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{A.dtype._legacy[:-6]} and B of type {B.dtype._legacy[:-6]} instead"
        )
    # B is a (batch of) vector(s) when it is 1-D or has A's shape without its last dim
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    rhs = b[..., None] if vector else b
    rows = rhs.shape[-2] if left else rhs.shape[-1]
    if rows != a.shape[-1]:
        raise RuntimeError(
            "linalg.solve: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({a.shape[-2]}x{a.shape[-1]} and "
            f"{rhs.shape[-2]}x{rhs.shape[-1]})"
        )
    if vector and not left:
        raise RuntimeError(
            "linalg.solve: Vector broadcasting of the left hand side is not supported for "
            "left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)"
        )
    try:
        if left:
            x = np.linalg.solve(a, rhs)
        else:
            x = np.swapaxes(
                np.linalg.solve(np.swapaxes(a, -1, -2), np.swapaxes(rhs, -1, -2)), -1, -2
            )
    except np.linalg.LinAlgError:
        raise LinAlgError(
            "torch.linalg.solve: The solver failed because the input matrix is singular."
        ) from None
    x = x[..., 0] if vector else column_major(x) if left else np.ascontiguousarray(x)
    return result(x, LinalgSolveExBackward0, (A, B), (A, OUT), args=(vector, left))


def _cholesky_backward(ctx, grad, low):
    # Murray (2016): with phi(X) = tril(X) with its diagonal halved,
    # grad_A = sym(L^-T phi(L^T tril(G)) L^-1); the masks are constants, so this runs on tensors
    upper = ctx._args
    if upper:
        low, grad = _mT(low), _mT(grad)
    n = low.shape[-1]
    lower = np.tril(np.ones((n, n)))
    halved = lower - 0.5 * np.eye(n)
    inv_low = _inv_any(low)
    grad_a = _mT(inv_low) @ ((_mT(low) @ (grad * lower)) * halved) @ inv_low
    return ((grad_a + _mT(grad_a)) * 0.5,)


CholeskyBackward0 = node_class("CholeskyBackward0", _cholesky_backward)
LinalgCholeskyExBackward0 = node_class("LinalgCholeskyExBackward0", _cholesky_backward)


def _cholesky(A, upper, name, cls):
    _bfloat16.refuse(A._data, "cholesky_cpu")
    data = check_float(name, A)
    # LAPACK reads one triangle only; NumPy reads the lower one, so symmetrise from it
    low_data = np.tril(data)
    sym = low_data + np.swapaxes(np.tril(data, -1), -1, -2)
    try:
        factor = np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:
        minor = _first_bad_minor(sym)
        raise LinAlgError(
            f"{name}: The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {minor} is not positive-definite)."
        ) from None
    factor = column_major(np.swapaxes(factor, -1, -2) if upper else factor)
    return result(factor, cls, (A,), (OUT,), args=upper)


def _first_bad_minor(sym):
    """The order of the first leading minor that is not positive-definite (error path only)."""
    for order in range(1, sym.shape[-1] + 1):
        try:
            np.linalg.cholesky(sym[..., :order, :order])
        except np.linalg.LinAlgError:
            return order
    return sym.shape[-1]


def linalg_cholesky(A, *, upper=False):
    """The Cholesky factor ``L`` (``upper=True``: ``L^T``) of symmetric positive-definite ``A``."""
    return _cholesky(A, upper, "linalg.cholesky", LinalgCholeskyExBackward0)


def cholesky(input, upper=False):
    """The Cholesky factor of ``input`` (``torch.cholesky``; deprecated in PyTorch)."""
    warnings.warn(_CHOLESKY_DEPRECATED, UserWarning, stacklevel=2)
    return _cholesky(input, upper, "cholesky", CholeskyBackward0)


_CHOLESKY_DEPRECATED = (
    "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
    "future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\n"
    "L = torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\n"
    "should be replaced with\nU = torch.linalg.cholesky(A).mH\nThis transform will produce "
    "equivalent results for all valid (symmetric positive definite) inputs."
)
tensor_method(cholesky, "cholesky")


def _register_square(name, fn, reference, **info):
    samples = info.pop("samples", _square_samples)
    register(name, fn, reference=reference, samples=samples, **info)


def _square_samples(rng):
    """Well-conditioned square matrices (diagonally dominant: invertible, positive det)."""
    eye = np.eye(3)
    return [
        ((rng.standard_normal((3, 3)) * 0.5 + 2 * eye,), {}),
        ((rng.standard_normal((2, 3, 3)) * 0.5 + 2 * eye,), {}),
        ((rng.standard_normal((1, 1)) + 2,), {}),
    ]


_register_square(
    "inverse", inverse, np.linalg.inv, out={"dtype": "expected", "grad_name": "linalg_inv_ex"}
)
_register_square("det", det, np.linalg.det)  # (torch.det takes no out=; linalg.det does)
_register_square(
    "slogdet", slogdet, np.linalg.slogdet, out={"dtype": "expected", "grad_name": "_linalg_slogdet"}
)
_register_square("logdet", logdet, lambda a: np.linalg.slogdet(a)[1])
