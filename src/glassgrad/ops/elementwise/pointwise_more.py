"""More pointwise ops real code calls: ``addcmul``/``addcdiv`` (hand-written optimizers),
``logit``, ``deg2rad``/``rad2deg``, ``float_power`` and the bit shifts (``<<``, ``>>``)."""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.ops import _dual
from glassgrad.ops._sampling import shaped
from glassgrad.ops.elementwise.binary import broadcast_shapes
from glassgrad.ops.registry import (
    Tensor,
    as_tensor_arg,
    needs_grad,
    node_class,
    quiet,
    register,
    result,
)

# -- addcmul / addcdiv -----------------------------------------------------------------------
AddcmulBackward0 = node_class(
    "AddcmulBackward0",
    lambda ctx, grad, t1, t2: (
        grad,
        None if t2 is None else grad * (t2 * ctx._args),
        None if t1 is None else grad * (t1 * ctx._args),
    ),
    jvp=ELEMENTWISE,
)
AddcdivBackward0 = node_class(
    "AddcdivBackward0",
    lambda ctx, grad, t1, t2: (
        grad,
        None if ctx.next_functions[1][0] is None else grad * (ctx._args / t2),
        None if t1 is None else -grad * (t1 * ctx._args) / (t2 * t2),
    ),
    jvp=ELEMENTWISE,
)

_INTEGER_ADDCDIV = (
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will "
    "perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be "
    "implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer "
    "inputs and as (input + value * tensor1 / tensor2) for float inputs. The future addcdiv "
    "behavior is just the latter implementation: (input + value * tensor1 / tensor2), for all "
    "dtypes."
)


def _check_tensor(name, value, arg, position):
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{name}(): argument '{arg}' (position {position}) must be Tensor, "
            f"not {type(value).__name__}"
        )


def _addc(name, input, tensor1, tensor2, value):
    """The promoted arrays of the three operands and ``value`` in their dtype."""
    _check_tensor(name, input, "input", 1)
    _check_tensor(name, tensor1, "tensor1", 2)
    _check_tensor(name, tensor2, "tensor2", 3)
    if (
        name == "addcdiv"
        and tensor1._data.dtype.kind in "iub"
        and tensor2._data.dtype.kind in "iub"
    ):
        raise RuntimeError(_INTEGER_ADDCDIV)
    a, b, c = input._data, tensor1._data, tensor2._data
    broadcast_shapes(a.shape, b.shape, c.shape)
    pair = _dt.result_type(tensor1.dtype, b.ndim, tensor2.dtype, c.ndim)
    target = _dt.result_type(input.dtype, a.ndim, pair, max(b.ndim, c.ndim)).np
    if isinstance(value, Tensor):
        value = value.item()
    # PyTorch converts ``value`` to the result's type (``value=0.5`` on integers is 0)
    value = np.asarray(value).astype(target)[()]
    return a.astype(target, copy=False), b.astype(target), c.astype(target), value


@quiet
def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    a, b, c, value = _addc("addcmul", input, tensor1, tensor2, value)
    # each factor is saved only for the other's gradient, as in PyTorch
    saved = (tensor1 if needs_grad(tensor2) else None, tensor2 if needs_grad(tensor1) else None)
    return result(a + value * b * c, AddcmulBackward0, (input, tensor1, tensor2), saved, value)


