"""The orthogonal polynomials of ``torch.special``: Chebyshev (T, U, V, W and their shifted
forms), Hermite (physicists' H, probabilists' He), Laguerre L and Legendre P.

Each follows PyTorch's kernel: the three-term recurrence in the result dtype, the closed
trigonometric forms PyTorch switches to for high degrees inside (-1, 1), its values at the end
points, 0 for a negative degree and nan beyond its Hermite degree limit. A shifted Chebyshev
polynomial is the plain one at ``x + x - 1`` (PyTorch's kernels are that, with their own degree
thresholds). The recurrence loops over degrees, vectorised over elements. PyTorch records no
derivative for these, so their results never require grad.
"""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data, every_sample
from glassgrad._bfloat16 import floating as _floating
from glassgrad._bfloat16 import refuse
from glassgrad._finfo import result_type
from glassgrad.autograd.record import result
from glassgrad.backend import quiet
from glassgrad.ops._sampling import shaped
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor

_EXPECTED = (
    " * (Tensor x, Tensor n, *, Tensor out = None)\n"
    " * (Number x, Tensor n, *, Tensor out = None)\n"
    " * (Tensor x, Number n, *, Tensor out = None)\n"
)


def _operands(name, x, n):
    """``x`` in the result dtype and ``n`` as int64 (nan and inf as -1), broadcast together."""
    if not isinstance(x, Tensor) and not isinstance(n, Tensor):
        raise TypeError(
            f"special_{name}() received an invalid combination of arguments - got "
            f"({type(x).__name__}, {type(n).__name__}), but expected one of:\n{_EXPECTED}"
        )
    dtype = result_type(x, n)
    if not dtype.is_floating_point:
        dtype = _dt.get_default_dtype()
    xd = as_data(x._data if isinstance(x, Tensor) else x).astype(dtype.np)
    refuse(xd, name + "_cpu")
    nd = as_data(n._data if isinstance(n, Tensor) else n)
    if _floating(nd):
        nd = np.where(np.isfinite(nd), np.trunc(nd), -1)  # C's cast of nan/inf, made defined
    xd, nd = np.broadcast_arrays(xd, nd.astype(np.int64))
    return xd, nd


def _recur(x, n, first, step):
    """``q_n`` from ``q_0 = 1``, ``q_1 = first`` and ``q_d = step(d, q_(d-2), q_(d-1))``."""
    one = np.ones_like(x)
    p, q = one, np.broadcast_to(first, x.shape)
    for d in range(2, int(every_sample(n).max(initial=0)) + 1):  # (vmap: the batch's largest)
        more = d <= n
        p, q = np.where(more, q, p), np.where(more, step(d, p, q), q)
    return np.where(n == 0, one, q)


def _sign_n(n, even, odd):
    return np.where(n % 2 == 0, even, odd)


# per kind: q_1, the values at x = 1 and x = -1, and the closed form inside (-1, 1)
def _closed_u(theta, n, x):
    sine = np.sin(theta)
    by_sine = np.sin((n + 1) * theta) / np.where(sine != 0, sine, 1.0)
    return np.where(sine != 0, by_sine, (n + 1) * np.cos((n + 1) * theta) / x)


def _closed_v(theta, n, x):
    half = theta / 2
    edge = _sign_n(n, 2 * n + 1.0, -(2 * n + 1.0))
    return np.where(np.sin(half) != 1, np.cos((n + 0.5) * theta) / np.cos(half), edge)


def _closed_w(theta, n, x):
    half = theta / 2
    edge = np.where(x > 0, 2 * n + 1.0, _sign_n(n, 1.0, -1.0))
    return np.where(np.cos(half) != 1, np.sin((n + 0.5) * theta) / np.sin(half), edge)


_CHEBYSHEV = {
    "t": (
        lambda x: x,
        lambda n: 1.0,
        lambda n: _sign_n(n, 1.0, -1.0),
        lambda t, n, x: np.cos(n * t),
    ),
    "u": (lambda x: x + x, lambda n: n + 1.0, lambda n: _sign_n(n, n + 1.0, -(n + 1.0)), _closed_u),
    "v": (
        lambda x: x + x - 1,
        lambda n: 1.0,
        lambda n: _sign_n(n, 2 * n + 1.0, -(2 * n + 1.0)),
        _closed_v,
    ),
    "w": (lambda x: x + x + 1, lambda n: 2 * n + 1.0, lambda n: _sign_n(n, 1.0, -1.0), _closed_w),
}


