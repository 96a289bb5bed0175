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
import threading

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
    "We don't support that yet, please file an issue at https://github.com/pytorch/pytorch/issues ."
)
NO_STORAGE = "Cannot access data pointer of Tensor that doesn't have storage"
MASK_ERROR = (
    "vmap: We do not support batching operators that can support dynamic shape. Attempting to "
    "batch over indexing with a boolean mask."
)
INPLACE_ERROR = (
    "vmap: {name}(self, *extra_args) is not possible because there exists a Tensor `other` in "
    "extra_args that has more elements than `self`. This happened due to `other` being vmapped "
    "over but `self` not being vmapped over in a vmap. Please try to use out-of-place operators "
    "instead of {name}. If said operator is being called inside the PyTorch framework, please "
    "file a bug report instead."
)

INPLACE_LEVEL_ERROR = (
    "vmap: aten::{name}(self, *extra_args) is not possible because there exists a Tensor "
    "`other` in extra_args that has more elements than `self`. This happened due to `other` "
    "being vmapped over but `self` not being vmapped over at level {level}. Please try to use "
    "out-of-place operators instead of aten::{name}. If said operator is being called inside "
    "the PyTorch framework, please file a bug report instead."
)
OUT_ERROR = (
    "Batching rule not implemented for aten::{name}.out; the fallback path doesn't work on "
    "out= or view ops."
)
# How PyTorch words the refusal of an in-place write of a batch into a tensor not batched at
# its level, by in-place method: its generic in-place kernels (``add_``...) check the result's
# broadcast shape, ops with their own in-place batching rule name the op and the level, the
# others (the decompositions, the boxed fallback) say "inplace arithmetic" or the op's name.
_BROADCAST_WRITES = frozenset(
    "add_ atan2_ copysign_ bitwise_and_ bitwise_or_ bitwise_xor_ bitwise_left_shift_ "
    "bitwise_right_shift_".split()
)
_ARITHMETIC_WRITES = frozenset(
    "sub_ mul_ div_ copy_ clamp_min_ clamp_max_ logical_and_ logical_or_ logical_xor_ "
    "true_divide_".split()
)
_NAMED_WRITES = frozenset("fill_ index_put_ index_add_ index_fill_ scatter_add_".split())


class LogicalShape(tuple):
    """A batch's per-sample shape, which also names its vmap levels (``levels``)."""

    levels = ()


class _Active(threading.local):
    def __init__(self) -> None:
        self.levels = []  # the vmap levels running now, outermost first
        self.modes = []  # their randomness: (level, "error" | "different" | "same", size)
        self.transforms = 0  # torch.func grad/vjp calls running now (autograd.Function checks)


ACTIVE = _Active()


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
        shape = LogicalShape(self.value.shape[len(self.levels) :])
        shape.levels = self.levels  # (read where a gradient reaches its input: see settle)
        return shape

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
        return self._python(sys._getframe(1), ITEM_ERROR, "item", *args)

    def tolist(self):
        return self._python(sys._getframe(1), ITEM_ERROR, "tolist")

    def __float__(self):
        return self._python(sys._getframe(1), ITEM_ERROR, "__float__")

    def __int__(self):
        return self._python(sys._getframe(1), ITEM_ERROR, "__int__")

    def __index__(self):
        return self._python(sys._getframe(1), ITEM_ERROR, "__index__")

    def __bool__(self):
        return self._python(sys._getframe(1), CONTROL_FLOW_ERROR, "__bool__")

    def _python(self, frame, message, name, *args):
        """A Python value of the batch: PyTorch's vmap error in user code; inside an op (a
        check of its argument's values, a branch on them), the samples' common value, or a
        request to run the op per sample where they differ."""
        error = _python_value(frame, message)
        if error.__class__ is RuntimeError:
            raise error
        value = self.value
        first = value[(0,) * len(self.levels)]
        if not (value == first).all():
            raise error
        return getattr(first, name)(*args)

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
    "tolist": NO_STORAGE,
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
    cls = value.__class__
    if cls is BatchedArray:
        return value.value.ndim - len(value.levels)
    if cls is _ndarray:
        return value.ndim
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


def zeros_over(shape, dtype, *values):
    """``np.zeros(shape, dtype)``, batched over the levels of ``values`` (arrays or tuples of
    them, such as an index key): a gradient buffer that a batched gradient is added into."""
    found = []
    for value in values:
        found.extend(value if isinstance(value, tuple) else (value,))
    levels, sizes = levels_of(found)
    if not levels:
        return np.zeros(shape, dtype)
    return BatchedArray(np.zeros((*sizes, *shape), dtype), levels)


