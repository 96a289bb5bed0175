"""Unary elementwise math. Each row: name, NumPy forward, backward rule, what the rule saves.

Float-only ops (``exp``, ``log``, ...) compute integer and bool inputs in the default float
dtype, as PyTorch does; ``kind`` says how each op treats non-float inputs.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.special as _sc

from glassgrad import _bfloat16, _device
from glassgrad import _memory_format as _mf
from glassgrad import dtypes as _dt
from glassgrad._bfloat16 import floating as _floating
from glassgrad.autograd.forward_rules import ELEMENTWISE
from glassgrad.autograd.node import node_class
from glassgrad.autograd.record import OUT, SAVE_OUTPUT, result, result1
from glassgrad.backend import quiet
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import register
from glassgrad.tensor import Tensor, tensor_method

_SAVE = {
    "input": lambda t: (t,),
    "output": lambda t: SAVE_OUTPUT,
    "both": lambda t: (t, OUT),
    None: lambda t: None,
}
_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_NEG_BOOL = (
    "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert "
    "a mask, use the `~` or `logical_not()` operator instead."
)


def check_kind(name, data, kind, kernel=None):
    """``data`` as the op computes it: promoted to the default float, kept, or refused."""
    if _floating(data) or kind == "any":
        return data
    if data.dtype.kind == "c":
        if name in _COMPLEX_OK:
            return data
        raise NotImplementedError(
            f'"{kernel or name + "_cpu"}" not implemented for {_complex(data)}'
        )
    if data.dtype.kind == "V" and _bfloat16.is_bfloat16(data):
        return data  # ml_dtypes' ufuncs compute in float32 and round, as PyTorch's kernels
    if kind == "float":
        return data.astype(_dt.get_default_dtype().np)
    if kind == "int" and data.dtype.kind != "b":
        return data
    if name == "neg":
        raise RuntimeError(_NEG_BOOL)
    from glassgrad.tensor import _c_type

    raise NotImplementedError(
        f'"{kernel or name + "_cpu"}" not implemented for '
        f"'{_c_type(_dt.from_numpy_dtype(data.dtype))}'"
    )


# Unary ops PyTorch computes on complex numbers (the others refuse them, as PyTorch does); their
# gradients are holomorphic rules conjugated (see ``complex_rule``) unless noted at the op.
_COMPLEX_OK = frozenset(
    "neg exp exp2 expm1 log log2 log10 log1p sqrt rsqrt reciprocal sin cos tan asin acos atan "
    "sinh cosh tanh sigmoid abs sgn square".split()
)


def _complex(data):
    return "'ComplexFloat'" if data.dtype == np.complex64 else "'ComplexDouble'"


# Ops whose forward or gradient reaches inf or nan at ordinary inputs (log(0), sqrt'(0), exp
# overflow): PyTorch computes those silently, NumPy warns. Only these pay for silencing it.
_QUIET = frozenset(
    "exp exp2 expm1 log log2 log10 log1p sqrt rsqrt reciprocal tan asin acos sinh cosh".split()
)


def elementwise(
    name, forward, rule, save, *, kind="float", kernel=None, grad_fn=None, bfloat16=True, **info
):
    """Define, register and return a unary elementwise op.

    Args:
        forward: the NumPy function (also the op's reference for the table tests).
        rule: ``rule(ctx, grad, saved)`` returning the input's gradient, or None if the op is not
            differentiable (its result never requires grad).
        save: "input", "output", "both" (input, output) or None: what ``rule`` receives as
            ``saved``.
        kind: "float" (non-float inputs compute in the default float dtype), "int" (integers
            kept, bool refused), "floatonly" (non-float refused) or "any" (every dtype kept).
        kernel: the kernel name PyTorch's NotImplementedError names for a refused dtype.
        bfloat16: False where PyTorch's kernel has no bfloat16 version (refused, as there).
    """
    cls = None
    if name in _QUIET:
        forward, rule = quiet(forward), (quiet(rule) if rule is not None else None)
    if rule is not None:
        title = grad_fn or "".join(part.title() for part in name.split("_")) + "Backward0"
        cls = node_class(title, (lambda ctx, grad, *s: (rule(ctx, grad, *s),)), jvp=ELEMENTWISE)
    pack = _SAVE[save]

    def op(input):
        data = check_kind(name, input._data, kind, kernel)
        if not bfloat16:
            _bfloat16.refuse(data, kernel or name + "_cpu")
        return result1(forward(data), cls, input, pack(input))

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}``."
    info.setdefault("any_shape", True)
    info.setdefault(
        "dtypes", ("float64", "float32", "int64") if kind == "float" else ("float64", "float32")
    )
    # out=: ops that keep their input's dtype want it in out too; the others cast into out
    info.setdefault("out", "same" if kind == "int" else "cast")
    register(name, op, reference=forward, differentiable=rule is not None, **info)
    return op


def _sigmoid(x):
    if x.dtype.kind == "c":
        return 1 / (1 + np.exp(-x))  # (no order on complex numbers, no stable branch)
    # exp of a large negative input would overflow: use the form that never does
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def scipy_values(fn):
    """``fn`` (a SciPy ufunc) on an array in its own float dtype: float32 and float64 run
    SciPy's own loops; other floats (half, bfloat16) are computed in float64 and cast back."""

    def values(x):
        if x.dtype.type is np.float32 or x.dtype.type is np.float64:
            return fn(x)
        return fn(x.astype(np.float64)).astype(x.dtype)

    return values


# (SciPy's erf gives PyTorch's values, float32 included; exact GELU runs on it)
_erf = scipy_values(_sc.erf)


def _sqrt(x):
    return D.call("sqrt", x)


def _rsqrt(x):
    return 1 / np.sqrt(x) if D._is_array(x) else D.call("rsqrt", x)


def _times_number(x, value):
    """``x * value``; on tensors recorded as PyTorch's Scalar overload (``MulBackward1``), as
    its derivative formulas multiply by C++ numbers."""
    if D._is_array(x):
        return x * value
    from glassgrad.ops.nn.common import mul_scalar

    return mul_scalar(x, value)


neg = elementwise(
    "neg",
    np.negative,
    lambda ctx, grad: -grad,
    None,
    kind="int",
    aliases=("negative",),
    dtypes=("float64", "float32", "int64"),
)
exp = elementwise("exp", np.exp, lambda ctx, grad, out: grad * out, "output")
exp2 = elementwise(
    "exp2", np.exp2, lambda ctx, grad, out: _times_number(grad * out, _LN2), "output"
)
expm1 = elementwise("expm1", np.expm1, lambda ctx, grad, out: grad * (out + 1), "output")
log = elementwise("log", np.log, lambda ctx, grad, x: grad / x, "input", domain=(0.2, 3.0))
log2 = elementwise(
    "log2", np.log2, lambda ctx, grad, x: grad / (x * _LN2), "input", domain=(0.2, 3.0)
)
log10 = elementwise(
    "log10", np.log10, lambda ctx, grad, x: grad / (x * _LN10), "input", domain=(0.2, 3.0)
)
log1p = elementwise(
    "log1p",
    np.log1p,
    lambda ctx, grad, x: grad / (x + 1),
    "input",
    domain=(-0.7, 3.0),
    grad_fn="Log1PBackward0",
)
sqrt = elementwise(
    "sqrt", np.sqrt, lambda ctx, grad, out: grad / (2 * out), "output", domain=(0.2, 3.0)
)
rsqrt = elementwise(
    "rsqrt",
    lambda x: 1 / np.sqrt(x),
    lambda ctx, grad, out: grad * out * out * out * -0.5,
    "output",
    domain=(0.2, 3.0),
)
reciprocal = elementwise(
    "reciprocal",
    lambda x: np.reciprocal(x) if x.dtype.kind != "c" else np.true_divide(1, x),
    lambda ctx, grad, out: -grad * out * out,
    "output",
    domain=(0.3, 2.0),
)
sin = elementwise("sin", np.sin, lambda ctx, grad, x: grad * D.call("cos", x), "input")
cos = elementwise("cos", np.cos, lambda ctx, grad, x: -grad * D.call("sin", x), "input")
tan = elementwise(
    "tan", np.tan, lambda ctx, grad, out: grad * (out * out + 1), "output", domain=(-1.2, 1.2)
)
asin = elementwise(
    "asin",
    np.arcsin,
    lambda ctx, grad, x: grad * _rsqrt(1 - x * x),  # (PyTorch's formula, and its last node)
    "input",
    domain=(-0.9, 0.9),
    aliases=("arcsin",),
)
acos = elementwise(
    "acos",
    np.arccos,
    lambda ctx, grad, x: grad * -_rsqrt(1 - x * x),
    "input",
    domain=(-0.9, 0.9),
    aliases=("arccos",),
)
atan = elementwise(
    "atan", np.arctan, lambda ctx, grad, x: grad / (x * x + 1), "input", aliases=("arctan",)
)
sinh = elementwise("sinh", np.sinh, lambda ctx, grad, x: grad * D.call("cosh", x), "input")
cosh = elementwise("cosh", np.cosh, lambda ctx, grad, x: grad * D.call("sinh", x), "input")
tanh = elementwise("tanh", np.tanh, lambda ctx, grad, out: D.tanh_grad(grad, out), "output")
sigmoid = elementwise(
    "sigmoid", _sigmoid, lambda ctx, grad, out: D.sigmoid_grad(grad, out), "output"
)
erf = elementwise(
    "erf", _erf, lambda ctx, grad, x: grad * D.exp(-x * x) * _TWO_OVER_SQRT_PI, "input"
)
abs = elementwise(
    "abs",
    np.abs,
    lambda ctx, grad, x: grad * D.sign(x),
    "input",  # noqa: A001
    kind="int",
    aliases=("absolute",),
    dtypes=("float64", "float32", "int64"),
)


def keep_inside(out, x):
    """``out`` (``x`` clipped) where it differs from ``x``, else ``x`` itself: PyTorch's clamps
    replace only values strictly outside the bounds, so a -0.0 against a bound of 0 stays -0.0."""
    return np.where(out == x, x, out) if _floating(x) else out


def _relu(x):
    if x.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    if x.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    # zero first: NumPy's maximum returns its second operand on ties, so relu(-0.0) is -0.0 as
    # in PyTorch (and NaN stays NaN), at a third of np.where's cost
    return np.maximum(x.dtype.type(0), x)


def _relu_backward(ctx, grad, out):
    # PyTorch's threshold_backward: 0 where out <= 0, grad elsewhere (a NaN output passes it on).
    # It keeps the output in the graph (with a zero derivative), so a gradient through relu
    # alone still requires grad and can be differentiated again.
    return D.select(~(out <= 0), grad, out)


relu = elementwise(
    "relu",
    _relu,
    _relu_backward,
    "output",
    kind="any",
    dtypes=("float64", "float32", "int64"),
    out=None,  # torch.relu takes no out=
)


def square(input):
    """``input ** 2`` (PyTorch records it as ``PowBackward0``; bool squares to int64)."""
    if input._data.dtype.kind == "b":
        input = to_dtype(input, _dt.int64)
    return input**2


register(
    "square",
    square,
    reference=np.square,
    any_shape=True,
    dtypes=("float64", "float32", "int64"),
    out={"dtype": "cast", "grad_name": "pow"},
)
CloneBackward0 = node_class("CloneBackward0", lambda ctx, grad: (grad,), jvp=ELEMENTWISE)


def clone(input, *, memory_format=None):
    """A copy of ``input`` that stays in the graph."""
    if memory_format is None:
        return result(input._data.copy(), CloneBackward0, (input,))
    _mf.check(memory_format, "clone")
    return result(_mf.arrange(input._data, memory_format, copy=True), CloneBackward0, (input,))


register("clone", clone)

ToCopyBackward0 = node_class("ToCopyBackward0", lambda ctx, grad: (grad,), jvp=ELEMENTWISE)


def to_dtype(input, dtype, copy=False):
    """``input`` converted to ``dtype`` (the same tensor when nothing changes and no copy)."""
    dtype = _dt.to_dtype(dtype)
    if dtype is _dt.bfloat16:
        _bfloat16.used()
    if input._data.dtype == dtype.np and not copy:
        return input
    data = input._data
    if data.dtype.kind == "c" and not dtype.is_complex:
        # from this fixed line, so the default filter shows it once, as PyTorch warns once
        warnings.warn("Casting complex values to real discards the imaginary part", stacklevel=1)
        data = data.real
    if not (dtype.is_floating_point or dtype.is_complex):
        return result(data.astype(dtype.np), None, (input,))
    return result(data.astype(dtype.np), ToCopyBackward0, (input,))


def _is_dtype(value) -> bool:
    return isinstance(value, (_dt.dtype, type, np.dtype)) or (
        isinstance(value, str) and value.startswith("torch.")
    )


def _to(self, *args, **kwargs):
    """``tensor.to(dtype)`` / ``.to(device, dtype)`` / ``.to(other)``: a copy only when needed.

    Any device but the CPU raises what PyTorch's CPU build raises, never a silent CPU tensor.
    """
    dtype = kwargs.get("dtype")
    device = kwargs.get("device")
    rest = list(args)
    if rest:
        first = rest[0]
        if isinstance(first, Tensor):
            dtype = rest.pop(0).dtype  # its device is the CPU, like ours
        elif _is_dtype(first):
            dtype = rest.pop(0)
        elif isinstance(first, (str, _device.device, int)) and not isinstance(first, bool):
            device = rest.pop(0)
            if rest and _is_dtype(rest[0]):
                dtype = rest.pop(0)
    if device is not None:
        _device.check_move(device)
    copy = kwargs.get("copy", rest[1] if len(rest) > 1 else False)
    fmt = kwargs.get("memory_format")
    out = self if dtype is None and not copy else to_dtype(self, dtype or self.dtype, copy)
    if fmt is not None and fmt is not _mf.preserve_format:
        _mf.check(fmt, "to")
        arranged = _mf.arrange(out._data, fmt, copy=False)
        if arranged is not out._data:
            out = result(arranged, ToCopyBackward0, (self,))
    return out


def _cpu(self, memory_format=None):
    """This tensor (it already lives on the CPU)."""
    return self


def _cuda(self, device=None, non_blocking=False, memory_format=None):
    """PyTorch's CPU build has no CUDA: the same error as there."""
    _device.check_cuda(device)


def _move_to(name):
    def method(self, device=None, non_blocking=False, memory_format=None):
        _device.check_move(name)

    method.__name__ = name
    method.__doc__ = f"PyTorch's CPU build has no {name} device: the same error as there."
    return method


tensor_method(_to, "to")
tensor_method(clone, "clone")
for _name, _dtype in (
    ("float", _dt.float32),
    ("double", _dt.float64),
    ("half", _dt.float16),
    ("bfloat16", _dt.bfloat16),
    ("long", _dt.int64),
    ("int", _dt.int32),
    ("short", _dt.int16),
    ("char", _dt.int8),
    ("byte", _dt.uint8),
    ("bool", _dt.bool_),
    ("cfloat", _dt.complex64),
    ("cdouble", _dt.complex128),
    ("chalf", _dt.complex32),
):
    tensor_method((lambda d: lambda self, memory_format=None: to_dtype(self, d))(_dtype), _name)
tensor_method(_cpu, "cpu")
tensor_method(_cuda, "cuda")
tensor_method(_move_to("xpu"), "xpu")
tensor_method(_move_to("ipu"), "ipu")
tensor_method(neg, "__neg__")
tensor_method(abs, "__abs__")
tensor_method(lambda self: self, "__pos__")


def _type(self, dtype=None, non_blocking=False, **kwargs):
    """The PyTorch type name (``'torch.FloatTensor'``), or a conversion to a dtype, a typed
    class (``torch.LongTensor``) or its name (``'torch.LongTensor'``)."""
    from glassgrad._tensor_data import TYPED, tensortype

    if dtype is None:
        return f"torch.{self.dtype._legacy}"
    if isinstance(dtype, tensortype):
        return to_dtype(self, dtype.dtype)
    if dtype is Tensor:
        return to_dtype(self, _dt.get_default_dtype())  # the default type's class
    if isinstance(dtype, str):
        if dtype.startswith("torch.cuda."):
            _no_cuda()
        found = TYPED.get(dtype[6:]) if dtype.startswith("torch.") else None
        if found is None and dtype != "torch.Tensor":
            raise ValueError(f"invalid type: {dtype!r}")
        return to_dtype(self, found.dtype if found else _dt.get_default_dtype())
    return to_dtype(self, dtype)


tensor_method(_type, "type")


def _no_cuda():
    raise AssertionError("Torch not compiled with CUDA enabled")
