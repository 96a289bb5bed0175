"""The batched array under ``vmap``: an ndarray whose leading dimensions are vmap levels.

``vmap`` runs a function once on tensors whose data is a ``BatchedArray``: the physical array
holds every sample, one leading dimension per active vmap level (outermost first), and the
array presents only the per-sample ("logical") shape to the code that uses it. Every glassgrad
op computes on NumPy, so batching rules live at the NumPy level: each NumPy function or ndarray
method the ops call has a rule that moves its axes past the batch dimensions, aligns operands
that are batched at different levels, and calls NumPy once on the whole batch. Backward rules
run on the same arrays, so gradients taken inside ``vmap`` (per-sample gradients) and batched
cotangents (``jacrev``) are batched array code too. A function without a rule falls back to a
loop over the samples with PyTorch's performance warning (``_batched_rules.fallback``).
"""

from __future__ import annotations

import sys

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

_ndarray = np.ndarray

ITEM_ERROR = (
    "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over calling "
    ".item() on a Tensor, please try to rewrite what you're doing with other operations. If "
    "error is occurring somewhere inside PyTorch internals, please file a bug report."
)
CONTROL_FLOW_ERROR = (
    "vmap: It looks like you're attempting to use a Tensor in some data-dependent control flow. "
    "We don't support that yet, please shout over at "
    "https://github.com/pytorch/functorch/issues/257 ."
)
INPLACE_ERROR = (
    "vmap: {name}(self, *extra_args) is not possible because there exists a Tensor `other` in "
    "extra_args that has more elements than `self`. This happened due to `other` being vmapped "
    "over but `self` not being vmapped over in a vmap. Please try to use out-of-place operators "
    "instead of {name}. If said operator is being called inside the PyTorch framework, please "
    "file a bug report instead."
)


