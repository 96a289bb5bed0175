"""``glassgrad.linalg``: PyTorch's ``torch.linalg``: norms (``norm``, ``vector_norm``,
``matrix_norm``), decompositions (``cholesky``, ``qr``, ``svd``, ``svdvals``, ``eigh``) and
solvers (``inv``, ``det``, ``slogdet``, ``solve``, ``pinv``); the ops live in ``glassgrad.ops``.

The vector norm itself is the reduction family's ``norm`` op (``LinalgVectorNormBackward0``);
matrix norms are composed from it and from ``sum``/``amax``/``amin`` as PyTorch composes them.
"""

from __future__ import annotations

import numpy as np

from glassgrad._out_arg import takes_out
from glassgrad.ops.linalg.factorize import linalg_eigh as eigh
from glassgrad.ops.linalg.factorize import linalg_pinv as pinv
from glassgrad.ops.linalg.factorize import linalg_qr as qr
from glassgrad.ops.linalg.factorize import linalg_svd as svd
from glassgrad.ops.linalg.factorize import svdvals
from glassgrad.ops.linalg.inverse import LinAlgError, det, inv, solve
from glassgrad.ops.linalg.inverse import linalg_cholesky as cholesky
from glassgrad.ops.linalg.inverse import linalg_slogdet as slogdet
from glassgrad.ops.linalg.products import linalg_cross as cross
from glassgrad.tensor import _wrap_dim

__all__ = [
    "LinAlgError",
    "cholesky",
    "cross",
    "det",
    "eigh",
    "inv",
    "matrix_norm",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vector_norm",
]


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002 - PyTorch's name
    """The ``ord``-norm of ``x`` seen as a vector (over ``dim``, or over every element)."""
    from glassgrad.ops.reduce.stats import norm as _vector_norm

    if isinstance(ord, str):
        raise TypeError(
            f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not "
            f"{type(ord).__name__}"
        )
    return _vector_norm(x, ord, dim, keepdim, dtype)


def _check_matrix_dims(A, dim):
    if A.ndim < 2:
        raise RuntimeError(
            "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
        )
    dim = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dim) != 2:
        raise RuntimeError(
            f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}"
        )
    d0, d1 = (_wrap_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """Frobenius, nuclear, 1, -1, 2, -2, inf or -inf norm of the matrices at ``dim``."""
    d0, d1 = _check_matrix_dims(A, dim)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim, dtype=dtype)
    if dtype is not None:
        A = A.to(dtype)
    if ord in ("nuc", 2, -2):
        moved = A.movedim((d0, d1), (-2, -1))
        s = svdvals(moved)
        out = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        return _keep(out, (d0, d1)) if keepdim else out
    if ord in (1, -1, np.inf, -np.inf):
        across, along = (d0, d1) if abs(ord) == 1 else (d1, d0)
        sums = A.abs().sum(dim=across, keepdim=keepdim)
        along -= 0 if keepdim or across > along else 1
        return sums.amax(along, keepdim) if ord > 0 else sums.amin(along, keepdim)
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def _keep(out, dims):
    for d in sorted(dims):
        out = out.unsqueeze(d)
    return out


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002 - PyTorch's name
    """A vector norm or a matrix norm, chosen by ``ord`` and ``dim`` as ``torch.linalg.norm``."""
    if dim is not None:
        dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dims[0]}")
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim not in (1, 2):
        raise RuntimeError(
            "linalg.norm: If dim is not specified but ord is, the input must be 1D "
            f"or 2D. Got {A.ndim}D."
        )
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if isinstance(ord, str):  # a matrix norm's order: PyTorch checks it, then the rank
        _matrix_order_check(ord)
        raise RuntimeError(
            "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
        )
    return vector_norm(A, ord, None, keepdim, dtype=dtype)


def _matrix_order_check(ord) -> None:  # noqa: A002 - PyTorch's name
    if ord not in ("fro", "nuc"):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


# out=: torch.linalg's functions take PyTorch's out= through the one implementation every op
# uses (glassgrad._out_arg), with their own rules: name -> (dtype rule, the op PyTorch's refusal
# of inputs that require grad names, or None for composites that copy into out)
_OUT = {
    "cholesky": ("expected", "linalg_cholesky_ex"),
    "cross": ("expected", "linalg_cross"),
    "det": ("expected", "_linalg_det"),
    "eigh": ("expected", "_linalg_eigh"),
    "inv": ("expected", "linalg_inv_ex"),
    "matrix_norm": ("matrix_norm", None),
    "norm": ("norm", None),
    "pinv": ("pinv", "linalg_pinv"),
    "qr": ("expected", "linalg_qr"),
    "slogdet": ("expected", "_linalg_slogdet"),
    "solve": ("expected", "_linalg_solve_ex"),
    "svd": ("expected", "_linalg_svd"),
    "svdvals": ("expected", "_linalg_svd"),
    "vector_norm": ("expected", "linalg_vector_norm"),
}
for _name, (_rule, _grad) in _OUT.items():
    globals()[_name] = takes_out(
        "linalg_" + _name, globals()[_name], _rule, grad_name=_grad, composite=_grad is None
    )
