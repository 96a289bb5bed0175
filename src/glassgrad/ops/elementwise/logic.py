"""Comparisons, logical and bitwise ops including the shifts ``<<``/``>>`` (never differentiable),
and ``masked_fill``."""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data, c_order
from glassgrad._bfloat16 import floating as _floating
from glassgrad._tensor_info import _C_NAMES
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import result
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import binary_samples, shaped
from glassgrad.ops.elementwise.binary import _other, _promote, broadcast_shapes
from glassgrad.ops.registry import as_tensor_arg, register
from glassgrad.tensor import Tensor, tensor_method


def _c_type(data):
    from glassgrad.tensor import _c_type as name

    return name(_dt.from_numpy_dtype(data.dtype))


def _complex_type(data):
    """PyTorch's name of a complex array's type (for the errors of ops without complex)."""
    return "ComplexFloat" if data.dtype == np.complex64 else "ComplexDouble"


def _compare(ufunc, name):
    def compare(input, other):
        other = _other(other)
        if other is None:
            return NotImplemented
        ad, bd = _promote(input, other)
        if name not in ("eq", "ne") and ad.dtype.kind == "c":  # (no order on complex numbers)
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_complex_type(ad)}'")
        # The inputs are passed (no edges are made) so that glass can say where a gradient stopped.
        inputs = (input, other) if hasattr(other, "_data") else (input,)
        return result(ufunc(ad, bd), None, inputs)

    compare.__name__ = name
    compare.__doc__ = f"Elementwise ``{ufunc.__name__}``, as a bool tensor."
    return compare


def _logical(ufunc, name):
    def logical(input, other):
        other = as_tensor_arg(other)
        broadcast_shapes(input._data.shape, other._data.shape)
        return result(ufunc(input._data.astype(bool), other._data.astype(bool)), None, ())

    logical.__name__ = name
    logical.__doc__ = f"Elementwise ``{name}`` of the inputs' truth values, as a bool tensor."
    return logical


def _bitwise(ufunc, name):
    def bitwise(input, other):
        other = _other(other)
        if other is None:
            return NotImplemented
        ad, bd = _promote(input, other)
        if _floating(ad) or getattr(bd, "dtype", np.dtype(type(bd))).kind == "f":
            culprit = _c_type(ad if _floating(ad) else bd)
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{culprit}'")
        return result(ufunc(ad, bd), None, ())

    bitwise.__name__ = name
    bitwise.__doc__ = f"Elementwise ``{name}`` of integer or bool tensors."
    return bitwise


eq, ne, lt, le, gt, ge = (
    _compare(u, n)
    for u, n in (
        (np.equal, "eq"),
        (np.not_equal, "ne"),
        (np.less, "lt"),
        (np.less_equal, "le"),
        (np.greater, "gt"),
        (np.greater_equal, "ge"),
    )
)
logical_and, logical_or, logical_xor = (
    _logical(u, n)
    for u, n in (
        (np.logical_and, "logical_and"),
        (np.logical_or, "logical_or"),
        (np.logical_xor, "logical_xor"),
    )
)
bitwise_and, bitwise_or, bitwise_xor = (
    _bitwise(u, n)
    for u, n in (
        (np.bitwise_and, "bitwise_and"),
        (np.bitwise_or, "bitwise_or"),
        (np.bitwise_xor, "bitwise_xor"),
    )
)


def logical_not(input):
    """Elementwise ``not`` of the input's truth values, as a bool tensor."""
    return result(np.logical_not(input._data), None, ())


def bitwise_not(input):
    """Elementwise bitwise inversion (``~``) of an integer or bool tensor."""
    if _floating(input._data):
        raise NotImplementedError(
            f"\"bitwise_not_cpu\" not implemented for '{_c_type(input._data)}'"
        )
    return result(np.invert(input._data), None, ())


def _invert(self):
    if _floating(self._data):
        raise TypeError(
            "~ (operator.invert) is only implemented on integer and Boolean-type tensors"
        )
    return bitwise_not(self)


