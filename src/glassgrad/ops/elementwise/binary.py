"""Binary elementwise ops: arithmetic with PyTorch's type promotion, and comparisons.

Python scalars are weak (``float32_tensor * 2.5`` stays float32), a 0-d tensor only raises the
category of a dimensioned one, and integer true division gives the default float dtype. The
operands are cast to the result dtype before the NumPy call, so the arithmetic happens in the
dtype PyTorch would use. Gradients are summed back to each input's shape by the engine.
"""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._bfloat16 import differentiable as _differentiable
from glassgrad._bfloat16 import floating as _floating
from glassgrad._errors import broadcast_error
from glassgrad.autograd.grad_mode import record_off as _record_off
from glassgrad.autograd.grad_mode import state as _state
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import record2, result, result1
from glassgrad.backend import check_fits, quiet
from glassgrad.ops import _sampling as S
from glassgrad.ops._sampling import shaped
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, tensor_method

_ndarray = np.ndarray
_SCALARS = (int, float, bool, complex, np.generic)
_FLOAT_MAX = {np.dtype(t): float(np.finfo(t).max) for t in (np.float16, np.float32)}


def _in_range(number, dtype):
    """A Python float operand for a ``dtype`` array: as is, or, beyond the dtype's range, the
    infinity it rounds to. PyTorch makes that cast silently; NumPy warns (``x + 1e300``)."""
    limit = _FLOAT_MAX.get(dtype)
    if limit is None or -limit <= number <= limit or number != number:
        return number
    with np.errstate(over="ignore"):
        return np.array(number).astype(dtype)[()]


def _promote(a, b):
    """Arrays (or Python scalars) of ``a`` and ``b``, cast to PyTorch's result dtype."""
    ad = a._data
    if b.__class__ is Tensor or isinstance(b, Tensor):
        bd = b._data
        if ad.shape != bd.shape:
            check_fits(broadcast_shapes(ad.shape, bd.shape), max(ad.itemsize, bd.itemsize))
        if ad.dtype is not bd.dtype and ad.dtype != bd.dtype:
            target = _dt.result_type(
                _dt.from_numpy_dtype(ad.dtype), ad.ndim, _dt.from_numpy_dtype(bd.dtype), bd.ndim
            ).np
            if ad.dtype != target:
                ad = ad.astype(target)
            if bd.dtype != target:
                bd = bd.astype(target)
        return ad, bd
    if isinstance(b, np.generic):
        # PyTorch reads a NumPy bool as a float (it is not a Python bool, and has __float__)
        b = float(b) if b.__class__ is np.bool_ else b.item()
    if not _floating(ad) or b.__class__ is complex:
        target = _dt.result_type_scalar(_dt.from_numpy_dtype(ad.dtype), b).np
        if ad.dtype != target:
            ad = ad.astype(target)
        elif ad.dtype.kind in "iu" and isinstance(b, int) and not isinstance(b, bool):
            limits = np.iinfo(ad.dtype)
            if not limits.min <= b <= limits.max:
                # PyTorch wraps the number into the tensor's type; NumPy 2 refuses it
                b = np.array(b).astype(ad.dtype)[()]
    if b.__class__ is float:
        b = _in_range(b, ad.dtype)
    return ad, b


