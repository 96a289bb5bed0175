"""Integer-style division (``//``, ``%``, ``fmod``), ``maximum``/``minimum``, ``atan2``, and the
fused ``addcmul``/``addcdiv`` (``input + value * t1 * t2`` or ``/``) of hand-written optimizers."""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad._batched import as_data
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import needs_grad, result
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops._sampling import binary_samples, shaped
from glassgrad.ops._sampling import positive_samples as _positive
from glassgrad.ops.elementwise.binary import _other, _promote, _tensor_or_none, broadcast_shapes
from glassgrad.ops.registry import as_tensor_arg, register
from glassgrad.tensor import Tensor, tensor_method


# -- integer-style division ------------------------------------------------------------------
def _not_implemented(ctx, grad):
    raise RuntimeError(f"derivative for aten::{ctx._args} is not implemented")


# PyTorch records these ops but has no derivative for them: backward through them raises.
NotImplementedNode = node_class("NotImplemented", _not_implemented)
# PyTorch numbers its error nodes UINT64_MAX, as it does AccumulateGrad: the engine runs one as
# soon as it is ready, so the backward fails before older nodes write any leaf's .grad
NotImplementedNode._seq = property(lambda self: 2**64 - 1, lambda self, value: None)


def _divide_like(name, ufunc, input, other, cls, saved_other=True):
    """Shared body of ``floor_divide``/``remainder``/``fmod``: promote, refuse integer /0."""
    ad, bd = _promote(input, other)
    if ad.dtype.kind == "b":
        kernel = {"floor_divide": "div_floor"}.get(name, name)
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for 'Bool'")
    if ad.dtype.kind in "iu" and np.any(np.equal(bd, 0)):
        raise RuntimeError("ZeroDivisionError")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = ufunc(ad, bd)
    tensor_other = _tensor_or_none(other)
    # a number operand gets no edge, as in PyTorch's next_functions
    inputs = (input,) if tensor_other is None else (input, tensor_other)
    if cls is None:
        return result(out, NotImplementedNode, inputs, args=name)
    if tensor_other is None:
        return result(out, cls, inputs)
    # the operands serve only ``other``'s gradient: PyTorch saves them only if it needs one
    saved = (input, tensor_other) if needs_grad(tensor_other) else (None, None)
    return result(out, cls, inputs, saved)


def _scalar_input(value, other):
    """A Python number ``input`` as a tensor of the dtype it takes beside ``other``: PyTorch wraps
    numbers weakly, so ``3 // int8_tensor`` stays int8."""
    if isinstance(other, Tensor):
        return as_tensor_arg(value).to(_dt.result_type_scalar(other.dtype, value))
    return as_tensor_arg(value)


def floor_divide(input, other):
    """Division rounded toward negative infinity (no derivative, as in PyTorch)."""
    if not isinstance(input, Tensor):
        return floor_divide(_scalar_input(input, other), other)
    other = _other(other)
    return (
        NotImplemented
        if other is None
        else _divide_like("floor_divide", np.floor_divide, input, other, None)
    )


def _floor_div_values(a, b):
    return D.call("floor", a / b)


def _trunc_div_values(a, b):
    return D.call("trunc", a / b)


RemainderBackward0 = node_class("RemainderBackward0", lambda ctx, grad: (grad,), jvp=ELEMENTWISE)
RemainderBackward1 = node_class(
    "RemainderBackward1",
    lambda ctx, grad, a, b: (grad, None if a is None else -grad * _floor_div_values(a, b)),
    jvp=ELEMENTWISE,
)
FmodBackward0 = node_class("FmodBackward0", lambda ctx, grad: (grad,), jvp=ELEMENTWISE)
FmodBackward1 = node_class(
    "FmodBackward1",
    lambda ctx, grad, a, b: (grad, None if a is None else -grad * _trunc_div_values(a, b)),
    jvp=ELEMENTWISE,
)


def _remainder(a, b):
    """PyTorch's float remainder: ``fmod``, moved by ``b`` when its sign differs from ``b``'s
    (so a zero keeps the dividend's sign: ``remainder(-0.0, 1.5)`` is -0.0, unlike NumPy's)."""
    if not _floating(a):
        return np.remainder(a, b)
    mod = np.fmod(a, b)
    return np.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)


def remainder(input, other):
    """Python-style modulus: the result has the sign of the divisor."""
    if not isinstance(input, Tensor):
        input = _scalar_input(input, other)
        return _divide_like("remainder", _remainder, input, other, None)
    other = _other(other)
    if other is None:
        return NotImplemented
    cls = RemainderBackward1 if isinstance(other, Tensor) else RemainderBackward0
    return _divide_like("remainder", _remainder, input, other, cls)


