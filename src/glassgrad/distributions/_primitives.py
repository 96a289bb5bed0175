"""What the distributions need from ``torch`` beyond the op table: the samplers of
``ops.random.gamma`` and the broadcasting helpers ``broadcast_shapes``/``broadcast_tensors``."""

from __future__ import annotations

import numpy as np

from glassgrad.ops.random.gamma import (
    _dirichlet_grad,
    _sample_dirichlet,
    _standard_gamma,
    _standard_gamma_grad,
    binomial,
    poisson,
)
from glassgrad.ops.shape.expand import expand
from glassgrad.tensor import Size

__all__ = [
    "atanh",
    "_dirichlet_grad",
    "_sample_dirichlet",
    "_standard_gamma",
    "_standard_gamma_grad",
    "binomial",
    "broadcast_shapes",
    "broadcast_tensors",
    "poisson",
    "tril_indices",
]


def broadcast_shapes(*shapes) -> Size:
    """The shape all ``shapes`` broadcast to, with PyTorch's error if they do not."""
    shapes = [(shape,) if isinstance(shape, int) else tuple(shape) for shape in shapes]
    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(
            "Shape mismatch: objects cannot be broadcast to a single shape.  Mismatch is between "
            "arg 0 and arg 1."
        ) from None


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded to their common shape (views, as PyTorch's)."""
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t if t.shape == shape else expand(t, shape) for t in tensors)


def _solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """``linalg.solve_triangular`` as ``solve`` on the triangle of ``A`` (the triangle's mask
    gives the gradient to ``A`` PyTorch's shape)."""
    from glassgrad import linalg

    if out is not None:
        raise TypeError("solve_triangular(): out= is not supported here")
    triangle = A.triu() if upper else A.tril()
    if unitriangular:
        eye = np.eye(A.shape[-1], dtype=bool)
        triangle = triangle.masked_fill(A.new_tensor(eye), 1.0)
    if left:
        return linalg.solve(triangle, B)
    return linalg.solve(triangle.mT, B.mT).mT


class _CholeskyEx(tuple):
    """``torch.return_types.linalg_cholesky_ex`` (L, info)."""

    L = property(lambda self: self[0])
    info = property(lambda self: self[1])


def _cholesky_ex(A, *, upper=False, check_errors=False):
    """The Cholesky factor and ``info`` (0 where it exists, else the failing minor's order)."""
    from glassgrad import linalg

    data = A.detach().numpy() if hasattr(A, "numpy") else np.asarray(A)
    batch = data.reshape((-1,) + data.shape[-2:])
    info = np.zeros(batch.shape[0], dtype=np.int64)
    for index, matrix in enumerate(batch):
        for order in range(1, matrix.shape[-1] + 1):
            try:
                np.linalg.cholesky(matrix[:order, :order])
            except np.linalg.LinAlgError:
                info[index] = order
                break
    info = A.new_tensor(info.reshape(data.shape[:-2])).long()
    if bool((info != 0).any()):
        if check_errors:
            return _CholeskyEx((linalg.cholesky(A, upper=upper), info))
        return _CholeskyEx((A.new_zeros(A.shape), info))
    return _CholeskyEx((linalg.cholesky(A, upper=upper), info))


def linalg_namespace(linalg):
    """``torch.linalg`` with what the distributions need and glassgrad's ``linalg`` lacks."""
    import types

    names = {name: getattr(linalg, name) for name in dir(linalg) if not name.startswith("__")}
    names.setdefault("solve_triangular", _solve_triangular)
    names.setdefault("cholesky_ex", _cholesky_ex)
    names.setdefault("eigvalsh", lambda A, UPLO="L": linalg.eigh(A, UPLO)[0])
    return types.SimpleNamespace(**names)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) indices of the lower triangle of a ``row`` x ``col`` matrix."""
    from glassgrad import creation, dtypes

    rows, cols = np.tril_indices(row, offset, col)
    return creation.tensor(np.stack([rows, cols]), dtype=dtype or dtypes.int64)


def atanh(input):
    """The inverse hyperbolic tangent, ``(log1p(x) - log1p(-x)) / 2``."""
    return (input.log1p() - (-input).log1p()) * 0.5