def broadcast_shapes(*shapes):
    """The broadcast shape, or PyTorch's RuntimeError naming the first two that clash."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        pass
    for index in range(1, len(shapes)):
        try:
            np.broadcast_shapes(*shapes[: index + 1])
        except ValueError:
            raise broadcast_error(np.broadcast_shapes(*shapes[:index]), shapes[index]) from None
    raise AssertionError("unreachable")


def _other(b):
    """``b`` if it is a usable operand, else None (the caller returns NotImplemented)."""
    if isinstance(b, (Tensor, *_SCALARS)):
        return b
    if isinstance(b, np.ndarray):  # as PyTorch, where NumPy computes it and wraps a tensor
        from glassgrad.creation import tensor

        return tensor(b)
    return None  # lists and tuples too: PyTorch refuses them (``x == [1]`` is then False)


def _tensor_or_none(b):
    return b if isinstance(b, Tensor) else None


def _needs(t) -> bool:
    return t is not None and t.requires_grad


# -- add / sub -------------------------------------------------------------------------------
def _sum_jvp(sign):
    """``ta + sign * alpha * tb`` (add, sub): the tangents of a linear op."""

    def jvp(ctx, ta, tb=None):
        if tb is not None and (sign != 1 or ctx.args is not None):
            tb = tb * (sign * (1 if ctx.args is None else ctx.args))
        return tb if ta is None else ta if tb is None else ta + tb

    return jvp


AddBackward0 = node_class(
    "AddBackward0",
    lambda ctx, grad: (grad, grad if ctx._args is None else grad * ctx._args),
    jvp=_sum_jvp(1),
)


def add(input, other, *, alpha=1):
    """``input + alpha * other``, broadcasting."""
    if other.__class__ is Tensor and alpha == 1:
        ad, bd = input._data, other._data
        dtype = ad.dtype
        shape = ad.shape
        if dtype is bd.dtype and shape == bd.shape:  # the hot case: nothing to promote
            data = ad + bd if shape else ad[()] + bd[()]
            if (input._requires_grad or other._requires_grad) and (
                not _record_off[0] or _state.record
            ):
                return record2(data, AddBackward0, input, other, False, False, shape, dtype)
            return result(data, AddBackward0, (input, other))
    other = _other(other)
    if other is None:
        return NotImplemented
    ad, bd = _promote(input, other)
    if alpha != 1:
        bd = bd * alpha
    return result(
        np.add(ad, bd),
        AddBackward0,
        (input, _tensor_or_none(other)),
        args=None if alpha == 1 else alpha,
    )


SubBackward0 = node_class(
    "SubBackward0",
    lambda ctx, grad: (grad, -grad if ctx._args is None else grad * -ctx._args),
    jvp=_sum_jvp(-1),
)


def sub(input, other, *, alpha=1):
    """``input - alpha * other``, broadcasting."""
    other = _other(other)
    if other is None:
        return NotImplemented
    _refuse_bool_sub(input, other)
    ad, bd = _promote(input, other)
    if alpha != 1:
        bd = bd * alpha
    return result(
        np.subtract(ad, bd),
        SubBackward0,
        (input, _tensor_or_none(other)),
        args=None if alpha == 1 else alpha,
    )


RsubBackward1 = node_class(
    "RsubBackward1", lambda ctx, grad: (-grad,), jvp=lambda ctx, tangent: -tangent
)


def _refuse_bool_sub(input, other):
    """PyTorch refuses subtraction as soon as either side is bool (a Python ``True`` included)."""
    bools = [
        isinstance(v, bool) or (isinstance(v, Tensor) and v._data.dtype == np.bool_)
        for v in (input, other)
    ]
    if all(bools):
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not "
            "supported. Use the `^` or `logical_xor()` operator instead."
        )
    if any(bools):
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )


def _rsub(input, other):
    """``other - input`` for a scalar ``other`` (PyTorch's ``RsubBackward1``)."""
    if not isinstance(other, _SCALARS):
        other = _other(other)
        return NotImplemented if other is None else sub(other, input)
    _refuse_bool_sub(input, other)
    ad, bd = _promote(input, other)
    return result(np.subtract(bd, ad), RsubBackward1, (input,))


# -- mul / div -------------------------------------------------------------------------------
def _mul_backward(ctx, grad, a, b):
    return (
        grad * b if ctx.next_functions[0][0] is not None else None,
        grad * a if a is not None else None,
    )


def _mul_jvp(ctx, ta, tb=None):
    a, b = ctx.inputs
    if b is None:
        b = ctx.saved[1]  # a number
    part = None if ta is None else ta * b
    if tb is None:
        return part
    return a * tb if part is None else part + a * tb


MulBackward0 = node_class("MulBackward0", _mul_backward, jvp=_mul_jvp)


def mul(input, other):
    """Elementwise product, broadcasting."""
    if other.__class__ is Tensor:
        ad, bd = input._data, other._data
        dtype = ad.dtype
        shape = ad.shape
        if dtype is bd.dtype and shape == bd.shape:  # the hot case: nothing to promote
            # 0-d: NumPy scalars multiply several times faster than 0-d arrays
            data = ad * bd if shape else ad[()] * bd[()]
            # (the property, not the flag, when unset: a view made before its base started to
            # require grad requires grad too)
            a_grad = input._requires_grad or input.requires_grad
            b_grad = other._requires_grad or other.requires_grad
            if (a_grad or b_grad) and (not _record_off[0] or _state.record):
                # Save each operand only if the other one needs its gradient (as PyTorch does).
                return record2(data, MulBackward0, input, other, b_grad, a_grad, shape, dtype)
            return result(data, MulBackward0, (input, other))
    elif other.__class__ is float and (input._data.dtype.kind == "f" or _floating(input._data)):
        # a float tensor times a Python float (weak: the tensor's dtype wins, as NumPy 2 does)
        data = input._data
        other = _in_range(other, data.dtype)
        return result1(data * other, MulBackward0, input, arity=2, values=(None, other))
    other = _other(other)
    if other is None:
        return NotImplemented
    ad, bd = _promote(input, other)
    if other.__class__ is Tensor or isinstance(other, Tensor):
        # Save each operand only if the other one needs its gradient (as PyTorch does).
        saved = (input if other.requires_grad else None, other if input.requires_grad else None)
        if ad is not input._data or bd is not other._data:
            saved = _cast_saved(saved, ad, bd)
        return result(np.multiply(ad, bd), MulBackward0, (input, other), saved)
    return result(np.multiply(ad, bd), MulBackward0, (input, None), (None, bd))


def _cast_saved(saved, ad, bd):
    """Promotion copied an operand: save the promoted copy, checked against the original's
    version (PyTorch saves the original, so changing it in place breaks backward)."""
    from glassgrad.autograd.record import SavedCast

    return tuple(
        None if s is None else SavedCast(s, d) for s, d in zip(saved, (ad, bd), strict=True)
    )


def _div_backward(ctx, grad, a, b):
    grad_a = grad / b if ctx.next_functions[0][0] is not None else None
    grad_b = -grad * (a / b / b) if a is not None else None  # ATen's formula (and last node)
    return grad_a, grad_b


def _div_jvp(ctx, ta, tb=None):
    b = ctx.inputs[1]
    if b is None:
        b = ctx.saved[1]  # a number
    if tb is None:
        return ta / b
    part = -(tb * ctx.output)
    return (part if ta is None else ta + part) / b


DivBackward0 = node_class("DivBackward0", quiet(_div_backward), jvp=quiet(_div_jvp))
MulBackward0._other_first = DivBackward0._other_first = True  # (see Node)


def div(input, other, *, rounding_mode=None):
    """Elementwise true division (``rounding_mode`` 'trunc' or 'floor' for integer-style)."""
    other = _other(other)
    if other is None:
        return NotImplemented
    if rounding_mode is not None:
        return _div_rounding(input, other, rounding_mode)
    ad, bd = _promote(input, other)
    if not _differentiable(ad):
        ad = ad.astype(_dt.get_default_dtype().np)
        if isinstance(bd, _ndarray):
            bd = bd.astype(ad.dtype)
    if isinstance(other, Tensor):
        if isinstance(bd, _ndarray) and bd.dtype != ad.dtype:
            bd = bd.astype(ad.dtype)
        saved = (input if other.requires_grad else None, other)
        if ad is not input._data or bd is not other._data:
            saved = _cast_saved((saved[0], other), ad, bd)
        return result(np.true_divide(ad, bd), DivBackward0, (input, other), saved)
    return result(np.true_divide(ad, bd), DivBackward0, (input, None), (None, bd))


def _div_rounding(input, other, mode):
    from glassgrad.ops.registry import OPS

    if mode == "trunc":
        return (
            OPS["trunc"].fn(div(input, other))
            if _is_float(input, other)
            else _int_div(input, other, np.trunc)
        )
    if mode == "floor":
        return OPS["floor_divide"].fn(input, other)
    raise ValueError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{mode}'"
    )


