"""The data of a sparse tensor: indices and values, standing where a strided tensor has its ndarray.

A sparse ``Tensor`` is an ordinary ``Tensor`` whose ``_data`` is a ``SparseArray``: COO
(``indices`` of shape ``(sparse_dim, nnz)``, ``values`` of shape ``(nnz, *dense_shape)``) or
compressed rows/columns (CSR/CSC: ``compressed``, ``plain`` and ``values``). It answers the
questions the tensor asks of its data (``shape``, ``dtype``, ``size``...) and takes part in NumPy's
protocols, so the ops that PyTorch runs on sparse tensors (``*`` by a number, ``+``, ``@``,
``t()``, ``to(dtype)``) and their backward rules work unchanged on it, as they do on vmap's
batched arrays. Everything else raises PyTorch's error for a sparse operand: a NumPy function or
array attribute it does not provide is an error, never a silently dense result.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from glassgrad import _layout

__all__ = ["SparseArray", "not_implemented", "coo"]

# NumPy names whose PyTorch (aten) names differ, for the "Could not run" error.
_ATEN = {
    "true_divide": "div.Tensor",
    "divide": "div.Tensor",
    "subtract": "sub.Tensor",
    "multiply": "mul.Tensor",
    "add": "add.Tensor",
    "equal": "eq.Tensor",
    "not_equal": "ne.Tensor",
    "greater": "gt.Tensor",
    "less": "lt.Tensor",
    "power": "pow.Tensor_Scalar",
    "maximum": "maximum",
    "minimum": "minimum",
    "reshape": "view",
    "amax": "max",
    "amin": "min",
}
_BACKEND = {"Sparse": "SparseCPU", "SparseCsr": "SparseCsrCPU", "SparseCsc": "SparseCsrCPU"}

# Unary ufuncs that map zero to zero: PyTorch applies them to the values alone.
_ZERO_PRESERVING = {
    np.negative, np.positive, np.absolute, np.sign, np.sin, np.tan, np.tanh, np.sinh, np.arcsin,
    np.arctan, np.arcsinh, np.arctanh, np.sqrt, np.expm1, np.log1p, np.ceil, np.floor, np.trunc,
    np.rint, np.square, np.conjugate, np.deg2rad, np.rad2deg, np.isnan, np.isinf,
}  # fmt: skip


def not_implemented(name: str, kind: str = "Sparse") -> NotImplementedError:
    """PyTorch's error for an op with no kernel for a sparse layout."""
    backend = _BACKEND.get(kind, kind + "CPU")
    return NotImplementedError(
        f"Could not run 'aten::{_ATEN.get(name, name)}' with arguments from the '{backend}' "
        "backend. This could be because the operator doesn't exist for this backend, or was "
        "omitted during the selective/custom build process (if using custom build). If you are "
        "a Facebook employee using PyTorch on mobile, please visit https://fburl.com/ptmfixes "
        "for possible resolutions."
    )


NO_STORAGE = "Cannot access data pointer of Tensor that doesn't have storage"


_MIXED = (
    "permute(sparse_coo): transpositions between sparse and dense dimensions are not "
    "allowed.Only transpositions within sparse and dense dimensions are supported."
)


class _Flags:
    """``ndarray.flags`` as a sparse array answers it: never contiguous, never Fortran."""

    c_contiguous = f_contiguous = False
    writeable = True


_FLAGS = _Flags()