# -- masked_fill -----------------------------------------------------------------------------
# the mask gets no edge (PyTorch's next_functions): only input, and value when it is a tensor
MaskedFillBackward0 = node_class(
    "MaskedFillBackward0",
    lambda ctx, grad, mask: (D.where(mask, D.zeros_like(grad), grad),),
    jvp=ELEMENTWISE,
)
MaskedFillBackward1 = node_class(
    "MaskedFillBackward1",
    lambda ctx, grad, mask: (
        D.where(mask, D.zeros_like(grad), grad),
        D.sum_dims(D.where(mask, grad, D.zeros_like(grad)), None),
    ),  # (not elementwise in the 0-d value: its transpose is the forward rule)
)


def masked_fill(input, mask, value):
    """A copy of ``input`` with ``value`` where ``mask`` is True (``mask`` broadcasts)."""
    if mask._data.dtype != np.bool_:
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype "
            f"{_C_NAMES[mask.dtype.name]}"
        )
    broadcast_shapes(mask._data.shape, input._data.shape)
    data = input._data
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got "
                f"tensor with {value._data.ndim} dimension(s)."
            )
        out = c_order(np.where(mask._data, value._data.astype(data.dtype), data))
        return result(out, MaskedFillBackward1, (input, value), (mask._data,))
    # (np.where keeps a transposed input's layout; PyTorch's result is contiguous)
    out = c_order(np.where(mask._data, np.asarray(value).astype(data.dtype), data))
    return result(out, MaskedFillBackward0, (input,), (mask._data,))


def _masked_fill_samples(make, shape):
    x, mask = make(shape), make(shape, dtype="bool")
    samples = [((x, mask, 0.5), {}), ((x, mask, make(())), {})]
    if shape:
        samples.append(((x, make(shape[-1:], dtype="bool"), -1.0), {}))
    return samples


def _int_samples(make, shape):
    x, y = make(shape, dtype="int64", low=-8, high=8), make(shape, dtype="int64", low=-8, high=8)
    x_bool, y_bool = np.asarray(x > 0), np.asarray(y > 0)
    samples = [((x, y), {}), ((x, 3), {}), ((x_bool, y_bool), {}), ((x_bool, True), {})]
    if shape:
        samples.append(((x, make(shape[-1:], dtype="int64", low=0, high=8)), {}))
    return samples


def _int_unary_samples(make, shape):
    return [((make(shape, dtype="int64", low=-8, high=8),), {}), ((make(shape, dtype="bool"),), {})]


def _install():
    """Registrations and Python operators for the ops in this file."""
    aliases = {
        "gt": ("greater",),
        "lt": ("less",),
        "ge": ("greater_equal",),
        "le": ("less_equal",),
        "ne": ("not_equal",),
    }
    for fn in (eq, ne, lt, le, gt, ge, logical_and, logical_or, logical_xor):
        register(
            fn.__name__,
            fn,
            aliases=aliases.get(fn.__name__, ()),
            nin=2,
            samples=shaped(binary_samples),
            reference=getattr(np, fn.__name__, None)
            or getattr(
                np,
                {
                    "eq": "equal",
                    "ne": "not_equal",
                    "lt": "less",
                    "le": "less_equal",
                    "gt": "greater",
                    "ge": "greater_equal",
                }[fn.__name__],
            ),
            any_shape=True,
            differentiable=False,
            dtypes=("float64", "int64", "bool"),
            strict=True,  # returns NotImplemented for the Python operators; the forms raise
            out="cast",
        )
    for fn, reference in (
        (bitwise_and, np.bitwise_and),
        (bitwise_or, np.bitwise_or),
        (bitwise_xor, np.bitwise_xor),
    ):
        register(
            fn.__name__,
            fn,
            nin=2,
            samples=shaped(_int_samples),
            reference=reference,
            any_shape=True,
            differentiable=False,
            dtypes=("int64", "bool"),
            strict=True,
            out="cast",
        )
    for fn, reference in ((logical_not, np.logical_not), (bitwise_not, np.invert)):
        register(
            fn.__name__,
            fn,
            reference=reference,
            any_shape=True,
            differentiable=False,
            dtypes=("int64", "bool") if fn is bitwise_not else ("float64", "bool"),
            samples=shaped(_int_unary_samples) if fn is bitwise_not else None,
            out="same" if fn is bitwise_not else "cast",
        )
    register(
        "masked_fill",
        masked_fill,
        nin=3,
        samples=shaped(_masked_fill_samples),
        any_shape=True,
        reference=lambda x, mask, value: np.where(mask, value, x),
    )
    tensor_method(eq, "__eq__")
    tensor_method(ne, "__ne__")
    tensor_method(lt, "__lt__")
    tensor_method(le, "__le__")
    tensor_method(gt, "__gt__")
    tensor_method(ge, "__ge__")
    tensor_method(bitwise_and, "__and__", "__rand__")
    tensor_method(bitwise_or, "__or__", "__ror__")
    tensor_method(bitwise_xor, "__xor__", "__rxor__")
    tensor_method(_invert, "__invert__")
    tensor_method(lambda self: id(self), "__hash__")