@quiet
def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``."""
    a, b, c, value = _addc("addcdiv", input, tensor1, tensor2, value)
    out = as_data(a + value * b / c).astype(a.dtype, copy=False)
    saved = (tensor1 if needs_grad(tensor2) else None, tensor2)  # (what PyTorch saves)
    return result(out, AddcdivBackward0, (input, tensor1, tensor2), saved, value)


def _addc_samples(make, shape):
    x, y, z = make(shape), make(shape), make(shape, low=0.5, high=2.0)
    samples = [((x, y, z), {}), ((x, y, z), {"value": -0.5})]
    if shape:
        samples.append(((x, make(shape[-1:]), make((), low=0.5, high=2.0)), {"value": 2}))
    return samples


register(
    "addcmul",
    addcmul,
    reference=lambda a, b, c, value=1: a + value * b * c,
    nin=3,
    any_shape=True,
    samples=shaped(_addc_samples),
    out="cast",
)
register(
    "addcdiv",
    addcdiv,
    reference=lambda a, b, c, value=1: a + value * b / c,
    nin=3,
    any_shape=True,
    samples=shaped(_addc_samples),
    out="cast",
)


# -- logit -----------------------------------------------------------------------------------
@quiet
def _logit_backward(ctx, grad, x):
    # PyTorch: outside [eps, 1 - eps] the gradient is 0; without eps, outside [0, 1] it is NaN
    eps = ctx._args
    data = x if _dual._is_array(x) else x._data
    if eps is None:
        outside, fill = (data < 0) | (data > 1), np.nan
    else:
        outside, fill = (data < eps) | (data > 1 - eps), 0.0
    inside = grad / (x * (1 - x))
    return (_dual.where(outside, inside * 0 + fill, inside),)


LogitBackward0 = node_class("LogitBackward0", _logit_backward, jvp=ELEMENTWISE)


def _float_data(input):
    data = input._data
    return data if data.dtype.kind == "f" else data.astype(_dt.get_default_dtype().np)


@quiet
def logit(input, eps=None):
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    data = _float_data(input)
    z = data if eps is None else np.clip(data, eps, 1 - eps)
    out = as_data(np.log(z / (1 - z))).astype(data.dtype, copy=False)
    return result(out, LogitBackward0, (input,), (input,), eps)


register(
    "logit",
    logit,
    reference=quiet(
        lambda x, eps=None: np.log((z := x if eps is None else np.clip(x, eps, 1 - eps)) / (1 - z))
    ),
    any_shape=True,
    samples=shaped(
        lambda make, shape: [
            ((make(shape, low=0.05, high=0.95),), {}),
            ((make(shape, low=0.3, high=0.7), 0.2), {}),
        ]
    ),
    out="cast",
)


# -- deg2rad / rad2deg -----------------------------------------------------------------------
def _scaling(name, node_name, factor):
    node = node_class(node_name, lambda ctx, grad: (grad * factor,))

    def scaled(input):
        data = _float_data(input)
        return result(as_data(data * factor).astype(data.dtype, copy=False), node, (input,))

    scaled.__name__ = name
    return scaled


deg2rad = _scaling("deg2rad", "Deg2RadBackward0", np.pi / 180)
deg2rad.__doc__ = """Degrees to radians."""
rad2deg = _scaling("rad2deg", "Rad2DegBackward0", 180 / np.pi)
rad2deg.__doc__ = """Radians to degrees."""
register("deg2rad", deg2rad, reference=np.deg2rad, domain=(-200.0, 200.0), out="cast")
register("rad2deg", rad2deg, reference=np.rad2deg, out="cast")


# -- float_power -----------------------------------------------------------------------------
def _double(value):
    if isinstance(value, Tensor):
        kind = value._data.dtype.kind
        return value.to(_dt.complex128 if kind == "c" else _dt.float64)
    return complex(value) if isinstance(value, complex) else float(value)


def float_power(input, exponent):
    """``input ** exponent`` computed in double precision (the result is always float64)."""
    from glassgrad.ops.elementwise.power import pow as tpow

    # a number base gives PowBackward2 and a number exponent PowBackward0, as in PyTorch
    return tpow(_double(input), _double(exponent))


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
Tensor.float_power_ = _float_power_


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
Tensor.__lshift__ = bitwise_left_shift
Tensor.__rshift__ = bitwise_right_shift
Tensor.__rlshift__ = lambda self, other: bitwise_left_shift(as_tensor_arg(other, self), self)
Tensor.__rrshift__ = lambda self, other: bitwise_right_shift(as_tensor_arg(other, self), self)
