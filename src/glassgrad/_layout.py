"""``torch.layout``: how a tensor's elements are stored (``torch.strided``, ``sparse_coo``...)."""

from __future__ import annotations

__all__ = [
    "layout",
    "strided",
    "sparse_coo",
    "sparse_csr",
    "sparse_csc",
    "sparse_bsr",
    "sparse_bsc",
    "jagged",
]


class layout:  # noqa: N801 - PyTorch's name
    """A storage layout; the instances are the module-level names (``torch.strided``...)."""

    __slots__ = ("_name", "_kind")
    __module__ = "glassgrad"

    def __new__(cls, *args, **kwargs):
        raise TypeError("cannot create 'torch.layout' instances")

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self):
        return self._name  # pickled by name: the module-level singleton comes back

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def _make(name: str, kind: str) -> layout:
    made = object.__new__(layout)
    made._name = name
    made._kind = kind  # the name PyTorch's errors give the layout ("Strided", "SparseCsr")
    return made


strided = _make("strided", "Strided")
sparse_coo = _make("sparse_coo", "Sparse")
sparse_csr = _make("sparse_csr", "SparseCsr")
sparse_csc = _make("sparse_csc", "SparseCsc")
sparse_bsr = _make("sparse_bsr", "SparseBsr")
sparse_bsc = _make("sparse_bsc", "SparseBsc")
jagged = _make("jagged", "Jagged")
