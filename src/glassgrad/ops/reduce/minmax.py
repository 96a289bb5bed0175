"""Selecting reductions: ``amax``/``amin``, ``max``/``min`` (three forms), ``argmax``/``argmin``.

Tie rules follow PyTorch: a full ``max()`` and ``amax``/``amin`` share the gradient evenly among
the tied elements; ``max(dim)`` gives all of it to the returned index (the first maximum).
"""

from __future__ import annotations

import numpy as np

from glassgrad._batched import as_data
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import needs_grad, result, results, track_versions
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import shaped
from glassgrad.ops.reduce.sum_prod import dim_samples, expand_back, normalize_dims, reduce_reference
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, _wrap_dim


class _ReturnType(tuple):
    """A named pair like ``torch.return_types.max``: ``.values``, ``.indices`` and unpacking."""

    __slots__ = ()
    _name = "max"

    def __new__(cls, values, indices):
        return tuple.__new__(cls, (values, indices))

    @property
    def values(self):
        """The selected values."""
        return self[0]

    @property
    def indices(self):
        """Where the values were found along the reduced dim."""
        return self[1]

    def __repr__(self) -> str:
        return f"torch.return_types.{self._name}(\nvalues={self[0]!r},\nindices={self[1]!r})"


def return_type(name: str) -> type:
    """The ``torch.return_types.<name>`` class for a ``(values, indices)`` result."""
    return type(
        name, (_ReturnType,), {"__slots__": (), "_name": name, "__module__": "torch.return_types"}
    )


max_type, min_type = return_type("max"), return_type("min")


def _check_nonempty(name, data, dim):
    if data.size:
        return
    if dim is None or (isinstance(dim, (list, tuple)) and not dim):
        if name.startswith("arg"):
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            )
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() "
            "== 0. Specify the reduction dim with the 'dim' argument."
        )
    normalize_dims(dim, data.ndim)  # (its errors first)
    for given in dim if isinstance(dim, (list, tuple)) else (dim,):
        wrapped = _wrap_dim(given, data.ndim)
        if data.shape[wrapped] == 0:  # amax/amin name the dim as given, the others wrapped
            shown = given if name in ("amax", "amin") else wrapped
            raise IndexError(f"{name}(): Expected reduction dim {shown} to have non-zero size.")


def _even_backward(ctx, grad):
    # the gradient is shared evenly among the elements equal to the extreme value
    shape, dims, keepdim, share = ctx._args[:4]
    return (expand_back(grad, shape, dims, keepdim) * share,)


def _even_jvp(ctx, tangent):
    # the mean of the tangent over the elements equal to the extreme value, as PyTorch's
    _, dims, keepdim, share = ctx.args[:4]
    return (tangent * Tensor._from_array(share)).sum(dim=dims, keepdim=keepdim)


