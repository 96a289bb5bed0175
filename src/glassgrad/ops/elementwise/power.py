"""``pow`` (``**``) with PyTorch's promotion and its masks at 0 in the gradients, and
``float_power`` (``pow`` in double precision)."""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, result
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops import _sampling as S
from glassgrad.ops._sampling import shaped
from glassgrad.ops.elementwise.binary import _SCALARS, _other, _promote
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, tensor_method


# -- pow -------------------------------------------------------------------------------------
def _pow0_backward(ctx, grad, a, exponent):
    if exponent == 0:  # PyTorch's zeros, whatever arrives (no NaN from an inf gradient)
        return (D.zeros_like(grad),)
    return (grad * exponent * _scalar_power(a, exponent - 1),)


def _scalar_power(a, exponent):
    """``a ** exponent`` as PyTorch's kernel computes it: exponent 0.5 is ``sqrt`` and -0.5
    ``rsqrt`` (so -0.0 gives -0.0 and -inf, -inf gives NaN, as there)."""
    if not D._is_array(a):
        return a**exponent
    if exponent == 0.5:
        return np.sqrt(a)
    if exponent == -0.5:
        return 1 / np.sqrt(a)
    return a**exponent


PowBackward0 = node_class("PowBackward0", quiet(_pow0_backward), jvp=ELEMENTWISE)


def _pow1_backward(ctx, grad, a, b, out):
    grad_a = None
    if ctx.next_functions[0][0] is not None:
        # PyTorch masks b == 0 (so a ** -1 at a == 0 gives no NaN), which also zeroes the second
        # derivative with respect to b there
        grad_a = D.where(b == 0, D.zeros_like(out), grad * b * a ** (b - 1))
    grad_b = None
    if ctx.next_functions[1][0] is not None:
        # 0 ** b with b >= 0 has gradient 0 w.r.t. b (PyTorch masks the log(0) there)
        # (PyTorch multiplies grad by that masked factor: an inf gradient gives NaN there)
        grad_b = grad * D.where((a == 0) & (b >= 0), D.zeros_like(out), out * D.log(a))
    return grad_a, grad_b


PowBackward1 = node_class("PowBackward1", quiet(_pow1_backward), jvp=ELEMENTWISE)


def _pow2_backward(ctx, grad, out, base):
    if base == 0:
        # PyTorch: 0 ** x has no gradient where x >= 0 (out is 0 or 1 there), log(0) elsewhere
        finite = (_arr(out) == 0) | (_arr(out) == 1)
        return (grad * D.where(finite, D.zeros_like(out), out * float(np.log(base))),)
    return (grad * out * float(np.log(base)),)


def _arr(x):
    """A saved tensor's array (for masks), or the array itself."""
    return x._data if isinstance(x, Tensor) else x


PowBackward2 = node_class("PowBackward2", quiet(_pow2_backward), jvp=ELEMENTWISE)


def pow(input, exponent):  # noqa: A001 - PyTorch's name
    """``input ** exponent`` (tensor or scalar on either side)."""
    if not isinstance(input, Tensor):
        return _rpow(exponent, input)
    exponent = _other(exponent)
    if exponent is None:
        return NotImplemented
    ad, bd = _promote(input, exponent)
    if isinstance(exponent, Tensor):
        return result(_power(ad, bd), PowBackward1, (input, exponent), (input, exponent, OUT))
    if ad.dtype.kind in "iu" and isinstance(bd, int) and bd < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    # NumPy's bool ** bool is int8; PyTorch keeps a bool tensor with a scalar exponent bool
    data = as_data(_scalar_power(ad, bd) if _floating(ad) else np.power(ad, bd))
    data = data.astype(ad.dtype, copy=False)
    return result(data, PowBackward0, (input,), (input, bd))


def _power(base, exponent):
    """``np.power`` with PyTorch's integer results for negative exponents (NumPy raises): 1 and -1
    keep their magnitude, every other base truncates to 0; bool has no pow kernel."""
    if np.result_type(base, exponent) == np.bool_:
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    negative = as_data(exponent < 0)
    if as_data(base).dtype.kind not in "iu" or not negative.any():
        return np.power(base, exponent)
    data = np.power(base, np.where(negative, 0, exponent))
    unit = np.where(np.abs(exponent) % 2 == 1, base, 1)
    return np.where(negative, np.where(np.abs(base) == 1, unit, 0), data).astype(data.dtype)


def _rpow(input, base):
    """``base ** input`` for a scalar base."""
    if not isinstance(base, _SCALARS):
        base = _other(base)
        return NotImplemented if base is None else pow(base, input)
    ad, bd = _promote(input, base)
    return result(_power(np.asarray(bd, ad.dtype), ad), PowBackward2, (input,), (OUT, bd))


# 0 ** -1 is inf in PyTorch, without NumPy's warnings.
pow, _rpow = quiet(pow), quiet(_rpow)  # noqa: A001
register(
    "pow",
    pow,
    nin=2,
    samples=shaped(S.pow_samples),
    reference=np.power,
    any_shape=True,
    strict=True,
    out="cast",
)
tensor_method(pow, "__pow__")
tensor_method(_rpow, "__rpow__")


# -- float_power -----------------------------------------------------------------------------
def _double(value):
    if isinstance(value, Tensor):
        kind = value._data.dtype.kind
        return value.to(_dt.complex128 if kind == "c" else _dt.float64)
    return complex(value) if isinstance(value, complex) else float(value)


def float_power(input, exponent):
    """``input ** exponent`` computed in double precision (the result is always float64)."""
    # a number base gives PowBackward2 and a number exponent PowBackward0, as in PyTorch
    return pow(_double(input), _double(exponent))


def _float_power_(self, exponent):
    """In-place ``float_power``: only a float64 tensor can hold the result."""
    if self._data.dtype != np.float64:
        from glassgrad._tensor_info import _c_type

        raise RuntimeError(
            f"the base given to float_power_ has dtype {_c_type(self.dtype)} but the "
            "operation's result requires dtype Double"
        )
    return self.pow_(_double(exponent))


register(
    "float_power",
    float_power,
    reference=quiet(lambda x, y: np.float_power(x, y)),
    nin=2,
    any_shape=True,
    dtypes=("float64", "float32"),
    samples=shaped(
        lambda make, shape: [
            ((make(shape, low=0.5, high=2.0), make(shape)), {}),
            ((make(shape, low=0.5, high=2.0), 2), {}),
            ((make(shape, low=0.5, high=2.0), 0.5), {}),
        ]
    ),
    out={"dtype": "float_power", "grad_name": "pow"},
)
tensor_method(_float_power_, "float_power_")