def _chebyshev_values(kind, limit, x, n):
    first, at_one, at_minus_one, closed = _CHEBYSHEV[kind]
    inside = (n > limit) & (np.abs(x) < 1)
    edge = np.abs(x) == 1
    steps = np.where(inside | edge | (n < 0), 0, n)
    values = _recur(x, steps, first(x), lambda d, p, q: (x + x) * q - p)
    closed_values = closed(np.arccos(np.where(inside, x, 0.0)), n, np.where(inside, x, 0.5))
    values = np.where(inside, closed_values, values)
    values = np.where(x == 1, at_one(n), np.where(x == -1, at_minus_one(n), values))
    return np.where(n < 0, 0.0, values).astype(x.dtype, copy=False)


def _hermite_values(x, n, probabilists, single):
    limit = 128 if single else 512  # PyTorch's degree limits for float and double
    steps = np.where((n < 0) | (n > limit), 0, n)
    if probabilists:
        values = _recur(x, steps, x, lambda d, p, q: x * q - (d - 1) * p)
    else:
        values = _recur(x, steps, x + x, lambda d, p, q: (x + x) * q - (2 * (d - 1)) * p)
    values = np.where(n > limit, np.nan, values)
    return np.where(n < 0, 0.0, values).astype(x.dtype, copy=False)


def _laguerre_values(x, n):
    steps = np.where(n < 0, 0, n)
    values = _recur(
        x, steps, 1 - x, lambda d, p, q: ((2 * (d - 1) + (1 - x)) * q - (d - 1) * p) / d
    )
    values = np.where(x == 0, 1.0, values)
    return np.where(n < 0, 0.0, values).astype(x.dtype, copy=False)


def _legendre_values(x, n):
    steps = np.where((n < 0) | (np.abs(x) == 1), 0, n)
    values = _recur(x, steps, x, lambda d, p, q: ((2 * d - 1) * x * q - (d - 1) * p) / d)
    values = np.where(np.abs(x) == 1, np.where(x > 0, 1.0, _sign_n(n, 1.0, -1.0)), values)
    return np.where(n < 0, 0.0, values).astype(x.dtype, copy=False)


_KERNELS = {
    "chebyshev_polynomial_t": lambda x, n, s: _chebyshev_values("t", 6, x, n),
    "chebyshev_polynomial_u": lambda x, n, s: _chebyshev_values("u", 8, x, n),
    "chebyshev_polynomial_v": lambda x, n, s: _chebyshev_values("v", 8, x, n),
    "chebyshev_polynomial_w": lambda x, n, s: _chebyshev_values("w", 8, x, n),
    "shifted_chebyshev_polynomial_t": lambda x, n, s: _chebyshev_values("t", 6, x + x - 1, n),
    "shifted_chebyshev_polynomial_u": lambda x, n, s: _chebyshev_values("u", 6, x + x - 1, n),
    "shifted_chebyshev_polynomial_v": lambda x, n, s: _chebyshev_values("v", 6, x + x - 1, n),
    "shifted_chebyshev_polynomial_w": lambda x, n, s: _chebyshev_values("w", 4, x + x - 1, n),
    "hermite_polynomial_h": lambda x, n, s: _hermite_values(x, n, False, s),
    "hermite_polynomial_he": lambda x, n, s: _hermite_values(x, n, True, s),
    "laguerre_polynomial_l": lambda x, n, s: _laguerre_values(x, n),
    "legendre_polynomial_p": lambda x, n, s: _legendre_values(x, n),
}


def _make(name, kernel):
    kernel = quiet(kernel)

    def op(x, n):
        xd, nd = _operands(name, x, n)
        values = kernel(xd, nd, xd.dtype == np.float32)  # in the result dtype, as PyTorch does
        return result(values, None, tuple(t for t in (x, n) if isinstance(t, Tensor)))

    op.__name__ = name
    op.__doc__ = f"PyTorch's ``special.{name}(x, n)``: the polynomial of degree ``n`` at ``x``."
    return op


def _samples(make, shape):
    x = make(shape, low=-1.5, high=1.5)
    degrees = np.round(make(shape, low=-1.0, high=12.0))
    return [((x, 3), {}), ((x, degrees), {}), ((x, 9), {})]


OPS = {}
for _name, _kernel in _KERNELS.items():
    OPS[_name] = _make(_name, _kernel)
    register(
        "special_" + _name,
        OPS[_name],
        method=False,
        function=False,
        samples=shaped(_samples),
        reference=lambda x, n, _k=_kernel: _k(
            *np.broadcast_arrays(np.asarray(x), np.asarray(n, np.int64)), False
        ),
        differentiable=False,
        any_shape=True,
        out="cast",
    )