class SparseArray(NDArrayOperatorsMixin):
    """Indices and values of a sparse tensor (see the module's docstring)."""

    __slots__ = ("layout", "shape", "values", "indices", "compressed", "plain", "coalesced")
    flags = _FLAGS
    base = None

    def __init__(self, layout, shape, values, indices=None, compressed=None, plain=None,
                 coalesced=False):  # fmt: skip
        self.layout = layout
        self.shape = tuple(shape)
        self.values = values
        self.indices = indices  # COO: (sparse_dim, nnz) int64
        self.compressed = compressed  # CSR: crow_indices; CSC: ccol_indices
        self.plain = plain  # CSR: col_indices; CSC: row_indices
        # (PyTorch calls a COO tensor of at most one value coalesced, whatever it was told)
        self.coalesced = coalesced or (indices is not None and values.shape[0] < 2)

    # -- what the tensor asks of its data --------------------------------------------------
    @property
    def dtype(self):
        return self.values.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        count = 1
        for n in self.shape:
            count *= n
        return count

    @property
    def itemsize(self) -> int:
        return self.values.itemsize

    @property
    def strides(self) -> tuple:
        """No two elements share memory (what the in-place checks ask)."""
        return (self.itemsize,) * len(self.shape)

    @property
    def nnz(self) -> int:
        return self.values.shape[0]

    @property
    def sparse_dim(self) -> int:
        return self.indices.shape[0] if self.layout is _layout.sparse_coo else 2

    @property
    def dense_dim(self) -> int:
        return self.values.ndim - 1

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __getattr__(self, name):
        if name.startswith("_"):  # a probe (``hasattr(x, "_data")``), not an array method
            raise AttributeError(name)
        raise not_implemented(name, self.layout._kind)

    def tolist(self):
        raise RuntimeError(NO_STORAGE)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"can't convert {self.layout._kind} layout tensor to numpy. Use Tensor.to_dense() "
            "first."
        )

    def __repr__(self) -> str:
        return f"SparseArray({self.layout!r}, shape={self.shape}, nnz={self.nnz})"

    def _with_values(self, values, coalesced=None):
        """The same pattern holding other values."""
        return SparseArray(
            self.layout,
            self.shape,
            values,
            self.indices,
            self.compressed,
            self.plain,
            self.coalesced if coalesced is None else coalesced,
        )

    def copy(self, order=None):
        copied = self._with_values(self.values.copy())
        for name in ("indices", "compressed", "plain"):
            held = getattr(self, name)
            if held is not None:
                setattr(copied, name, held.copy())
        return copied

    __copy__ = copy

    def __deepcopy__(self, memo):
        return self.copy()

    def astype(self, dtype, copy=True, casting=None):
        return self._with_values(self.values.astype(dtype))

    def sum(self, axis=None, dtype=None, keepdims=False):
        """``Tensor.sum()`` of a sparse tensor: all values (dense), or over ``axis``."""
        from glassgrad import _sparse_kernels as kernels

        if keepdims:
            raise not_implemented("sum.dim_IntList", self.layout._kind)
        if axis is None:
            return np.asarray(self.values.sum(dtype=dtype))
        dims = sorted(d % self.ndim for d in ((axis,) if isinstance(axis, int) else axis))
        out = kernels.sum_dims(self, dims)
        return out.astype(dtype) if dtype is not None else out

    def view(self, *args):
        if args:
            raise not_implemented("view", self.layout._kind)
        return self

    def accumulate(self, grad):
        """``self + grad`` as gradient accumulation does it: sparse stays sparse (PyTorch's sum
        of sparse tensors), a dense gradient makes it dense."""
        from glassgrad import _sparse_kernels as kernels

        if grad.__class__ is not SparseArray:
            return np.add(grad, self)
        if self.layout is not _layout.sparse_coo or grad.layout is not _layout.sparse_coo:
            return self + grad
        return kernels.merge(self, grad)

    # -- transposes ------------------------------------------------------------------------
    @property
    def T(self):  # noqa: N802 - NumPy's name
        if self.ndim != 2:
            raise not_implemented("permute", self.layout._kind)
        return self.swapaxes(0, 1)

    def swapaxes(self, first, second):
        if self.layout is _layout.sparse_csr or self.layout is _layout.sparse_csc:
            if {first % 2, second % 2} != {0, 1} or self.ndim != 2:
                raise not_implemented("transpose", self.layout._kind)
            flipped = (
                _layout.sparse_csc if self.layout is _layout.sparse_csr else _layout.sparse_csr
            )
            return SparseArray(
                flipped, self.shape[::-1], self.values, None, self.compressed, self.plain
            )
        sparse_dim = self.sparse_dim
        first, second = first % self.ndim, second % self.ndim
        shape = list(self.shape)
        shape[first], shape[second] = shape[second], shape[first]
        if first < sparse_dim and second < sparse_dim:
            order = list(range(sparse_dim))
            order[first], order[second] = order[second], order[first]
            return coo(self.indices[order], self.values, shape, first == second and self.coalesced)
        if first >= sparse_dim and second >= sparse_dim:
            values = self.values.swapaxes(first - sparse_dim + 1, second - sparse_dim + 1)
            return coo(self.indices, values, shape, self.coalesced)
        raise RuntimeError("transpose(): can't transpose between sparse and dense dimensions")

    def transpose(self, *axes):
        """A permutation of the dimensions: sparse ones among themselves, dense ones among
        themselves (PyTorch's ``permute`` of a COO tensor)."""
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        if self.ndim == 2 and tuple(axes) == (1, 0) and self.layout is not _layout.sparse_coo:
            return self.T
        if self.layout is not _layout.sparse_coo:
            raise not_implemented("as_strided", self.layout._kind)
        sparse_dim = self.sparse_dim
        head, tail = list(axes[:sparse_dim]), list(axes[sparse_dim:])
        if sorted(head) != list(range(sparse_dim)):
            raise RuntimeError(_MIXED)
        values = self.values.transpose([0, *(d - sparse_dim + 1 for d in tail)])
        shape = [self.shape[d] for d in axes]
        same = head == list(range(sparse_dim))
        return coo(self.indices[head], values, shape, self.coalesced and same)

    def __getitem__(self, key):
        """``t[i]``: the sub-tensor at one index of the first (sparse) dimension."""
        if self.layout is _layout.sparse_csr or self.layout is _layout.sparse_csc:
            return _select(kernels_to_coo(self), key)
        return _select(self, key)

    # -- NumPy's protocols -----------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        kwargs.pop("casting", None)  # (in-place ops ask for same-kind casting: values are cast)
        if method != "__call__" or kwargs:
            raise not_implemented(ufunc.__name__, self.layout._kind)
        if out is not None:
            return _into(ufunc, inputs, out, self.layout._kind)
        if len(inputs) == 1 and ufunc in _ZERO_PRESERVING:
            from glassgrad._sparse_kernels import coalesce

            keep = (
                ufunc is np.negative
                or ufunc is np.positive
                or self.layout is not _layout.sparse_coo
            )
            source = self if keep else coalesce(self)
            return source._with_values(ufunc(source.values))  # (PyTorch coalesces first)
        from glassgrad import _sparse_kernels as kernels

        rule = kernels.BINARY.get(ufunc)
        if rule is None or len(inputs) != 2:
            raise not_implemented(ufunc.__name__, self.layout._kind)
        return rule(*inputs)

    def __array_function__(self, func, types, args, kwargs):
        from glassgrad import _sparse_kernels as kernels

        rule = kernels.FUNCTIONS.get(func)
        if rule is None:
            raise not_implemented(func.__name__, self.layout._kind)
        return rule(*args, **kwargs)