def fmod(input, other):
    """C-style modulus: the result has the sign of the dividend."""
    other = _other(other)
    if other is None:
        return NotImplemented  # (raised as PyTorch's TypeError by the registered forms)
    cls = FmodBackward1 if isinstance(other, Tensor) else FmodBackward0
    return _divide_like("fmod", np.fmod, input, other, cls)


# -- maximum / minimum / atan2 ---------------------------------------------------------------
def _extremum_backward(ctx, grad, a, b):
    # PyTorch's formula: ties share the gradient evenly, the loser gets 0 (selected, so an inf
    # gradient gives no NaN), and with a NaN operand both get it whole
    a, b = _arr(a), _arr(b)
    half = D.where(a == b, grad / 2, grad)
    loses = a < b if ctx._args else a > b
    return D.select(~loses, half), D.select(~(b < a if ctx._args else b > a), half)


def _arr(x):
    return x._data if isinstance(x, Tensor) else x


MaximumBackward0 = node_class("MaximumBackward0", _extremum_backward, jvp=ELEMENTWISE)
MinimumBackward0 = node_class("MinimumBackward0", _extremum_backward, jvp=ELEMENTWISE)
MaximumBackward0._other_first = MinimumBackward0._other_first = True  # (see Node)


def _need_tensor(name, input, other):
    for position, (argument, value) in enumerate((("input", input), ("other", other)), 1):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"{name}(): argument '{argument}' (position {position}) must be Tensor, "
                f"not {type(value).__name__}"
            )


def maximum(input, other):
    """Elementwise maximum (NaN propagates; ties split the gradient)."""
    _need_tensor("maximum", input, other)
    ad, bd = _promote(input, other)
    if ad.dtype.kind == "c":
        raise RuntimeError("maximum not implemented for complex tensors.")
    return result(np.maximum(ad, bd), MaximumBackward0, (input, other), (input, other), args=True)


def minimum(input, other):
    """Elementwise minimum (NaN propagates; ties split the gradient)."""
    _need_tensor("minimum", input, other)
    ad, bd = _promote(input, other)
    if ad.dtype.kind == "c":
        raise RuntimeError("minimum not implemented for complex tensors.")
    return result(np.minimum(ad, bd), MinimumBackward0, (input, other), (input, other), args=False)


def _atan2_backward(ctx, grad, a, b):
    # PyTorch's factor is 0 at the origin (where 1 / (a^2 + b^2) is inf); it multiplies grad
    denominator = a * a + b * b
    at_origin = _arr(denominator) == 0
    zero = D.zeros_like(denominator)
    scale = 1 / D.where(at_origin, zero + 1, denominator)
    return grad * D.where(at_origin, zero, scale * b), grad * D.where(at_origin, zero, -scale * a)


Atan2Backward0 = node_class("Atan2Backward0", _atan2_backward, jvp=ELEMENTWISE)
Atan2Backward0._other_first = True  # (see Node)


def atan2(input, other):
    """Elementwise ``atan(input / other)`` with the quadrant of ``(other, input)``."""
    _need_tensor("atan2", input, other)
    ad, bd = _promote(input, other)
    _dt.refuse_complex(ad, "atan2_cpu")
    if not _floating(ad):
        ad = ad.astype(_dt.get_default_dtype().np)
        bd = bd.astype(ad.dtype)
    return result(np.arctan2(ad, bd), Atan2Backward0, (input, other), (input, other))


def _install():
    """Registrations and Python operators for the ops in this file."""
    for name, fn, samples, reference, aliases in (
        ("remainder", remainder, _positive, np.remainder, ()),
        ("fmod", fmod, _positive, np.fmod, ()),
        ("maximum", maximum, binary_samples, np.maximum, ()),
        ("minimum", minimum, binary_samples, np.minimum, ()),
        ("atan2", atan2, binary_samples, np.arctan2, ("arctan2",)),
    ):
        register(
            name,
            fn,
            aliases=aliases,
            nin=2,
            samples=shaped(samples),
            reference=reference,
            any_shape=True,
            strict=name in ("remainder", "fmod"),  # they return NotImplemented for operators
            out="cast",
        )
    register(
        "floor_divide",
        floor_divide,
        nin=2,
        samples=shaped(_positive),
        reference=np.floor_divide,
        any_shape=True,
        differentiable=False,
        dtypes=("float64", "int64"),
        strict=True,
        out={"dtype": "cast", "grad_name": None, "out_grad_name": "aten::floor_divide"},
    )
    tensor_method(floor_divide, "__floordiv__")
    tensor_method(lambda self, other: floor_divide(other, self), "__rfloordiv__")
    tensor_method(remainder, "__mod__")
    tensor_method(lambda self, other: remainder(other, self), "__rmod__")


_install()


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
