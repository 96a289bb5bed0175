"""The ndarray methods of ``BatchedArray``, each through its NumPy function's batching rule."""

from __future__ import annotations

import numpy as np

from glassgrad._batched import BatchedArray
from glassgrad.func import _batched_funcs as F
from glassgrad.func._batched_rules import RULES


def _via(func):
    found = RULES[func]

    def method(self, *args, **kwargs):
        return found(self, *args, **kwargs)

    method.__name__ = func.__name__
    return method


for _name, _func in {
    "sum": np.sum,
    "mean": np.mean,
    "prod": np.prod,
    "max": np.max,
    "min": np.min,
    "any": np.any,
    "all": np.all,
    "std": np.std,
    "var": np.var,
    "ptp": np.ptp,
    "argmax": np.argmax,
    "argmin": np.argmin,
    "cumsum": np.cumsum,
    "cumprod": np.cumprod,
    "argsort": np.argsort,
    "swapaxes": np.swapaxes,
    "ravel": np.ravel,
    "diagonal": np.diagonal,
    "trace": np.trace,
    "repeat": np.repeat,
    "take": np.take,
    "clip": np.clip,
    "dot": np.dot,
}.items():
    setattr(BatchedArray, _name, _via(_func))


def _shape_args(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


def reshape(self, *shape, order="C"):
    return F.reshape(self, _shape_args(shape), order)


def transpose(self, *axes):
    axes = _shape_args(axes)
    return F.transpose(self, axes or None)


def squeeze(self, axis=None):
    return F.squeeze(self, axis)


def flatten(self, order="C"):
    return F.reshape(self, (-1,), order).copy()


def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
    return BatchedArray(self.value.astype(dtype, order, casting, subok, copy), self.levels)


def copy(self, order="C"):
    return BatchedArray(self.value.copy(order), self.levels)


def view(self, dtype=None, type=None):  # noqa: A002 - NumPy's name
    if type is not None:
        raise TypeError("vmap: a batched array cannot be viewed as another array type")
    if dtype is None:
        return BatchedArray(self.value.view(), self.levels)
    return BatchedArray(self.value.view(dtype), self.levels)


def sort(self, axis=-1, kind=None, order=None):
    axis = F.axis_of(axis, self.ndim, len(self.levels))
    self.value.sort(axis, kind, order)


def fill(self, value):
    if value.__class__ is BatchedArray:
        self[...] = value
    else:
        self.value.fill(value)


def conj(self):
    return np.conj(self)


def round(self, decimals=0):  # noqa: A001 - NumPy's name
    return np.round(self, decimals)


def nonzero(self):
    return np.where(self)


def __reduce__(self):
    raise TypeError("vmap: a batched array cannot be pickled")


for _fn in (reshape, transpose, squeeze, flatten, astype, copy, view, sort, fill, conj, round):
    setattr(BatchedArray, _fn.__name__, _fn)
BatchedArray.nonzero = nonzero
BatchedArray.conjugate = conj
BatchedArray.__reduce__ = __reduce__


@F.rule(np.round, np.around)
def _round(a, decimals=0, out=None):
    if out is not None:
        return F.fallback(np.round, (a, decimals), {"out": out})
    return BatchedArray(np.round(a.value, decimals), a.levels)
