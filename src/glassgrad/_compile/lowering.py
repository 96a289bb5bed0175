"""The ops a plan writes out as array expressions, with their derivatives.

A recorded call is lowered when it is one of the primitives below on floating tensors of one
dtype (Python numbers beside them), so that NumPy computes exactly what the eager op computes:
eager casts its operands to the result dtype first, and here they already have it. Anything
else (integer or mixed dtypes, keyword options) stays opaque and runs as the op itself.

A lowered op is ``(prim, operands, out_slot)``; an operand is ``("v", slot)`` or
``("c", number)``.
"""

from __future__ import annotations

import re

import numpy as np

# recorded name -> (primitive, operand order): "s" the tensor itself, "o" the other argument
_BINARY = {
    "add": ("add", "so"),
    "__add__": ("add", "so"),
    "__radd__": ("add", "os"),
    "sub": ("sub", "so"),
    "subtract": ("sub", "so"),
    "__sub__": ("sub", "so"),
    "__rsub__": ("sub", "os"),
    "mul": ("mul", "so"),
    "multiply": ("mul", "so"),
    "__mul__": ("mul", "so"),
    "__rmul__": ("mul", "os"),
    "div": ("div", "so"),
    "divide": ("div", "so"),
    "true_divide": ("div", "so"),
    "__truediv__": ("div", "so"),
    "__rtruediv__": ("div", "os"),
}
_UNARY = {
    "neg": "neg",
    "negative": "neg",
    "__neg__": "neg",
    "tanh": "tanh",
    "exp": "exp",
    "sin": "sin",
    "cos": "cos",
    "log": "log",
    "sqrt": "sqrt",
    "sigmoid": "sigmoid",
    "relu": "relu",
    "square": "square",
}
_POW = ("pow", "__pow__")
_REDUCE = {"sum": "sumall", "mean": "meanall"}
# the primitives whose NumPy form is a transcendental function: fusing them into a compiled
# loop would trade NumPy's vectorised implementation for a scalar one (see fusion)
TRANSCENDENTAL = frozenset({"tanh", "exp", "sin", "cos", "log", "sqrt", "sigmoid", "relu"})
ELEMENTWISE = frozenset({"add", "sub", "mul", "div", "neg", "square", "pow"}) | TRANSCENDENTAL
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def lower(op, values):
    """``(prim, operands, out_slot)`` for a call that can be written out, else None."""
    found = _lower_elementwise(op, values)
    return found if found is not None else structured.lower(op, values)


def _lower_elementwise(op, values):
    outs = op.out_slots()
    if len(outs) != 1 or op.outs.__class__ is not Slot:
        return None
    out = outs[0]
    dtype = values[out].dtype
    if dtype not in _FLOATS:
        return None
    name = op.name
    args = op.args
    if name in _BINARY:
        if len(args) != 2 or op.kwargs:
            return None
        prim, order = _BINARY[name]
        pair = dict(zip("so", args, strict=True))
        operands = [_operand(pair[k], values, dtype) for k in order]
    elif name in _UNARY:
        if len(args) != 1 or op.kwargs:
            return None
        prim = _UNARY[name]
        operands = [_operand(args[0], values, dtype)]
    elif name in _POW:
        if len(args) != 2 or op.kwargs or args[1].__class__ not in (int, float):
            return None
        if isinstance(args[1], bool) or args[1] != args[1] or abs(args[1]) == float("inf"):
            return None
        prim = "pow"
        operands = [_operand(args[0], values, dtype), ("c", args[1])]
    elif name in _REDUCE:
        if len(args) != 1 or op.kwargs:
            return None
        prim = _REDUCE[name]
        operands = [_operand(args[0], values, dtype)]
        if operands[0] is not None and operands[0][0] != "v":
            return None
    else:
        return None
    if any(o is None for o in operands):
        return None
    if not any(o[0] == "v" for o in operands):
        return None
    return prim, operands, out


def _operand(arg, values, dtype):
    if arg.__class__ is Slot:
        return ("v", arg.index) if values[arg.index].dtype == dtype else None
    if arg.__class__ in (int, float) and arg == arg and abs(arg) != float("inf"):
        return ("c", arg)
    return None


from glassgrad._compile import structured  # noqa: E402
from glassgrad._compile.trace import Slot  # noqa: E402


def _s(operand) -> str:
    return f"v{operand[1]}" if operand[0] == "v" else repr(operand[1])