_install()


# -- bit shifts ------------------------------------------------------------------------------
def _shift(name, kernel, left):
    def shifted(input, other):
        from glassgrad.ops.elementwise.binary import _promote
        from glassgrad.tensor import _c_type

        if not isinstance(input, Tensor):
            input = as_tensor_arg(input, other)
        ad, bd = _promote(input, other)
        bd = as_data(bd, dtype=ad.dtype) if not isinstance(bd, np.ndarray) else bd
        if ad.dtype.kind in "fcb":
            culprit = _c_type(_dt.from_numpy_dtype(ad.dtype))
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{culprit}'")
        bits = ad.dtype.itemsize * 8
        # C leaves shifts by a negative count or by the width undefined; PyTorch defines them:
        # 0 to the left, the sign (0 or -1) to the right
        wide = (bd < 0) | (bd >= bits)
        count = np.where(wide, 0, bd).astype(ad.dtype)
        if left:
            out = np.where(wide, 0, np.left_shift(ad, count))
        else:
            out = np.where(wide, np.right_shift(ad, bits - 1), np.right_shift(ad, count))
        return result(as_data(out).astype(ad.dtype, copy=False), None, ())

    shifted.__name__ = name
    shifted.__doc__ = f"Elementwise ``{'<<' if left else '>>'}`` of integer tensors."
    return shifted


bitwise_left_shift = _shift("bitwise_left_shift", "lshift_cpu", True)
bitwise_right_shift = _shift("bitwise_right_shift", "rshift_cpu", False)


def _shift_samples(make, shape):
    x = make(shape, dtype="int64", low=-50, high=50)
    return [((x, make(shape, dtype="int64", low=0, high=8)), {}), ((x, 3), {})]


register(
    "bitwise_left_shift",
    bitwise_left_shift,
    reference=np.left_shift,
    nin=2,
    any_shape=True,
    differentiable=False,
    dtypes=("int64",),
    samples=shaped(_shift_samples),
    out="cast",
)
register(
    "bitwise_right_shift",
    bitwise_right_shift,
    reference=np.right_shift,
    nin=2,
    any_shape=True,
    differentiable=False,
    dtypes=("int64",),
    samples=shaped(_shift_samples),
    out="cast",
)
tensor_method(bitwise_left_shift, "__lshift__")
tensor_method(bitwise_right_shift, "__rshift__")
tensor_method(
    lambda self, other: bitwise_left_shift(as_tensor_arg(other, self), self), "__rlshift__"
)
tensor_method(
    lambda self, other: bitwise_right_shift(as_tensor_arg(other, self), self), "__rrshift__"
)