def _counted_backward(ctx, grad):
    # PyTorch's amax/amin: grad / count * mask over the elements equal to the result; a NaN
    # result equals nothing, so its whole slice gets 0/0 = NaN (the full max()/min() match NaN)
    shape, dims, keepdim, _, hit, count = ctx._args
    kept = tuple(1 if d in dims else n for d, n in enumerate(shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((D.reshape(grad, kept) / count) * hit,)


AmaxBackward0 = node_class("AmaxBackward0", _counted_backward, jvp=_even_jvp)
AminBackward0 = node_class("AminBackward0", _counted_backward, jvp=_even_jvp)
MaxBackward1 = node_class("MaxBackward1", _even_backward, jvp=_even_jvp)
MinBackward1 = node_class("MinBackward1", _even_backward, jvp=_even_jvp)


def _no_complex(data, name, kernel=None):
    """PyTorch's refusals of complex numbers, which have no order."""
    if data.dtype.kind == "c":
        if kernel is None:
            raise RuntimeError(f"{name}(): does not support complex input")
        kind = "ComplexFloat" if data.dtype == np.complex64 else "ComplexDouble"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{kind}'")


def _extreme(name, reduce, cls, input, dim, keepdim):
    data = input._data
    _no_complex(data, name, f"{name[1:]}_values_cpu")
    _check_nonempty(name, data, dim)
    dims = normalize_dims(dim, data.ndim)
    out = reduce(data, axis=dims, keepdims=True)
    args = (data.shape, dims, keepdim, None)
    if cls is not None and needs_grad(input):
        hit = data == out
        if cls not in (AmaxBackward0, AminBackward0):
            hit |= np.isnan(data) & np.isnan(out)
        count = hit.sum(axis=dims, keepdims=True).astype(data.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            args = (data.shape, dims, keepdim, hit / count, hit.astype(data.dtype), count)
    if not keepdim:
        out = out.reshape([n for d, n in enumerate(data.shape) if d not in dims])
    res = result(out, cls, (input,), args=args)
    # (PyTorch saves input and result)
    return track_versions(res, input, output=True) if cls is not None else res


def amax(input, dim=(), keepdim=False):
    """The maximum over ``dim`` (all dims by default); ties share the gradient."""
    return _extreme("amax", np.max, AmaxBackward0, input, None if dim == () else dim, keepdim)


def amin(input, dim=(), keepdim=False):
    """The minimum over ``dim`` (all dims by default); ties share the gradient."""
    return _extreme("amin", np.min, AminBackward0, input, None if dim == () else dim, keepdim)


def _indexed_backward(ctx, grad, hit):
    shape, dims, keepdim, _ = ctx._args
    if D._is_array(grad):
        return (expand_back(grad, shape, dims, keepdim) * hit,)
    # under create_graph as PyTorch records it: zeros scattered with grad at the index
    (dim,) = dims
    mask = hit if D._is_array(hit) else hit._data
    index = Tensor._from_array(mask.argmax(axis=dim, keepdims=True))
    restored = grad if keepdim else grad.unsqueeze(dim)
    return (D.new_zeros(grad, shape).scatter(dim, index, restored),)


def _indexed_jvp(ctx, tangent):
    _, dims, keepdim, _ = ctx.args
    return (tangent * ctx.saved[0]).sum(dim=dims, keepdim=keepdim)  # (one hit per slice)


MaxBackward0 = node_class("MaxBackward0", _indexed_backward, n_outputs=1, jvp=_indexed_jvp)
MinBackward0 = node_class("MinBackward0", _indexed_backward, n_outputs=1, jvp=_indexed_jvp)


def _arg(name, arg_reduce, data, dim, keepdim):
    _check_nonempty(name, data, dim)
    if dim is None:
        return as_data(arg_reduce(data.reshape(-1)) if data.ndim else 0, dtype=np.int64)
    (axis,) = normalize_dims(dim, data.ndim) or (None,)
    if axis is None:
        return np.zeros((), dtype=np.int64)
    return arg_reduce(data, axis=axis, keepdims=keepdim).astype(np.int64)


def _select(name, arg_reduce, cls, return_cls, input, dim, keepdim):
    """``max(dim)``/``min(dim)``: the values and the index of the first extreme along ``dim``."""
    data = input._data
    index = _arg(name, arg_reduce, data, dim, True)
    if data.ndim:
        axis = normalize_dims(dim, data.ndim)[0]
        values = np.take_along_axis(data, index, axis)
        dims = (axis,)
    else:
        values, dims, axis = data.copy(), (), None
    hit = None
    if needs_grad(input):
        hit = (
            np.arange(data.shape[axis]).reshape([-1 if d == axis else 1 for d in range(data.ndim)])
            == index
            if data.ndim
            else True
        )
    if not keepdim and data.ndim:
        values, index = values.squeeze(axis), index.squeeze(axis)
    out = results(
        (values, index),
        cls,
        (input,),
        (hit,),
        args=(data.shape, dims, keepdim, None),
        differentiable=(True, False),
    )
    return return_cls(*out)


def _max_min(name, reduce, arg_reduce, classes, pair, input, dim, keepdim, other):
    if isinstance(dim, Tensor) or other is not None:
        from glassgrad.ops.elementwise.arith import maximum, minimum

        return (maximum if name == "max" else minimum)(input, other if other is not None else dim)
    if dim is None:
        return _extreme(name, reduce, classes[1], input, None, False)
    return _select(name, arg_reduce, classes[0], pair, input, dim, keepdim)


def max(input, dim=None, keepdim=False, *, other=None):  # noqa: A001
    """``max()`` the largest element; ``max(dim)`` values and indices; ``max(other)`` maximum."""
    if other is None and isinstance(input, Tensor):
        _no_complex(input._data, "max", "max_all" if dim is None else None)
    return _max_min(
        "max", np.max, np.argmax, (MaxBackward0, MaxBackward1), max_type, input, dim, keepdim, other
    )


def min(input, dim=None, keepdim=False, *, other=None):  # noqa: A001
    """``min()`` the smallest element; ``min(dim)`` values and indices; ``min(other)`` minimum."""
    if other is None and isinstance(input, Tensor):
        _no_complex(input._data, "min", "min_all" if dim is None else None)
    return _max_min(
        "min", np.min, np.argmin, (MinBackward0, MinBackward1), min_type, input, dim, keepdim, other
    )


def argmax(input, dim=None, keepdim=False):
    """The index of the first maximum (of the flattened input when ``dim`` is None)."""
    _no_complex(input._data, "argmax")
    return result(_arg("argmax", np.argmax, input._data, dim, keepdim), None, (input,))


def argmin(input, dim=None, keepdim=False):
    """The index of the first minimum (of the flattened input when ``dim`` is None)."""
    _no_complex(input._data, "argmin")
    return result(_arg("argmin", np.argmin, input._data, dim, keepdim), None, (input,))


def _single_dim_samples(make, shape):
    return [s for s in dim_samples(make, shape, tuples=False)]


def _ties(make, shape):
    """Inputs with repeated extremes, where the tie rules decide the gradient."""
    x = np.round(make(shape, low=-1.0, high=1.0))
    return [((x,), {})] + [((x,), {"dim": d}) for d in range(len(shape))]


def _arg_reference(fn):
    def reference(x, dim=None, keepdim=False):
        if dim is None:
            return fn(x.reshape(-1))
        return fn(x, axis=dim, keepdims=keepdim)

    return reference


def _max_reference(fn, arg_fn):
    def reference(x, dim=None, keepdim=False):
        if dim is None:
            return fn(x)
        return fn(x, axis=dim, keepdims=keepdim), arg_fn(x, axis=dim, keepdims=keepdim)

    return reference


for _fn, _np, _arg_np in (
    (amax, np.max, None),
    (amin, np.min, None),
    (max, np.max, np.argmax),
    (min, np.min, np.argmin),
):
    register(
        _fn.__name__,
        _fn,
        samples=shaped(dim_samples if _arg_np is None else _single_dim_samples),
        edge_samples=shaped(_ties),
        any_shape=True,
        dtypes=("float64", "float32", "int64"),
        reference=reduce_reference(_np) if _arg_np is None else _max_reference(_np, _arg_np),
        out="amax" if _arg_np is None else "max",
    )
for _fn, _np in ((argmax, np.argmax), (argmin, np.argmin)):
    register(
        _fn.__name__,
        _fn,
        samples=shaped(_single_dim_samples),
        edge_samples=shaped(_ties),
        any_shape=True,
        differentiable=False,
        reference=_arg_reference(_np),
        dtypes=("float64", "float32", "int64"),
        out="expected",
    )
