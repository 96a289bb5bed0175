"""Kernels on sparse arrays (``_sparse_data.SparseArray``): coalescing, conversions between
layouts and to dense, gathering at a sparsity pattern, and the arithmetic PyTorch runs on
sparse tensors (products go through ``scipy.sparse``)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from glassgrad import _bfloat16, _layout
from glassgrad._sparse_data import SparseArray, coo, not_implemented

__all__ = ["coalesce", "to_dense", "to_coo", "to_compressed", "gather", "mask", "scatter_add"]

_COMPRESSED = (_layout.sparse_csr, _layout.sparse_csc)


def linear(indices: np.ndarray, sizes) -> np.ndarray:
    """Each column of ``indices`` as one row-major position in ``sizes``."""
    if not len(sizes):
        return np.zeros(indices.shape[1], dtype=np.int64)
    return (
        np.ravel_multi_index(tuple(indices), tuple(sizes))
        if indices.shape[1]
        else (np.zeros(0, dtype=np.int64))
    )


def coalesce(a: SparseArray) -> SparseArray:
    """Sorted, unique indices, the values of repeated ones summed (PyTorch's ``coalesce``)."""
    if a.coalesced:
        return a
    sizes = a.shape[: a.sparse_dim]
    keys = linear(a.indices, sizes)
    unique, inverse = np.unique(keys, return_inverse=True)
    values = np.zeros((len(unique), *a.values.shape[1:]), dtype=a.values.dtype)
    np.add.at(values, inverse.reshape(-1), a.values)
    if len(sizes):
        indices = np.stack(np.unravel_index(unique, sizes)).astype(np.int64)
    else:
        indices = np.zeros((0, len(unique)), dtype=np.int64)
    return coo(indices.reshape(len(sizes), -1), values, a.shape, True)


def to_coo(a: SparseArray) -> SparseArray:
    """The COO form of ``a`` (itself when it is COO)."""
    if a.layout is _layout.sparse_coo:
        return a
    lengths = np.diff(a.compressed)
    outer = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    if a.layout is _layout.sparse_csr:
        return coo(np.stack([outer, a.plain]), a.values, a.shape, True)
    return coo(np.stack([a.plain, outer]), a.values, a.shape)  # (column by column, as stored)


def stored_indices(a: SparseArray) -> np.ndarray:
    """The ``(sparse_dim, nnz)`` index of each stored value, in the order the values are
    stored (a CSC array's column by column)."""
    if a.layout is _layout.sparse_coo:
        return a.indices
    outer = np.repeat(np.arange(len(a.compressed) - 1, dtype=np.int64), np.diff(a.compressed))
    if a.layout is _layout.sparse_csr:
        return np.stack([outer, a.plain])
    return np.stack([a.plain, outer])


def to_compressed(a: SparseArray, layout) -> SparseArray:
    """``a`` (2-D, no dense dimensions) as CSR or CSC."""
    a = coalesce(to_coo(a))
    rows, cols = a.indices
    outer, inner, length = (rows, cols, a.shape[0])
    values = a.values
    if layout is _layout.sparse_csc:
        order = np.lexsort((rows, cols))
        outer, inner, values = cols[order], rows[order], values[order]
        length = a.shape[1]
    compressed = np.zeros(length + 1, dtype=np.int64)
    np.cumsum(np.bincount(outer, minlength=length), out=compressed[1:])
    return SparseArray(layout, a.shape, values, None, compressed, inner.astype(np.int64))


def to_dense(a: SparseArray) -> np.ndarray:
    """The strided array ``a`` stands for."""
    a = to_coo(a)
    out = np.zeros(a.shape, dtype=a.values.dtype)
    scatter_add(out, a)
    return out


def scatter_add(target: np.ndarray, a: SparseArray) -> None:
    """``target += a`` in place (repeated indices add up)."""
    a = to_coo(a)
    if target.shape != a.shape:
        raise RuntimeError(_size_error(target.shape, a.shape))
    np.add.at(target, tuple(a.indices), a.values.astype(target.dtype, copy=False))


def gather(source, a: SparseArray) -> np.ndarray:
    """The values of ``source`` (dense, or sparse: zero where it holds nothing) at each index
    of ``a``'s pattern, in ``a``'s order."""
    indices = stored_indices(a)
    if source.__class__ is not SparseArray:
        return np.asarray(source)[tuple(indices)]
    source = coalesce(to_coo(source))
    sizes = a.shape[: a.sparse_dim]
    keys, held = linear(indices, sizes), linear(source.indices, sizes)
    found = np.searchsorted(held, keys)
    found = np.minimum(found, max(len(held) - 1, 0))
    hit = held[found] == keys if len(held) else np.zeros(len(keys), dtype=bool)
    values = np.zeros((len(keys), *source.values.shape[1:]), dtype=source.values.dtype)
    values[hit] = source.values[found[hit]]
    return values


def mask(source, a: SparseArray) -> SparseArray:
    """``source`` restricted to ``a``'s pattern (``Tensor.sparse_mask``)."""
    return a._with_values(gather(source, a))


def grad_mask(source, a: SparseArray) -> SparseArray:
    """The gradient of a sparse operand ``a`` from ``source`` (dense or sparse), as PyTorch's
    backward rules make it: ``source`` at ``a``'s coalesced indices (not flagged coalesced)."""
    if a.layout is not _layout.sparse_coo:
        return a._with_values(gather(source, a))
    pattern = coalesce(a)
    return coo(pattern.indices, gather(source, pattern), a.shape)


def sum_dims(a: SparseArray, dims) -> SparseArray | np.ndarray:
    """``a`` summed over ``dims``: sparse (coalesced) while a sparse dimension remains, else
    dense."""
    a = to_coo(a)
    sparse_dim = a.sparse_dim
    kept = [d for d in range(sparse_dim) if d not in dims]
    dense_axes = tuple(d - sparse_dim + 1 for d in dims if d >= sparse_dim)
    values = a.values.sum(axis=dense_axes) if dense_axes else a.values
    if not kept:
        return np.asarray(values.sum(axis=0))
    shape = [a.shape[d] for d in range(a.ndim) if d not in dims]
    return coalesce(coo(a.indices[kept], values, shape))


def _for_scipy(values):
    """``values`` as SciPy computes them: it has no bfloat16, so those go as float32 (what
    PyTorch's bfloat16 kernels accumulate in; callers round the result back)."""
    return values.astype(np.float32) if _bfloat16.is_bfloat16(values) else values


def scipy_matrix(a: SparseArray):
    """``a`` (2-D, no dense dimensions) as a SciPy CSR array."""
    values = _for_scipy(a.values)
    if a.layout is _layout.sparse_csr:
        return sp.csr_array((values, a.plain, a.compressed), shape=a.shape)
    if a.layout is _layout.sparse_csc:
        return sp.csc_array((values, a.plain, a.compressed), shape=a.shape)
    rows, cols = a.indices
    return sp.coo_array((values, (rows, cols)), shape=a.shape).tocsr()


def from_scipy(matrix, dtype) -> SparseArray:
    matrix = sp.coo_array(matrix)
    matrix.sum_duplicates()  # also sorts row-major
    indices = np.stack([matrix.row, matrix.col]).astype(np.int64)
    return coo(indices, matrix.data.astype(dtype, copy=False), matrix.shape, True)


# -- arithmetic ------------------------------------------------------------------------------
def _size_error(left, right) -> str:
    return (
        f"add: expected 'self' and 'other' to have same size, but self has size {list(left)} "
        f"while other has size {list(right)} (FYI: dense-sparse addition does not currently "
        "support broadcasting)"
    )


def _is_scalar(value) -> bool:
    return isinstance(value, (int, float, bool, np.generic)) or (
        value.__class__ is np.ndarray and not value.ndim
    )


def add(left, right):
    if left.__class__ is not SparseArray:  # dense + sparse: dense
        if _is_scalar(left):
            raise not_implemented("add", right.layout._kind)
        out = np.array(left, dtype=np.result_type(left.dtype, right.dtype))
        scatter_add(out, right)
        return out
    if right.__class__ is not SparseArray:
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
    if left.shape != right.shape:
        raise RuntimeError(_size_error(left.shape, right.shape))
    if left.layout in _COMPRESSED:
        if left.layout is _layout.sparse_csc and left is not right:  # (PyTorch's CSR-only path)
            raise RuntimeError(
                "crow_indices expected sparse row compressed tensor layout but got SparseCsc"
            )
        total = add(to_coo(left), to_coo(right))
        return to_compressed(total, left.layout)
    right = to_coo(right)
    return merge(left, right)


def merge(left: SparseArray, right: SparseArray) -> SparseArray:
    """PyTorch's sum of COO arrays: one walk along both as if they were sorted, adding the two
    values where the indices met are equal (so repeats within one operand stay repeated)."""
    if left.coalesced and right.coalesced:
        total = coalesce(concat(left, right))
        return total
    sizes = left.shape[: left.sparse_dim]
    keys_a, keys_b = linear(left.indices, sizes).tolist(), linear(right.indices, sizes).tolist()
    picks_a, picks_b = [], []  # per output entry: the source entry on each side, or -1
    i = j = 0
    while i < len(keys_a) and j < len(keys_b):
        a, b = keys_a[i], keys_b[j]
        picks_a.append(i if a <= b else -1)
        picks_b.append(j if b <= a else -1)
        i += a <= b
        j += b <= a
    picks_a += list(range(i, len(keys_a))) + [-1] * (len(keys_b) - j)
    picks_b += [-1] * (len(keys_a) - i) + list(range(j, len(keys_b)))
    picks_a, picks_b = np.array(picks_a, dtype=np.int64), np.array(picks_b, dtype=np.int64)
    dtype = np.result_type(left.dtype, right.dtype)
    values = np.zeros((len(picks_a), *left.values.shape[1:]), dtype=dtype)
    indices = np.zeros((left.sparse_dim, len(picks_a)), dtype=np.int64)
    for picks, side in ((picks_a, left), (picks_b, right)):
        found = picks >= 0
        values[found] += side.values[picks[found]]
        indices[:, found] = side.indices[:, picks[found]]
    return coo(indices, values, left.shape, False)


def concat(left: SparseArray, right: SparseArray) -> SparseArray:
    """Both COO arrays' entries in one (uncoalesced) array."""
    if left.shape != right.shape:
        raise RuntimeError(_size_error(left.shape, right.shape))
    dtype = np.result_type(left.dtype, right.dtype)
    indices = np.concatenate([left.indices, right.indices], axis=1)
    values = np.concatenate([left.values.astype(dtype), right.values.astype(dtype)])
    return coo(indices, values, left.shape)


def subtract(left, right):
    return add(left, np.negative(right))


def multiply(left, right):
    if left.__class__ is not SparseArray:
        left, right = right, left
    if _is_scalar(right):
        return left._with_values(left.values * right)
    if right.__class__ is SparseArray:  # the product is zero wherever either is
        if left.shape != right.shape:
            raise RuntimeError(
                f"mul: expected 'self' and 'other' to have same sizes, but {list(left.shape)} != "
                f"{list(right.shape)}"
            )
        return _product(to_coo(left), to_coo(right))
    if right.shape != left.shape:
        raise not_implemented("mul", left.layout._kind)
    return left._with_values(left.values * gather(right, left))


def _product(left: SparseArray, right: SparseArray) -> SparseArray:
    """PyTorch's elementwise product of COO arrays: the indices both hold when both are
    coalesced; otherwise every index, as stored, of the uncoalesced one (of both: the one with
    fewer values), the product zero where the other holds nothing."""
    if left.coalesced and right.coalesced:
        both = left._with_values(gather(right, left) * left.values)
        found = gather(right._with_values(np.ones(right.nnz, bool)), left)
        return coo(left.indices[:, found], both.values[found], left.shape, True)
    if left.coalesced != right.coalesced:
        source, other = (right, left) if left.coalesced else (left, right)
    else:
        source, other = (right, left) if right.nnz < left.nnz else (left, right)
    values = source.values * gather(other, source)  # (each repeat of an index its own value)
    return coo(source.indices, values, left.shape, False)


def restrict(product: SparseArray, operand: SparseArray) -> SparseArray:
    """``product`` zeroed wherever ``operand`` holds nothing, keeping every index of
    ``product`` (the gradient of a sparse-sparse matrix product, as PyTorch gives it)."""
    held = gather(coalesce(operand)._with_values(np.ones(operand.nnz, bool)), product)
    held = held.reshape(held.shape + (1,) * (product.values.ndim - 1))
    return product._with_values(np.where(held, product.values, 0).astype(product.dtype))


def true_divide(left, right):
    if left.__class__ is not SparseArray or not _is_scalar(right):
        kind = (left if left.__class__ is SparseArray else right).layout._kind
        raise not_implemented("div", kind)
    return left._with_values(left.values / right)


def matmul(left, right):
    """Products with a sparse operand: dense where either side is dense (PyTorch's ``mm``)."""
    for operand in (left, right):
        if operand.__class__ is SparseArray and (operand.ndim != 2 or operand.dense_dim):
            raise not_implemented("mm", operand.layout._kind)
    if left.__class__ is SparseArray and right.__class__ is SparseArray:
        return _sparse_product(left, right)
    if left.__class__ is SparseArray:
        dtype = np.result_type(left.dtype, right.dtype)
        return np.asarray(scipy_matrix(left) @ _for_scipy(right), dtype=dtype)
    dtype = np.result_type(left.dtype, right.dtype)
    dense = _for_scipy(np.asarray(left))
    return np.asarray((scipy_matrix(right).T @ dense.T).T, dtype=dtype)


def _sparse_product(left: SparseArray, right: SparseArray) -> SparseArray:
    """Sparse times sparse, coalesced, holding every index the operands' patterns reach (also
    where the values cancel to zero, as PyTorch keeps them; SciPy alone would drop them)."""
    dtype = np.result_type(left.dtype, right.dtype)
    _bfloat16.refuse(np.empty(0, dtype), "sparse_matmul")  # (PyTorch has no bfloat16 kernel)
    a, b = scipy_matrix(left), scipy_matrix(right)
    reach = _ones(a) @ _ones(b)
    pattern = from_scipy(reach, dtype)
    product = from_scipy(a @ b, dtype)
    return pattern._with_values(gather(product, pattern))


def _ones(matrix):
    """``matrix``'s pattern with every stored value 1 (repeats summed: still nonzero)."""
    pattern = sp.csr_array(matrix, copy=True)
    pattern.data = np.ones_like(pattern.data, dtype=np.int64)
    return pattern


def _elementwise_scalar(ufunc, keeps_zero):
    """``ufunc(sparse, number)`` (either order) applied to the values where it maps 0 to 0
    (``relu``'s ``maximum(x, 0)``, ``x ** 2``); PyTorch's error otherwise."""

    def rule(left, right):
        sparse, number = (left, right) if left.__class__ is SparseArray else (right, left)
        if not _is_scalar(number) or not keeps_zero(number, sparse is left):
            raise not_implemented(ufunc.__name__, sparse.layout._kind)
        source = sparse if sparse.layout is not _layout.sparse_coo else coalesce(sparse)
        held = source.values
        values = ufunc(held, number) if sparse is left else ufunc(number, held)
        return source._with_values(values.astype(sparse.dtype, copy=False))

    return rule


BINARY = {
    np.add: add,
    np.subtract: subtract,
    np.multiply: multiply,
    np.true_divide: true_divide,
    np.matmul: matmul,
    np.maximum: _elementwise_scalar(np.maximum, lambda number, first: number <= 0),
    np.minimum: _elementwise_scalar(np.minimum, lambda number, first: number >= 0),
    np.power: _elementwise_scalar(np.power, lambda number, first: first and number > 0),
}


def _transpose(a, axes=None):
    if axes is None and a.ndim == 2:
        return a.T
    if axes is not None and len(axes) == 2 and tuple(axes) == (1, 0):
        return a.T
    raise not_implemented("permute", a.layout._kind)


def _swapaxes(a, first, second):
    return a.swapaxes(first, second)


def _expand_dims(a, axis):
    """``unsqueeze``: a new size-1 dimension, sparse where it falls among the sparse ones."""
    a = to_coo(a) if a.layout is _layout.sparse_csr else a
    if a.layout is not _layout.sparse_coo:
        raise not_implemented("unsqueeze", a.layout._kind)
    axis = axis % (a.ndim + 1) if axis < 0 else axis
    shape = list(a.shape)
    shape.insert(axis, 1)
    if axis <= a.sparse_dim:
        zero = np.zeros((1, a.nnz), dtype=np.int64)
        indices = np.concatenate([a.indices[:axis], zero, a.indices[axis:]])
        return coo(indices, a.values, shape, a.coalesced)
    values = np.expand_dims(a.values, axis - a.sparse_dim + 1)
    return coo(a.indices, values, shape, a.coalesced)


def _concatenate(arrays, axis=0, **kwargs):
    """``torch.cat`` of COO arrays along a sparse dimension: indices shifted, values joined."""
    arrays = list(arrays)
    first = arrays[0]
    for a in arrays:
        if a.__class__ is not SparseArray or a.layout is not _layout.sparse_coo:
            kind = a.layout._kind if a.__class__ is SparseArray else "CPU"
            raise not_implemented("cat", kind)
    if axis >= first.sparse_dim or any(a.sparse_dim != first.sparse_dim for a in arrays):
        raise not_implemented("cat", "Sparse")
    shifted, offset = [], 0
    for a in arrays:
        indices = a.indices.copy()
        indices[axis] += offset
        shifted.append(indices)
        offset += a.shape[axis]
    shape = list(first.shape)
    shape[axis] = offset
    dtype = np.result_type(*[a.dtype for a in arrays])
    values = np.concatenate([a.values.astype(dtype) for a in arrays])
    return coo(np.concatenate(shifted, axis=1), values, shape)


FUNCTIONS = {
    np.transpose: _transpose,
    np.swapaxes: _swapaxes,
    np.expand_dims: _expand_dims,
    np.concatenate: _concatenate,
}