def as_data(value, dtype=None):
    """``np.asarray(value, dtype)`` that keeps a batch batched (vmap runs ops on batches)."""
    if value.__class__ is BatchedArray:
        return value if dtype is None or value.dtype == dtype else value.astype(dtype)
    return np.asarray(value, dtype)


def c_order(value):
    """``np.asarray(value, order="C")`` (PyTorch's contiguous result) that keeps a batch batched."""
    if value.__class__ is BatchedArray:
        return BatchedArray(np.asarray(value.value, order="C"), value.levels)
    return np.asarray(value, order="C")


def take_rows(table, indices):
    """``table[indices]`` for integer ``indices`` (rows of ``table``), either one a batch:
    NumPy's indexing and ``np.take`` do not ask a batch of indices how to batch."""
    if indices.__class__ is BatchedArray and table.__class__ is not BatchedArray:
        return BatchedArray(np.take(table, indices.value, axis=0), indices.levels)
    if table.__class__ is BatchedArray:
        return np.take(table, indices, axis=0)  # (the batched table's rule)
    return table[indices]


def pick(table, rows, columns):
    """``table[rows, columns]`` of a 2-D ``table`` where ``columns`` (integers) may be a batch
    (NumPy's indexing does not ask it how to batch)."""
    return take_rows(table.reshape(-1), rows * table.shape[1] + columns)


def every_sample(value):
    """``value``'s elements, of all its samples when it is a batch (as one array): for a
    reduction that steers a loop (how many steps, whether to stop) over the whole batch."""
    return value.value if value.__class__ is BatchedArray else value


def anywhere(value) -> bool:
    """Whether any element of ``value`` is true, in any sample of a batch: a loop that runs
    until every element has converged runs until every sample has."""
    return bool((value.value if value.__class__ is BatchedArray else value).any())


def as_strided(value, shape, strides, writeable=True):
    """``np.lib.stride_tricks.as_strided`` that keeps a batch batched: ``shape`` and
    ``strides`` describe one sample (as ``value.strides`` gives them), each sample's view
    starts at its own sample."""
    if value.__class__ is BatchedArray:
        array = value.value
        nb = len(value.levels)
        view = np.lib.stride_tricks.as_strided(
            array,
            (*array.shape[:nb], *shape),
            (*array.strides[:nb], *strides),
            writeable=writeable,
        )
        return BatchedArray(view, value.levels)
    return np.lib.stride_tricks.as_strided(value, shape, strides, writeable=writeable)


def settle(grad, shape, create_graph=False):
    """A gradient batched at vmap levels that have ended and that its input (of logical
    ``shape``, as recorded in the forward pass) was not batched at: the input was shared by
    every sample of those levels, so its gradient is the sum over them. (Levels still running
    stay: inside ``vmap(grad(f))`` an unbatched parameter gets per-sample gradients.)"""
    data = grad._data if create_graph else grad
    if data.__class__ is not BatchedArray:
        return grad
    own = getattr(shape, "levels", ())
    active = ACTIVE.levels
    drop = [level for level in data.levels if level not in own and level not in active]
    if not drop:
        return grad
    if create_graph:
        from glassgrad.func._vmap import _remove

        for level in drop:
            size = grad._data.value.shape[grad._data.levels.index(level)]
            grad = _remove(grad, level, size, 0).sum(0)
        return grad
    axes = tuple(data.levels.index(level) for level in drop)
    rest = tuple(level for level in data.levels if level not in drop)
    return wrap(data.value.sum(axis=axes), rest)


RANDOM_ERROR = (
    "vmap: called random operation while in randomness error mode. Please either use the "
    "'same' or 'different' randomness flags on vmap or perform the randomness operation out of "
    "vmap"
)
SAME_BATCHED_ERROR = (
    "Vmap does not currently support same randomness with a batched tensor input. Please file "
    "an issue with functorch"
)
UNBATCHED_DIFFERENT_ERROR = (
    "vmap: Cannot ask for different inplace randomness on an unbatched tensor. This will appear "
    "like same randomness. If this is necessary for your usage, please file an issue with "
    "functorch."
)