_FORWARD = {
    "add": "{0} + {1}",
    "sub": "{0} - {1}",
    "mul": "{0} * {1}",
    "div": "{0} / {1}",
    "neg": "-{0}",
    "tanh": "_np.tanh({0})",
    "exp": "_np.exp({0})",
    "sin": "_np.sin({0})",
    "cos": "_np.cos({0})",
    "log": "_np.log({0})",
    "sqrt": "_np.sqrt({0})",
    "sigmoid": "_sigmoid({0})",
    "relu": "_relu({0})",
    "square": "{0} * {0}",
    "sumall": "_np.sum({0})",
    "meanall": "_np.mean({0})",
}


def forward_expr(prim, operands) -> str:
    if prim in structured.PRIMS:
        return structured.forward_expr(prim, operands)
    if prim == "pow":
        a, c = _s(operands[0]), operands[1][1]
        return f"{a} * {a}" if c == 2 else f"_np.power({a}, {c!r})"
    return _FORWARD[prim].format(*[_s(o) for o in operands])


def backward_expr(prim, position, g, operands, out, values, shape_text=None) -> str:
    """The gradient reaching operand ``position`` of ``prim``, given ``g`` for its output."""
    if prim in structured.PRIMS:
        return structured.backward_expr(prim, position, g, operands, out)
    a = _s(operands[0])
    b = _s(operands[1]) if len(operands) > 1 else None
    if prim == "add":
        return g
    if prim == "sub":
        return g if position == 0 else f"-{g}"
    if prim == "mul":
        return f"{g} * {b}" if position == 0 else f"{g} * {a}"
    if prim == "div":
        return f"{g} / {b}" if position == 0 else f"-{g} * {a} / ({b} * {b})"
    if prim == "neg":
        return f"-{g}"
    if prim == "tanh":
        return f"{g} * (1 - {out} * {out})"
    if prim == "exp":
        return f"{g} * {out}"
    if prim == "sin":
        return f"{g} * _np.cos({a})"
    if prim == "cos":
        return f"{g} * -_np.sin({a})"
    if prim == "log":
        return f"{g} / {a}"
    if prim == "sqrt":
        return f"{g} / (2 * {out})"
    if prim == "sigmoid":
        return f"{g} * ({out} * (1 - {out}))"
    if prim == "relu":
        return f"_relu_bwd({out}, {g})"
    if prim == "square":
        return f"{g} * 2 * {a}"
    if prim == "pow":
        c = operands[1][1]
        if c == 2:
            return f"{g} * 2 * {a}"
        return f"{g} * {c!r} * _np.power({a}, {c - 1!r})"
    v = values[operands[0][1]]
    shape = repr(v.shape) if shape_text is None else shape_text(operands[0][1])
    if prim == "sumall":
        return f"_np.full({shape}, {g}, _np.{v.dtype.name})"
    if prim == "meanall":
        count = max(int(np.prod(v.shape)), 1) if shape_text is None else f"_size({shape})"
        return f"_np.full({shape}, {g} / {count}, _np.{v.dtype.name})"
    raise AssertionError(prim)


def relu(x):
    """Eager's relu on an array: zero first, so relu(-0.0) is -0.0 (NumPy's maximum returns its
    second operand on ties) and NaN stays NaN."""
    return np.maximum(0.0, x)


def relu_backward(out, grad):
    """Eager's relu backward: zero where the output is <= 0 (a NaN output passes ``grad``)."""
    return np.where(out <= 0, 0, grad)


def sigmoid(x):
    """Eager's sigmoid on an array (the same values)."""
    from glassgrad.ops.elementwise.unary import _sigmoid

    return _sigmoid(np.asarray(x))


def sum_to(grad, shape):
    """``grad`` summed back to ``shape`` (the inverse of broadcasting)."""
    grad = np.asarray(grad)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    return out.reshape(shape)


_NAME = re.compile(r"\b(v\d+|_h\d+|_x\d+|_s\d+)\b")


def names_in(line: str) -> set:
    return set(_NAME.findall(line))


def has_aux(prim) -> bool:
    """Whether ``prim``'s forward also returns a value for its backward (``_x<slot>``)."""
    found = structured.PRIMS.get(prim)
    return found is not None and found.aux


def unbroadcasts(prim) -> bool:
    """Whether ``prim``'s operand gradients may need summing back to the operand's shape (the
    elementwise ops and addmm's bias; the other structured prims give exact shapes)."""
    return prim not in structured.PRIMS or prim == "addmm"


def size(shape) -> int:
    """The element count of ``shape``, at least 1 (a mean's divisor)."""
    count = 1
    for n in shape:
        count *= n
    return max(count, 1)


# the prims a plan can run for any size of its inputs' first dimension: their forward and
# backward read sizes from their arrays, never from the trace (``runtime``, ``dynamic=True``)
DYNAMIC = ELEMENTWISE | {
    "sumall",
    "meanall",
    "matmul",
    "addmm",
    "linear",
    "softmax",
    "log_softmax",
    "gelu",
    "cross_entropy",
}
