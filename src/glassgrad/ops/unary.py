"""Unary elementwise ops. Each row: name, NumPy forward, backward rule, what the rule saves.

Float-only ops (``exp``, ``log``, ...) compute integer inputs in the default float dtype, as
PyTorch does; the others keep the input's dtype.
"""

from __future__ import annotations

import numpy as np

from glassgrad import dtypes as _dt
from glassgrad.ops import _dual as D
from glassgrad.ops.registry import OUT, Tensor, node_class, register, result

_SAVE = {"input": lambda t: (t,), "output": lambda t: (OUT,), None: lambda t: None}


def elementwise(name, forward, rule, save, *, float_only=True, grad_fn=None, **info):
    """Define, register and return a unary elementwise op.

    Args:
        forward: the NumPy function (also the op's reference for the table tests).
        rule: ``rule(ctx, grad, saved)`` returning the input's gradient, or None if the op is not
            differentiable (its result never requires grad).
        save: "input", "output" or None: what ``rule`` receives as ``saved``.
    """
    cls = None
    if rule is not None:
        title = grad_fn or "".join(part.title() for part in name.split("_")) + "Backward0"
        cls = node_class(title, (lambda ctx, grad, *s: (rule(ctx, grad, *s),)))
    pack = _SAVE[save]

    def op(input, *, out=None):
        data = input._data
        if float_only and data.dtype.kind != "f":
            data = data.astype(_dt.get_default_dtype().np)
        return result(forward(data), cls, (input,), pack(input))

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}``."
    register(name, op, reference=forward, differentiable=rule is not None, **info)
    return op


def _relu(x):
    return np.maximum(x, 0) if x.dtype.kind != "b" else x


neg = elementwise("neg", np.negative, lambda ctx, grad: -grad, None, float_only=False,
                  aliases=("negative",))
exp = elementwise("exp", np.exp, lambda ctx, grad, out: grad * out, "output")
log = elementwise("log", np.log, lambda ctx, grad, x: grad / x, "input", domain=(0.2, 3.0))
tanh = elementwise("tanh", np.tanh, lambda ctx, grad, out: grad * (1 - out * out), "output")
sigmoid = elementwise("sigmoid", lambda x: _sigmoid(x),
                      lambda ctx, grad, out: grad * out * (1 - out), "output")
relu = elementwise("relu", _relu, lambda ctx, grad, out: grad * (out > 0), "output",
                   float_only=False)
sqrt = elementwise("sqrt", np.sqrt, lambda ctx, grad, out: grad / (2 * out), "output",
                   domain=(0.2, 3.0))
abs = elementwise("abs", np.abs, lambda ctx, grad, x: grad * D.call("sign", x), "input",  # noqa: A001
                  float_only=False, aliases=("absolute",))
reciprocal = elementwise("reciprocal", np.reciprocal,
                         lambda ctx, grad, out: -grad * out * out, "output", domain=(0.3, 2.0))
sin = elementwise("sin", np.sin, lambda ctx, grad, x: grad * D.call("cos", x), "input")
cos = elementwise("cos", np.cos, lambda ctx, grad, x: -grad * D.call("sin", x), "input")


def _sigmoid(x):
    # exp of a large negative input would overflow: use the form that never does
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1 / (1 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1 + e)
    return out


def square(input):
    """``input ** 2`` (PyTorch records it as ``PowBackward0``)."""
    return input ** 2


register("square", square)

CloneBackward0 = node_class("CloneBackward0", lambda ctx, grad: (grad,))


def clone(input, *, memory_format=None):
    """A copy of ``input`` that stays in the graph."""
    return result(input._data.copy(), CloneBackward0, (input,))


register("clone", clone)

ToCopyBackward0 = node_class("ToCopyBackward0", lambda ctx, grad: (grad,))


def to_dtype(input, dtype, copy=False):
    """``input`` converted to ``dtype`` (the same tensor when nothing changes and no copy)."""
    dtype = _dt.to_dtype(dtype)
    if input._data.dtype == dtype.np and not copy:
        return input
    if not dtype.is_floating_point:
        return result(input._data.astype(dtype.np), None, (input,))
    return result(input._data.astype(dtype.np), ToCopyBackward0, (input,))


def _to(self, *args, **kwargs):
    """``tensor.to(dtype)`` / ``.to(device)`` / ``.to(other)``: devices are all the CPU here."""
    dtype = kwargs.get("dtype")
    copy = kwargs.get("copy", False)
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, (_dt.dtype, type, np.dtype)) and not isinstance(arg, str):
            dtype = arg
        elif isinstance(arg, str) and arg.startswith("torch."):
            dtype = arg
    return self if dtype is None and not copy else to_dtype(self, dtype or self.dtype, copy)


Tensor.to = _to
Tensor.clone = clone
for _name, _dtype in (("float", _dt.float32), ("double", _dt.float64), ("half", _dt.float16),
                      ("long", _dt.int64), ("int", _dt.int32), ("short", _dt.int16),
                      ("char", _dt.int8), ("byte", _dt.uint8), ("bool", _dt.bool_)):
    setattr(Tensor, _name, (lambda d: lambda self, memory_format=None: to_dtype(self, d))(_dtype))
Tensor.cpu = lambda self, memory_format=None: self
Tensor.cuda = lambda self, *a, **k: _no_cuda()
Tensor.__neg__ = neg
Tensor.__abs__ = abs
Tensor.__pos__ = lambda self: self


def _type(self, dtype=None, non_blocking=False):
    """The PyTorch type name (``'torch.FloatTensor'``), or a conversion when given a dtype."""
    if dtype is None:
        return f"torch.{self.dtype._legacy}"
    return to_dtype(self, dtype)


Tensor.type = _type


def _no_cuda():
    raise AssertionError("Torch not compiled with CUDA enabled")


def _clamp_backward(ctx, grad, x, low, high):
    keep = True
    if low is not None:
        keep = x >= low
    if high is not None:
        keep = (x <= high) & keep if low is not None else x <= high
    return grad * keep, None, None


ClampBackward1 = node_class("ClampBackward1", _clamp_backward)


def clamp(input, min=None, max=None, *, out=None):  # noqa: A002 - PyTorch's names
    """Limit values to ``[min, max]`` (gradient 1 inside, boundaries included; 0 outside)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    low = min._data if isinstance(min, Tensor) else min
    high = max._data if isinstance(max, Tensor) else max
    data = input._data
    out_data = data
    if low is not None:
        out_data = np.maximum(out_data, low)
    if high is not None:
        out_data = np.minimum(out_data, high)
    if out_data.dtype != data.dtype and not isinstance(min, Tensor) and not isinstance(max, Tensor):
        out_data = out_data.astype(
            _dt.result_type_scalar(input.dtype, low if low is not None else high).np)
    inputs = (input, min if isinstance(min, Tensor) else None,
              max if isinstance(max, Tensor) else None)
    return result(out_data, ClampBackward1, inputs, (input, low, high))


register("clamp", clamp, aliases=("clip",))