class BatchedArray(NDArrayOperatorsMixin):
    """``value``: the physical ndarray; ``levels``: the vmap levels of its leading dimensions,
    increasing (a level's size is ``value.shape[levels.index(level)]``)."""

    __slots__ = ("value", "levels")
    __array_priority__ = 1000

    def __init__(self, value, levels) -> None:
        self.value = value
        self.levels = levels

    # -- what the ops read ----------------------------------------------------------------
    @property
    def shape(self):
        return self.value.shape[len(self.levels) :]

    @property
    def ndim(self):
        return self.value.ndim - len(self.levels)

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def itemsize(self):
        return self.value.itemsize

    @property
    def nbytes(self):
        return self.size * self.value.itemsize

    @property
    def strides(self):
        return self.value.strides[len(self.levels) :]

    @property
    def flags(self):
        return self.value.flags

    @property
    def base(self):
        return self.value.base

    @property
    def T(self):  # noqa: N802 - NumPy's name
        return self.transpose()

    @property
    def real(self):
        return BatchedArray(self.value.real, self.levels)

    @property
    def imag(self):
        return BatchedArray(self.value.imag, self.levels)

    def __repr__(self) -> str:
        return f"BatchedArray(levels={self.levels}, value={self.value!r})"

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of unsized object")
        return shape[0]

    def __iter__(self):
        return (self[index] for index in range(len(self)))

    # -- data-dependent Python values: PyTorch's vmap errors ------------------------------
    def item(self, *args):
        raise _python_value(sys._getframe(1), ITEM_ERROR)

    tolist = item

    def __float__(self):
        raise _python_value(sys._getframe(1), ITEM_ERROR)

    __int__ = __complex__ = __index__ = __float__

    def __bool__(self):
        raise _python_value(sys._getframe(1), CONTROL_FLOW_ERROR)

    def __array__(self, dtype=None, copy=None):
        from glassgrad.func._batched_rules import no_rule

        raise no_rule("__array__")

    # -- NumPy's protocols -----------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from glassgrad.func._batched_rules import ufunc_rule

        return ufunc_rule(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from glassgrad.func._batched_rules import function_rule

        return function_rule(func, args, kwargs)

    def __getitem__(self, key):
        from glassgrad.func._batched_index import getitem

        return getitem(self, key)

    def __setitem__(self, key, value):
        from glassgrad.func._batched_index import setitem

        setitem(self, key, value)

    def __copy__(self):
        return BatchedArray(self.value.copy(), self.levels)

    def __deepcopy__(self, memo):
        return self.__copy__()


_USER_FACING = {
    "__bool__": CONTROL_FLOW_ERROR,
    "item": ITEM_ERROR,
    "tolist": ITEM_ERROR,
    "_scalar": ITEM_ERROR,
    "__float__": ITEM_ERROR,
    "__int__": ITEM_ERROR,
    "__index__": ITEM_ERROR,
    "__complex__": ITEM_ERROR,
}


def _python_value(frame, message):
    """PyTorch's vmap error for user code that asks a batch for a Python value; inside an op
    (a check of its argument's values), a request to run the op per sample instead."""
    module = frame.f_globals.get("__name__", "")
    if not module.startswith("glassgrad.") or module.startswith("glassgrad.func"):
        return RuntimeError(message)
    name = frame.f_code.co_name
    if module == "glassgrad._tensor_info" and name in _USER_FACING:
        return RuntimeError(_USER_FACING[name])
    from glassgrad.func._batched_rules import no_rule

    return no_rule(f"a Python value in {module}.{name}")


# -- helpers the rules share ---------------------------------------------------------------
def levels_of(values):
    """The sorted union of the levels of the batched arrays among ``values`` and their sizes."""
    sizes = {}
    for value in values:
        if value.__class__ is BatchedArray:
            for position, level in enumerate(value.levels):
                sizes[level] = value.value.shape[position]
    levels = tuple(sorted(sizes))
    return levels, tuple(sizes[level] for level in levels)


def physical(value, levels, sizes, ndim, expand=False):
    """``value``'s physical array over ``levels`` with its logical part padded to ``ndim``
    dimensions: a missing level becomes a size-1 dimension (or its full size with ``expand``).
    Unbatched values come back unchanged unless ``expand`` (NumPy broadcasts them from the
    right already)."""
    if value.__class__ is not BatchedArray:
        if not expand:
            return value
        array = np.asarray(value)
        return np.broadcast_to(array, (*sizes, *(1,) * (ndim - array.ndim), *array.shape))
    array = value.value
    own = value.levels
    logical = array.shape[len(own) :]
    if own == levels and len(logical) == ndim:
        return array
    batch = []
    for level, _size in zip(levels, sizes, strict=True):
        batch.append(array.shape[own.index(level)] if level in own else 1)
    array = array.reshape((*batch, *(1,) * (ndim - len(logical)), *logical))
    if expand and tuple(batch) != tuple(sizes):
        array = np.broadcast_to(array, (*sizes, *array.shape[len(sizes) :]))
    return array


def wrap(array, levels):
    """``array`` as a batched array over ``levels`` (unbatched when there are none)."""
    if not levels:
        return array
    if array.__class__ is not _ndarray:
        array = np.asarray(array)
    return BatchedArray(array, levels)


def logical_ndim(value) -> int:
    if value.__class__ is BatchedArray:
        return value.value.ndim - len(value.levels)
    return np.ndim(value)


def axis_of(axis, ndim, offset):
    """A logical axis (or tuple of them, or None for all) as physical axes."""
    if axis is None:
        return tuple(range(offset, offset + ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(_one_axis(a, ndim) + offset for a in axis)
    return _one_axis(axis, ndim) + offset


def _one_axis(axis, ndim):
    axis = int(axis)
    if axis < -max(ndim, 1) or axis >= max(ndim, 1):
        raise np.exceptions.AxisError(axis, ndim)
    return axis % max(ndim, 1)


def as_data(value, dtype=None):
    """``np.asarray(value, dtype)`` that keeps a batch batched (vmap runs ops on batches)."""
    if value.__class__ is BatchedArray:
        return value if dtype is None or value.dtype == dtype else value.astype(dtype)
    return np.asarray(value, dtype)