def _into(ufunc, inputs, out, kind):
    """In place: ``dense += sparse`` (gradient accumulation, ``p.add_(sparse_grad)``) and
    ``sparse += sparse`` (the sparse array takes the sum's indices and values)."""
    (target,) = out
    if len(inputs) != 2 or ufunc not in (np.add, np.multiply) or target is not inputs[0]:
        raise not_implemented(ufunc.__name__, kind)
    from glassgrad import _sparse_kernels as kernels

    first, second = inputs
    if target.__class__ is np.ndarray and ufunc is np.add:
        kernels.scatter_add(target, second)
        return target
    if target.__class__ is not SparseArray:
        raise not_implemented(ufunc.__name__, kind)
    total = ufunc(first, second)
    if total.__class__ is not SparseArray:
        raise not_implemented(ufunc.__name__, kind)
    for name in SparseArray.__slots__:
        setattr(target, name, getattr(total, name))
    target.values = target.values.astype(first.dtype, copy=False)
    return target


def kernels_to_coo(a):
    from glassgrad._sparse_kernels import to_coo

    return to_coo(a)


def _select(a: SparseArray, key) -> SparseArray:
    if isinstance(key, tuple):  # (t[i, ...]: the index ops' normal form)
        rest = [k for k in key if k is not Ellipsis]
        key = rest[0] if len(rest) == 1 and key[-1] is Ellipsis or len(key) == 1 else key
    if not isinstance(key, (int, np.integer)) or isinstance(key, bool) or not a.sparse_dim:
        raise not_implemented("as_strided", a.layout._kind)
    key = int(key) + (a.shape[0] if key < 0 else 0)
    if not 0 <= key < a.shape[0]:
        raise IndexError(f"index {key} is out of bounds for dimension 0 with size {a.shape[0]}")
    found = a.indices[0] == key
    return coo(a.indices[1:, found], a.values[found], a.shape[1:], a.coalesced)


def coo(indices, values, shape, coalesced=False) -> SparseArray:
    """A COO sparse array."""
    return SparseArray(_layout.sparse_coo, shape, values, indices, coalesced=coalesced)