def check_random_inputs(*arrays, fills=None):
    """Under ``vmap``, PyTorch's refusals for a random op on ``arrays`` (its tensor inputs'
    data): randomness="same" with a batched input, and for an in-place fill of ``fills`` (an
    array; a batched one may take the same draws), randomness="different" where it is not
    batched."""
    if not ACTIVE.levels:
        return
    modes = {mode for _, mode, _ in ACTIVE.modes}
    if "error" in modes:
        raise RuntimeError(RANDOM_ERROR)
    if "same" in modes and any(a.__class__ is BatchedArray for a in arrays):
        raise RuntimeError(SAME_BATCHED_ERROR)
    if fills is not None and "different" in modes and fills.__class__ is not BatchedArray:
        raise RuntimeError(UNBATCHED_DIFFERENT_ERROR)


_SIZE_AT = {  # NumPy Generator method -> position of its ``size`` argument
    "random": 0,
    "standard_normal": 0,
    "standard_exponential": 0,
    "standard_cauchy": 0,
    "integers": 2,
    "uniform": 2,
    "normal": 2,
    "geometric": 1,
    "binomial": 2,
    "poisson": 1,
    "exponential": 1,
    "gamma": 2,
    "beta": 2,
    "lognormal": 2,
    "multinomial": 2,
}


def vmap_rng(rng):
    """The generator a random op gets under ``vmap``: PyTorch's error in randomness="error"
    mode, the plain one for "same", one that draws per sample for "different"."""
    if any(mode == "error" for _, mode, _ in ACTIVE.modes):
        raise RuntimeError(RANDOM_ERROR)
    different = [(level, size) for level, mode, size in ACTIVE.modes if mode == "different"]
    return _PerSample(rng, different) if different else rng


class _PerSample:
    """A NumPy Generator whose draws get one leading dimension per "different" vmap level."""

    def __init__(self, rng, levels) -> None:
        self._rng = rng
        self._levels = tuple(level for level, _ in levels)
        self._sizes = tuple(size for _, size in levels)

    def __getattr__(self, name):
        method = getattr(self._rng, name)
        if name == "permutation":
            return self._permutations
        at = _SIZE_AT.get(name)
        if at is None:
            raise RuntimeError(
                f"vmap: randomness='different' is not supported for the random operation {name}"
            )

        def draw(*args, **kwargs):
            args = list(args)
            positional = "size" not in kwargs and len(args) > at
            size = args[at] if positional else kwargs.get("size")
            size = () if size is None else (size,) if isinstance(size, int) else tuple(size)
            if positional:  # (the size in its place: later positional arguments follow it)
                args[at] = (*self._sizes, *size)
            else:
                kwargs["size"] = (*self._sizes, *size)
            out = method(*args, **kwargs)
            return BatchedArray(np.asarray(out), self._levels)

        return draw

    def _permutations(self, x):
        """One permutation per sample (``randperm``)."""
        count = int(np.prod(self._sizes))
        drawn = [np.asarray(self._rng.permutation(x)) for _ in range(count)]
        stacked = np.stack(drawn).reshape((*self._sizes, *drawn[0].shape))
        return BatchedArray(stacked, self._levels)


def inplace_write_error(name, target, values):
    """PyTorch's vmap error for the in-place method ``name`` writing ``values`` (arrays) into
    ``target`` (an array) that is not batched at a vmap level one of them is batched at; None
    where the write is fine (no vmap, or ``target`` batched wherever ``values`` are)."""
    own = target.levels if target.__class__ is BatchedArray else ()
    levels, sizes = levels_of((target, *values))
    missing = [level for level in levels if level not in own]
    if not missing:
        return None
    if name in _BROADCAST_WRITES:
        logical = np.broadcast_shapes(*(np.shape(v) for v in (target, *values)))
        return RuntimeError(
            f"output with shape {list(np.shape(target))} doesn't match the broadcast shape "
            f"{[*sizes, *logical]}"
        )
    if name in _ARITHMETIC_WRITES:
        return RuntimeError(INPLACE_ERROR.format(name="inplace arithmetic"))
    if name in _NAMED_WRITES:
        return RuntimeError(INPLACE_ERROR.format(name=name))
    level = ACTIVE.levels.index(missing[-1]) + 1 if missing[-1] in ACTIVE.levels else 1
    return RuntimeError(INPLACE_LEVEL_ERROR.format(name=name, level=level))


def out_error(name, values):
    """PyTorch's vmap error for ``out=`` where an argument (or ``out``) is batched, or None."""
    if levels_of(values)[0]:
        return RuntimeError(OUT_ERROR.format(name=name))
    return None
