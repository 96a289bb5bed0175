"""``torch.sparse``: sparse tensors' operations (``mm``, ``sum``, ``softmax``, ``spdiags``...).

A sparse tensor is a ``Tensor`` whose data is a ``SparseArray`` (``glassgrad._sparse_data``):
COO indices and values, or compressed rows/columns. Importing this package installs the sparse
Tensor methods (``to_sparse``, ``indices``, ``values``, ``coalesce``...).
"""

from __future__ import annotations

from glassgrad.sparse import _methods
from glassgrad.sparse._creation import CHECKS as _CHECKS
from glassgrad.sparse._ops import addmm, log_softmax, mm, softmax, spdiags, sum

__all__ = [
    "addmm",
    "mm",
    "sum",
    "softmax",
    "log_softmax",
    "spdiags",
    "check_sparse_tensor_invariants",
]

_methods.install()


class check_sparse_tensor_invariants:  # noqa: N801 - PyTorch's name
    """Check the invariants of sparse tensors made by the factories (indices in range...):
    a context manager and decorator, or globally with ``enable()``/``disable()``."""

    def __init__(self, enable: bool = True) -> None:
        self.state = enable
        self.saved = None

    @staticmethod
    def is_enabled() -> bool:
        return _CHECKS[0]

    @staticmethod
    def enable() -> None:
        _CHECKS[0] = True

    @staticmethod
    def disable() -> None:
        _CHECKS[0] = False

    def __enter__(self):
        self.saved = _CHECKS[0]
        _CHECKS[0] = self.state
        return self

    def __exit__(self, *exc) -> None:
        _CHECKS[0] = self.saved

    def __call__(self, function):
        import functools

        @functools.wraps(function)
        def checked(*args, **kwargs):
            with check_sparse_tensor_invariants(self.state):
                return function(*args, **kwargs)

        return checked