def _is_float(a, b):
    return (
        a.is_floating_point()
        or (isinstance(b, Tensor) and b.is_floating_point())
        or isinstance(b, float)
    )


def _int_div(a, b, rounder):
    ad, bd = _promote(a, b)
    if ad.dtype == np.bool_:
        raise NotImplementedError("\"div_trunc_cpu\" not implemented for 'Bool'")
    return result(rounder(np.true_divide(ad, bd)).astype(ad.dtype), None, (None,))


def _rtruediv(input, other):
    """``other / input`` for a scalar: PyTorch computes ``input.reciprocal() * other``."""
    from glassgrad.ops.elementwise.unary import reciprocal

    if not isinstance(other, _SCALARS):
        other = _other(other)
        return NotImplemented if other is None else div(other, input)
    if not _differentiable(input._data):
        input = input.to(_dt.get_default_dtype())
    return mul(reciprocal(input), other)


def _install():
    """Registrations, Python operators and method names for the ops in this file."""
    table = (
        ("add", add, S.add_samples, lambda a, b, alpha=1: a + alpha * b, ()),
        ("sub", sub, S.add_samples, lambda a, b, alpha=1: a - alpha * b, ("subtract",)),
        ("mul", mul, S.scalar_samples, np.multiply, ("multiply",)),
        ("div", div, S.positive_samples, np.true_divide, ("divide", "true_divide")),
    )
    for name, fn, samples, reference, aliases in table:
        register(
            name,
            fn,
            aliases=aliases,
            nin=2,
            samples=shaped(samples),
            reference=reference,
            any_shape=True,
            strict=True,
            out="cast",
        )
    tensor_method(add, "__add__", "__radd__")
    tensor_method(sub, "__sub__")
    tensor_method(_rsub, "__rsub__")
    tensor_method(mul, "__mul__", "__rmul__")
    tensor_method(div, "__truediv__")
    tensor_method(_rtruediv, "__rtruediv__")
    tensor_method(lambda self: id(self), "__hash__")


# x / 0 is inf in PyTorch, without NumPy's warnings.
div, _rtruediv = quiet(div), quiet(_rtruediv)
_install()
